import { constants as fsc, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './crc32';
import { APPEND_FLAGS, CREATE_FLAGS, DSYNC_APPEND_FLAGS, errorCode, FILE_MODE, isLinkError, moveAside, READ_FLAGS, ShortWriteError } from './storeFiles';

export { DIR_MODE, FILE_MODE } from './storeFiles';

/**
 * The append-only log of row changes that makes a start or a finish cost one small durable
 * append, whatever the history size. A record is `magic | length | crc32 | JSON payload`
 * (little-endian u32s). Records are appended with O_APPEND, so several processes can share a
 * log: each write lands whole at the end of the file. Readers skip damaged bytes by scanning
 * for the next record that checks out.
 */

const MAGIC = 0x314a5441; // "ATJ1" read as little-endian bytes
const MAGIC_BYTES = Buffer.from([0x41, 0x54, 0x4a, 0x31]);
const HEADER_BYTES = 12;
/** A length field above this is damage, not a record. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/**
 * How long a sealed log is still drained after the next one appears. It bounds how late a write
 * whose concurrent rotation check missed the new log may land; far longer than any write takes.
 */
export const ROTATION_GRACE_MS = 10_000;

export function encodeRecord(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  if (body.length > MAX_RECORD_BYTES) throw new Error(`journal record too large (${body.length} bytes)`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(body.length, 4);
  out.writeUInt32LE(crc32(body), 8);
  body.copy(out, HEADER_BYTES);
  return out;
}

type Decoded = { payload: unknown; end: number } | 'incomplete' | 'bad';

function decodeAt(buf: Buffer, pos: number): Decoded {
  if (pos + HEADER_BYTES > buf.length) return 'incomplete';
  if (buf.readUInt32LE(pos) !== MAGIC) return 'bad';
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_RECORD_BYTES) return 'bad';
  const end = pos + HEADER_BYTES + len;
  if (end > buf.length) return 'incomplete';
  const body = buf.subarray(pos + HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32LE(pos + 8)) return 'bad';
  try {
    return { payload: JSON.parse(body.toString('utf8')), end };
  } catch {
    return 'bad';
  }
}

/** The next offset after `from` where a whole, valid record starts, or -1. */
function findNextRecord(buf: Buffer, from: number): number {
  let pos = buf.indexOf(MAGIC_BYTES, from);
  while (pos !== -1) {
    const d = decodeAt(buf, pos);
    if (typeof d === 'object') return pos;
    pos = buf.indexOf(MAGIC_BYTES, pos + 1);
  }
  return -1;
}

export interface DecodeResult {
  records: unknown[];
  /** Bytes that can be passed over for good: whole records and damage that a valid record follows. */
  consumed: number;
  /** Damaged bytes skipped inside `consumed`. */
  skippedBytes: number;
  /** Bytes left after `consumed`: a record still being written, or a torn tail. */
  pendingBytes: number;
}

export function decodeRecords(buf: Buffer): DecodeResult {
  const records: unknown[] = [];
  let pos = 0;
  let skippedBytes = 0;
  while (pos < buf.length) {
    const d = decodeAt(buf, pos);
    if (typeof d === 'object') {
      records.push(d.payload);
      pos = d.end;
      continue;
    }
    // Either damage or a record another process is still writing: it is damage only if a valid record follows it.
    const next = findNextRecord(buf, pos + 1);
    if (next === -1) break;
    skippedBytes += next - pos;
    pos = next;
  }
  return { records, consumed: pos, skippedBytes, pendingBytes: buf.length - pos };
}

const LOG_NAME = /^tasks\.(\d{8})\.journal$/;

export function logFileName(seq: number): string {
  return `tasks.${String(seq).padStart(8, '0')}.journal`;
}

export async function listLogSeqs(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir).catch((err) => {
    if (errorCode(err) === 'ENOENT') return [] as string[]; // a store opened to read that was never written
    throw err;
  });
  const seqs: number[] = [];
  for (const name of names) {
    const m = LOG_NAME.exec(name);
    if (m) seqs.push(Number(m[1]));
  }
  return seqs.sort((a, b) => a - b);
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.access(p, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

const READ_CHUNK = 256 * 1024;

/** Reads one log file from an offset to its current end. */
export class LogReader {
  private constructor(
    readonly seq: number,
    private readonly handle: fsp.FileHandle | null,
    public offset: number,
  ) {}

  /** A reader of a log that does not exist yet (a read-only store must not create one). */
  static empty(seq: number): LogReader {
    return new LogReader(seq, null, 0);
  }

  /** Null when the file does not exist (any more). A link in its place is an error (see `createLogFile`). */
  static async open(dir: string, seq: number, offset = 0): Promise<LogReader | null> {
    try {
      return new LogReader(seq, await fsp.open(path.join(dir, logFileName(seq)), READ_FLAGS), offset);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return null;
      throw err;
    }
  }

  /** Decodes what was appended since the last call; advances past whole records and confirmed damage. */
  async readNew(): Promise<DecodeResult & { bytesRead: number }> {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      if (!this.handle) break;
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await this.handle.read(buf, 0, READ_CHUNK, this.offset + total);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      if (bytesRead < READ_CHUNK) break;
    }
    if (total === 0) return { records: [], consumed: 0, skippedBytes: 0, pendingBytes: 0, bytesRead: 0 };
    const result = decodeRecords(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total));
    this.offset += result.consumed;
    return { ...result, bytesRead: total };
  }

  /** True when the file was deleted while open (a compaction covered it). */
  async isUnlinked(): Promise<boolean> {
    return this.handle ? (await this.handle.stat()).nlink === 0 : false;
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

/** Appends records to the newest log; follows a rotation made by any process's compaction. */
export class LogWriter {
  private constructor(
    private readonly dir: string,
    private seq: number,
    private plain: fsp.FileHandle,
    /** Opened with O_DSYNC for durable records; null where the platform lacks it. */
    private dsync: fsp.FileHandle | null,
    private readonly slowWriteMs: number,
  ) {}

  /** `graceMs`: the rotation grace readers and compactions honour (a write slower than a tenth of it checks again). */
  static async open(dir: string, seq: number, graceMs = ROTATION_GRACE_MS): Promise<LogWriter> {
    const [plain, dsync] = await openHandles(dir, seq);
    return new LogWriter(dir, seq, plain, dsync, graceMs / 10);
  }

  /**
   * Appends one record; with `durable`, resolves once it is on disk, with the log's size.
   *
   * The rotation check (has a compaction sealed this log?) runs concurrently with the write, so a
   * durable append costs one round trip to the disk. A write whose check saw a newer log is written
   * again there (replay is idempotent). A write whose check ran just before a rotation lands within
   * moments of it: compactions and readers keep draining a sealed log for ROTATION_GRACE_MS.
   */
  async append(record: Buffer, durable: boolean): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const handle = durable && this.dsync ? this.dsync : this.plain;
      const t0 = Date.now();
      const next = path.join(this.dir, logFileName(this.seq + 1));
      let [written, stat, rotated] = await Promise.all([handle.write(record, 0, record.length), handle.stat(), pathExists(next)]);
      if (written.bytesWritten !== record.length) throw new ShortWriteError(written.bytesWritten, record.length);
      if (durable && !this.dsync) await handle.datasync();
      // A write that took long (an fsync stuck behind a big checkout's dirty pages, a paused
      // process) may have landed after a compaction drained this log: look again now that it
      // has landed, and write it again in the newer log if so. This closes the grace window.
      if (!rotated && Date.now() - t0 > this.slowWriteMs) [stat, rotated] = await Promise.all([handle.stat(), pathExists(next)]);
      if (stat.nlink > 0 && !rotated) return stat.size + record.length;
      if (attempt >= 8) throw new Error('the task journal kept rotating under this write');
      await this.moveTo(await newestSeq(this.dir, this.seq + 1));
    }
  }

  /** Switches to log `seq` (after this process rotated, or saw a rotation). */
  async moveTo(seq: number): Promise<void> {
    if (seq === this.seq) return;
    const [plain, dsync] = await openHandles(this.dir, seq);
    const old = [this.plain, this.dsync];
    this.plain = plain;
    this.dsync = dsync;
    this.seq = seq;
    await Promise.all(old.map((h) => h?.close()));
  }

  async close(): Promise<void> {
    await Promise.all([this.plain.close(), this.dsync?.close()]);
  }
}

