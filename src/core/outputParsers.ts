/**
 * Reads an agent's stdout as it streams and keeps a small summary of it: bytes, lines, the
 * agent's session id, token usage, cost, the final result and the last human-readable line.
 * Plain Node: no `vscode` import. Memory stays flat whatever the output size: only one capped
 * line is buffered at a time (see lineSplitter.ts).
 *
 * Field names were checked against the agents' own sources and docs:
 *
 * claude-stream-json (`claude -p … --output-format stream-json --verbose`), the Claude Agent SDK
 * message types (SDKSystemMessage, SDKAssistantMessage, SDKResultMessage in
 * @anthropic-ai/claude-agent-sdk, "Agent SDK reference - TypeScript"):
 *   {"type":"system","subtype":"init","session_id","model","cwd","tools",…}
 *   {"type":"assistant","message":{"id","model","content":[{type:"text",text}|{type:"tool_use",id,name,input}|
 *     {type:"thinking",thinking}],"usage":{…}},"parent_tool_use_id","session_id","error"?}
 *   {"type":"user","message":{"content":[{type:"tool_result",tool_use_id,content,is_error}]},…}
 *   {"type":"result","subtype":"success"|"error_max_turns"|"error_during_execution"|"error_max_budget_usd"|…,
 *    "is_error","result"? (success only),"errors"? (error_* subtypes: string[]),"duration_ms","num_turns",
 *    "session_id","total_cost_usd","usage":{"input_tokens","output_tokens","cache_creation_input_tokens",
 *    "cache_read_input_tokens"}}
 *   Quirks: an API failure can arrive as subtype "success" with is_error true and the message in `result`.
 *   One API response with several content blocks is emitted as several assistant messages sharing one
 *   `message.id` and one `usage` object, so usage must be counted once per message id (documented in the
 *   Agent SDK cost-tracking guide, code.claude.com/docs/en/agent-sdk/cost-tracking, and confirmed as intended
 *   in anthropics/claude-code#87303). The result's usage is authoritative.
 *   Older CLIs named the cost `cost_usd`; it is read when `total_cost_usd` is absent.
 *
 * codex-json (`codex exec --json`), openai/codex `codex-rs/exec/src/exec_events.rs` and `docs/exec.md`:
 *   {"type":"thread.started","thread_id"} {"type":"turn.started"}
 *   {"type":"item.started"|"item.updated"|"item.completed","item":{"id","type":"agent_message"|"reasoning"|
 *     "command_execution"|"file_change"|"mcp_tool_call"|"web_search"|"todo_list"|"error"|…,…}}
 *   {"type":"turn.completed","usage":{"input_tokens","cached_input_tokens","output_tokens"}}
 *   {"type":"turn.failed","error":{"message"}} {"type":"error","message"}
 *   Quirk: `turn.completed.usage` is the thread's running total, not the turn's own usage
 *   (event_processor_with_jsonl_output.rs fills it from `total_token_usage`), so the latest one
 *   replaces the previous instead of being added. `input_tokens` includes `cached_input_tokens`.
 *   `error` events also carry transient notices (stream retries), so they set errorMessage but not isError.
 *   Codex reports no cost.
 */
import type { OutputFormat } from './taskTypes';
import { LineSplitter, type SplitLine } from './lineSplitter';

export interface OutputSummary {
  outputBytes: number;
  /** Newline-terminated lines (blank ones included), plus a final line without a newline once `end()` ran. */
  lines: number;
  /** Lines that are not a JSON object with a string `type` (always 0 for `text`); over-long lines count here. */
  malformedLines: number;
  sessionId: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  costUsd: number | null;
  /** True once the agent's final event was seen (Claude's `result`, Codex's `turn.completed`/`turn.failed`). */
  sawResult: boolean;
  isError: boolean | null;
  /** Claude's result `subtype`; for Codex `completed` or `failed`. */
  resultSubtype: string | null;
  /** From a failed result; before any result, the latest assistant `error` (e.g. `rate_limit`) or Codex `error` event. */
  errorMessage: string | null;
  /** The last human-readable line (last assistant/result text, or for `text` the last non-blank line), ≤ 200 chars. */
  lastText: string | null;
}

