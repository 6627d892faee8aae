import type { Writable } from 'node:stream';
import { errorMessage } from './errors';
import {
  allowAnswer,
  alwaysAllowAnswer,
  controlErrorLine,
  controlResponseLine,
  denyAnswer,
  parseControlLine,
  questionAnswer,
  requestIdOfTruncatedLine,
  summarizeToolInput,
  userMessageLine,
  type ToolAnswer,
  type ToolRequest,
} from './claudeControl';
import type { IDisposable } from './lifecycle';
import type { JsonObject } from './outputParsers';
import type { PendingRequest, RequestAnswer, RequestJournal } from './taskTypes';

/**
 * A run whose agent asks (Claude Code's `--input-format stream-json --permission-prompt-tool
 * stdio`): the prompt goes on stdin as a user message; each permission request or question the
 * agent writes is journaled (the run is `needs_input` in every window and the CLI); the first
 * answer journaled for it, by anyone, is written back on the agent's stdin. Stdin is closed once
 * the agent's `result` line arrives (it would otherwise wait for another turn).
 */

/** How often the owner reads the journal for answers while a request is open: well under the second the issue allows. */
export const ANSWER_POLL_MS = 300;
/** The tool input kept in the journal for people to read; the agent gets back what it sent, whole. */
const JOURNALED_INPUT_MAX_CHARS = 64 * 1024;

export interface ConversationOptions {
  readonly taskId: string;
  readonly journal: RequestJournal;
  /** An unanswered request is denied after this long (agentTasks.permissions.timeoutMinutes); 0 or absent: never. */
  readonly requestTimeoutMs?: number;
  readonly log: (message: string) => void;
}

export class AgentConversation implements IDisposable {
  /** Open requests by id, as the agent sent them. */
  private readonly open = new Map<string, { request: ToolRequest; timer?: NodeJS.Timeout }>();
  private readonly subscription: IDisposable;
  private pollTimer: NodeJS.Timeout | undefined;
  private inputClosed = false;

  constructor(
    private readonly stdin: Writable,
    private readonly options: ConversationOptions,
  ) {
    this.subscription = options.journal.onDidAnswer((answered) => {
      if (answered.id === options.taskId) this.relay(answered.request, answered.answer);
    });
  }

  /** The first user message: the prompt. */
  start(prompt: string): void {
    this.write(userMessageLine(prompt));
  }

  /** Every event line of the agent's stdout. */
  onEvent(event: JsonObject): void {
    if (event.type === 'result') {
      // The turn is over: with stdin open the CLI would wait for another user message.
      this.closeInput();
      return;
    }
    const control = parseControlLine(event);
    if (control === null) return;
    switch (control.kind) {
      case 'tool-request':
        this.onRequest(control.request);
        break;
      case 'cancel':
        this.forget(control.requestId, 'the agent withdrew it');
        break;
      case 'unknown':
        this.options.log(`Task ${this.options.taskId}: a control line it cannot take (${control.reason})`);
        // Never leave the agent waiting on a request nobody will answer.
        if (control.requestId !== undefined) this.write(controlErrorLine(control.requestId, `Agent Tasks does not support this request (${control.reason})`));
        break;
      case 'response':
        break;
    }
  }

  /** The head of a stdout line too long to read: a request in it is refused, so the agent does not wait. */
  onOverlongLine(head: string): void {
    const requestId = requestIdOfTruncatedLine(head);
    if (requestId === null) return;
    this.options.log(`Task ${this.options.taskId}: refused control request ${requestId}: its line was too long to read`);
    this.write(controlErrorLine(requestId, 'The request was too large for Agent Tasks to show.'));
  }

  dispose(): void {
    this.subscription.dispose();
    clearInterval(this.pollTimer);
    for (const { timer } of this.open.values()) clearTimeout(timer);
    this.open.clear();
  }

