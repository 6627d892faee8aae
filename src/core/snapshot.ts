import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { crc32 } from './crc32';
import { writeFileDurably } from './journalLog';
import { INSERT_SQL, rowFromSql, rowToSql } from './journalOps';
import { migrate, SCHEMA_VERSION, schemaVersion, tuneInMemory } from './schema';
import { errorCode, isLinkError, moveAside, readFileNoFollow } from './storeFiles';

/**
 * The snapshot: a plain SQLite file (`tasks.db`, open it with any sqlite3 shell) holding every row
 * up to the end of log `covered_log_seq`. Rewritten whole and atomically by a compaction.
 */

export const SNAPSHOT_NAME = 'tasks.db';
/**
 * The snapshot's size and CRC-32 as written (`{"v":1,"size":…,"crc32":…}`). When the file still
 * has them, its bytes are the ones a compaction wrote, and the open skips SQLite's structure
 * check (the costliest step of an open). Any other sum file — missing, stale, damaged, a link —
 * only means the check runs.
 */
export const SNAPSHOT_SUM_NAME = 'tasks.db.sum';
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export interface LoadedSnapshot {
  db: Database;
  coveredSeq: number;
  /** The schema version the file was written with (0: no file). */
  fileVersion: number;
  /** How the file was found sound: its sum file matched, or SQLite's structure check passed. */
  verifiedBy?: 'sum' | 'quick_check';
  /** Set when the file was damaged: where it was moved, and how many rows were salvaged. */
  damage?: { movedTo: string | undefined; salvagedRows: number; reason: string };
}

/** Why the bytes are not a whole SQLite file, or null when the header and size agree. */
export function sqliteHeaderProblem(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return 'the file is empty';
  if (bytes.length < 100 || !Buffer.from(bytes.buffer, bytes.byteOffset, 16).equals(SQLITE_MAGIC)) return 'the file is not an SQLite database';
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, 100);
  let pageSize = view.readUInt16BE(16);
  if (pageSize === 1) pageSize = 65536;
  const pageCount = view.readUInt32BE(28);
  // The in-header size is valid only when the change counter matches "version-valid-for".
  if (pageCount > 0 && view.readUInt32BE(24) === view.readUInt32BE(92) && pageSize * pageCount !== bytes.length) {
    return `the file is truncated (${bytes.length} of ${pageSize * pageCount} bytes)`;
  }
  return null;
}

function coveredSeqOf(db: Database): number {
  try {
    const r = db.exec(`SELECT value FROM store_meta WHERE key = 'covered_log_seq'`);
    return r.length ? Number(r[0].values[0][0]) || 0 : 0;
  } catch {
    return 0;
  }
}

/**
 * A copy SQLite will read as far as it goes: whole pages only, and the in-header page count
 * disowned (SQLite trusts it when "version-valid-for" matches the change counter, and then
 * fails every query on a truncated file instead of reading the pages that are there).
 */
function readableCopy(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 100) return bytes;
  const view = Buffer.from(bytes);
  let pageSize = view.readUInt16BE(16);
  if (pageSize === 1) pageSize = 65536;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return view;
  const whole = view.subarray(0, Math.max(pageSize, Math.floor(view.length / pageSize) * pageSize));
  whole.writeUInt32BE((whole.readUInt32BE(24) + 1) >>> 0, 92);
  return whole;
}

const SALVAGE_SLICE = 32;
const SALVAGE_MAX_ROWID = 200_000;

/**
 * Whether SQLite finds the file's structure sound (`PRAGMA quick_check`: every b-tree page, not
 * the row contents). Null when sound, else what it found. Damage in the middle of a file often
 * passes the open and the first query, and fails a later query instead.
 */
export function structureProblem(db: Database): string | null {
  try {
    const result = db.exec('PRAGMA quick_check');
    const first = String(result[0]?.values[0]?.[0] ?? 'ok');
    return first === 'ok' ? null : `SQLite's check failed (${first.slice(0, 200)})`;
  } catch (err) {
    return `SQLite's check failed (${(err as Error).message})`;
  }
}