async function newestSeq(dir: string, atLeast: number): Promise<number> {
  const seqs = await listLogSeqs(dir);
  return Math.max(atLeast, seqs.length ? seqs[seqs.length - 1] : atLeast);
}

// With O_DSYNC the write itself is durable: one round trip to the thread pool instead of two
// (write, then fdatasync), and the caller's CPU work overlaps the disk wait. Windows lacks it.
async function openHandles(dir: string, seq: number): Promise<[fsp.FileHandle, fsp.FileHandle | null]> {
  const file = path.join(dir, logFileName(seq));
  const plain = await fsp.open(file, APPEND_FLAGS, FILE_MODE);
  const dsync = DSYNC_APPEND_FLAGS !== undefined ? await fsp.open(file, DSYNC_APPEND_FLAGS, FILE_MODE) : null;
  return [plain, dsync];
}

/**
 * Creates log `seq` if it does not exist. A symbolic link in its place is never followed: it is
 * moved aside (returned, for a notice) and a real file created.
 */
export async function createLogFile(dir: string, seq: number): Promise<string | undefined> {
  const file = path.join(dir, logFileName(seq));
  try {
    await (await fsp.open(file, APPEND_FLAGS, FILE_MODE)).close();
    return undefined;
  } catch (err) {
    if (!isLinkError(err)) throw err;
  }
  // Another process may have moved it already (ENOENT): then only the file is left to make.
  const movedTo = await moveAside(file).catch((err) => {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  });
  await (await fsp.open(file, APPEND_FLAGS, FILE_MODE)).close();
  return movedTo;
}

/** Replaces `file` atomically and durably: temp file (0600), fdatasync, rename, fsync of the folder. */
export async function writeFileDurably(file: string, bytes: Uint8Array, tmpTag = 'tmp'): Promise<void> {
  const tmp = `${file}.tmp-${tmpTag}`;
  const h = await fsp.open(tmp, CREATE_FLAGS, FILE_MODE).catch(async (err) => {
    if (!isLinkError(err)) throw err;
    await moveAside(tmp); // never write through a link planted in the store
    return fsp.open(tmp, CREATE_FLAGS, FILE_MODE);
  });
  try {
    await h.writeFile(bytes);
    await h.datasync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/** Makes a new file's directory entry durable (a no-op where directories cannot be opened, as on Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
