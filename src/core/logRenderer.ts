/**
 * Turns a run's raw output log into readable text for the "Show Output" view. Pure functions and
 * plain Node: no `vscode` import. Event shapes: see the header of outputParsers.ts.
 */
import type { OutputFormat } from './taskTypes';
import { LineSplitter, type SplitLine } from './lineSplitter';
import {
  arrayField,
  asObject,
  capChars,
  claudeResultError,
  numberField,
  parseEventLine,
  stringField,
  type JsonObject,
} from './outputParsers';

const SUMMARY_MAX_CHARS = 100;
const TOOL_RESULT_MAX_CHARS = 160;
const RAW_HEAD_MAX_CHARS = 200;

/**
 * One log line as readable text (may span several lines), or null when the line has nothing worth
 * showing (blank lines, bookkeeping events). Lines that are not JSON events are returned raw; the
 * `text` format passes every line through unchanged.
 */
export function renderLogLine(format: OutputFormat, line: string): string | null {
  if (format === 'text') return line;
  if (line.trim() === '') return null;
  const event = parseEventLine(line);
  if (event === null) return line;
  return format === 'claude-stream-json' ? renderClaudeEvent(event) : renderCodexEvent(event);
}

export interface LogRenderer {
  /** Readable text for the lines completed by this chunk, each ending in `\n` ('' when none). */
  push(chunk: Buffer): string;
  /** Readable text for a final line without a trailing newline. */
  end(): string;
}

/** Renders a log fed in chunks cut anywhere, with the same line cap as the parser. */
export function createLogRenderer(format: OutputFormat, options: { maxLineBytes?: number } = {}): LogRenderer {
  let out: string[] = [];
  const splitter = new LineSplitter((line) => {
    const rendered = renderSplitLine(format, line);
    if (rendered !== null) out.push(rendered + '\n');
  }, { maxLineBytes: options.maxLineBytes });
  const take = (): string => {
    const text = out.join('');
    out = [];
    return text;
  };
  return {
    push(chunk) {
      splitter.push(chunk);
      return take();
    },
    end() {
      splitter.end();
      return take();
    },
  };
}

function renderSplitLine(format: OutputFormat, line: SplitLine): string | null {
  const text = line.bytes.toString('utf8');
  if (line.complete) return renderLogLine(format, text);
  const head = capChars(text.replace(/\uFFFD+$/, ''), RAW_HEAD_MAX_CHARS);
  return `${head} … [${formatCount(line.byteLength)}-byte line cut]`;
}

// ---------------------------------------------------------------------------------------------
// claude-stream-json

function renderClaudeEvent(event: JsonObject): string | null {
  switch (event.type) {
    case 'system':
      return renderClaudeSystem(event);
    case 'assistant':
      return renderClaudeAssistant(event);
    case 'user':
      return renderClaudeUser(event);
    case 'result':
      return renderClaudeResult(event);
    default:
      // stream_event (partial tokens) and anything newer: too fine-grained for a log view.
      return null;
  }
}

function renderClaudeSystem(event: JsonObject): string {
  const subtype = stringField(event, 'subtype');
  if (subtype !== 'init') return `· system: ${subtype ?? 'event'}`;
  const parts = [`⏺ Session ${stringField(event, 'session_id') ?? '(unknown)'}`];
  const model = stringField(event, 'model');
  if (model !== null) parts.push(`model ${model}`);
  const cwd = stringField(event, 'cwd');
  if (cwd !== null) parts.push(`cwd ${cwd}`);
  return parts.join(' · ');
}

function renderClaudeAssistant(event: JsonObject): string | null {
  const message = asObject(event.message);
  const parts: string[] = [];
  for (const item of arrayField(message, 'content')) {
    const block = asObject(item);
    if (block?.type === 'text' && typeof block.text === 'string') {
      if (block.text.trim() !== '') parts.push(block.text);
    } else if (block?.type === 'tool_use') {
      const name = stringField(block, 'name') ?? 'tool';
      parts.push(`▸ ${name}(${summarizeToolInput(name, block.input)})`);
    } else if (block?.type === 'thinking' && typeof block.thinking === 'string' && block.thinking.trim() !== '') {
      parts.push(`✻ Thinking: ${oneLine(block.thinking, SUMMARY_MAX_CHARS)}`);
    }
  }
  const error = stringField(event, 'error');
  if (error !== null) parts.push(`⚠ ${error}`);
  return parts.length > 0 ? parts.join('\n') : null;
}