export interface OutputParserOptions {
  /**
   * Called at the end of a `push` or `end` during which the session id, a token count, the cost or the
   * result fields changed (not for byte/line counts or lastText: read `summary` for those).
   */
  onUpdate?(summary: OutputSummary): void;
  /** Lines longer than this many bytes (a CRLF's `\r` included) are counted and dropped. Default 1 MiB. */
  maxLineBytes?: number;
}

export interface OutputParser {
  /** Feeds the next piece of stdout, cut anywhere. Never throws on bad input. */
  push(chunk: Buffer): void;
  /** Parses a final line that had no trailing newline. Later pushes are ignored. */
  end(): void;
  /** A snapshot copy of the summary so far. */
  readonly summary: OutputSummary;
}

export const LAST_TEXT_MAX_CHARS = 200;

export function createOutputParser(format: OutputFormat, options: OutputParserOptions = {}): OutputParser {
  const state = emptySummary();
  const interpret = lineInterpreterFor(format, state);
  const splitter = new LineSplitter((line) => {
    state.lines++;
    interpret(line);
  }, { maxLineBytes: options.maxLineBytes });
  let reported = notableFields(state);

  const reportIfChanged = (): void => {
    const now = notableFields(state);
    if (now === reported) return;
    reported = now;
    options.onUpdate?.({ ...state });
  };

  let ended = false;
  return {
    push(chunk: Buffer): void {
      if (ended) return;
      state.outputBytes += chunk.length;
      splitter.push(chunk);
      reportIfChanged();
    },
    end(): void {
      if (ended) return;
      ended = true;
      splitter.end();
      reportIfChanged();
    },
    get summary(): OutputSummary {
      return { ...state };
    },
  };
}

export function emptySummary(): OutputSummary {
  return {
    outputBytes: 0,
    lines: 0,
    malformedLines: 0,
    sessionId: null,
    inputTokens: null,
    outputTokens: null,
    cacheReadTokens: null,
    cacheCreationTokens: null,
    costUsd: null,
    sawResult: false,
    isError: null,
    resultSubtype: null,
    errorMessage: null,
    lastText: null,
  };
}

function notableFields(s: OutputSummary): string {
  return JSON.stringify([
    s.sessionId, s.inputTokens, s.outputTokens, s.cacheReadTokens, s.cacheCreationTokens,
    s.costUsd, s.sawResult, s.isError, s.resultSubtype, s.errorMessage,
  ]);
}

type LineInterpreter = (line: SplitLine) => void;

function lineInterpreterFor(format: OutputFormat, state: OutputSummary): LineInterpreter {
  switch (format) {
    case 'claude-stream-json': {
      const usage = new ClaudeUsageTally();
      return jsonLineInterpreter(state, (event) => applyClaudeEvent(event, state, usage));
    }
    case 'codex-json':
      return jsonLineInterpreter(state, (event) => applyCodexEvent(event, state));
    case 'text':
    default:
      return (line) => {
        const text = lastDisplayLine(line.bytes.toString('utf8'));
        if (text !== null) state.lastText = text;
      };
  }
}

function jsonLineInterpreter(state: OutputSummary, apply: (event: JsonObject) => void): LineInterpreter {
  return (line) => {
    if (!line.complete) {
      state.malformedLines++;
      return;
    }
    const text = line.bytes.toString('utf8');
    if (text.trim() === '') return;
    const event = parseEventLine(text);
    if (event === null) {
      state.malformedLines++;
      return;
    }
    apply(event);
  };
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (shared with logRenderer.ts)

export type JsonObject = Record<string, unknown>;

/** The line as an event object (a JSON object with a string `type`), or null when it is not one. */
export function parseEventLine(line: string): JsonObject | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  const event = asObject(value);
  return event !== null && typeof event.type === 'string' ? event : null;
}

export function asObject(value: unknown): JsonObject | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
}

export function stringField(object: JsonObject | null, key: string): string | null {
  const value = object?.[key];
  return typeof value === 'string' ? value : null;
}

