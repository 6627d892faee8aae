import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import { writeFileDurably } from './journalLog';
import { INSERT_SQL, JournalStatements, rowToSql } from './journalOps';
import { newDatabase, salvageRows, sqliteHeaderProblem, structureProblem } from './snapshot';
import { errorCode, isLinkError, moveAside, readFileNoFollow } from './storeFiles';
import type { TaskRow } from './taskTypes';

/**
 * Old finished history, out of the way. sql.js keeps a whole database in memory and reads it
 * whole at open, so open time grows with the file. Compaction moves the oldest finished rows
 * out of the hot database into immutable segment files (`archive/history.<n>.db`, plain SQLite),
 * listed in the hot database's `archive_segments` table with their row counts, so that counts
 * never parse a segment. A segment is loaded only when a query reaches past the hot rows, and is
 * dropped whole by retention.
 *
 * Segments describe themselves: what the listing says of one (rows, time range, statuses) is
 * computed from its own rows, so a store whose snapshot was lost finds them again by reading
 * the folder (`describeSegment`).
 */

export interface SegmentInfo {
  name: string;
  rows: number;
  oldest_started: number;
  newest_started: number;
  newest_finished: number;
  /** Rows per status; null for segments listed before schema 3 (counting by status parses those). */
  statuses: Record<string, number> | null;
}

export const ARCHIVE_DIR = 'archive';
const SEGMENT_NAME = /^history\.(\d{8})\.db$/;

export function segmentName(n: number): string {
  return `history.${String(n).padStart(8, '0')}.db`;
}

export function segmentNumber(name: string): number {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : 0;
}

export function isSegmentName(name: string): boolean {
  return SEGMENT_NAME.test(name);
}

/** The listing entry of a set of rows. */
export function segmentInfoOf(name: string, rows: readonly Pick<TaskRow, 'started_at' | 'finished_at' | 'status'>[]): SegmentInfo {
  const statuses: Record<string, number> = {};
  let oldest = Infinity;
  let newest = -Infinity;
  let newestFinished = -Infinity;
  for (const r of rows) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    oldest = Math.min(oldest, r.started_at);
    newest = Math.max(newest, r.started_at);
    newestFinished = Math.max(newestFinished, r.finished_at ?? r.started_at);
  }
  if (rows.length === 0) oldest = newest = newestFinished = 0;
  return { name, rows: rows.length, oldest_started: oldest, newest_started: newest, newest_finished: newestFinished, statuses };
}

/** Writes rows to a new segment file, durably (temp file, fdatasync, rename, fsync of the folder). */
export async function writeSegment(SQL: SqlJsStatic, dir: string, name: string, rows: readonly TaskRow[]): Promise<SegmentInfo> {
  const db = newDatabase(SQL);
  try {
    const insert = db.prepare(INSERT_SQL);
    db.exec('BEGIN');
    for (const row of rows) insert.run(rowToSql(row));
    db.exec('COMMIT');
    insert.free();
    await fsp.mkdir(path.join(dir, ARCHIVE_DIR), { recursive: true, mode: 0o700 });
    await writeFileDurably(path.join(dir, ARCHIVE_DIR, name), db.export());
  } finally {
    db.close();
  }
  return segmentInfoOf(name, rows);
}

/** The segment files in the folder (links and other entries are not segments). */
export async function listSegmentFiles(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(path.join(dir, ARCHIVE_DIR), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => isSegmentName(e.name) && !e.isDirectory()).map((e) => e.name);
}

/** The next free segment number, after every listed and every present file. */
export async function nextSegmentName(dir: string, listed: readonly SegmentInfo[]): Promise<string> {
  const entries = await fsp.readdir(path.join(dir, ARCHIVE_DIR)).catch(() => [] as string[]);
  const numbers = [...entries, ...listed.map((s) => s.name)].map((n) => Number(/^history\.(\d{8})\.db/.exec(n)?.[1] ?? 0));
  return segmentName(Math.max(0, ...numbers) + 1);
}

export type LoadedSegment =
  | { ok: true; stmts: JournalStatements }
  /** Damaged: `salvaged` holds every row still readable (maybe none); the file was moved aside (unless read-only). */
  | { ok: false; problem: string; salvaged: JournalStatements; movedTo: string | undefined }
  | { ok: false; missing: true };

/**
 * Reads one segment and checks its structure. A damaged one is moved aside (left in place when
 * the store is read-only), and what can still be read is returned in memory.
 */
export async function readSegment(SQL: SqlJsStatic, dir: string, name: string, readOnly: boolean): Promise<LoadedSegment> {
  const file = path.join(dir, ARCHIVE_DIR, name);
  let bytes: Buffer = Buffer.alloc(0);
  let problem: string | null;
  try {
    bytes = await readFileNoFollow(file);
    problem = sqliteHeaderProblem(bytes);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { ok: false, missing: true };
    if (!isLinkError(err)) throw err;
    problem = 'it is a symbolic link, not a file of the store (not followed)';
  }
  if (!problem) {
    let db: Database | undefined;
    try {
      db = new SQL.Database(bytes);
      problem = structureProblem(db);
      if (!problem) return { ok: true, stmts: new JournalStatements(db) };
    } catch (err) {
      problem = `SQLite could not read it (${(err as Error).message})`;
    }
    db?.close();
  }
  return salvageSegment(SQL, file, bytes, problem, readOnly);
}