  private onRequest(request: ToolRequest): void {
    if (this.open.has(request.requestId)) return;
    const entry: { request: ToolRequest; timer?: NodeJS.Timeout } = { request };
    this.open.set(request.requestId, entry);
    const { journal, taskId, requestTimeoutMs } = this.options;
    journal.recordRequest(taskId, toPendingRequest(request, Date.now())).catch((err: unknown) => {
      // Unjournaled, nobody could answer it: the agent is told, and goes on.
      this.options.log(`Task ${taskId}: could not journal request ${request.requestId}: ${errorMessage(err)}`);
      this.relay(request.requestId, { behavior: 'deny', message: `Agent Tasks could not record this request: ${errorMessage(err)}` });
    });
    if (requestTimeoutMs !== undefined && requestTimeoutMs > 0) {
      entry.timer = setTimeout(() => {
        const minutes = Math.round((requestTimeoutMs / 60_000) * 10) / 10;
        void journal
          .answerRequest(taskId, request.requestId, { behavior: 'deny', message: `No answer within ${minutes} minute(s) (agentTasks.permissions.timeoutMinutes): denied.` })
          .then(() => journal.pollAnswers())
          .catch((err: unknown) => this.options.log(`Task ${taskId}: the timeout of request ${request.requestId} failed: ${errorMessage(err)}`));
      }, requestTimeoutMs);
      entry.timer.unref?.();
    }
    this.pollTimer ??= setInterval(() => {
      void journal.pollAnswers().catch((err: unknown) => this.options.log(`Task ${taskId}: reading answers failed: ${errorMessage(err)}`));
    }, ANSWER_POLL_MS);
  }

  private relay(requestId: string, answer: RequestAnswer): void {
    const entry = this.open.get(requestId);
    if (!entry) return;
    this.drop(requestId);
    let line: string;
    try {
      line = controlResponseLine(requestId, toToolAnswer(entry.request, answer));
    } catch (err) {
      line = controlErrorLine(requestId, `The answer could not be sent: ${errorMessage(err)}`);
    }
    this.write(line);
  }

  private forget(requestId: string, reason: string): void {
    if (!this.open.has(requestId)) return;
    this.drop(requestId);
    void this.options.journal.closeRequest(this.options.taskId, requestId, reason).catch(() => undefined);
  }

  private drop(requestId: string): void {
    clearTimeout(this.open.get(requestId)?.timer);
    this.open.delete(requestId);
    if (this.open.size === 0) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private write(line: string): void {
    if (this.inputClosed || this.stdin.destroyed || this.stdin.writableEnded) return;
    this.stdin.write(line);
  }

  private closeInput(): void {
    if (this.inputClosed) return;
    this.inputClosed = true;
    this.stdin.end();
  }
}

/** What the journal keeps of a request: enough for a person to decide, with the input capped. */
export function toPendingRequest(request: ToolRequest, askedAt: number): PendingRequest {
  const inputJson = JSON.stringify(request.input);
  const input: Record<string, unknown> =
    inputJson.length <= JOURNALED_INPUT_MAX_CHARS ? request.input : { truncated: true, head: inputJson.slice(0, JOURNALED_INPUT_MAX_CHARS) };
  const questions = request.questions?.map((q) => ({
    question: q.question,
    header: q.header || null,
    options: q.options.map((o) => ({ label: o.label, description: o.description || null })),
    multiSelect: q.multiSelect,
  }));
  return {
    id: request.requestId,
    kind: questions ? 'question' : 'permission',
    tool: request.tool.slice(0, 100),
    summary: questions ? summarizeQuestions(questions) : summarizeToolInput(request.tool, request.input),
    input,
    suggestions: [...request.suggestions],
    ...(questions ? { questions } : {}),
    asked_at: askedAt,
  };
}

function summarizeQuestions(questions: readonly { question: string }[]): string {
  return summarizeToolInput('AskUserQuestion', { question: questions.map((q) => q.question).join(' / ') });
}

/** A journaled answer as the agent's protocol wants it: an allow echoes the input the agent sent. */
export function toToolAnswer(request: ToolRequest, answer: RequestAnswer): ToolAnswer {
  if (answer.behavior === 'deny') return denyAnswer(answer.message?.trim() || 'The user denied this.');
  if (request.questions && answer.answers) {
    return questionAnswer(request, request.questions.map((q) => (typeof answer.answers?.[q.question] === 'string' ? { text: answer.answers[q.question] } : undefined)));
  }
  return answer.always ? alwaysAllowAnswer(request) : allowAnswer(request);
}
