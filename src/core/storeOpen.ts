import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { describeSegmentDamage } from './archiveNotices';
import { listSegmentFiles, readSegment, segmentInfoOf } from './historyArchive';
import { createLogFile, listLogSeqs, logFileName, LogReader } from './journalLog';
import { applyRecord, classifyRecord, JournalStatements, RECORD_VERSION, type JournalRecord } from './journalOps';
import { SCHEMA_VERSION } from './schema';
import { loadSnapshot } from './snapshot';
import { copyAside, isLinkError, moveAside } from './storeFiles';

/**
 * Opening a store folder: the snapshot, every log after it, and the archive folder, reconciled
 * into one in-memory database. Damage of any kind costs only the damaged bytes: they are kept
 * aside, every readable row is kept, and the caller gets a notice for each file.
 */

export interface OpenedState {
  db: Database;
  reader: LogReader;
  tailBytes: number;
  readOnlyReason?: string;
  needsSnapshot: boolean;
  /**
   * Records that make the listing match the archive folder (segments a lost snapshot or a killed
   * compaction left unlisted, listed ones whose file is gone). Already applied in memory; a
   * writable store journals them.
   */
  reconciliation: JournalRecord[];
  /** Rows salvaged from damaged segments nobody listed, in memory: the store re-archives them. */
  salvaged: SalvagedSegment[];
}

export interface SalvagedSegment {
  /** The damaged file's name (moved aside unless read-only). */
  name: string;
  stmts: JournalStatements;
}

export interface LoadOptions {
  /** The caller only reads (list, show): nothing is created, moved or written. */
  readOnly: boolean;
  log?: (message: string) => void;
  /** Journal logs found damaged (their copies are kept); compaction deletes them as usual. */
  notices: string[];
  /** Tests run a rival compaction here: between reading the snapshot and listing the logs. */
  afterSnapshotRead?: () => Promise<void>;
}

/** Snapshot + every log after it + the archive folder. Retries when a compaction in another process moved the ground. */
export async function loadJournalState(SQL: SqlJsStatic, dir: string, options: LoadOptions): Promise<OpenedState> {
  const { notices } = options;
  for (let attempt = 0; ; attempt++) {
    const snap = await loadSnapshot(SQL, dir, { readOnly: options.readOnly });
    let readOnlyReason: string | undefined;
    if (snap.fileVersion > SCHEMA_VERSION) {
      readOnlyReason = `The task journal in ${dir} was written by a newer version of Agent Tasks (schema ${snap.fileVersion}; this version knows up to ${SCHEMA_VERSION}). It is shown read-only and left unchanged: update Agent Tasks to run tasks.`;
    }
    const readOnly = options.readOnly || readOnlyReason !== undefined;
    await options.afterSnapshotRead?.();
    const seqs = (await listLogSeqs(dir)).filter((s) => s > snap.coveredSeq);
    const stmts = new JournalStatements(snap.db);
    const retry = (): boolean => {
      // Rows salvaged from a damaged snapshot exist only in this attempt: keep going with them.
      if (snap.damage || attempt >= 5) return false;
      stmts.free();
      snap.db.close();
      return true;
    };
    // A gap between the snapshot and the first log: a compaction in another process wrote a newer
    // snapshot and retired the logs it covers after we read ours. Also with no snapshot at all
    // (the store's first compaction): proceeding would lose every row of the retired logs, and a
    // compaction by this process would then write that loss into the next snapshot.
    if (seqs.length > 0 && seqs[0] !== snap.coveredSeq + 1 && retry()) continue;
    const last = seqs.length ? seqs[seqs.length - 1] : snap.coveredSeq + 1;
    let tailBytes = 0;
    let reader: LogReader | null = null;
    let vanished = false;
    for (const seq of seqs.length ? seqs : [last]) {
      if (!seqs.length && !readOnly) {
        const movedTo = await createLogFile(dir, seq);
        if (movedTo) notices.push(linkNotice(dir, logFileName(seq), movedTo));
      }
      reader = await openLogReader(dir, seq, readOnly, notices);
      if (!reader && !seqs.length) reader = LogReader.empty(seq);
      if (!reader) {
        vanished = true;
        break;
      }
      const got = await reader.readNew();
      tailBytes += got.bytesRead;
      if (replay(stmts, got.records, options.log).sawNewer) {
        readOnlyReason ??= `The task journal in ${dir} holds records from a newer version of Agent Tasks. It is shown read-only and left unchanged: update Agent Tasks to run tasks.`;
      }
      const damaged = got.skippedBytes + (seq !== last ? got.pendingBytes : 0);
      if (damaged > 0) notices.push(await keepDamagedLog(dir, seq, damaged, reader.offset + got.pendingBytes, readOnly));
      if (seq !== last) await reader.close();
    }
    if ((vanished || !reader) && retry()) continue;
    if (!reader) throw new Error(`The task journal in ${dir} could not be read: its log files keep disappearing.`);
    if (snap.damage) {
      const where = snap.damage.movedTo ? `It was moved to ${snap.damage.movedTo}` : 'It was left in place (the store is opened read-only)';
      notices.push(
        `The task journal snapshot in ${dir} was damaged (${snap.damage.reason}). ${where}; ${snap.damage.salvagedRows} rows were recovered from it, plus every change in the journal logs since, and the history archive was found again from its folder.`,
      );
    }
    const { records: reconciliation, salvaged } = await reconcileArchive(SQL, dir, stmts, readOnly || readOnlyReason !== undefined, notices);
    stmts.free();
    if (readOnlyReason) notices.push(readOnlyReason);
    options.log?.(`loaded snapshot (covers logs ≤ ${snap.coveredSeq}) and ${seqs.length} log file(s), ${tailBytes} bytes`);
    return {
      db: snap.db,
      reader,
      tailBytes,
      readOnlyReason,
      // A brand-new store (no file yet) needs none: its log holds everything.
      needsSnapshot: !readOnly && (!!snap.damage || reconciliation.length > 0 || (snap.fileVersion > 0 && snap.fileVersion < SCHEMA_VERSION)),
      reconciliation,
      salvaged,
    };
  }
}