/** Copies every row that can still be read out of a damaged database. */
export function salvageRows(SQL: SqlJsStatic, bytes: Uint8Array, into: Database): number {
  let damaged: Database;
  try {
    damaged = new SQL.Database(readableCopy(bytes));
  } catch {
    return 0;
  }
  let saved = 0;
  const insert = into.prepare(INSERT_SQL);
  const copyRange = (sql: string, params: number[]): boolean => {
    try {
      const stmt = damaged.prepare(sql);
      try {
        stmt.bind(params);
        while (stmt.step()) {
          insert.run(rowToSql(rowFromSql(stmt.getAsObject())));
        }
      } finally {
        stmt.free();
      }
      return true;
    } catch {
      return false;
    }
  };
  try {
    if (!copyRange(`SELECT * FROM task_history ORDER BY rowid`, [])) {
      // Read around the bad pages, a slice of rowids at a time.
      let maxRow = 0;
      try {
        maxRow = Number(damaged.exec('SELECT MAX(rowid) FROM task_history')[0]?.values[0][0] ?? 0);
      } catch {
        // the rightmost pages are gone too
      }
      for (let lo = 0; lo <= (maxRow || SALVAGE_MAX_ROWID); lo += SALVAGE_SLICE) {
        copyRange(`SELECT * FROM task_history WHERE rowid > ? AND rowid <= ?`, [lo, lo + SALVAGE_SLICE]);
      }
    }
  } finally {
    insert.free();
    damaged.close();
  }
  saved = Number(into.exec('SELECT count(*) FROM task_history')[0].values[0][0]);
  return saved;
}

export function newDatabase(SQL: SqlJsStatic): Database {
  const db = new SQL.Database();
  tuneInMemory(db);
  migrate(db);
  return db;
}

/**
 * Reads `tasks.db`. A damaged one (any damage, or a link in its place) is moved aside — left in
 * place when the store is read-only — and every row still readable in it is copied out.
 */
export async function loadSnapshot(SQL: SqlJsStatic, dir: string, options: { readOnly?: boolean } = {}): Promise<LoadedSnapshot> {
  const file = path.join(dir, SNAPSHOT_NAME);
  const sum = readFileNoFollow(path.join(dir, SNAPSHOT_SUM_NAME)).catch(() => undefined);
  let bytes: Buffer;
  let problem: string | null;
  try {
    bytes = await readFileNoFollow(file);
    problem = sqliteHeaderProblem(bytes);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { db: newDatabase(SQL), coveredSeq: 0, fileVersion: 0 };
    if (!isLinkError(err)) throw err;
    bytes = Buffer.alloc(0);
    problem = 'it is a symbolic link, not a file of the store (not followed)';
  }
  if (!problem) {
    let db: Database | undefined;
    try {
      const verifiedBy = sumMatches(bytes, await sum) ? 'sum' : 'quick_check';
      db = new SQL.Database(bytes);
      const fileVersion = schemaVersion(db);
      if (verifiedBy === 'quick_check') {
        // Reading the schema and the status index touches the pages every open needs.
        db.exec(`SELECT count(*) FROM task_history WHERE status = 'running'`);
        problem = structureProblem(db);
      }
      if (!problem) {
        tuneInMemory(db);
        if (fileVersion < SCHEMA_VERSION) migrate(db, fileVersion);
        return { db, coveredSeq: coveredSeqOf(db), fileVersion, verifiedBy };
      }
      db.close();
    } catch (err) {
      db?.close();
      problem = `SQLite could not read it (${(err as Error).message})`;
    }
  }
  const db = newDatabase(SQL);
  const salvagedRows = salvageRows(SQL, bytes, db);
  const movedTo = options.readOnly ? undefined : await moveAside(file);
  // The logs the damaged snapshot covered are gone: every log still on disk is replayed.
  return { db, coveredSeq: 0, fileVersion: SCHEMA_VERSION, damage: { movedTo, salvagedRows, reason: problem } };
}

/**
 * Writes the snapshot atomically (temp file, fdatasync, rename, fsync of the folder), then its sum
 * file: a crash between the two leaves an older sum, which only costs the next open a check.
 */
export async function writeSnapshot(db: Database, dir: string, coveredSeq: number, tag: string): Promise<number> {
  db.run(`INSERT OR REPLACE INTO store_meta (key, value) VALUES ('covered_log_seq', ?)`, [String(coveredSeq)]);
  const bytes = db.export();
  await writeFileDurably(path.join(dir, SNAPSHOT_NAME), bytes, tag);
  const sum = JSON.stringify({ v: 1, size: bytes.length, crc32: crc32(bytes) });
  await writeFileDurably(path.join(dir, SNAPSHOT_SUM_NAME), Buffer.from(sum + '\n'), tag).catch(() => undefined);
  return bytes.length;
}

/** True when the sum file describes exactly these bytes. */
function sumMatches(bytes: Uint8Array, sumFile: Buffer | undefined): boolean {
  if (sumFile === undefined || sumFile.length > 200) return false;
  try {
    const sum = JSON.parse(sumFile.toString('utf8')) as { v?: unknown; size?: unknown; crc32?: unknown };
    return sum.v === 1 && sum.size === bytes.length && sum.crc32 === crc32(bytes);
  } catch {
    return false;
  }
}