function renderClaudeUser(event: JsonObject): string | null {
  const message = asObject(event.message);
  const content = message?.content;
  if (typeof content === 'string') return content.trim() === '' ? null : `> ${oneLine(content, TOOL_RESULT_MAX_CHARS)}`;
  const parts: string[] = [];
  for (const item of arrayField(message, 'content')) {
    const block = asObject(item);
    if (block?.type === 'tool_result') {
      const text = toolResultText(block.content);
      const mark = block.is_error === true ? '✖ ' : '';
      parts.push(`  ⎿ ${mark}${text === '' ? '(no output)' : shortenOutput(text)}`);
    } else if (block?.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') {
      parts.push(`> ${oneLine(block.text, TOOL_RESULT_MAX_CHARS)}`);
    }
  }
  return parts.length > 0 ? parts.join('\n') : null;
}

/** A tool_result's content: a string, or blocks of which only the text ones are readable. */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((item) => {
      const block = asObject(item);
      if (block?.type === 'text') return stringField(block, 'text') ?? '';
      return block?.type === 'image' ? '[image]' : '';
    })
    .filter((text) => text !== '')
    .join('\n');
}

function renderClaudeResult(event: JsonObject): string {
  const subtype = stringField(event, 'subtype') ?? 'result';
  const isError = typeof event.is_error === 'boolean' ? event.is_error : subtype !== 'success';
  const parts = [`${isError ? '✖' : '✔'} Result: ${subtype}`];
  const turns = numberField(event, 'num_turns');
  if (turns !== null) parts.push(`${formatCount(turns)} ${turns === 1 ? 'turn' : 'turns'}`);
  const duration = numberField(event, 'duration_ms');
  if (duration !== null) parts.push(formatDuration(duration));
  const cost = numberField(event, 'total_cost_usd') ?? numberField(event, 'cost_usd');
  if (cost !== null) parts.push(formatCost(cost));
  const usage = asObject(event.usage);
  const input = numberField(usage, 'input_tokens');
  const output = numberField(usage, 'output_tokens');
  if (input !== null || output !== null) parts.push(`tokens ${formatCount(input ?? 0)} in / ${formatCount(output ?? 0)} out`);
  const cacheRead = numberField(usage, 'cache_read_input_tokens');
  const cacheCreation = numberField(usage, 'cache_creation_input_tokens');
  if (cacheRead !== null || cacheCreation !== null) {
    parts.push(`cache ${formatCount(cacheRead ?? 0)} read / ${formatCount(cacheCreation ?? 0)} written`);
  }
  const summary = parts.join(' · ');
  return isError ? `${summary}\n  ${oneLine(claudeResultError(event, subtype), TOOL_RESULT_MAX_CHARS * 2)}` : summary;
}

// ---------------------------------------------------------------------------------------------
// codex-json

function renderCodexEvent(event: JsonObject): string | null {
  switch (event.type) {
    case 'thread.started':
      return `⏺ Session ${stringField(event, 'thread_id') ?? '(unknown)'}`;
    case 'item.started':
      return renderCodexItemStarted(asObject(event.item));
    case 'item.updated':
      return renderCodexItemUpdated(asObject(event.item));
    case 'item.completed':
      return renderCodexItemCompleted(asObject(event.item));
    case 'turn.completed': {
      const usage = asObject(event.usage);
      const input = numberField(usage, 'input_tokens') ?? 0;
      const cached = numberField(usage, 'cached_input_tokens') ?? 0;
      const output = numberField(usage, 'output_tokens') ?? 0;
      return `✔ Turn completed · tokens ${formatCount(input)} in (${formatCount(cached)} cached) / ${formatCount(output)} out`;
    }
    case 'turn.failed':
      return `✖ Turn failed: ${stringField(asObject(event.error), 'message') ?? 'unknown error'}`;
    case 'error':
      return `✖ Error: ${stringField(event, 'message') ?? 'unknown error'}`;
    default:
      // turn.started and anything newer.
      return null;
  }
}

function renderCodexItemStarted(item: JsonObject | null): string | null {
  switch (item?.type) {
    case 'command_execution':
      return `▸ Shell(${oneLine(stringField(item, 'command') ?? '', SUMMARY_MAX_CHARS)})`;
    case 'mcp_tool_call': {
      const tool = stringField(item, 'tool') ?? 'tool';
      const server = stringField(item, 'server');
      return `▸ ${server === null ? tool : `${server}.${tool}`}(${summarizeToolInput(tool, item.arguments)})`;
    }
    case 'todo_list':
      return renderTodoList(item);
    default:
      // agent_message / reasoning show when completed; file_change and web_search too, to show each once.
      return null;
  }
}

function renderCodexItemUpdated(item: JsonObject | null): string | null {
  return item?.type === 'todo_list' ? renderTodoList(item) : null;
}

