/**
 * Claude Code's two-way stream-json "control" protocol: reads the permission requests the CLI
 * writes on stdout and writes the answers it reads on stdin. Plain Node: no `vscode` import, no
 * I/O. Everything read here is untrusted (the model chooses the tool inputs): inputs are checked,
 * nothing throws on bad input, and the text meant for people is cleaned and capped.
 *
 * The protocol is typed in `sdk.d.ts` of `@anthropic-ai/claude-agent-sdk` (SDKControlRequest,
 * SDKControlPermissionRequest, SDKControlResponse, ControlErrorResponse, SDKControlCancelRequest,
 * PermissionResult, PermissionUpdate; AskUserQuestionInput/Output in `sdk-tools.d.ts`). Checked
 * against the real CLI 2.1.197 (test/fixtures/agent-output/real/claude-control-*.jsonl), run as
 *
 *   claude -p --input-format stream-json --output-format stream-json --verbose --permission-prompt-tool stdio
 *
 * stdin (ours), one JSON object per line:
 *   {"type":"user","message":{"role":"user","content":"…"}}                          the prompt
 *   {"type":"control_response","response":{"subtype":"success","request_id":"…",
 *     "response":{"behavior":"allow","updatedInput":{…}}}}                           run the tool
 *   {"type":"control_response","response":{"subtype":"success","request_id":"…",
 *     "response":{"behavior":"deny","message":"…"}}}                                 refuse it
 *   {"type":"control_response","response":{"subtype":"error","request_id":"…","error":"…"}}
 *
 * stdout (the CLI's), besides the usual stream-json lines:
 *   {"type":"control_request","request_id":"<uuid>","request":{"subtype":"can_use_tool",
 *     "tool_name":"Bash","display_name":"Bash","input":{"command":"touch made.txt","description":"…"},
 *     "description":"…","permission_suggestions":[{"type":"addRules","rules":[{"toolName":"Bash",
 *     "ruleContent":"touch made.txt"}],"behavior":"allow","destination":"localSettings"},
 *     {"type":"addDirectories","directories":["…/work"],"destination":"session"},
 *     {"type":"setMode","mode":"acceptEdits","destination":"session"}],
 *     "blocked_path":"…/work/made.txt","tool_use_id":"toolu_…"}}
 *   (a Write outside the working folder adds "decision_reason":"Path is outside allowed working
 *   directories","decision_reason_type":"workingDir"; a compound Bash command
 *   "decision_reason_type":"subcommandResults"; AskUserQuestion has no suggestions at all)
 *   {"type":"control_cancel_request","request_id":"…"}   the CLI no longer needs that answer
 *   {"type":"control_response","response":{"subtype":"success"|"error","request_id":"…",…}}
 *     only ever as the answer to a control_request of ours (e.g. `interrupt`)
 *   {"type":"keep_alive"}   (typed in the SDK; not seen in these runs): not a control line here
 *
 * What the real CLI did (2.1.197; the SDK's types are newer and say less):
 * - Without an `initialize` request from us, the only request it sent was `can_use_tool`: no
 *   `initialize`, hook, MCP or dialog requests arrive (those need hooks, SDK MCP servers or
 *   dialog kinds declared in `initialize`). The SDK answers every subtype it does not handle with
 *   `{"subtype":"error",…,"error":"Unsupported control request subtype: X"}`; so does
 *   `controlErrorLine` here, and the CLI answers an unknown subtype of ours the same way.
 * - `allow` REQUIRES `updatedInput` (the SDK's types say optional): `{"behavior":"allow"}` alone
 *   fails the tool call with a ZodError ("expected record, received undefined"). And
 *   `updatedInput` replaces the input: an allow with another command runs that other command. So
 *   an allow always echoes the request's own `input` (see `allowAnswer`).
 * - A deny's `message` is what the model reads as the tool's (error) result; the run goes on and
 *   the result line lists the call in `permission_denials`. `"interrupt":true` instead ends the
 *   turn: the model gets the CLI's own "The user doesn't want to proceed…" text, the result is
 *   `error_during_execution` and the CLI exits 1.
 * - An error response fails the tool call: the model reads "Tool permission request failed:
 *   Error: <error>"; the run goes on. A response whose `behavior` is neither allow nor deny does
 *   the same with the ZodError's text. A response for an unknown request_id, or a second one for
 *   the same request, is silently ignored.
 * - A line on stdin that is not JSON kills the CLI at once (exit 1, "Error parsing streaming
 *   input line" on stderr): every line written here is one JSON object, U+2028/U+2029 escaped.
 * - Closing stdin while a request waits fails that call ("Tool permission stream closed before
 *   response received"), the run still ends normally. After its `result` line the CLI keeps
 *   reading stdin and exits only when stdin closes.
 * - "Always allow" = allow with `updatedPermissions` = the request's `permission_suggestions`. The
 *   suggestions are broader than the words suggest: for `touch made.txt` they were an allow rule
 *   saved in the project's `.claude/settings.local.json` (the CLI wrote that file), the working
 *   folder added for the session AND the session switched to `acceptEdits` (a `system/status`
 *   line with "permissionMode":"acceptEdits" followed). `describeToolRequest` spells each out.
 *   In an untrusted folder the CLI later ignores that settings file ("Ignoring 1
 *   permissions.allow entry from .claude/settings.local.json: this workspace has not been
 *   trusted" on stderr), but the rule held for the rest of the session.
 * - AskUserQuestion arrives as a can_use_tool request (input `{questions:[{question, header,
 *   options:[{label, description, preview?}], multiSelect}]}`, 1-4 questions of 2-4 options) and
 *   is answered by allowing it with `updatedInput` = the input plus `answers`: question text →
 *   answer (the chosen label; for multiSelect the labels joined with ", "; free text works the
 *   same way). The model then reads: Your questions have been answered: "Q1"="Blue", "Q2"=
 *   "Shadow, Border". You can now continue with these answers in mind. An allow without
 *   `answers` gives "The user did not answer the questions."; a deny gives the deny message.
 *   (`annotations: {[question]: {notes}}` adds " notes: …" after the answer.)
 * - After our `interrupt` request the CLI sent `control_cancel_request` for the pending
 *   can_use_tool, then `{"subtype":"success","request_id":<ours>}`, and ended the turn as
 *   `error_during_execution` (exit 1). A cancelled request must not be answered.
 */
