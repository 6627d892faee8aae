/** `agent-tasks answer`: answer a task's open permission request or question, from any terminal. */
import type { PendingRequest, RequestAnswer } from '../../core/taskTypes';
import { hasFlag, optionValue, UsageError, type ParsedArgs } from '../argParser';
import { JSON_OPTION, PROGRAM, STORE_OPTION, writeErr, writeOut } from '../common';
import { publicRow } from '../format';
import { withTask } from '../store';
import type { Command } from './command';
import { taskIdArg } from './taskArg';

export const answerCommand: Command = {
  def: {
    name: 'answer',
    summary: "Answer a task's open permission request or question (allow or deny).",
    usage: 'answer ID allow|deny [--always] [--message TEXT] [--answer TEXT | --answers JSON] [--request RID] [--json]',
    positionals: { min: 2, max: 2, name: 'the task ID and allow or deny' },
    options: [
      { name: 'request', value: 'RID', description: 'Which open request (default: the oldest; `show ID` lists them)' },
      { name: 'always', description: 'With allow: also apply the rules the agent suggested, for the rest of its session' },
      { name: 'message', value: 'TEXT', description: 'With deny: what the agent is told' },
      { name: 'answer', value: 'TEXT', description: 'For a question: the answer (an option label or your own words)' },
      { name: 'answers', value: 'JSON', description: 'For several questions: {"question": "answer", …}' },
      JSON_OPTION,
      STORE_OPTION,
    ],
    details: [
      'ID may be any unique prefix of the task id. The answer is journaled; the process that runs the',
      'task (a supervisor, an `agent-tasks run`) hands it to the agent within a second. A request is',
      'answered once: the first answer from any window or terminal counts, and a later one is refused.',
      'Exit code: 0 when this answer was taken; 1 when it was refused (answered already, withdrawn, the',
      'task no longer runs); 2 for an unknown or ambiguous ID or a bad option.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const idOrPrefix = taskIdArg(parsed, 'answer');
  const decision = parsed.positionals[1];
  if (decision !== 'allow' && decision !== 'deny') throw new UsageError(`the answer must be allow or deny (got ${JSON.stringify(decision)})`, 'answer');
  const answer = answerFrom(parsed, decision);
  return withTask(storeDir, idOrPrefix, 'write', async (store, row) => {
    const requestId = optionValue(parsed, 'request') ?? row.pending_requests[0]?.id;
    if (requestId === undefined) {
      writeErr(`${PROGRAM}: task ${row.id.slice(0, 8)} has no open request (status ${row.status})\n`);
      return 1;
    }
    const request = row.pending_requests.find((r) => r.id === requestId);
    if (request) checkFits(request, answer);
    const outcome = await store.answerRequest(row.id, requestId, answer);
    if (!outcome.ok) {
      writeErr(`${PROGRAM}: ${outcome.reason}\n`);
      return 1;
    }
    if (hasFlag(parsed, 'json')) writeOut(JSON.stringify(publicRow(outcome.row), null, 2) + '\n');
    else writeOut(`${decision === 'allow' ? 'Allowed' : 'Denied'}: ${request ? `${request.tool}: ${request.summary}` : requestId} (task ${row.id.slice(0, 8)} is ${outcome.row.status})\n`);
    return 0;
  });
}

function answerFrom(parsed: ParsedArgs, decision: 'allow' | 'deny'): RequestAnswer {
  const always = hasFlag(parsed, 'always');
  const message = optionValue(parsed, 'message');
  const single = optionValue(parsed, 'answer');
  const many = optionValue(parsed, 'answers');
  if (decision === 'deny' && (always || single !== undefined || many !== undefined)) {
    throw new UsageError('--always, --answer and --answers go with allow', 'answer');
  }
  if (decision === 'allow' && message !== undefined) throw new UsageError('--message goes with deny', 'answer');
  if (single !== undefined && many !== undefined) throw new UsageError('give --answer or --answers, not both', 'answer');
  if (decision === 'deny') return { behavior: 'deny', ...(message !== undefined ? { message } : {}) };
  let answers: Record<string, string> | undefined;
  if (many !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(many);
    } catch {
      throw new UsageError('--answers must be a JSON object: {"question": "answer", …}', 'answer');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
      throw new UsageError('--answers must be a JSON object of strings: {"question": "answer", …}', 'answer');
    }
    answers = value as Record<string, string>;
  }
  return { behavior: 'allow', ...(always ? { always } : {}), ...(answers ? { answers } : single !== undefined ? { answers: { '': single } } : {}) };
}

/** A question needs its answers (a single --answer goes to its only question); a permission takes none. */
function checkFits(request: PendingRequest, answer: RequestAnswer): void {
  if (answer.behavior !== 'allow') return;
  const questions = request.questions ?? [];
  if (answer.answers && questions.length === 0) throw new UsageError(`request ${request.id} is a permission request, not a question: answer it allow or deny`, 'answer');
  if (answer.answers && '' in answer.answers) {
    if (questions.length !== 1) throw new UsageError(`request ${request.id} asks ${questions.length} questions: give them all with --answers JSON`, 'answer');
    answer.answers = { [questions[0].question]: answer.answers[''] };
  }
  if (questions.length > 0 && !answer.answers) {
    throw new UsageError(`request ${request.id} is a question (${questions.map((q) => q.question).join(' / ')}): give --answer TEXT`, 'answer');
  }
}