export function numberField(object: JsonObject | null, key: string): number | null {
  const value = object?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function tokenField(object: JsonObject | null, key: string): number | null {
  const value = numberField(object, key);
  return value !== null && value >= 0 ? value : null;
}

export function arrayField(object: JsonObject | null, key: string): unknown[] {
  const value = object?.[key];
  return Array.isArray(value) ? value : [];
}

// ---------------------------------------------------------------------------------------------
// Text helpers

// CSI (colors, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
const ANSI_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
const CONTROL_CHARS = /[\x00-\x08\x0b-\x1f\x7f]/g;
/** Newlines, carriage returns, tabs, escapes and other controls: text without any needs no cleanup. */
const HAS_CONTROL_CHARS = /[\x00-\x1f\x7f]/;

/**
 * The last non-blank line of `text` as a person would see it on a terminal: escapes and control
 * characters removed, a `\r`-overwritten progress line reduced to what was written last, capped
 * at 200 characters. Null when there is no visible text.
 */
export function lastDisplayLine(text: string): string | null {
  if (!HAS_CONTROL_CHARS.test(text)) {
    const plain = text.trim();
    return plain === '' ? null : capChars(plain, LAST_TEXT_MAX_CHARS);
  }
  const lines = text.replace(ANSI_ESCAPE, '').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const visible = lastCarriageReturnSegment(lines[i]).replace(/\t/g, ' ').replace(CONTROL_CHARS, '').trim();
    if (visible !== '') return capChars(visible, LAST_TEXT_MAX_CHARS);
  }
  return null;
}

function lastCarriageReturnSegment(line: string): string {
  const segments = line.split('\r');
  for (let i = segments.length - 1; i >= 0; i--) {
    if (segments[i].trim() !== '') return segments[i];
  }
  return '';
}

/** Cuts to at most `max` characters (code points), ending in `…` when cut. */
export function capChars(text: string, max: number): string {
  if (text.length <= max) return text;
  // 2·max UTF-16 units hold at least max code points, so this never reads the whole of a huge text.
  const head = Array.from(text.slice(0, max * 2));
  if (head.length <= max && text.length <= max * 2) return text;
  return head.slice(0, max - 1).join('') + '…';
}

// ---------------------------------------------------------------------------------------------
// claude-stream-json

interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

/** How many recent message ids are remembered to avoid counting a split response twice. */
const RECENT_MESSAGE_IDS = 256;

/**
 * Running token totals from assistant messages, for runs that never reach their `result`.
 * A response split into several messages shares one `message.id` and one usage object: the
 * latest usage for an id replaces that id's earlier contribution.
 */
class ClaudeUsageTally {
  private readonly totals: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
  private readonly recent = new Map<string, TokenUsage>();

  record(messageId: string | null, usage: TokenUsage): void {
    if (messageId !== null) {
      const previous = this.recent.get(messageId);
      if (previous !== undefined) {
        addUsage(this.totals, previous, -1);
        this.recent.delete(messageId);
      } else if (this.recent.size >= RECENT_MESSAGE_IDS) {
        this.recent.delete(this.recent.keys().next().value as string);
      }
      this.recent.set(messageId, usage);
    }
    addUsage(this.totals, usage, 1);
  }

  get current(): TokenUsage {
    return { ...this.totals };
  }
}

function addUsage(into: TokenUsage, usage: TokenUsage, sign: 1 | -1): void {
  into.input += sign * usage.input;
  into.output += sign * usage.output;
  into.cacheRead += sign * usage.cacheRead;
  into.cacheCreation += sign * usage.cacheCreation;
}

function claudeUsage(usage: JsonObject | null): TokenUsage | null {
  if (usage === null) return null;
  return {
    input: tokenField(usage, 'input_tokens') ?? 0,
    output: tokenField(usage, 'output_tokens') ?? 0,
    cacheRead: tokenField(usage, 'cache_read_input_tokens') ?? 0,
    cacheCreation: tokenField(usage, 'cache_creation_input_tokens') ?? 0,
  };
}

function applyClaudeEvent(event: JsonObject, state: OutputSummary, tally: ClaudeUsageTally): void {
  const sessionId = stringField(event, 'session_id');
  switch (event.type) {
    case 'system':
      if (event.subtype === 'init' && sessionId !== null) state.sessionId = sessionId;
      break;
    case 'assistant':
      applyClaudeAssistant(event, state, tally);
      break;
    case 'result':
      applyClaudeResult(event, state);
      break;
  }
  if (state.sessionId === null && sessionId !== null) state.sessionId = sessionId;
}

