import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import { DIR_MODE, writeFileDurably } from './journalLog';
import { INSERT_SQL, JournalStatements, rowToSql } from './journalOps';
import { moveAside, newDatabase, sqliteHeaderProblem } from './snapshot';
import type { TaskRow } from './taskTypes';

/**
 * Old finished history, out of the way. sql.js keeps a whole database in memory and reads it
 * whole at open, so open time grows with the file. Compaction moves the oldest finished rows
 * out of the hot database into immutable segment files (`archive/history.<n>.db`, plain SQLite),
 * listed in the hot database's `archive_segments` table. A segment is loaded only when a query
 * reaches past the hot rows, and is dropped whole by retention.
 */

export interface SegmentInfo {
  name: string;
  rows: number;
  oldest_started: number;
  newest_started: number;
  newest_finished: number;
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

/** Writes rows to a new segment file, durably (temp file, fdatasync, rename, fsync of the folder). */
export async function writeSegment(SQL: SqlJsStatic, dir: string, name: string, rows: readonly TaskRow[]): Promise<SegmentInfo> {
  const db = newDatabase(SQL);
  try {
    const insert = db.prepare(INSERT_SQL);
    db.exec('BEGIN');
    for (const row of rows) insert.run(rowToSql(row));
    db.exec('COMMIT');
    insert.free();
    const bytes = db.export();
    const folder = path.join(dir, ARCHIVE_DIR);
    await fsp.mkdir(folder, { recursive: true, mode: DIR_MODE });
    await writeFileDurably(path.join(folder, name), bytes);
  } finally {
    db.close();
  }
  return {
    name,
    rows: rows.length,
    oldest_started: Math.min(...rows.map((r) => r.started_at)),
    newest_started: Math.max(...rows.map((r) => r.started_at)),
    newest_finished: Math.max(...rows.map((r) => r.finished_at ?? r.started_at)),
  };
}

/** The segments a process has loaded, each read at most once. */
export class ArchiveCache {
  private readonly loaded = new Map<string, Promise<JournalStatements | null>>();

  constructor(
    private readonly SQL: SqlJsStatic,
    private readonly dir: string,
    private readonly onNotice: (message: string) => void,
  ) {}

  /** Null when the segment is gone (retention dropped it) or damaged (moved aside, with a notice). */
  load(name: string): Promise<JournalStatements | null> {
    let p = this.loaded.get(name);
    if (!p) {
      p = this.read(name);
      this.loaded.set(name, p);
    }
    return p;
  }

  private async read(name: string): Promise<JournalStatements | null> {
    const file = path.join(this.dir, ARCHIVE_DIR, name);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch {
      return null;
    }
    let problem = sqliteHeaderProblem(bytes);
    let db: Database | undefined;
    if (!problem) {
      try {
        db = new this.SQL.Database(bytes);
        db.exec('SELECT count(*) FROM task_history');
        return new JournalStatements(db);
      } catch (err) {
        db?.close();
        problem = (err as Error).message;
      }
    }
    const movedTo = await moveAside(file).catch(() => file);
    this.onNotice(`The history archive segment ${name} in ${this.dir} was damaged (${problem}); it was moved to ${movedTo} and its rows are left out of the history.`);
    return null;
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
      const s = await this.load(seg.name);
      if (s) rows.push(...s.all(sql, params));
    }
    return rows;
  }

  async scalarSum(segments: readonly SegmentInfo[], sql: string, params: SqlValue[]): Promise<number> {
    let total = 0;
    for (const seg of segments) {
      const s = await this.load(seg.name);
      if (s) total += Number(s.scalar(sql, params) ?? 0);
    }
    return total;
  }

  forget(name: string): void {
    const p = this.loaded.get(name);
    this.loaded.delete(name);
    void p?.then((s) => {
      s?.free();
      s?.db.close();
    });
  }

  dispose(): void {
    for (const name of [...this.loaded.keys()]) this.forget(name);
  }
}