async function salvageSegment(SQL: SqlJsStatic, file: string, bytes: Uint8Array, problem: string, readOnly: boolean): Promise<LoadedSegment> {
  const salvaged = newDatabase(SQL);
  salvageRows(SQL, bytes, salvaged);
  const movedTo = readOnly ? undefined : await moveAside(file).catch(() => undefined);
  return { ok: false, problem, salvaged: new JournalStatements(salvaged), movedTo };
}

export interface SegmentDamage {
  name: string;
  problem: string;
  /** The listing entry, when the segment was listed (the missing rows are estimated from it). */
  listed: SegmentInfo | undefined;
  salvaged: JournalStatements;
  movedTo: string | undefined;
}

/** The segments a process has loaded, each read at most once; damage found here or mid-query is reported. */
export class ArchiveCache {
  private readonly loaded = new Map<string, Promise<JournalStatements | null>>();
  /** How many segment files this process parsed (the benchmark and the view's tests read it). */
  parsed = 0;

  constructor(
    private readonly SQL: SqlJsStatic,
    private readonly dir: string,
    private readonly readOnly: () => boolean,
    /** Called once per damaged segment, before any query uses the rows salvaged from it. */
    private readonly onDamage: (damage: SegmentDamage) => Promise<void>,
  ) {}

  /** Null when the segment is gone (retention dropped it). A damaged one answers with what was salvaged. */
  load(seg: SegmentInfo): Promise<JournalStatements | null> {
    let p = this.loaded.get(seg.name);
    if (!p) {
      p = this.read(seg);
      this.loaded.set(seg.name, p);
      p.catch(() => this.loaded.delete(seg.name));
    }
    return p;
  }

  private async read(seg: SegmentInfo): Promise<JournalStatements | null> {
    this.parsed++;
    const got = await readSegment(this.SQL, this.dir, seg.name, this.readOnly());
    if (got.ok) return got.stmts;
    if ('missing' in got) return null;
    await this.onDamage({ name: seg.name, problem: got.problem, listed: seg, salvaged: got.salvaged, movedTo: got.movedTo });
    return got.salvaged;
  }

  /**
   * Runs `sql` on one segment. Damage the structure check missed and a query meets (a bad page
   * deep in a b-tree) is handled like damage found at load: salvaged, reported, and the query
   * answered from what was salvaged.
   */
  async run<T>(seg: SegmentInfo, use: (s: JournalStatements) => T): Promise<T | undefined> {
    const s = await this.load(seg);
    if (!s) return undefined;
    try {
      return use(s);
    } catch (err) {
      // Only SQLite's word for damage: a query bug must never get a healthy segment moved aside.
      if (!/malformed|corrupt|not a database|disk I\/O error/i.test((err as Error).message)) throw err;
      const p = this.salvageLoaded(seg, s, `SQLite failed reading it (${(err as Error).message})`);
      this.loaded.set(seg.name, p);
      const salvaged = await p;
      return salvaged ? use(salvaged) : undefined;
    }
  }

  private async salvageLoaded(seg: SegmentInfo, s: JournalStatements, problem: string): Promise<JournalStatements | null> {
    const bytes = s.db.export();
    s.free();
    s.db.close();
    const got = await salvageSegment(this.SQL, path.join(this.dir, ARCHIVE_DIR, seg.name), bytes, problem, this.readOnly());
    if (got.ok || 'missing' in got) return null;
    await this.onDamage({ name: seg.name, problem, listed: seg, salvaged: got.salvaged, movedTo: got.movedTo });
    return got.salvaged;
  }

  /** Runs a row query on each segment, newest first, until `enough` says stop. */
  async query(
    segments: readonly SegmentInfo[],
    sql: string,
    params: SqlValue[],
    enough: (rows: TaskRow[], next: SegmentInfo) => boolean = () => false,
  ): Promise<TaskRow[]> {
    const rows: TaskRow[] = [];
    for (const seg of [...segments].sort((a, b) => b.newest_started - a.newest_started)) {
      if (enough(rows, seg)) break;
      rows.push(...((await this.run(seg, (s) => s.all(sql, params))) ?? []));
    }
    return rows;
  }

  async scalarSum(segments: readonly SegmentInfo[], sql: string, params: SqlValue[]): Promise<number> {
    let total = 0;
    for (const seg of segments) total += Number((await this.run(seg, (s) => s.scalar(sql, params))) ?? 0);
    return total;
  }

  /** Serves `name` from memory from now on (a segment just salvaged and rewritten). */
  adopt(name: string, stmts: JournalStatements): void {
    this.forget(name);
    this.loaded.set(name, Promise.resolve(stmts));
  }

  forget(name: string): void {
    const p = this.loaded.get(name);
    this.loaded.delete(name);
    void p?.then(
      (s) => {
        s?.free();
        s?.db.close();
      },
      () => undefined,
    );
  }

  dispose(): void {
    for (const name of [...this.loaded.keys()]) this.forget(name);
  }
}