import { asObject, capChars, oneLineUntrusted, type JsonObject } from './outputParsers';

// ---------------------------------------------------------------------------------------------
// Limits

/** Longer request ids are refused (the CLI's are UUIDs). */
export const MAX_REQUEST_ID_CHARS = 1024;
/** Longer tool names are refused (MCP tools are `mcp__<server>__<tool>`). */
export const MAX_TOOL_NAME_CHARS = 256;
/**
 * A tool input larger than this (as JSON) is refused rather than shown: nobody reviews a megabyte
 * before allowing it. It is also the line cap of `LineSplitter`: a longer control_request line
 * arrives cut (see `requestIdOfTruncatedLine`).
 */
export const MAX_INPUT_JSON_CHARS = 1024 * 1024;
/** AskUserQuestion: the schema allows 1-4 questions of 2-4 options; more than this is malformed. */
const MAX_QUESTIONS = 16;
const MAX_OPTIONS = 32;
/** `summarizeToolInput`'s cap. */
export const SUMMARY_MAX_CHARS = 200;

// ---------------------------------------------------------------------------------------------
// Reading stdout

export interface AskQuestionOption {
  readonly label: string;
  readonly description: string;
  readonly preview?: string;
}

/** One AskUserQuestion question, verbatim (the answer is keyed by `question`): clean before showing. */
export interface AskQuestion {
  readonly question: string;
  readonly header: string;
  readonly options: readonly AskQuestionOption[];
  readonly multiSelect: boolean;
}