function applyClaudeAssistant(event: JsonObject, state: OutputSummary, tally: ClaudeUsageTally): void {
  const message = asObject(event.message);
  const text = lastTextBlock(arrayField(message, 'content'));
  if (text !== null) state.lastText = lastDisplayLine(text) ?? state.lastText;
  if (state.sawResult) return;
  const usage = claudeUsage(asObject(message?.usage));
  if (usage !== null) {
    tally.record(stringField(message, 'id'), usage);
    const totals = tally.current;
    state.inputTokens = totals.input;
    state.outputTokens = totals.output;
    state.cacheReadTokens = totals.cacheRead;
    state.cacheCreationTokens = totals.cacheCreation;
  }
  const error = stringField(event, 'error');
  if (error !== null) state.errorMessage = error;
}

function lastTextBlock(content: unknown[]): string | null {
  for (let i = content.length - 1; i >= 0; i--) {
    const block = asObject(content[i]);
    if (block?.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') return block.text;
  }
  return null;
}

function applyClaudeResult(event: JsonObject, state: OutputSummary): void {
  state.sawResult = true;
  const subtype = stringField(event, 'subtype');
  state.resultSubtype = subtype;
  const isError = event.is_error;
  state.isError = typeof isError === 'boolean' ? isError : subtype === null ? null : subtype !== 'success';

  const sessionId = stringField(event, 'session_id');
  if (sessionId !== null) state.sessionId = sessionId;

  const cost = numberField(event, 'total_cost_usd') ?? numberField(event, 'cost_usd');
  if (cost !== null) state.costUsd = cost;

  const usage = asObject(event.usage);
  if (usage !== null) {
    state.inputTokens = tokenField(usage, 'input_tokens') ?? state.inputTokens;
    state.outputTokens = tokenField(usage, 'output_tokens') ?? state.outputTokens;
    state.cacheReadTokens = tokenField(usage, 'cache_read_input_tokens') ?? state.cacheReadTokens;
    state.cacheCreationTokens = tokenField(usage, 'cache_creation_input_tokens') ?? state.cacheCreationTokens;
  }

  const resultText = stringField(event, 'result');
  if (resultText !== null) state.lastText = lastDisplayLine(resultText) ?? state.lastText;
  state.errorMessage = state.isError === true ? claudeResultError(event, subtype) : null;
}

/** What went wrong, from a failed result: its text (API errors), its `errors` list, or its subtype. */
export function claudeResultError(event: JsonObject, subtype: string | null): string {
  const resultText = stringField(event, 'result');
  if (resultText !== null && resultText.trim() !== '') return resultText.trim();
  const errors = arrayField(event, 'errors')
    .map((e) => (typeof e === 'string' ? e : stringField(asObject(e), 'message')))
    .filter((e): e is string => e !== null && e.trim() !== '');
  if (errors.length > 0) return errors.join('; ');
  return subtype ?? 'error';
}

// ---------------------------------------------------------------------------------------------
// codex-json

function applyCodexEvent(event: JsonObject, state: OutputSummary): void {
  switch (event.type) {
    case 'thread.started': {
      const threadId = stringField(event, 'thread_id');
      if (threadId !== null) state.sessionId = threadId;
      break;
    }
    case 'item.completed': {
      const item = asObject(event.item);
      if (item?.type === 'agent_message') {
        const text = stringField(item, 'text');
        if (text !== null) state.lastText = lastDisplayLine(text) ?? state.lastText;
      }
      break;
    }
    case 'turn.completed': {
      const usage = asObject(event.usage);
      if (usage !== null) {
        state.inputTokens = tokenField(usage, 'input_tokens') ?? state.inputTokens;
        state.cacheReadTokens = tokenField(usage, 'cached_input_tokens') ?? state.cacheReadTokens;
        state.outputTokens = tokenField(usage, 'output_tokens') ?? state.outputTokens;
      }
      state.sawResult = true;
      state.isError = false;
      state.resultSubtype = 'completed';
      state.errorMessage = null;
      break;
    }
    case 'turn.failed':
      state.sawResult = true;
      state.isError = true;
      state.resultSubtype = 'failed';
      state.errorMessage = stringField(asObject(event.error), 'message') ?? 'turn failed';
      break;
    case 'error': {
      const message = stringField(event, 'message');
      if (message !== null) state.errorMessage = message;
      break;
    }
  }
}