function linkNotice(dir: string, name: string, movedTo: string): string {
  return `The task journal file ${name} in ${dir} was a symbolic link; it was not followed, and was moved to ${movedTo}.`;
}

/** A log reader; a link in the log's place is moved aside (a writable store) and counts as no file. */
async function openLogReader(dir: string, seq: number, readOnly: boolean, notices: string[]): Promise<LogReader | null> {
  try {
    return await LogReader.open(dir, seq);
  } catch (err) {
    if (!isLinkError(err)) throw err;
  }
  const file = path.join(dir, logFileName(seq));
  if (readOnly) {
    notices.push(`The task journal file ${logFileName(seq)} in ${dir} is a symbolic link; it was not followed.`);
    return null;
  }
  notices.push(linkNotice(dir, logFileName(seq), await moveAside(file)));
  return (await createLogFile(dir, seq), LogReader.open(dir, seq));
}

/**
 * A log with damaged bytes is read past (every record whose checksum holds is kept), but first a
 * copy of it is kept: other processes may still append to it, so it cannot be moved.
 */
export async function keepDamagedLog(dir: string, seq: number, damagedBytes: number, coverBytes: number, readOnly: boolean): Promise<string> {
  const name = logFileName(seq);
  let kept = '';
  if (!readOnly) {
    try {
      const copy = await copyAside(path.join(dir, name), coverBytes);
      kept = copy ? ` A copy of the damaged file was kept as ${copy}.` : ' A copy of the damaged file was kept earlier.';
    } catch (err) {
      kept = ` No copy of it could be kept (${(err as Error).message}).`;
    }
  }
  return `The task journal log ${name} in ${dir} had ${damagedBytes} damaged bytes; every readable record was kept.${kept}`;
}

/**
 * Makes the listing agree with the archive folder. A segment file nobody lists (the snapshot that
 * listed it was damaged, or a compaction was killed between writing it and journaling it) is
 * checked and listed again; a listed segment whose file is gone (retention was killed between
 * deleting it and journaling that) is unlisted. Segments found damaged here are salvaged into
 * memory, and the rows salvaged are re-archived by the store.
 */
export async function reconcileArchive(
  SQL: SqlJsStatic,
  dir: string,
  stmts: JournalStatements,
  readOnly: boolean,
  notices: string[],
): Promise<{ records: JournalRecord[]; salvaged: SalvagedSegment[] }> {
  const listed = new Map(stmts.segments().map((s) => [s.name, s]));
  const files = new Set(await listSegmentFiles(dir));
  const records: JournalRecord[] = [];
  const salvaged: SalvagedSegment[] = [];
  const apply = (rec: JournalRecord) => {
    applyRecord(stmts, rec);
    records.push(rec);
  };
  for (const name of [...files].sort()) {
    if (listed.has(name)) continue;
    const got = await readSegment(SQL, dir, name, readOnly);
    if ('missing' in got) continue;
    const s = got.ok ? got.stmts : got.salvaged;
    try {
      const rows = s.all('SELECT id, started_at, finished_at, status FROM task_history');
      const segment = segmentInfoOf(name, rows);
      if (!got.ok) {
        notices.push(describeSegmentDamage(dir, { name, problem: got.problem, listed: undefined, movedTo: got.movedTo }, rows.length));
        // In memory only until the store writes them to a new segment.
        salvaged.push({ name, stmts: s });
        continue;
      }
      apply({ v: RECORD_VERSION, by: 'reconcile', op: 'archive', segment, ids: rows.map((r) => r.id) });
    } finally {
      if (got.ok) {
        s.free();
        s.db.close();
      }
    }
  }
  for (const [name, seg] of listed) {
    if (files.has(name)) continue;
    apply({ v: RECORD_VERSION, by: 'reconcile', op: 'dropSegment', name });
    notices.push(`The history archive segment ${name} listed in ${dir} is gone (${seg.rows} rows); it was unlisted.`);
  }
  return { records, salvaged };
}

/**
 * Applies records read from a log, in order. A record that cannot be applied (a bug, a hand-edited
 * store) is skipped, not fatal; a record from a newer version is not applied and reported.
 */
export function replay(
  stmts: JournalStatements,
  records: unknown[],
  log: ((message: string) => void) | undefined,
  onApplied?: (rec: JournalRecord, changedIds: string[]) => void,
): { sawNewer: boolean } {
  let sawNewer = false;
  for (const raw of records) {
    const c = classifyRecord(raw);
    if (c === 'newer') sawNewer = true;
    if (typeof c !== 'object') continue;
    try {
      const changedIds = applyRecord(stmts, c.record);
      onApplied?.(c.record, changedIds);
    } catch (err) {
      log?.(`skipped a journal record (${c.record.op}): ${(err as Error).message}`);
    }
  }
  return { sawNewer };
}
