/**
 * A task's output log as readable text, read asynchronously and incrementally: each `update()`
 * reads only the bytes appended since the last one and renders them (Claude stream-json and
 * Codex JSONL become text). A large log is never read whole: the first read starts at the last
 * `maxBytes`, and the text kept is capped the same way. No `vscode` import.
 */
import { promises as fsp } from 'node:fs';
import { createLogRenderer, type LogRenderer } from '../../core/logRenderer';
import { isLive, type OutputFormat, type TaskRow } from '../../core/taskTypes';
import { formatBytes, formatCost, formatDuration, formatTimestamp } from './format';
import { deniedCount, deniedLines, deniedText, displayTaskCommand, statusText, taskDurationMs, taskLabel } from './taskPresentation';

export const DEFAULT_MAX_SHOWN_BYTES = 4 * 1024 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;
/** Denied calls listed in the output header (the parser keeps at most 50). */
const DENIALS_HEADER_MAX = 50;

export interface LogDocumentOptions {
  /** How much of the log's end is read at first, and how much rendered text is kept. */
  readonly maxBytes?: number;
  readonly chunkBytes?: number;
}

export class LogDocument {
  private offset = 0;
  private renderer: LogRenderer;
  private parts: string[] = [];
  private length = 0;
  /** Bytes of the file never read (the head of a large log). */
  private skippedBytes = 0;
  /** Rendered characters dropped to stay under the cap. */
  private droppedChars = 0;
  private skipPartialLine = false;
  private missing = false;
  private ended = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly maxBytes: number;
  private readonly chunkBytes: number;

  constructor(
    readonly file: string | null,
    readonly format: OutputFormat,
    options: LogDocumentOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_SHOWN_BYTES;
    this.chunkBytes = options.chunkBytes ?? READ_CHUNK_BYTES;
    this.renderer = createLogRenderer(format);
  }

  /** Reads what was appended since the last call. Resolves true when the text changed. Calls never overlap. */
  update(): Promise<boolean> {
    const run = this.queue.then(() => this.readNew());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The task ended: renders a last line that had no newline. True when the text changed. */
  end(): Promise<boolean> {
    const run = this.queue.then(async () => {
      const changed = await this.readNew();
      if (this.ended) return changed;
      this.ended = true;
      return this.append(this.renderer.end()) || changed;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** True when the file did not exist at the last read. */
  get isMissing(): boolean {
    return this.missing;
  }

  /** True when the beginning of the output is not shown. */
  get isTruncated(): boolean {
    return this.skippedBytes > 0 || this.droppedChars > 0;
  }

  get body(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }

  /** The note that says what is not shown, or '' when everything is. */
  truncationNote(): string {
    if (!this.isTruncated) return '';
    return `[The beginning of this output is not shown: this view keeps the last ${formatBytes(this.maxBytes)}. Full log: ${this.file}]\n`;
  }

  private async readNew(): Promise<boolean> {
    if (this.file === null || this.ended) return false;
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.missing = true;
        return false;
      }
      throw err;
    }
    this.missing = false;
    let changed = false;
    try {
      const size = (await handle.stat()).size;
      if (size < this.offset) {
        // Replaced or truncated: start over.
        changed = this.length > 0;
        this.reset();
      }
      if (this.offset === 0 && this.length === 0 && size > this.maxBytes) {
        this.offset = size - this.maxBytes;
        this.skippedBytes = this.offset;
        this.skipPartialLine = true;
      }
      const buffer = Buffer.allocUnsafe(Math.min(this.chunkBytes, Math.max(1, size - this.offset)));
      while (this.offset < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        let chunk = buffer.subarray(0, bytesRead);
        if (this.skipPartialLine) {
          // Starting mid-file: drop the cut line (it could even start mid-character).
          const nl = chunk.indexOf(0x0a);
          if (nl < 0) {
            this.skippedBytes += bytesRead;
            continue;
          }
          this.skippedBytes += nl + 1;
          chunk = chunk.subarray(nl + 1);
          this.skipPartialLine = false;
        }
        // The renderer keeps a copy of a partial line: the buffer can be reused.
        if (this.append(this.renderer.push(Buffer.from(chunk)))) changed = true;
      }
    } finally {
      await handle.close();
    }
    return changed;
  }

  private append(text: string): boolean {
    if (text === '') return false;
    this.parts.push(text);
    this.length += text.length;
    // Let the text grow a quarter over the cap before cutting, so that cuts are rare.
    if (this.length > this.maxBytes * 1.25) {
      const all = this.parts.join('');
      let cut = all.length - this.maxBytes;
      const nl = all.indexOf('\n', cut);
      if (nl >= 0 && nl < all.length - 1) cut = nl + 1;
      this.parts = [all.slice(cut)];
      this.length = all.length - cut;
      this.droppedChars += cut;
    }
    return true;
  }

  private reset(): void {
    this.offset = 0;
    this.parts = [];
    this.length = 0;
    this.skippedBytes = 0;
    this.droppedChars = 0;
    this.skipPartialLine = false;
    this.renderer = createLogRenderer(this.format);
  }
}

/** The last `maxBytes` of a file, decoded; null when it does not exist. */
export async function readTail(file: string, maxBytes = 16 * 1024): Promise<{ text: string; truncated: boolean } | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return { text: buffer.subarray(0, read).toString('utf8'), truncated: start > 0 };
  } finally {
    await handle.close();
  }
}

/** The first lines of the output view: what ran, where, when. */
export function outputHeader(row: TaskRow): string {
  const lines = [
    `Agent task: ${taskLabel(row)}`,
    `Command:    ${displayTaskCommand(row)}`,
    `Folder:     ${row.cwd}`,
    `Started:    ${formatTimestamp(row.started_at)}`,
  ];
  if (deniedCount(row) > 0) {
    lines.push(`Denied:     ${deniedText(row)} (the agent's permission settings did not allow them; see agentTasks.agents)`);
    for (const line of deniedLines(row, DENIALS_HEADER_MAX)) lines.push(`            ${line}`);
  }
  lines.push('─'.repeat(60), '');
  return lines.join('\n');
}

/** The last line of the output view: how it ended, or that it is still running. */
export function outputFooter(row: TaskRow, now: number, options: { emptyBody: boolean }): string {
  const lines: string[] = [];
  if (options.emptyBody) lines.push(isLive(row.status) ? '(no output yet)' : '(no output)');
  const ms = taskDurationMs(row, now);
  const took = ms !== null ? ` after ${formatDuration(ms)}` : '';
  const cost = row.cost_usd !== null ? ` · ${formatCost(row.cost_usd)}` : '';
  lines.push('─'.repeat(60));
  if (isLive(row.status)) {
    lines.push(`Running${took} — this view follows the output live.`);
  } else {
    lines.push(`${capitalize(statusText(row))}${took}${cost}.`);
    if (row.error) lines.push(row.error);
  }
  return lines.join('\n') + '\n';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
