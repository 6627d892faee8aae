/**
 * What the editor shows of an agent's open request (a permission request or a question) and the
 * choices it offers, as plain values. No `vscode` import. Everything in a request came from the
 * agent: untrusted text, shown as plain text.
 */
import { describeToolRequest, type ToolRequest } from '../../core/claudeControl';
import type { JsonObject } from '../../core/outputParsers';
import type { PendingQuestion, PendingRequest, RequestAnswer, TaskRow } from '../../core/taskTypes';
import { plainNoticeText } from './finishNotice';
import { taskLabel } from './taskPresentation';

export const ALLOW = 'Allow';
export const ALWAYS_ALLOW = 'Always Allow';
export const DENY = 'Deny';
export const SHOW = 'Show';
export const ANSWER = 'Answer…';

export interface OpenRequest {
  readonly row: TaskRow;
  readonly request: PendingRequest;
}

/** Every open request of the live rows, oldest first. */
export function openRequests(rows: readonly TaskRow[]): OpenRequest[] {
  return rows
    .flatMap((row) => row.pending_requests.map((request) => ({ row, request })))
    .sort((a, b) => a.request.asked_at - b.request.asked_at);
}

/** A key for a request, unique across runs. */
export function requestKey(open: OpenRequest): string {
  return `${open.row.id}/${open.request.id}`;
}

/** The notification's text and its buttons. "Always Allow" only where the agent suggested rules to apply. */
export function requestNotice(open: OpenRequest): { message: string; buttons: string[] } {
  const { row, request } = open;
  const who = plainNoticeText(taskLabel(row));
  if (request.kind === 'question') {
    return { message: `${who} asks: ${plainNoticeText(request.summary)}`, buttons: [ANSWER, DENY, SHOW] };
  }
  const buttons = request.suggestions.length > 0 ? [ALLOW, ALWAYS_ALLOW, DENY, SHOW] : [ALLOW, DENY, SHOW];
  return { message: `${who} asks to use ${plainNoticeText(request.tool)}: ${plainNoticeText(request.summary)}`, buttons };
}

/** The answer a button gives; undefined for Show and Answer…, which ask more first. */
export function answerForButton(button: string | undefined): RequestAnswer | undefined {
  switch (button) {
    case ALLOW:
      return { behavior: 'allow' };
    case ALWAYS_ALLOW:
      return { behavior: 'allow', always: true };
    case DENY:
      return { behavior: 'deny', message: 'The user denied this in VS Code.' };
    default:
      return undefined;
  }
}

/** The full text a user reads before deciding: the whole command or edit, the rules "Always Allow" would apply. */
export function requestDetails(open: OpenRequest): string {
  const { row, request } = open;
  const head = [
    `Task: ${taskLabel(row)} (${row.agent ?? row.command}, ${row.id})`,
    `Folder: ${row.cwd}`,
    `Asked: ${new Date(request.asked_at).toISOString()}`,
    `Request: ${request.id}`,
    '',
    'Everything below comes from the agent: read it before you allow it.',
    '',
  ];
  return `${head.join('\n')}${describeToolRequest(toToolRequest(request))}\n`;
}

/** A journaled request in the protocol module's shape, for its rendering. */
function toToolRequest(request: PendingRequest): ToolRequest {
  return {
    requestId: request.id,
    tool: request.tool,
    input: request.input as JsonObject,
    suggestions: request.suggestions.filter((s): s is JsonObject => typeof s === 'object' && s !== null && !Array.isArray(s)),
    ...(request.questions
      ? { questions: request.questions.map((q) => ({ question: q.question, header: q.header ?? '', options: q.options.map((o) => ({ label: o.label, description: o.description ?? '' })), multiSelect: q.multiSelect })) }
      : {}),
  };
}

/** The QuickPick items of a question: its options, then one to type an answer. */
export interface QuestionPick {
  readonly label: string;
  readonly description?: string;
  /** Set on the item that asks for free text. */
  readonly freeText?: true;
}

export const TYPE_ANSWER_LABEL = 'Type an answer…';

export function questionPicks(question: PendingQuestion): QuestionPick[] {
  return [
    ...question.options.map((o) => ({ label: plainNoticeText(o.label), ...(o.description ? { description: plainNoticeText(o.description) } : {}) })),
    { label: TYPE_ANSWER_LABEL, freeText: true },
  ];
}

/** One question's answer from what was picked (option labels as the agent sent them) and typed. */
export function questionAnswerText(question: PendingQuestion, pickedLabels: readonly string[], typed: string | undefined): string | undefined {
  const labels = question.options.filter((o) => pickedLabels.includes(plainNoticeText(o.label))).map((o) => o.label);
  const parts = [...labels, ...(typed?.trim() ? [typed.trim()] : [])];
  return parts.length > 0 ? parts.join(', ') : undefined;
}