/** A can_use_tool request. Strings are verbatim (untrusted): show them through the helpers below. */
export interface ToolRequest {
  readonly requestId: string;
  readonly tool: string;
  /** The tool's input, as received: an allow must echo it (see `allowAnswer`). */
  readonly input: JsonObject;
  readonly toolUseId?: string;
  /** `permission_suggestions`, verbatim (the "always allow" answer sends them back); [] when absent or malformed. */
  readonly suggestions: readonly JsonObject[];
  readonly blockedPath?: string;
  /** Why the CLI asks (may carry ANSI escapes). */
  readonly decisionReason?: string;
  /** `decision_reason_type`: "rule", "workingDir", "subcommandResults", "safetyCheck", … */
  readonly decisionReasonType?: string;
  /** The CLI's own one-line description of the call (the Bash description, the file path, …). */
  readonly description?: string;
  /** Set when the call comes from a subagent. */
  readonly agentId?: string;
  /** AskUserQuestion with a well-formed input only. */
  readonly questions?: readonly AskQuestion[];
}

export type ControlLine =
  /** A can_use_tool request: answer it with `controlResponseLine` (or `controlErrorLine`). */
  | { readonly kind: 'tool-request'; readonly request: ToolRequest }
  /** The CLI withdrew one of its requests: forget it, do not answer it. */
  | { readonly kind: 'cancel'; readonly requestId: string }
  /** The CLI's answer to a control_request of ours (e.g. `interrupt`): never to be answered. */
  | { readonly kind: 'response'; readonly requestId: string; readonly error?: string }
  /**
   * A control line we cannot use: malformed, or a request subtype we do not support. When
   * `requestId` is set it is a control_request the CLI waits on: answer it with `controlErrorLine`.
   */
  | { readonly kind: 'unknown'; readonly requestId?: string; readonly subtype?: string; readonly reason: string };

/**
 * One parsed JSON line of the agent's stdout as a control line, or null when it is none (any other
 * stream-json line, or not a JSON object at all). Never throws.
 */
export function parseControlLine(value: unknown): ControlLine | null {
  const line = asObject(value);
  if (line === null) return null;
  switch (line.type) {
    case 'control_request':
      return parseRequest(line);
    case 'control_cancel_request': {
      const requestId = requestIdOf(line.request_id);
      return requestId === null ? unknown(undefined, undefined, 'control_cancel_request without a valid request_id') : { kind: 'cancel', requestId };
    }
    case 'control_response': {
      const response = asObject(line.response);
      const requestId = requestIdOf(response?.request_id);
      // Never carries a requestId in `unknown`: a response is not to be answered.
      if (requestId === null) return unknown(undefined, undefined, 'control_response without a valid request_id');
      if (response?.subtype === 'success') return { kind: 'response', requestId };
      const error = typeof response?.error === 'string' ? response.error : `control_response of subtype ${describeValue(response?.subtype)}`;
      return { kind: 'response', requestId, error: oneLineUntrusted(error, SUMMARY_MAX_CHARS) };
    }
    default:
      return null;
  }
}

function parseRequest(line: JsonObject): ControlLine {
  const requestId = requestIdOf(line.request_id);
  const request = asObject(line.request);
  const rawSubtype = typeof request?.subtype === 'string' ? request.subtype : null;
  const subtype = rawSubtype === null ? undefined : oneLineUntrusted(rawSubtype, 100);
  if (requestId === null) return unknown(undefined, subtype, 'control_request without a valid request_id');
  if (request === null) return unknown(requestId, undefined, 'control_request without a request object');
  if (rawSubtype === null) return unknown(requestId, undefined, 'control_request without a subtype');
  if (rawSubtype !== 'can_use_tool') return unknown(requestId, subtype, `unsupported control request subtype: ${subtype}`);

  const tool = request.tool_name;
  if (typeof tool !== 'string' || tool.trim() === '' || tool.length > MAX_TOOL_NAME_CHARS) {
    return unknown(requestId, subtype, 'can_use_tool without a valid tool_name');
  }
  const input = asObject(request.input);
  if (input === null) return unknown(requestId, subtype, 'can_use_tool without an input object');
  const size = jsonLength(input);
  if (size === null || size > MAX_INPUT_JSON_CHARS) {
    return unknown(requestId, subtype, size === null ? 'can_use_tool with an input that is not JSON' : `can_use_tool input too large (${size} characters of JSON)`);
  }
  const suggestions = request.permission_suggestions;
  const parsed: { -readonly [K in keyof ToolRequest]: ToolRequest[K] } = {
    requestId,
    tool,
    input,
    suggestions: Array.isArray(suggestions) && suggestions.every((s) => asObject(s) !== null) ? (suggestions as JsonObject[]) : [],
  };
  const optional = { toolUseId: 'tool_use_id', blockedPath: 'blocked_path', decisionReason: 'decision_reason', decisionReasonType: 'decision_reason_type', description: 'description', agentId: 'agent_id' } as const;
  for (const [key, field] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const value = request[field];
    if (typeof value === 'string' && value !== '') parsed[key] = value;
  }
  if (tool === 'AskUserQuestion') {
    const questions = parseQuestions(input.questions);
    if (questions !== null) parsed.questions = questions;
  }
  return { kind: 'tool-request', request: parsed };
}

