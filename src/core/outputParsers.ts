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
 *   Older CLIs named the cost `cost_usd`; it is read when `total_cost_usd` is absent, and the sum of
 *   `modelUsage.<model>.costUSD` when both are. `modelUsage` also gives the tokens when `usage` is
 *   missing, or all zero while modelUsage is not (error_max_budget_usd results do that).
 *   Checked against the real CLI (2.1.197, test/fixtures/agent-output/real/claude-*.jsonl):
 *   {"type":"system","subtype":"api_retry","attempt","max_retries","retry_delay_ms","error_status","error"}
 *     before each retry of a failed API call (5xx, 529 "overloaded", 429 "rate_limit");
 *   {"type":"rate_limit_event","rate_limit_info":{"status":"allowed"|"allowed_warning"|"rejected","resetsAt",
 *     "rateLimitType","utilization",…}} (only on a claude.ai login, from the anthropic-ratelimit-unified-* headers);
 *   the result's "permission_denials":[{"tool_name","tool_use_id","tool_input"}] lists the tool calls `-p`
 *   refused (no permission flags: every Bash/Edit/Write call), and "errors":[…] explains error_* subtypes
 *   ("Reached maximum number of turns (1)", "Reached maximum budget ($…)", "No conversation found with
 *   session ID: …"). An API failure after the retries is subtype "success", is_error true, and the
 *   message ("API Error: 500 Internal server error. …") in `result`; the CLI exits 1.
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
 *   Checked against the real CLI (0.171.0, test/fixtures/agent-output/real/codex-*.jsonl): stream retries
 *   are `{"type":"error","message":"Reconnecting... 1/2 (stream disconnected …)"}`; an HTTP error or a
 *   broken stream ends in `error` + `turn.failed` with the same message and exit code 1. A command the
 *   sandbox or the approval policy refused is an item with `"status":"declined"`; under the default
 *   read-only sandbox a failing write produces no item at all (only the model sees the error).
 *
 * gemini-stream-json (`gemini -p … --output-format stream-json`), google-gemini/gemini-cli
 * `packages/core/src/output/types.ts` (JsonStreamEventType), checked against the real CLI (0.61.0):
 *   {"type":"init","session_id","model"} {"type":"message","role":"user"|"assistant","content","delta"?}
 *   {"type":"tool_use","tool_name","tool_id","parameters"}
 *   {"type":"tool_result","tool_id","status":"success"|"error","output"?,"error"?:{"type","message"}}
 *   {"type":"error","severity":"warning"|"error","message"}
 *   {"type":"result","status":"success"|"error","error"?:{"type","message"},"stats":{"total_tokens",
 *    "input_tokens","output_tokens","cached","input","duration_ms","tool_calls","models"}}
 *   Quirks: assistant text comes as `delta: true` pieces, to be concatenated. `input_tokens` includes
 *   `cached` (like Codex). In headless mode without `--approval-mode yolo` the tools that need approval
 *   are not registered, so a call to one ends as a tool_result error of type `tool_not_registered`;
 *   policy denials are `policy_violation`: both are recorded as permission denials. API retries are
 *   only reported on stderr ("Attempt 1 failed: …"). Gemini reports no cost.
 */
import type { OutputFormat, PermissionDenial, RateLimitStatus } from './taskTypes';
import { LineSplitter, type SplitLine } from './lineSplitter';

export type { PermissionDenial, RateLimitStatus } from './taskTypes';

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
  /** Tool calls the agent made (Claude tool_use blocks, Codex command/file/MCP/search items, Gemini tool_use). */
  toolCalls: number;
  /**
   * Tool calls the agent was not allowed to make (Claude's result `permission_denials`, Codex items
   * with status `declined`, Gemini's unregistered or policy-denied tools), in order, at most
   * MAX_PERMISSION_DENIALS. Untrusted text: controls and bidi overrides removed, capped.
   */
  permissionDenials: PermissionDenial[];
  /** How many denials there were in all (may exceed `permissionDenials.length`). */
  permissionDenialCount: number;
  /** Set while the agent is retrying a failed API call (Claude `system/api_retry`, Codex "Reconnecting... N/M"); null once it got on. */
  retrying: RetryStatus | null;
  /** The latest rate-limit status the agent reported (Claude `rate_limit_event`); kept to the end. */
  rateLimit: RateLimitStatus | null;
}