function renderCodexItemCompleted(item: JsonObject | null): string | null {
  if (item === null) return null;
  switch (item.type) {
    case 'agent_message':
    case 'plan': {
      const text = stringField(item, 'text');
      return text === null || text.trim() === '' ? null : text;
    }
    case 'reasoning': {
      const text = stringField(item, 'text');
      return text === null || text.trim() === '' ? null : `✻ Thinking: ${oneLine(text, SUMMARY_MAX_CHARS)}`;
    }
    case 'command_execution':
      return renderCommandCompleted(item);
    case 'file_change':
      return renderFileChange(item);
    case 'mcp_tool_call':
      return renderMcpCompleted(item);
    case 'web_search':
      return `▸ WebSearch(${oneLine(stringField(item, 'query') ?? '', SUMMARY_MAX_CHARS)})`;
    case 'error':
      return `⚠ ${stringField(item, 'message') ?? 'error'}`;
    default:
      // todo_list was shown as it changed; collab and newer items are not rendered.
      return null;
  }
}

function renderCommandCompleted(item: JsonObject): string {
  if (item.status === 'declined') return '  ⎿ declined';
  const exitCode = numberField(item, 'exit_code');
  const output = stringField(item, 'aggregated_output') ?? '';
  const failed = item.status === 'failed' || (exitCode !== null && exitCode !== 0);
  const head = `${failed ? '✖ ' : ''}exit ${exitCode ?? '?'}`;
  return output.trim() === '' ? `  ⎿ ${head}` : `  ⎿ ${head} · ${shortenOutput(output)}`;
}

function renderFileChange(item: JsonObject): string {
  const changes = arrayField(item, 'changes')
    .map((entry) => {
      const change = asObject(entry);
      return `${stringField(change, 'kind') ?? 'change'} ${stringField(change, 'path') ?? '?'}`;
    })
    .join(', ');
  const line = `▸ Patch(${oneLine(changes, SUMMARY_MAX_CHARS)})`;
  return item.status === 'failed' ? `${line}\n  ⎿ ✖ patch failed` : line;
}

function renderMcpCompleted(item: JsonObject): string {
  const error = stringField(asObject(item.error), 'message');
  if (error !== null || item.status === 'failed') return `  ⎿ ✖ ${oneLine(error ?? 'failed', TOOL_RESULT_MAX_CHARS)}`;
  const text = toolResultText(arrayField(asObject(item.result), 'content'));
  return `  ⎿ ${text === '' ? '(no output)' : shortenOutput(text)}`;
}

function renderTodoList(item: JsonObject): string {
  const todos = arrayField(item, 'items').map(asObject);
  const done = todos.filter((todo) => todo?.completed === true).length;
  const next = todos.find((todo) => todo !== null && todo.completed !== true);
  const nextText = next ? stringField(next, 'text') : null;
  const progress = `${done}/${todos.length} done`;
  return `▸ TodoList(${nextText === null ? progress : `${progress}; next: ${oneLine(nextText, SUMMARY_MAX_CHARS)}`})`;
}

// ---------------------------------------------------------------------------------------------
// Summaries and formatting

/** The input key that says most about a call, by tool; other tools show their input as compact JSON. */
const TOOL_SUMMARY_KEYS: readonly string[] = [
  'command', 'file_path', 'notebook_path', 'pattern', 'url', 'query', 'description', 'prompt', 'path', 'skill',
];

export function summarizeToolInput(toolName: string, input: unknown): string {
  const object = asObject(input);
  if (object === null) return input === undefined || input === null ? '' : oneLine(JSON.stringify(input), SUMMARY_MAX_CHARS);
  if (toolName === 'TodoWrite' && Array.isArray(object.todos)) {
    return `${object.todos.length} ${object.todos.length === 1 ? 'todo' : 'todos'}`;
  }
  for (const key of TOOL_SUMMARY_KEYS) {
    const value = stringField(object, key);
    if (value === null || value.trim() === '') continue;
    const where = key === 'pattern' ? stringField(object, 'path') : null;
    return oneLine(where === null ? value : `${value} in ${where}`, SUMMARY_MAX_CHARS);
  }
  return Object.keys(object).length === 0 ? '' : oneLine(JSON.stringify(object), SUMMARY_MAX_CHARS);
}

/** Whitespace runs (newlines included) collapsed to one space, capped. */
function oneLine(text: string, max: number): string {
  return capChars(text.replace(/\s+/g, ' ').trim(), max);
}

/** A tool's output: its first non-blank line, capped, with a count of the lines left out. */
function shortenOutput(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return '(no output)';
  const first = oneLine(lines[0], TOOL_RESULT_MAX_CHARS);
  return lines.length === 1 ? first : `${first} (+${lines.length - 1} more ${lines.length === 2 ? 'line' : 'lines'})`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const totalSeconds = Math.round(seconds);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const rest = totalSeconds % 60;
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, '0')}m` : `${minutes}m ${String(rest).padStart(2, '0')}s`;
}

export function formatCost(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