function unknown(requestId: string | undefined, subtype: string | undefined, reason: string): ControlLine {
  return { kind: 'unknown', ...(requestId !== undefined ? { requestId } : {}), ...(subtype !== undefined ? { subtype } : {}), reason };
}

function requestIdOf(value: unknown): string | null {
  return typeof value === 'string' && value !== '' && value.length <= MAX_REQUEST_ID_CHARS ? value : null;
}

function jsonLength(value: unknown): number | null {
  try {
    return JSON.stringify(value)?.length ?? null;
  } catch {
    return null;
  }
}

/** Compact JSON, or "" for what JSON cannot hold (undefined, cycles, BigInt). */
function safeJson(value: unknown, indent?: number): string {
  try {
    return JSON.stringify(value, null, indent) ?? '';
  } catch {
    return '';
  }
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(oneLineUntrusted(value, 100)) : value === undefined ? 'none' : typeof value;
}

function parseQuestions(value: unknown): AskQuestion[] | null {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_QUESTIONS) return null;
  const questions: AskQuestion[] = [];
  const seen = new Set<string>();
  for (const item of value) {
    const q = asObject(item);
    if (q === null || typeof q.question !== 'string' || q.question.trim() === '' || seen.has(q.question)) return null;
    if (q.header !== undefined && typeof q.header !== 'string') return null;
    if (q.multiSelect !== undefined && typeof q.multiSelect !== 'boolean') return null;
    if (!Array.isArray(q.options) || q.options.length === 0 || q.options.length > MAX_OPTIONS) return null;
    const options: AskQuestionOption[] = [];
    for (const o of q.options) {
      const option = asObject(o);
      if (option === null || typeof option.label !== 'string' || option.label.trim() === '') return null;
      if (option.description !== undefined && typeof option.description !== 'string') return null;
      if (option.preview !== undefined && typeof option.preview !== 'string') return null;
      options.push({ label: option.label, description: option.description ?? '', ...(option.preview !== undefined ? { preview: option.preview } : {}) });
    }
    seen.add(q.question);
    questions.push({ question: q.question, header: q.header ?? '', options, multiSelect: q.multiSelect ?? false });
  }
  return questions;
}

/**
 * The request id at the start of a control_request line too long to be kept whole (the head that
 * `LineSplitter` keeps of an over-long line), so that it can still be answered with
 * `controlErrorLine` instead of leaving the agent waiting. The CLI writes `type` then
 * `request_id` first. Null when the head is not such a line.
 */