export interface RetryStatus {
  /** 1 for the first retry. */
  attempt: number;
  maxRetries: number | null;
  delayMs: number | null;
  /** The agent's short reason (`overloaded`, `rate_limit`, `server_error`, or Codex's message), ≤ 200 chars. */
  error: string | null;
  /** The HTTP status that failed, when the agent says. */
  httpStatus: number | null;
}


export interface OutputParserOptions {
  /**
   * Called at the end of a `push` or `end` during which the session id, a token count, the cost or the
   * result fields changed (not for byte/line counts or lastText: read `summary` for those).
   */
  onUpdate?(summary: OutputSummary): void;
  /** Lines longer than this many bytes (a CRLF's `\r` included) are counted and dropped. Default 1 MiB. */
  maxLineBytes?: number;
  /** Every event line of a JSON format, after the summary took it in (a two-way agent's control requests). */
  onEvent?(event: JsonObject): void;
  /** The kept head of a JSON line that was too long to read (its request may still need an answer). */
  onOverlongLine?(head: string): void;
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
export const MAX_PERMISSION_DENIALS = 50;
const DENIAL_TOOL_MAX_CHARS = 100;
const DENIAL_SUMMARY_MAX_CHARS = 200;
/** How many tool-call ids are remembered (to count a call once, to name a Gemini tool in its result). */
const RECENT_TOOL_IDS = 256;

export function createOutputParser(format: OutputFormat, options: OutputParserOptions = {}): OutputParser {
  const state = emptySummary();
  const interpret = lineInterpreterFor(format, state, options);
  const splitter = new LineSplitter((line) => {
    state.lines++;
    interpret(line);
  }, { maxLineBytes: options.maxLineBytes });
  let reported = notableFields(state);

  const reportIfChanged = (): void => {
    const now = notableFields(state);
    if (now === reported) return;
    reported = now;
    options.onUpdate?.(snapshot(state));
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
      return snapshot(state);
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
    toolCalls: 0,
    permissionDenials: [],
    permissionDenialCount: 0,
    retrying: null,
    rateLimit: null,
  };
}

/** A copy that shares nothing mutable with the parser's state. */
function snapshot(s: OutputSummary): OutputSummary {
  return {
    ...s,
    permissionDenials: s.permissionDenials.map((d) => ({ ...d })),
    retrying: s.retrying === null ? null : { ...s.retrying },
    rateLimit: s.rateLimit === null ? null : { ...s.rateLimit },
  };
}

function notableFields(s: OutputSummary): string {
  return JSON.stringify([
    s.sessionId, s.inputTokens, s.outputTokens, s.cacheReadTokens, s.cacheCreationTokens,
    s.costUsd, s.sawResult, s.isError, s.resultSubtype, s.errorMessage,
    s.toolCalls, s.permissionDenialCount, s.permissionDenials.length, s.retrying, s.rateLimit,
  ]);
}

type LineInterpreter = (line: SplitLine) => void;

function lineInterpreterFor(format: OutputFormat, state: OutputSummary, options: OutputParserOptions): LineInterpreter {
  switch (format) {
    case 'claude-stream-json': {
      const usage = new ClaudeUsageTally();
      return jsonLineInterpreter(state, options, (event) => applyClaudeEvent(event, state, usage));
    }
    case 'codex-json': {
      const items = new RecentIds();
      return jsonLineInterpreter(state, options, (event) => applyCodexEvent(event, state, items));
    }
    case 'gemini-stream-json': {
      const gemini = new GeminiState();
      return jsonLineInterpreter(state, options, (event) => applyGeminiEvent(event, state, gemini));
    }
    case 'text':
    default:
      return (line) => {
        const text = lastDisplayLine(line.bytes.toString('utf8'));
        if (text !== null) state.lastText = text;
      };
  }
}

function jsonLineInterpreter(state: OutputSummary, options: OutputParserOptions, apply: (event: JsonObject) => void): LineInterpreter {
  return (line) => {
    if (!line.complete) {
      state.malformedLines++;
      options.onOverlongLine?.(line.bytes.toString('utf8'));
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
    options.onEvent?.(event);
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

// Bidi overrides/isolates and zero-width joiners could make a denial summary read differently than it is.
const BIDI_AND_INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Text that came from the agent (or the model) made safe to show on one line: escapes removed,
 * control characters, newlines and bidi overrides turned into spaces, whitespace collapsed, capped.
 */
export function oneLineUntrusted(text: string, max: number): string {
  const head = text.length > max * 4 ? text.slice(0, max * 4) : text;
  return capChars(
    head.replace(ANSI_ESCAPE, '').replace(/[\x00-\x1f\x7f-\x9f]/g, ' ').replace(BIDI_AND_INVISIBLE, '').replace(/\s+/g, ' ').trim(),
    max,
  );
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
// Tool calls and denials (all formats)

/** Input fields that say best what a call does, in order of preference. */
const SUMMARY_FIELDS = ['command', 'cmd', 'file_path', 'notebook_path', 'path', 'absolute_path', 'url', 'pattern', 'query', 'prompt', 'description'];

/** A short, safe summary of a tool call's input: its command / path / URL, else compact JSON. */
export function summarizeToolInput(input: unknown): string {
  if (typeof input === 'string') return oneLineUntrusted(input, DENIAL_SUMMARY_MAX_CHARS);
  const object = asObject(input);
  if (object !== null) {
    for (const key of SUMMARY_FIELDS) {
      const value = object[key];
      if (typeof value === 'string' && value.trim() !== '') return oneLineUntrusted(value, DENIAL_SUMMARY_MAX_CHARS);
      if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
        return oneLineUntrusted(value.join(' '), DENIAL_SUMMARY_MAX_CHARS);
      }
    }
  }
  if (input === undefined || input === null) return '';
  let json: string;
  try {
    json = JSON.stringify(input) ?? '';
  } catch {
    json = '';
  }
  return oneLineUntrusted(json, DENIAL_SUMMARY_MAX_CHARS);
}

function addDenial(state: OutputSummary, tool: string, input: unknown): void {
  state.permissionDenialCount++;
  if (state.permissionDenials.length >= MAX_PERMISSION_DENIALS) return;
  state.permissionDenials.push({
    tool: oneLineUntrusted(tool, DENIAL_TOOL_MAX_CHARS) || 'unknown',
    summary: typeof input === 'string' ? oneLineUntrusted(input, DENIAL_SUMMARY_MAX_CHARS) : summarizeToolInput(input),
  });
}

/** A bounded set of recently seen ids (oldest forgotten first). */
class RecentIds<T = true> {
  private readonly map = new Map<string, T>();

  /** True when `id` was new (and is now remembered). */
  add(id: string, value: T = true as T): boolean {
    if (this.map.has(id)) return false;
    if (this.map.size >= RECENT_TOOL_IDS) this.map.delete(this.map.keys().next().value as string);
    this.map.set(id, value);
    return true;
  }

  get(id: string): T | undefined {
    return this.map.get(id);
  }
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
  /** tool_use ids already counted (a split response repeats no block, but a replayed line would). */
  readonly toolUses = new RecentIds();
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
      if (event.subtype === 'api_retry') applyClaudeRetry(event, state);
      break;
    case 'assistant':
      state.retrying = null;
      applyClaudeAssistant(event, state, tally);
      break;
    case 'rate_limit_event':
      applyClaudeRateLimit(event, state);
      break;
    case 'result':
      state.retrying = null;
      applyClaudeResult(event, state);
      break;
  }
  if (state.sessionId === null && sessionId !== null) state.sessionId = sessionId;
}

function applyClaudeAssistant(event: JsonObject, state: OutputSummary, tally: ClaudeUsageTally): void {
  const message = asObject(event.message);
  const content = arrayField(message, 'content');
  for (const item of content) {
    const block = asObject(item);
    if (block?.type !== 'tool_use') continue;
    const id = stringField(block, 'id');
    if (id === null || tally.toolUses.add(id)) state.toolCalls++;
  }
  const text = lastTextBlock(content);
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

  const cost = numberField(event, 'total_cost_usd') ?? numberField(event, 'cost_usd') ?? modelUsageCost(asObject(event.modelUsage));
  if (cost !== null) state.costUsd = cost;

  if (Array.isArray(event.permission_denials)) {
    state.permissionDenials = [];
    state.permissionDenialCount = 0;
    for (const item of event.permission_denials) {
      const denial = asObject(item);
      if (denial === null) continue;
      addDenial(state, stringField(denial, 'tool_name') ?? 'unknown', denial.tool_input);
    }
  }

  const usage = asObject(event.usage);
  const perModel = modelUsageTokens(asObject(event.modelUsage));
  const resultUsage = claudeUsage(usage);
  // Quirk (2.1.197): an error_max_budget_usd result reports zero `usage` while `modelUsage` has the
  // tokens the run spent; the per-model numbers win then.
  const zero = resultUsage !== null && resultUsage.input + resultUsage.output + resultUsage.cacheRead + resultUsage.cacheCreation === 0;
  if (perModel !== null && (usage === null || (zero && perModel.input + perModel.output + perModel.cacheRead + perModel.cacheCreation > 0))) {
    state.inputTokens = perModel.input;
    state.outputTokens = perModel.output;
    state.cacheReadTokens = perModel.cacheRead;
    state.cacheCreationTokens = perModel.cacheCreation;
  } else if (usage !== null) {
    state.inputTokens = tokenField(usage, 'input_tokens') ?? state.inputTokens;
    state.outputTokens = tokenField(usage, 'output_tokens') ?? state.outputTokens;
    state.cacheReadTokens = tokenField(usage, 'cache_read_input_tokens') ?? state.cacheReadTokens;
    state.cacheCreationTokens = tokenField(usage, 'cache_creation_input_tokens') ?? state.cacheCreationTokens;
  }

  const resultText = stringField(event, 'result');
  if (resultText !== null) state.lastText = lastDisplayLine(resultText) ?? state.lastText;
  state.errorMessage = state.isError === true ? claudeResultError(event, subtype) : null;
}

/** The sum of `modelUsage.<model>.costUSD`, or null when no model reports a cost. */
function modelUsageCost(modelUsage: JsonObject | null): number | null {
  if (modelUsage === null) return null;
  let total: number | null = null;
  for (const usage of Object.values(modelUsage)) {
    const cost = numberField(asObject(usage), 'costUSD');
    if (cost !== null && cost >= 0) total = (total ?? 0) + cost;
  }
  return total;
}

/** Token totals over `modelUsage.<model>` (camelCase fields), or null when there are none. */
function modelUsageTokens(modelUsage: JsonObject | null): TokenUsage | null {
  if (modelUsage === null) return null;
  const total: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
  let any = false;
  for (const value of Object.values(modelUsage)) {
    const usage = asObject(value);
    if (usage === null) continue;
    any = true;
    total.input += tokenField(usage, 'inputTokens') ?? 0;
    total.output += tokenField(usage, 'outputTokens') ?? 0;
    total.cacheRead += tokenField(usage, 'cacheReadInputTokens') ?? 0;
    total.cacheCreation += tokenField(usage, 'cacheCreationInputTokens') ?? 0;
  }
  return any ? total : null;
}

function applyClaudeRetry(event: JsonObject, state: OutputSummary): void {
  const attempt = numberField(event, 'attempt');
  const delay = numberField(event, 'retry_delay_ms');
  const error = stringField(event, 'error');
  state.retrying = {
    attempt: attempt !== null && attempt >= 0 ? Math.floor(attempt) : (state.retrying?.attempt ?? 0) + 1,
    maxRetries: numberField(event, 'max_retries'),
    delayMs: delay !== null && delay >= 0 ? Math.round(delay) : null,
    error: error === null ? null : oneLineUntrusted(error, LAST_TEXT_MAX_CHARS),
    httpStatus: numberField(event, 'error_status'),
  };
}

function applyClaudeRateLimit(event: JsonObject, state: OutputSummary): void {
  const info = asObject(event.rate_limit_info);
  const status = stringField(info, 'status');
  if (info === null || status === null) return;
  const kind = stringField(info, 'rateLimitType');
  state.rateLimit = {
    status: oneLineUntrusted(status, 40),
    resetsAt: numberField(info, 'resetsAt'),
    kind: kind === null ? null : oneLineUntrusted(kind, 40),
    utilization: numberField(info, 'utilization'),
  };
}

/** What a result subtype means when the result says nothing else. */
const CLAUDE_SUBTYPE_ERRORS: Record<string, string> = {
  error_max_turns: 'Reached the maximum number of turns',
  error_max_budget_usd: 'Reached the maximum budget',
  error_during_execution: 'Error during execution',
  error_max_structured_output_retries: 'Could not produce the requested structured output',
};

/** What went wrong, from a failed result: its text (API errors), its `errors` list, or its subtype. */
export function claudeResultError(event: JsonObject, subtype: string | null): string {
  const resultText = stringField(event, 'result');
  if (resultText !== null && resultText.trim() !== '') return resultText.trim();
  const errors = arrayField(event, 'errors')
    .map((e) => (typeof e === 'string' ? e : stringField(asObject(e), 'message')))
    .filter((e): e is string => e !== null && e.trim() !== '');
  if (errors.length > 0) return errors.join('; ');
  if (subtype === 'error_max_turns') {
    const turns = numberField(event, 'num_turns');
    return `${CLAUDE_SUBTYPE_ERRORS[subtype]}${turns !== null ? ` (${turns})` : ''}`;
  }
  return (subtype !== null ? CLAUDE_SUBTYPE_ERRORS[subtype] : undefined) ?? subtype ?? 'error';
}

// ---------------------------------------------------------------------------------------------
// codex-json

/** Items that are tool calls. */
const CODEX_TOOL_ITEMS = new Set(['command_execution', 'file_change', 'mcp_tool_call', 'web_search']);
/** `Reconnecting... 2/5 (stream disconnected before completion: …)` */
const CODEX_RECONNECTING = /^Reconnecting\.\.\.\s*(\d+)\s*\/\s*(\d+)\s*(?:\((.*)\))?\s*$/s;

function applyCodexEvent(event: JsonObject, state: OutputSummary, items: RecentIds): void {
  if (event.type !== 'error') state.retrying = null;
  switch (event.type) {
    case 'thread.started': {
      const threadId = stringField(event, 'thread_id');
      if (threadId !== null) state.sessionId = threadId;
      break;
    }
    case 'item.started':
    case 'item.updated':
    case 'item.completed': {
      const item = asObject(event.item);
      const type = stringField(item, 'type');
      if (type !== null && CODEX_TOOL_ITEMS.has(type)) {
        const id = stringField(item, 'id');
        if (id === null ? event.type === 'item.completed' : items.add(id)) state.toolCalls++;
        if (event.type === 'item.completed' && item?.status === 'declined') addCodexDenial(state, type, item);
      }
      if (event.type === 'item.completed' && type === 'agent_message') {
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
      const retry = message === null ? null : CODEX_RECONNECTING.exec(message.trim());
      if (retry !== null) {
        state.retrying = {
          attempt: Number(retry[1]),
          maxRetries: Number(retry[2]),
          delayMs: null,
          error: retry[3] !== undefined ? oneLineUntrusted(retry[3], LAST_TEXT_MAX_CHARS) : null,
          httpStatus: null,
        };
      }
      break;
    }
  }
}

function addCodexDenial(state: OutputSummary, type: string, item: JsonObject | null): void {
  switch (type) {
    case 'command_execution':
      addDenial(state, 'shell', stringField(item, 'command') ?? '');
      break;
    case 'file_change': {
      const paths = arrayField(item, 'changes')
        .map((c) => stringField(asObject(c), 'path'))
        .filter((p): p is string => p !== null);
      addDenial(state, 'file_change', paths.join(', '));
      break;
    }
    case 'mcp_tool_call':
      addDenial(state, `${stringField(item, 'server') ?? 'mcp'}/${stringField(item, 'tool') ?? 'tool'}`, item?.arguments);
      break;
    default:
      addDenial(state, type, stringField(item, 'query') ?? '');
  }
}

// ---------------------------------------------------------------------------------------------
// gemini-stream-json

/** Tool-result error types that mean "not allowed", not "failed". */
const GEMINI_DENIAL_ERRORS = new Set(['tool_not_registered', 'policy_violation']);
/** Assistant text kept to find the last line (its tail). */
const GEMINI_TEXT_KEEP_CHARS = 8192;

class GeminiState {
  /** tool_id → the call, to name the tool and its input when its result says it was refused. */
  readonly calls = new RecentIds<{ name: string; parameters: unknown }>();
  /** The assistant message being streamed (its tail). */
  assistantText = '';
}

function applyGeminiEvent(event: JsonObject, state: OutputSummary, gemini: GeminiState): void {
  switch (event.type) {
    case 'init': {
      const sessionId = stringField(event, 'session_id');
      if (sessionId !== null) state.sessionId = sessionId;
      break;
    }
    case 'message': {
      const content = stringField(event, 'content');
      if (event.role !== 'assistant') {
        gemini.assistantText = '';
        break;
      }
      if (content === null) break;
      const text = event.delta === true ? gemini.assistantText + content : content;
      gemini.assistantText = text.length > GEMINI_TEXT_KEEP_CHARS ? text.slice(-GEMINI_TEXT_KEEP_CHARS) : text;
      state.lastText = lastDisplayLine(gemini.assistantText) ?? state.lastText;
      break;
    }
    case 'tool_use': {
      gemini.assistantText = '';
      const id = stringField(event, 'tool_id');
      const name = stringField(event, 'tool_name') ?? 'unknown';
      if (id === null || gemini.calls.add(id, { name, parameters: event.parameters })) state.toolCalls++;
      break;
    }
    case 'tool_result': {
      const error = asObject(event.error);
      const errorType = stringField(error, 'type');
      if (event.status === 'error' && errorType !== null && GEMINI_DENIAL_ERRORS.has(errorType)) {
        const id = stringField(event, 'tool_id');
        const call = id === null ? undefined : gemini.calls.get(id);
        addDenial(state, call?.name ?? geminiToolFromId(id), call?.parameters);
      }
      break;
    }
    case 'error': {
      const message = stringField(event, 'message');
      if (message !== null && message.trim() !== '') state.errorMessage = message.trim();
      break;
    }
    case 'result': {
      state.sawResult = true;
      const status = stringField(event, 'status');
      state.resultSubtype = status;
      state.isError = status === null ? null : status !== 'success';
      const stats = asObject(event.stats);
      if (stats !== null) {
        state.inputTokens = tokenField(stats, 'input_tokens') ?? state.inputTokens;
        state.outputTokens = tokenField(stats, 'output_tokens') ?? state.outputTokens;
        state.cacheReadTokens = tokenField(stats, 'cached') ?? state.cacheReadTokens;
        const toolCalls = tokenField(stats, 'tool_calls');
        if (toolCalls !== null && toolCalls > state.toolCalls) state.toolCalls = toolCalls;
      }
      if (state.isError === true) {
        const message = stringField(asObject(event.error), 'message');
        state.errorMessage = message !== null && message.trim() !== '' ? message.trim() : (state.errorMessage ?? `The agent reported an error (${status})`);
      } else {
        state.errorMessage = null;
      }
      break;
    }
  }
}

/** `run_shell_command__run_shell_command_1796195304301_0` → `run_shell_command`. */
function geminiToolFromId(id: string | null): string {
  return id?.split('__')[0] || 'unknown';
}
