/**
 * Splits a byte stream, fed in chunks cut anywhere, into lines without ever holding more than
 * one capped line in memory. Plain Node: no `vscode` import.
 *
 * Splitting happens on raw bytes: 0x0A never occurs inside a multi-byte UTF-8 sequence, so a
 * complete line always decodes cleanly even when a chunk boundary fell inside a character.
 */

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
/** How much of an over-long line is kept, so a caller can still show its beginning. */
export const DEFAULT_OVERFLOW_HEAD_BYTES = 1024;

export interface SplitLine {
  /**
   * The line without its `\n` (and without the `\r` of a CRLF). For an over-long line, only its
   * first `headBytes`. Only valid during the callback: the splitter reuses the memory.
   */
  readonly bytes: Buffer;
  /** False when the line was longer than `maxLineBytes` and its bytes past the head were dropped. */
  readonly complete: boolean;
  /** The line's full length in bytes, without the `\n` (and, for a complete line, without the CRLF's `\r`). */
  readonly byteLength: number;
}

export interface LineSplitterOptions {
  maxLineBytes?: number;
  headBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const INITIAL_CAPACITY = 4 * 1024;
/** A pending buffer grown past this is released after its line, so one long line does not pin memory. */
const RETAINED_CAPACITY = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly headBytes: number;
  /** Bytes of the current, not yet terminated line (while it fits under the cap). */
  private pending: Buffer = EMPTY;
  private pendingLength = 0;
  /** Set once the current line went over the cap: its head is kept, the rest only counted. */
  private overflowHead: Buffer | null = null;
  private overflowLength = 0;
  private ended = false;

  constructor(
    private readonly onLine: (line: SplitLine) => void,
    options: LineSplitterOptions = {},
  ) {
    this.maxLineBytes = Math.max(1, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.headBytes = Math.max(0, Math.min(options.headBytes ?? DEFAULT_OVERFLOW_HEAD_BYTES, this.maxLineBytes));
  }

  push(chunk: Uint8Array): void {
    if (this.ended) return;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start < buffer.length) {
      const newline = buffer.indexOf(NEWLINE, start);
      const end = newline === -1 ? buffer.length : newline;
      const nothingPending = this.pendingLength === 0 && this.overflowHead === null;
      if (newline !== -1 && nothingPending && end - start <= this.maxLineBytes) {
        this.emitComplete(buffer.subarray(start, end));
      } else {
        this.append(buffer, start, end);
        if (newline !== -1) this.flushLine();
      }
      if (newline === -1) break;
      start = newline + 1;
    }
  }

  /** Emits a final line that had no trailing newline. Further pushes are ignored. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.pendingLength > 0 || this.overflowHead !== null) this.flushLine();
  }

  private append(buffer: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length === 0) return;
    if (this.overflowHead !== null) {
      this.overflowLength += length;
      return;
    }
    if (this.pendingLength + length > this.maxLineBytes) {
      this.startOverflow(buffer, start, end);
      return;
    }
    this.ensureCapacity(this.pendingLength + length);
    buffer.copy(this.pending, this.pendingLength, start, end);
    this.pendingLength += length;
  }

  private startOverflow(buffer: Buffer, start: number, end: number): void {
    const fromPending = Math.min(this.pendingLength, this.headBytes);
    const fromChunk = Math.min(end - start, this.headBytes - fromPending);
    this.overflowHead = Buffer.concat([
      this.pending.subarray(0, fromPending),
      buffer.subarray(start, start + fromChunk),
    ]);
    this.overflowLength = this.pendingLength + (end - start);
    this.pending = EMPTY;
    this.pendingLength = 0;
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.pending.length) return;
    let capacity = Math.max(this.pending.length * 2, INITIAL_CAPACITY);
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.maxLineBytes));
    this.pending.copy(grown, 0, 0, this.pendingLength);
    this.pending = grown;
  }

  private flushLine(): void {
    if (this.overflowHead !== null) {
      const head = this.overflowHead;
      const byteLength = this.overflowLength;
      this.overflowHead = null;
      this.overflowLength = 0;
      this.onLine({ bytes: head, complete: false, byteLength });
      return;
    }
    const line = this.pending.subarray(0, this.pendingLength);
    this.pendingLength = 0;
    if (this.pending.length > RETAINED_CAPACITY) this.pending = EMPTY;
    this.emitComplete(line);
  }

  private emitComplete(line: Buffer): void {
    const withoutCr = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.subarray(0, line.length - 1) : line;
    this.onLine({ bytes: withoutCr, complete: true, byteLength: withoutCr.length });
  }
}