export function requestIdOfTruncatedLine(head: string): string | null {
  const match = /^\s*\{\s*"type"\s*:\s*"control_request"\s*,\s*"request_id"\s*:\s*("(?:[^"\\\x00-\x1f]|\\.)*")/.exec(head);
  if (match === null) return null;
  try {
    return requestIdOf(JSON.parse(match[1]));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing stdin

/** The answer to a can_use_tool request (PermissionResult). */
export type ToolAnswer =
  /** `updatedInput` is required by the CLI, and replaces the tool's input: normally the request's own. */
  | { readonly behavior: 'allow'; readonly updatedInput: JsonObject; readonly updatedPermissions?: readonly JsonObject[] }
  /** `message` is what the model reads; `interrupt` ends the turn instead (the run fails). */
  | { readonly behavior: 'deny'; readonly message: string; readonly interrupt?: boolean };

/** Allow once, with the input the user saw. */
export function allowAnswer(request: ToolRequest): ToolAnswer {
  return { behavior: 'allow', updatedInput: request.input };
}

/**
 * Allow, and apply the request's permission suggestions (or the chosen ones among them): what
 * Claude Code's "Yes, and don't ask again" does. Show `describeToolRequest` first: the
 * suggestions may save a rule in the project's settings or change the session's mode.
 */
export function alwaysAllowAnswer(request: ToolRequest, suggestions: readonly JsonObject[] = request.suggestions): ToolAnswer {
  return { behavior: 'allow', updatedInput: request.input, updatedPermissions: suggestions };
}

export function denyAnswer(message: string, options: { interrupt?: boolean } = {}): ToolAnswer {
  return { behavior: 'deny', message, ...(options.interrupt ? { interrupt: true } : {}) };
}

/** What the user chose for one question: option labels, and/or their own text ("Other"). */
export interface QuestionChoice {
  readonly labels?: readonly string[];
  readonly text?: string;
}

/**
 * The answer to an AskUserQuestion request: allow, with the input plus `answers` (question text →
 * answer). `choices[i]` answers `request.questions[i]`; a question without a choice is left
 * unanswered. A single-select question takes the free text if any, else the first label; a
 * multiSelect one takes the labels then the text, joined with ", " (as Claude Code does). Labels
 * are sent as given: offer only the question's own. Throws when the request has no well-formed
 * questions (`request.questions` unset).
 */
export function questionAnswer(request: ToolRequest, choices: readonly (QuestionChoice | undefined)[]): ToolAnswer {
  const questions = request.questions;
  if (questions === undefined) throw new Error(`questionAnswer: the ${request.tool} request has no well-formed questions`);
  const entries: [string, string][] = [];
  questions.forEach((q, i) => {
    const choice = choices[i];
    const labels = (choice?.labels ?? []).filter((l) => typeof l === 'string' && l.trim() !== '');
    const text = typeof choice?.text === 'string' ? choice.text.trim() : '';
    const answer = q.multiSelect ? [...labels, ...(text !== '' ? [text] : [])].join(', ') : text !== '' ? text : (labels[0] ?? '');
    if (answer !== '') entries.push([q.question, answer]);
  });
  // fromEntries: a question named "__proto__" stays an own key.
  return { behavior: 'allow', updatedInput: { ...request.input, answers: Object.fromEntries(entries) } };
}

/** The stdin line that answers can_use_tool request `requestId`. Throws on an answer the CLI would reject. */
export function controlResponseLine(requestId: string, answer: ToolAnswer): string {
  checkRequestId(requestId);
  let response: JsonObject;
  if (answer.behavior === 'allow') {
    if (asObject(answer.updatedInput) === null) throw new TypeError('controlResponseLine: an allow needs updatedInput (an object)');
    if (answer.updatedPermissions !== undefined && !Array.isArray(answer.updatedPermissions)) throw new TypeError('controlResponseLine: updatedPermissions must be an array');
    response = { behavior: 'allow', updatedInput: answer.updatedInput, ...(answer.updatedPermissions !== undefined ? { updatedPermissions: answer.updatedPermissions } : {}) };
  } else if (answer.behavior === 'deny') {
    if (typeof answer.message !== 'string') throw new TypeError('controlResponseLine: a deny needs a message');
    response = { behavior: 'deny', message: answer.message, ...(answer.interrupt === true ? { interrupt: true } : {}) };
  } else {
    throw new TypeError(`controlResponseLine: unknown behavior ${JSON.stringify((answer as { behavior?: unknown }).behavior)}`);
  }
  return jsonLine({ type: 'control_response', response: { subtype: 'success', request_id: requestId, response } });
}

/** The stdin line that refuses control request `requestId` (one we do not support): the CLI fails that call and goes on. */
export function controlErrorLine(requestId: string, message: string): string {
  checkRequestId(requestId);
  return jsonLine({ type: 'control_response', response: { subtype: 'error', request_id: requestId, error: String(message) } });
}

/** The stdin line that sends `text` as the user's message (the prompt, or a later turn). */
export function userMessageLine(text: string): string {
  return jsonLine({ type: 'user', message: { role: 'user', content: String(text) } });
}

function checkRequestId(requestId: string): void {
  if (requestIdOf(requestId) === null) throw new TypeError('a control response needs the request id (a non-empty string)');
}

/** One JSON object and "\n". JSON.stringify escapes every control character; U+2028/U+2029 too, for line readers that split on them. */
function jsonLine(value: JsonObject): string {
  return `${JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Text for people

/**
 * One short line for lists and notifications: the command (Bash), the file (Edit, Write, Read,
 * MultiEdit, NotebookEdit), the URL (WebFetch), the pattern (Grep, Glob), the query (WebSearch),
 * the first question (AskUserQuestion), else the input as compact JSON. Escapes, control
 * characters and bidi marks removed, whitespace collapsed, at most SUMMARY_MAX_CHARS.
 */
export function summarizeToolInput(tool: string, input: unknown): string {
  const object = asObject(input);
  const field = (key: string): string | null => {
    const value = object?.[key];
    return typeof value === 'string' && value.trim() !== '' ? value : null;
  };
  let text: string | null = null;
  switch (tool) {
    case 'Bash':
    case 'PowerShell':
      text = field('command');
      break;
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'Read':
      text = field('file_path');
      break;
    case 'NotebookEdit':
      text = field('notebook_path');
      break;
    case 'WebFetch':
      text = field('url');
      break;
    case 'WebSearch':
      text = field('query');
      break;
    case 'Grep':
    case 'Glob': {
      const pattern = field('pattern');
      const where = field('path');
      text = pattern !== null && where !== null ? `${pattern} in ${where}` : pattern;
      break;
    }
    case 'AskUserQuestion': {
      const questions = Array.isArray(object?.questions) ? object.questions : [];
      const first = asObject(questions[0])?.question;
      if (typeof first === 'string' && first.trim() !== '') text = questions.length > 1 ? `${first} (+${questions.length - 1} more)` : first;
      break;
    }
    case 'Task':
    case 'Agent':
      text = field('description');
      break;
  }
  if (text === null) {
    text = input === null ? '' : safeJson(input);
  }
  return oneLineUntrusted(text, SUMMARY_MAX_CHARS);
}

const COMMAND_MAX_CHARS = 10_000;
const COMMAND_MAX_LINES = 200;
const CONTENT_MAX_CHARS = 4_000;
const CONTENT_MAX_LINES = 60;
const DIFF_MAX_CHARS = 3_000;
const DIFF_MAX_LINES = 40;
const FIELD_MAX_CHARS = 1_000;
const MAX_EDITS_SHOWN = 10;
const MAX_SUGGESTIONS_SHOWN = 20;

/**
 * Everything a person reads before deciding, as plain multi-line text (no Markdown is produced:
 * show it as text). Nothing of the input is hidden: invisible characters (controls, escapes, bidi
 * overrides, zero-width marks) are shown as `\xHH`/`\uHHHH` instead of being dropped, so that what
 * is shown is what would run; long parts are cut with a note saying how much was left out.
 */
export function describeToolRequest(request: ToolRequest): string {
  const out: string[] = [];
  const input = request.input;
  const str = (key: string): string | null => (typeof input[key] === 'string' ? (input[key] as string) : null);
  const fieldLine = (label: string, value: string | null): void => {
    if (value !== null && value !== '') out.push(`${label}: ${visibleLine(value, FIELD_MAX_CHARS)}`);
  };
  const tool = visibleLine(request.tool, MAX_TOOL_NAME_CHARS);

  switch (request.tool) {
    case 'Bash':
    case 'PowerShell':
      out.push(`${tool}: run a command`);
      out.push(...block('  ', str('command') ?? '', COMMAND_MAX_LINES, COMMAND_MAX_CHARS));
      fieldLine('Description', str('description'));
      if (input.run_in_background === true) out.push('Runs in the background.');
      if (typeof input.timeout === 'number') out.push(`Timeout: ${input.timeout} ms`);
      break;
    case 'Edit':
      out.push(`${tool}: change a file`);
      fieldLine('File', str('file_path'));
      if (input.replace_all === true) out.push('Replaces every occurrence.');
      out.push(...editLines(input));
      break;
    case 'MultiEdit': {
      out.push(`${tool}: change a file`);
      fieldLine('File', str('file_path'));
      const edits = Array.isArray(input.edits) ? input.edits : [];
      edits.slice(0, MAX_EDITS_SHOWN).forEach((edit, i) => {
        const e = asObject(edit) ?? {};
        out.push(`Edit ${i + 1} of ${edits.length}${e.replace_all === true ? ' (every occurrence)' : ''}:`);
        out.push(...editLines(e));
      });
      if (edits.length > MAX_EDITS_SHOWN) out.push(`… (${edits.length - MAX_EDITS_SHOWN} more edits)`);
      break;
    }
    case 'Write': {
      out.push(`${tool}: write a file`);
      fieldLine('File', str('file_path'));
      const content = str('content') ?? '';
      out.push(`Content (${countLines(content)} ${countLines(content) === 1 ? 'line' : 'lines'}):`);
      out.push(...block('  ', content, CONTENT_MAX_LINES, CONTENT_MAX_CHARS));
      break;
    }
    case 'Read':
      out.push(`${tool}: read a file`);
      fieldLine('File', str('file_path'));
      if (typeof input.offset === 'number') out.push(`From line: ${input.offset}`);
      if (typeof input.limit === 'number') out.push(`Lines: ${input.limit}`);
      break;
    case 'NotebookEdit':
      out.push(`${tool}: change a notebook`);
      fieldLine('Notebook', str('notebook_path'));
      fieldLine('Cell', str('cell_id'));
      fieldLine('Edit', str('edit_mode'));
      fieldLine('Cell type', str('cell_type'));
      if (str('new_source') !== null) {
        out.push('New source:');
        out.push(...block('  ', str('new_source') ?? '', CONTENT_MAX_LINES, CONTENT_MAX_CHARS));
      }
      break;
    case 'WebFetch':
      out.push(`${tool}: fetch a web page`);
      fieldLine('URL', str('url'));
      fieldLine('Prompt', str('prompt'));
      break;
    case 'WebSearch':
      out.push(`${tool}: search the web`);
      fieldLine('Query', str('query'));
      break;
    case 'Grep':
    case 'Glob':
      out.push(`${tool}: search files`);
      fieldLine('Pattern', str('pattern'));
      fieldLine('In', str('path'));
      fieldLine('Files', str('glob'));
      break;
    default:
      if (request.questions !== undefined) {
        out.push(`${tool}: Claude asks you`);
        for (const q of request.questions) {
          const header = q.header.trim() !== '' ? `[${visibleLine(q.header, 100)}] ` : '';
          out.push(`${header}${visibleLine(q.question, FIELD_MAX_CHARS)} (${q.multiSelect ? 'choose any' : 'choose one'})`);
          q.options.forEach((o, i) => {
            const description = o.description.trim() !== '' ? ` - ${visibleLine(o.description, FIELD_MAX_CHARS)}` : '';
            out.push(`  ${i + 1}. ${visibleLine(o.label, FIELD_MAX_CHARS)}${description}`);
          });
        }
        break;
      }
      out.push(`${tool}: use a tool`);
      fieldLine('Description', request.description ?? null);
      out.push('Input:');
      out.push(...block('  ', safeJson(input, 2), CONTENT_MAX_LINES, CONTENT_MAX_CHARS));
  }

  if (request.agentId !== undefined) fieldLine('From subagent', request.agentId);
  fieldLine('Blocked path', request.blockedPath ?? null);
  fieldLine('Reason', request.decisionReason ?? null);
  if (request.suggestions.length > 0) {
    out.push('"Always allow" would:');
    for (const s of request.suggestions.slice(0, MAX_SUGGESTIONS_SHOWN)) out.push(`  - ${describeSuggestion(s)}`);
    if (request.suggestions.length > MAX_SUGGESTIONS_SHOWN) out.push(`  … (${request.suggestions.length - MAX_SUGGESTIONS_SHOWN} more)`);
  }
  return out.join('\n');
}

function editLines(edit: JsonObject): string[] {
  const oldText = typeof edit.old_string === 'string' ? edit.old_string : '';
  const newText = typeof edit.new_string === 'string' ? edit.new_string : '';
  return [...block('- ', oldText, DIFF_MAX_LINES, DIFF_MAX_CHARS), ...block('+ ', newText, DIFF_MAX_LINES, DIFF_MAX_CHARS)];
}

const MODE_WORDS: Record<string, string> = {
  default: 'ask before risky tools',
  acceptEdits: 'file edits are accepted without asking',
  bypassPermissions: 'nothing is asked any more',
  plan: 'plan only, nothing is run',
  dontAsk: 'whatever is not allowed already is refused',
  auto: 'a classifier decides',
};

const DESTINATION_WORDS: Record<string, string> = {
  session: 'for this session',
  localSettings: "saved in the project's .claude/settings.local.json",
  projectSettings: "saved in the project's .claude/settings.json",
  userSettings: 'saved in your ~/.claude/settings.json',
  cliArg: 'for this run',
};

/** One PermissionUpdate in words (one line). */
export function describeSuggestion(suggestion: unknown): string {
  const s = asObject(suggestion);
  if (s === null) return `an unknown change: ${visibleLine(safeJson(suggestion), 200)}`;
  const dest = typeof s.destination === 'string' ? (DESTINATION_WORDS[s.destination] ?? `(${visibleLine(s.destination, 50)})`) : '';
  const where = dest === '' ? '' : `, ${dest}`;
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const rules = (Array.isArray(s.rules) ? s.rules : [])
    .map(asObject)
    .filter((r): r is JsonObject => r !== null && typeof r.toolName === 'string')
    .map((r) => (typeof r.ruleContent === 'string' ? `${r.toolName as string}(${r.ruleContent})` : (r.toolName as string)));
  const behavior = typeof s.behavior === 'string' ? s.behavior : '?';
  const list = (items: string[]): string => visibleLine(items.length > 0 ? items.join(', ') : '(none)', 500);
  switch (s.type) {
    case 'addRules':
      return `${visibleLine(behavior, 20)} ${list(rules)}${where}`;
    case 'replaceRules':
      return `replace the ${visibleLine(behavior, 20)} rules with ${list(rules)}${where}`;
    case 'removeRules':
      return `remove the ${visibleLine(behavior, 20)} rules ${list(rules)}${where}`;
    case 'setMode': {
      const mode = typeof s.mode === 'string' ? s.mode : '?';
      const words = MODE_WORDS[mode];
      return `switch to the ${visibleLine(mode, 50)} mode${words !== undefined ? ` (${words})` : ''}${where}`;
    }
    case 'addDirectories':
      return `give access to ${list(strings(s.directories))}${where}`;
    case 'removeDirectories':
      return `remove access to ${list(strings(s.directories))}${where}`;
    default:
      return `an unknown change: ${visibleLine(safeJson(s), 200)}`;
  }
}

// Everything that would not show, or would show something else: C0/C1 controls (ESC included; tab
// and newline are kept), soft hyphen, bidi marks, overrides and isolates, zero-width and invisible
// characters, line/paragraph separators, the BOM and interlinear annotation controls.
const INVISIBLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/g;

/** `text` with line ends as "\n" and every invisible character written out as `\xHH` / `\uHHHH`. */
function visible(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(INVISIBLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `visible` on one line: newlines as "\n" too, capped. */
function visibleLine(text: string, max: number): string {
  return capChars(visible(text.length > max * 2 ? text.slice(0, max * 2) : text).replace(/\n/g, '\\n'), max);
}

function countLines(text: string): number {
  if (text === '') return 0;
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < text.length - 1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** `text` as indented lines (`prefix` each), at most `maxLines` lines and `maxChars` characters, with a note of what was cut. */
function block(prefix: string, text: string, maxLines: number, maxChars: number): string[] {
  if (text === '') return [`${prefix}(empty)`];
  const total = countLines(text);
  let head = text.length > maxChars ? text.slice(0, maxChars) : text;
  // Never end on half of a surrogate pair.
  if (head.length < text.length && /[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  let lines = visible(head).replace(/\n$/, '').split('\n');
  let cut = head.length < text.length;
  if (lines.length > maxLines) {
    lines = lines.slice(0, maxLines);
    cut = true;
  }
  const out = lines.map((line) => `${prefix}${line}`);
  if (cut) out.push(`${prefix}… (cut here: ${total} ${total === 1 ? 'line' : 'lines'}, ${text.length} characters in all)`);
  return out;
}
