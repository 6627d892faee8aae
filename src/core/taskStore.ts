import { randomUUID } from 'node:crypto';
import { promises as fsp, watch as fsWatch } from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import {
  applyRecord,
  classifyRecord,
  JournalStatements,
  PRUNABLE,
  RECORD_VERSION,
  type FinishFields,
  type JournalRecord,
} from './journalOps';
import { DIR_MODE, encodeRecord, FILE_MODE, fsyncDir, listLogSeqs, logFileName, LogReader, LogWriter, pathExists, ROTATION_GRACE_MS } from './journalLog';
import { Disposable, Emitter, toDisposable, type IDisposable } from './lifecycle';
import { ArchiveCache, ARCHIVE_DIR, segmentName, segmentNumber, writeSegment } from './historyArchive';
import { hostName, processLiveness, processStartTime } from './processIdentity';
import { findOrphans } from './recoveryScan';
import { SCHEMA_VERSION } from './schema';
import { loadSnapshot, moveAside, writeSnapshot } from './snapshot';
import { loadSqlJs } from './sqlite';
import {
  DEFAULT_RETENTION,
  type ListTasksQuery,
  type NewTask,
  type OwnerIdentity,
  type Resolution,
  type RetentionPolicy,
  type RunningPatch,
  type TaskJournal,
  type TaskResult,
  type TaskRow,
  type TasksChangeEvent,
  type TaskStatus,
} from './taskTypes';

export interface TaskStoreOptions {
  /** The store folder (created 0700). */
  dir: string;
  retention?: RetentionPolicy;
  /** Diagnostics (the extension's log channel, the CLI's --verbose). */
  log?: (message: string) => void;
  /** Rewrite the snapshot once this many log bytes accumulated since the last one. */
  compactAfterBytes?: number;
  /** Rows from another host are orphaned after this long without a heartbeat. */
  staleAfterMs?: number;
  /**
   * When compaction finds more than `max` finished rows in the hot database, it moves the oldest
   * down to `keep` into an archive segment (historyArchive.ts). Defaults: 4,000 and 2,000.
   */
  hotHistory?: { max: number; keep: number };
  /** How long a sealed log is still read after a rotation (tests shorten it). */
  rotationGraceMs?: number;
  /** Overrides the owner identity (tests simulate other processes and hosts). */
  owner?: Partial<OwnerIdentity>;
}

const DEFAULT_COMPACT_AFTER_BYTES = 1024 * 1024;
const DEFAULT_HOT_HISTORY = { max: 4_000, keep: 2_000 };
const PRUNE_EVERY_FINISHES = 100;
const PRUNE_BATCH = 500;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const LOCK_NAME = 'compact.lock';
const LOCK_STALE_MS = 5 * 60_000;
const LOCK_UNWRITTEN_STALE_MS = 10_000;

export class StoreClosedError extends Error {
  constructor() {
    super('The task journal is closed.');
  }
}

export class ReadOnlyStoreError extends Error {}

interface OpenedState {
  db: Database;
  reader: LogReader;
  tailBytes: number;
  readOnlyReason?: string;
  needsSnapshot: boolean;
}

/**
 * The task journal: an in-memory sql.js database kept durable by an append-only log of row
 * changes (journalLog.ts) over a snapshot rewritten now and then (snapshot.ts). Several
 * processes may share one store folder; each sees the others' rows on its next read.
 * All work is serialized on one promise chain per instance and uses only asynchronous I/O.
 */
export class TaskStore extends Disposable implements TaskJournal {
  private readonly _onDidChangeTasks = this._register(new Emitter<TasksChangeEvent>());
  readonly onDidChangeTasks = this._onDidChangeTasks.event;

  private stmts: JournalStatements;
  private readonly archive: ArchiveCache;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private compactionScheduled = false;
  private finishesSincePrune = 0;
  private readonly damagedSeqs = new Set<number>();
  private readonly _notices: string[] = [];
  private readOnlyReason: string | undefined;
  /** The log before the current one, still read until `until` (see ROTATION_GRACE_MS). */
  private previous: { reader: LogReader; until: number } | undefined;
  /** Set between the two phases of this instance's compaction. */
  private sealing: number | undefined;

  private constructor(
    private readonly SQL: SqlJsStatic,
    readonly dir: string,
    readonly owner: OwnerIdentity,
    private db: Database,
    private reader: LogReader,
    private writer: LogWriter | undefined,
    private tailBytes: number,
    private readonly options: TaskStoreOptions,
  ) {
    super();
    this.stmts = new JournalStatements(db);
    this.archive = new ArchiveCache(SQL, dir, (notice) => this._notices.push(notice));
  }

  static async open(options: TaskStoreOptions): Promise<TaskStore> {
    const dir = path.resolve(options.dir);
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true, mode: DIR_MODE });
    // The folder may predate us (VS Code creates globalStorage folders 0755): ours alone.
    await Promise.all([fsp.chmod(dir, DIR_MODE), fsp.chmod(path.join(dir, 'logs'), DIR_MODE)]).catch(() => undefined);
    const [SQL, startedAt] = await Promise.all([loadSqlJs(), processStartTime(process.pid)]);
    const owner: OwnerIdentity = {
      id: options.owner?.id ?? randomUUID(),
      pid: options.owner?.pid ?? process.pid,
      startedAt: options.owner?.startedAt !== undefined ? options.owner.startedAt : startedAt,
      host: options.owner?.host ?? hostName(),
    };
    const notices: string[] = [];
    const damagedSeqs = new Set<number>();
    const state = await TaskStore.loadState(SQL, dir, options, notices, damagedSeqs);
    const writer = state.readOnlyReason ? undefined : await LogWriter.open(dir, state.reader.seq);
    const store = new TaskStore(SQL, dir, owner, state.db, state.reader, writer, state.tailBytes, options);
    store._notices.push(...notices);
    for (const s of damagedSeqs) store.damagedSeqs.add(s);
    store.readOnlyReason = state.readOnlyReason;
    if (state.needsSnapshot || store.tailBytes > store.compactAfterBytes) store.scheduleCompaction();
    store.log(`opened ${dir}: ${store.countSync()} rows, log ${logFileName(state.reader.seq)}${store.readOnly ? ' (read-only)' : ''}`);
    return store;
  }

  /** Snapshot + every log after it. Retries when a compaction in another process moved the ground. */
  private static async loadState(
    SQL: SqlJsStatic,
    dir: string,
    options: TaskStoreOptions,
    notices: string[],
    damagedSeqs: Set<number>,
  ): Promise<OpenedState> {
    for (let attempt = 0; ; attempt++) {
      const snap = await loadSnapshot(SQL, dir);
      let readOnlyReason: string | undefined;
      if (snap.fileVersion > SCHEMA_VERSION) {
        readOnlyReason = `The task journal in ${dir} was written by a newer version of Agent Tasks (schema ${snap.fileVersion}; this version knows up to ${SCHEMA_VERSION}). It is shown read-only and left unchanged: update Agent Tasks to run tasks.`;
      }
      const seqs = (await listLogSeqs(dir)).filter((s) => s > snap.coveredSeq);
      const stmts = new JournalStatements(snap.db);
      const retry = (): boolean => {
        // Rows salvaged from a damaged snapshot exist only in this attempt: keep going with them.
        if (snap.damage || attempt >= 5) return false;
        stmts.free();
        snap.db.close();
        return true;
      };
      if (snap.coveredSeq > 0 && seqs.length > 0 && seqs[0] !== snap.coveredSeq + 1 && retry()) continue;
      const last = seqs.length ? seqs[seqs.length - 1] : snap.coveredSeq + 1;
      let tailBytes = 0;
      let reader: LogReader | null = null;
      let vanished = false;
      for (const seq of seqs.length ? seqs : [last]) {
        if (!seqs.length && !readOnlyReason) await (await fsp.open(path.join(dir, logFileName(seq)), 'a', FILE_MODE)).close();
        reader = (await LogReader.open(dir, seq)) ?? (seqs.length ? null : LogReader.empty(seq));
        if (!reader) {
          vanished = true;
          break;
        }
        const got = await reader.readNew();
        tailBytes += got.bytesRead;
        if (replay(stmts, got.records, options.log).sawNewer) {
          readOnlyReason ??= `The task journal in ${dir} holds records from a newer version of Agent Tasks. It is shown read-only and left unchanged: update Agent Tasks to run tasks.`;
        }
        if (got.skippedBytes > 0 || (seq !== last && got.pendingBytes > 0)) {
          damagedSeqs.add(seq);
          notices.push(
            `The task journal log ${logFileName(seq)} in ${dir} had ${got.skippedBytes + (seq !== last ? got.pendingBytes : 0)} damaged bytes; every readable record was kept, and the file will be kept as ${logFileName(seq)}.damaged-… when the journal is next compacted.`,
          );
        }
        if (seq !== last) await reader.close();
      }
      if ((vanished || !reader) && retry()) continue;
      if (!reader) throw new Error(`The task journal in ${dir} could not be read: its log files keep disappearing.`);
      stmts.free();
      if (snap.damage) {
        notices.push(
          `The task journal snapshot in ${dir} was damaged (${snap.damage.reason}). It was moved to ${snap.damage.movedTo}; ${snap.damage.salvagedRows} rows were recovered from it, plus every change in the journal logs since.`,
        );
      }
      if (readOnlyReason) notices.push(readOnlyReason);
      options.log?.(`loaded snapshot (covers logs ≤ ${snap.coveredSeq}) and ${seqs.length} log file(s), ${tailBytes} bytes`);
      return {
        db: snap.db,
        reader,
        tailBytes,
        readOnlyReason,
        // A brand-new store (no file yet) needs none: its log holds everything.
        needsSnapshot: !readOnlyReason && (!!snap.damage || (snap.fileVersion > 0 && snap.fileVersion < SCHEMA_VERSION)),
      };
    }
  }

  get readOnly(): boolean {
    return this.readOnlyReason !== undefined;
  }

  get notices(): readonly string[] {
    return this._notices;
  }

  private get compactAfterBytes(): number {
    return this.options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
  }

  private get graceMs(): number {
    return this.options.rotationGraceMs ?? ROTATION_GRACE_MS;
  }

  private get retention(): RetentionPolicy {
    return this.options.retention ?? DEFAULT_RETENTION;
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  /** Runs `fn` after every earlier operation of this instance has settled. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new StoreClosedError();
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private countSync(): number {
    return Number(this.stmts.scalar('SELECT count(*) FROM task_history'));
  }

  // ---- reading other processes' records ----------------------------------------------------

  private applyRaw(records: unknown[], changed: Set<string>): void {
    const { sawNewer } = replay(this.stmts, records, this.options.log, (rec, ids) => {
      if (rec.by !== this.owner.id) for (const id of ids) changed.add(id);
    });
    if (sawNewer && !this.readOnly) {
      this.readOnlyReason = `Another process wrote records from a newer version of Agent Tasks to the task journal in ${this.dir}. This window now shows it read-only: update Agent Tasks to run tasks.`;
      this._notices.push(this.readOnlyReason);
    }
  }

  private async drain(reader: LogReader, changed: Set<string>): Promise<number> {
    const got = await reader.readNew();
    if (reader === this.reader) this.tailBytes += got.bytesRead;
    this.applyRaw(got.records, changed);
    if (got.skippedBytes > 0) this.damagedSeqs.add(reader.seq);
    return got.pendingBytes;
  }

  /** Applies what every process appended since the last read; returns the ids other processes changed. */
  private async catchUp(): Promise<{ ids: string[]; reloaded: boolean }> {
    const changed = new Set<string>();
    for (;;) {
      await this.drain(this.reader, changed);
      const nextSeq = this.reader.seq + 1;
      if (!(await pathExists(path.join(this.dir, logFileName(nextSeq))))) {
        if (await this.reader.isUnlinked()) return this.reload();
        break;
      }
      const next = await LogReader.open(this.dir, nextSeq);
      if (!next) return this.reload();
      // A writer whose rotation check ran just before the new log appeared may still land a record
      // in this one: keep reading it for the grace period.
      await this.retirePrevious();
      this.previous = { reader: this.reader, until: Date.now() + this.graceMs };
      this.reader = next;
      this.tailBytes = 0;
    }
    if (this.previous) {
      await this.drain(this.previous.reader, changed);
      if (Date.now() > this.previous.until) await this.retirePrevious();
    }
    if (this.tailBytes > this.compactAfterBytes) this.scheduleCompaction();
    return { ids: [...changed], reloaded: false };
  }

  private async retirePrevious(): Promise<void> {
    const prev = this.previous;
    this.previous = undefined;
    await prev?.reader.close();
  }

  /** Starts over from the snapshot: this instance fell behind two compactions of other processes. */
  private async reload(): Promise<{ ids: string[]; reloaded: boolean }> {
    const notices: string[] = [];
    const state = await TaskStore.loadState(this.SQL, this.dir, this.options, notices, this.damagedSeqs);
    this._notices.push(...notices);
    this.stmts.free();
    this.db.close();
    await Promise.all([this.reader.close(), this.retirePrevious()]);
    this.db = state.db;
    this.stmts = new JournalStatements(state.db);
    this.reader = state.reader;
    this.tailBytes = state.tailBytes;
    if (state.readOnlyReason) this.readOnlyReason = state.readOnlyReason;
    await this.writer?.moveTo(state.reader.seq);
    this.log('reloaded the journal after other processes compacted it');
    return { ids: [], reloaded: true };
  }

  private async read<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.refreshInner();
      return fn();
    });
  }

  private async refreshInner(): Promise<void> {
    const { ids, reloaded } = await this.catchUp();
    if (ids.length || reloaded) this._onDidChangeTasks.fire({ ids: reloaded ? [] : ids, external: true });
  }

  refresh(): Promise<void> {
    return this.exclusive(() => this.refreshInner());
  }

  /** Refreshes when another process writes to the store folder (inotify/FSEvents, not polling). */
  watchForChanges(debounceMs = 150): IDisposable {
    let timer: NodeJS.Timeout | undefined;
    let watcher: ReturnType<typeof fsWatch> | undefined;
    try {
      watcher = fsWatch(this.dir, { persistent: false }, (_event, name) => {
        if (name && !String(name).endsWith('.journal')) return;
        clearTimeout(timer);
        timer = setTimeout(() => void this.refresh().catch((err) => this.log(`refresh failed: ${err}`)), debounceMs);
      });
      watcher.on('error', (err) => this.log(`watching ${this.dir} failed: ${err}`));
    } catch (err) {
      this.log(`cannot watch ${this.dir}: ${err}`);
    }
    return toDisposable(() => {
      clearTimeout(timer);
      watcher?.close();
    });
  }

  // ---- writing -------------------------------------------------------------------------------

  /**
   * Appends a record and applies it to the in-memory copy. The SQL work runs while the disk does
   * its write and fdatasync, inside a savepoint that is rolled back if the write fails.
   */
  private async write(rec: JournalRecord, durable: boolean): Promise<string[]> {
    if (this.readOnlyReason || !this.writer) throw new ReadOnlyStoreError(this.readOnlyReason ?? 'The task journal is read-only.');
    const io = this.writer.append(encodeRecord(rec), durable).then((logSize) => {
      if (logSize > this.compactAfterBytes) this.scheduleCompaction();
    });
    this.stmts.run('SAVEPOINT journal_write', []);
    let ids: string[];
    try {
      ids = applyRecord(this.stmts, rec);
      await io;
    } catch (err) {
      this.stmts.run('ROLLBACK TO journal_write', []);
      this.stmts.run('RELEASE journal_write', []);
      await io.catch(() => undefined);
      throw err;
    }
    this.stmts.run('RELEASE journal_write', []);
    if (ids.length) this._onDidChangeTasks.fire({ ids, external: false });
    return ids;
  }

  private record<T extends JournalRecord['op']>(op: T, fields: Omit<Extract<JournalRecord, { op: T }>, 'v' | 'by' | 'op'>): JournalRecord {
    return { v: RECORD_VERSION, by: this.owner.id, op, ...fields } as unknown as JournalRecord;
  }

  private getSync(id: string): TaskRow | undefined {
    return this.stmts.get('SELECT * FROM task_history WHERE id = ?', [id]);
  }

  logPathFor(id: string): string {
    if (!SAFE_ID.test(id)) throw new Error(`Invalid task id: ${JSON.stringify(id)}`);
    return path.join(this.dir, 'logs', `${id}.log`);
  }

  private newRow(task: NewTask, now: number): TaskRow {
    const id = task.id ?? randomUUID();
    return {
      id,
      name: task.name,
      agent: task.agent ?? null,
      command: task.command,
      args: [...task.args],
      cwd: task.cwd,
      workspace: task.workspace ?? null,
      prompt: task.prompt ?? null,
      format: task.format ?? 'text',
      status: 'running',
      started_at: task.started_at ?? now,
      finished_at: null,
      exit_code: null,
      signal: null,
      error: null,
      session_id: task.session_id ?? null,
      input_tokens: null,
      output_tokens: null,
      cache_read_tokens: null,
      cache_creation_tokens: null,
      cost_usd: null,
      output_bytes: 0,
      log_path: this.logPathFor(id),
      owner_id: this.owner.id,
      owner_pid: this.owner.pid,
      owner_started_at: this.owner.startedAt,
      owner_host: this.owner.host,
      child_pid: null,
      child_started_at: null,
      heartbeat_at: now,
      resolved_at: null,
      resolution: null,
      parent_id: task.parent_id ?? null,
    };
  }

  startTask(task: NewTask): Promise<TaskRow> {
    return this.exclusive(async () => {
      if (task.id !== undefined && !SAFE_ID.test(task.id)) throw new Error(`Invalid task id: ${JSON.stringify(task.id)}`);
      const existing = task.id ? this.getSync(task.id) : undefined;
      if (existing) return existing;
      const row = this.newRow(task, Date.now());
      await this.write(this.record('start', { row }), true);
      return row;
    });
  }

  updateRunning(id: string, patch: RunningPatch): Promise<void> {
    return this.exclusive(async () => {
      await this.write(this.record('update', { id, set: { ...patch } }), false);
    });
  }

  heartbeat(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.exclusive(async () => {
      await this.write(this.record('heartbeat', { ids: [...ids], at: Date.now() }), false);
    });
  }

  finishTask(id: string, result: TaskResult, fallback?: NewTask): Promise<TaskRow> {
    return this.exclusive(async () => {
      const now = Date.now();
      const set: FinishFields = { ...result, finished_at: result.finished_at ?? now };
      // The finish carries the whole row, so a start record lost to damage is recovered from it.
      const row = this.getSync(id) ?? this.newRow({ ...(fallback ?? { name: id, command: '', args: [], cwd: '' }), id }, now);
      await this.write(this.record('finish', { id, set, row }), true);
      const after = this.getSync(id);
      if (!after) throw new Error(`task ${id} vanished while finishing`);
      if (++this.finishesSincePrune >= PRUNE_EVERY_FINISHES) {
        this.finishesSincePrune = 0;
        setTimeout(() => void this.prune().catch((err) => this.log(`prune failed: ${err}`)), 0).unref?.();
      }
      return after;
    });
  }

  markRunningAsInterrupted(): Promise<TaskRow[]> {
    return this.exclusive(async () => {
      await this.refreshInner();
      const running = this.stmts.all(`SELECT * FROM task_history WHERE status = 'running' AND owner_id <> ?`, [this.owner.id]);
      if (running.length === 0 || this.readOnly) return [];
      const now = Date.now();
      const orphans = await findOrphans(running, { host: this.owner.host, now, staleAfterMs: this.options.staleAfterMs });
      const marked: string[] = [];
      for (const { verdict, ids } of orphans.values()) {
        marked.push(...(await this.write(this.record('interrupt', { ids, at: now, reason: `Interrupted: ${verdict.reason}.` }), true)));
      }
      return marked.map((id) => this.getSync(id)).filter((r): r is TaskRow => !!r);
    });
  }

  interruptOwnTasks(ids: readonly string[], reason: string): Promise<TaskRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.exclusive(async () => {
      const marked = await this.write(this.record('interrupt', { ids: [...ids], at: Date.now(), reason }), true);
      return marked.map((id) => this.getSync(id)).filter((r): r is TaskRow => !!r);
    });
  }

  resolveInterrupted(id: string, how: Resolution): Promise<TaskRow | undefined> {
    return this.exclusive(async () => {
      await this.refreshInner();
      await this.write(this.record('resolve', { id, at: Date.now(), how }), true);
      return this.getSync(id);
    });
  }

  /** Removes finished history beyond the retention policy, with its log files. */
  prune(now = Date.now()): Promise<number> {
    return this.exclusive(() => this.removeHistory(now, this.retention));
  }

  /** Removes every finished task and its log (running and unresolved interrupted tasks stay). */
  clearHistory(): Promise<number> {
    return this.exclusive(() => this.removeHistory(Date.now(), 'everything'));
  }

  private async removeHistory(now: number, policy: RetentionPolicy | 'everything'): Promise<number> {
    if (this.readOnly) return 0;
    await this.refreshInner();
    const victims = new Map<string, string | null>();
    const collect = (rows: { id: string; log_path: string | null }[]) => rows.forEach((r) => victims.set(r.id, r.log_path));
    if (policy === 'everything') {
      collect(this.stmts.all(`SELECT id, log_path FROM task_history WHERE ${PRUNABLE}`));
    } else {
      if (policy.maxAgeDays > 0) {
        collect(
          this.stmts.all(`SELECT id, log_path FROM task_history WHERE ${PRUNABLE} AND COALESCE(finished_at, started_at) < ?`, [
            now - policy.maxAgeDays * 86_400_000,
          ]),
        );
      }
      if (policy.maxRows > 0) {
        collect(this.stmts.all(`SELECT id, log_path FROM task_history WHERE ${PRUNABLE} ORDER BY started_at DESC LIMIT -1 OFFSET ?`, [policy.maxRows]));
      }
    }
    const ids = [...victims.keys()];
    for (let i = 0; i < ids.length; i += PRUNE_BATCH) {
      await this.write(this.record('prune', { ids: ids.slice(i, i + PRUNE_BATCH) }), false);
    }
    const dropped = await this.pruneArchive(now, policy);
    await this.deleteLogs([...victims.values()]);
    if (ids.length || dropped) this.log(`removed ${ids.length} finished tasks and ${dropped} archived ones`);
    return ids.length + dropped;
  }

  /** Drops whole archive segments that retention no longer keeps; returns how many rows went with them. */
  private async pruneArchive(now: number, policy: RetentionPolicy | 'everything'): Promise<number> {
    const segments = this.stmts.segments().sort((a, b) => a.newest_started - b.newest_started);
    const drop = new Set<string>(policy === 'everything' ? segments.map((seg) => seg.name) : []);
    const { maxAgeDays, maxRows } = policy === 'everything' ? { maxAgeDays: 0, maxRows: 0 } : policy;
    if (maxAgeDays > 0) for (const seg of segments) if (seg.newest_finished < now - maxAgeDays * 86_400_000) drop.add(seg.name);
    if (maxRows > 0) {
      const allowed = Math.max(0, maxRows - Number(this.stmts.scalar(`SELECT count(*) FROM task_history WHERE ${PRUNABLE}`)));
      let total = segments.filter((seg) => !drop.has(seg.name)).reduce((n, seg) => n + seg.rows, 0);
      for (const seg of segments) {
        if (total <= allowed) break;
        if (!drop.has(seg.name)) {
          drop.add(seg.name);
          total -= seg.rows;
        }
      }
    }
    let rows = 0;
    for (const seg of segments.filter((x) => drop.has(x.name))) {
      const loaded = await this.archive.load(seg.name);
      await this.deleteLogs(loaded?.all('SELECT id, log_path FROM task_history').map((r) => r.log_path) ?? []);
      await this.write(this.record('dropSegment', { name: seg.name }), true);
      this.archive.forget(seg.name);
      await fsp.unlink(path.join(this.dir, ARCHIVE_DIR, seg.name)).catch(() => undefined);
      rows += seg.rows;
    }
    return rows;
  }

  /** Deletes task logs, only ever inside this store's logs folder. */
  private async deleteLogs(paths: readonly (string | null)[]): Promise<void> {
    const logsDir = path.join(this.dir, 'logs') + path.sep;
    await Promise.all(
      paths.filter((p): p is string => !!p && path.resolve(p).startsWith(logsDir)).map((p) => fsp.unlink(p).catch(() => undefined)),
    );
  }

  // ---- queries -------------------------------------------------------------------------------

  getTask(id: string): Promise<TaskRow | undefined> {
    return this.read(async () => {
      const hot = this.getSync(id);
      if (hot) return hot;
      const found = await this.archive.query(this.stmts.segments(), 'SELECT * FROM task_history WHERE id = ?', [id], (rows) => rows.length > 0);
      return found[0];
    });
  }

  private where(query: Omit<ListTasksQuery, 'limit'>): { sql: string; params: SqlValue[] } {
    const clauses: string[] = [];
    const params: SqlValue[] = [];
    if (query.status === undefined && !query.includeRunning) {
      // Not "status IN (all terminal ones)": that makes SQLite sort every row instead of walking the started_at index.
      clauses.push(`status <> 'running'`);
    } else if (query.status !== undefined) {
      const statuses: readonly TaskStatus[] = typeof query.status === 'string' ? [query.status] : query.status;
      clauses.push(`status IN (${statuses.map(() => '?').join(',')})`);
      params.push(...statuses);
    }
    if (query.workspace !== undefined) {
      clauses.push('workspace = ?');
      params.push(query.workspace);
    }
    if (query.before !== undefined) {
      clauses.push('started_at < ?');
      params.push(query.before);
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  /** Archived rows are finished and resolved: a query for running rows only never needs them. */
  private archiveMayMatch(query: Omit<ListTasksQuery, 'limit'>): boolean {
    if (query.status === undefined) return true;
    const statuses = typeof query.status === 'string' ? [query.status] : query.status;
    return statuses.some((st) => st !== 'running');
  }

  /** The newest `limit` rows of a query over the hot rows and, when they are not enough, the archive. */
  private async newestRows(where: { sql: string; params: SqlValue[] }, limit: number, useArchive: boolean, before?: number): Promise<TaskRow[]> {
    const sql = `SELECT * FROM task_history ${where.sql} ORDER BY started_at DESC, id DESC LIMIT ?`;
    const hot = this.stmts.all(sql, [...where.params, limit]);
    const segments = useArchive ? this.stmts.segments().filter((seg) => before === undefined || seg.oldest_started < before) : [];
    if (segments.length === 0) return hot;
    const older = await this.archive.query(segments, sql, [...where.params, limit], (rows, next) => {
      const all = [...hot, ...rows].sort(newestFirst);
      return all.length >= limit && next.newest_started < all[limit - 1].started_at;
    });
    const seen = new Set(hot.map((r) => r.id));
    return [...hot, ...older.filter((r) => !seen.has(r.id))].sort(newestFirst).slice(0, limit);
  }

  listTasks(query: ListTasksQuery = {}): Promise<TaskRow[]> {
    return this.read(() => {
      const limit = Math.max(1, Math.min(query.limit ?? 50, 100_000));
      return this.newestRows(this.where(query), limit, this.archiveMayMatch(query), query.before);
    });
  }

  countTasks(query: Omit<ListTasksQuery, 'limit' | 'before'> = {}): Promise<number> {
    return this.read(async () => {
      const w = this.where(query);
      const sql = `SELECT count(*) FROM task_history ${w.sql}`;
      const hot = Number(this.stmts.scalar(sql, w.params));
      return this.archiveMayMatch(query) ? hot + (await this.archive.scalarSum(this.stmts.segments(), sql, w.params)) : hot;
    });
  }

  listUnresolvedInterruptedTasks(): Promise<TaskRow[]> {
    return this.read(() =>
      this.stmts.all(`SELECT * FROM task_history WHERE status = 'interrupted' AND resolved_at IS NULL ORDER BY started_at DESC, id DESC`),
    );
  }

  listZeroOutputSuccesses(limit = 50): Promise<TaskRow[]> {
    return this.read(() => this.newestRows({ sql: `WHERE status = 'success' AND output_bytes = 0`, params: [] }, limit, true));
  }

  hasInFlightTask(query: { sessionId?: string; workspace?: string }): Promise<boolean> {
    return this.read(() => {
      const [col, value] = query.sessionId !== undefined ? ['session_id', query.sessionId] : ['workspace', query.workspace ?? null];
      return this.stmts.scalar(`SELECT 1 FROM task_history WHERE status = 'running' AND ${col} IS ? LIMIT 1`, [value]) !== null;
    });
  }

  // ---- compaction ----------------------------------------------------------------------------

  private scheduleCompaction(): void {
    if (this.compactionScheduled || this.readOnly || this.closed) return;
    this.compactionScheduled = true;
    setTimeout(() => {
      void this.compact({ background: true })
        .catch((err) => err instanceof StoreClosedError || this.log(`compaction failed: ${err}`))
        .finally(() => (this.compactionScheduled = false));
    }, 0).unref?.();
  }

  /**
   * Rewrites the snapshot and retires the logs it covers. Only one process compacts at a time
   * (compact.lock). Two phases: seal the current log by creating the next one, then — after the
   * rotation grace, while this instance keeps working — drain the sealed log a last time, write
   * the snapshot and delete what it covers. Returns false when another process holds the lock,
   * the store is read-only, or this instance is already compacting.
   */
  async compact(options: { background?: boolean } = {}): Promise<boolean> {
    const sealed = await this.exclusive(() => this.sealCurrentLog());
    if (sealed === undefined) return false;
    try {
      if (this.graceMs > 0) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, this.graceMs);
          // A compaction the store started itself must not keep a CLI process alive; an awaited one must.
          if (options.background) timer.unref?.();
        });
      }
      return await this.exclusive(() => this.snapshotSealed(sealed));
    } finally {
      this.sealing = undefined;
      await fsp.unlink(path.join(this.dir, LOCK_NAME)).catch(() => undefined);
    }
  }

  private async sealCurrentLog(): Promise<number | undefined> {
    if (this.readOnly || !this.writer || this.sealing !== undefined) return undefined;
    if (!(await this.tryLock())) return undefined;
    try {
      await this.refreshInner();
      const sealed = this.reader.seq;
      await (await fsp.open(path.join(this.dir, logFileName(sealed + 1)), 'a', FILE_MODE)).close();
      await fsyncDir(this.dir);
      await this.writer.moveTo(sealed + 1);
      this.sealing = sealed;
      return sealed;
    } catch (err) {
      await fsp.unlink(path.join(this.dir, LOCK_NAME)).catch(() => undefined);
      throw err;
    }
  }

  private async snapshotSealed(sealed: number): Promise<boolean> {
    // Bring everything in, then read the sealed log one last time: the grace is over.
    await this.refreshInner();
    const changed = new Set<string>();
    const sealedReader = this.reader.seq === sealed ? this.reader : this.previous?.reader.seq === sealed ? this.previous.reader : undefined;
    if (sealedReader) {
      const pending = await this.drain(sealedReader, changed);
      if (pending > 0) this.damagedSeqs.add(sealed);
    }
    if (changed.size) this._onDidChangeTasks.fire({ ids: [...changed], external: true });
    await this.archiveOldHistory();
    // The state may already hold records of the next log: replaying them again over the snapshot is
    // idempotent (journalOps.ts), so "covers ≤ sealed" stays true.
    const bytes = await writeSnapshot(this.db, this.dir, sealed, this.owner.id);
    if (this.previous?.reader.seq === sealed) await this.retirePrevious();
    if (this.reader.seq === sealed) {
      const next = await LogReader.open(this.dir, sealed + 1);
      if (next) {
        await this.reader.close();
        this.reader = next;
        this.tailBytes = 0;
      }
    }
    await this.retireLogs(sealed);
    this.log(`compacted: snapshot ${bytes} bytes covers logs ≤ ${sealed}`);
    return true;
  }

  /** Moves the oldest finished rows into a new archive segment when the hot database holds too many. */
  private async archiveOldHistory(): Promise<void> {
    const { max, keep } = this.options.hotHistory ?? DEFAULT_HOT_HISTORY;
    const finished = Number(this.stmts.scalar(`SELECT count(*) FROM task_history WHERE ${PRUNABLE}`));
    if (finished <= max) return;
    const rows = this.stmts.all(`SELECT * FROM task_history WHERE ${PRUNABLE} ORDER BY started_at ASC, id ASC LIMIT ?`, [finished - keep]);
    const onDisk = await fsp.readdir(path.join(this.dir, ARCHIVE_DIR)).catch(() => [] as string[]);
    const last = Math.max(0, ...onDisk.map(segmentNumber), ...this.stmts.segments().map((seg) => segmentNumber(seg.name)));
    const segment = await writeSegment(this.SQL, this.dir, segmentName(last + 1), rows);
    await this.write(this.record('archive', { segment, ids: rows.map((r) => r.id) }), true);
    this.log(`archived ${rows.length} finished tasks to ${segment.name}`);
  }

  private async retireLogs(upTo: number): Promise<void> {
    for (const seq of await listLogSeqs(this.dir)) {
      if (seq > upTo) continue;
      const file = path.join(this.dir, logFileName(seq));
      try {
        if (this.damagedSeqs.has(seq)) {
          this.log(`kept damaged log as ${await moveAside(file)}`);
        } else {
          await fsp.unlink(file);
        }
        this.damagedSeqs.delete(seq);
      } catch (err) {
        // Windows cannot delete a file another process holds open: the next compaction tries again.
        this.log(`could not retire ${file}: ${err}`);
      }
    }
  }

  private async tryLock(): Promise<boolean> {
    const lockPath = path.join(this.dir, LOCK_NAME);
    const me = JSON.stringify({ owner_id: this.owner.id, pid: this.owner.pid, started_at: this.owner.startedAt, host: this.owner.host, at: Date.now() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const h = await fsp.open(lockPath, 'wx', FILE_MODE);
        try {
          await h.writeFile(me);
        } finally {
          await h.close();
        }
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (!(await this.lockIsStale(lockPath))) return false;
      await fsp.unlink(lockPath).catch(() => undefined);
    }
    return false;
  }

  private async lockIsStale(lockPath: string): Promise<boolean> {
    let stat;
    try {
      stat = await fsp.stat(lockPath);
    } catch {
      return true; // released meanwhile
    }
    const ageMs = Date.now() - stat.mtimeMs;
    if (ageMs > LOCK_STALE_MS) return true;
    let holder: { pid?: number; started_at?: number | null; host?: string };
    try {
      holder = JSON.parse(await fsp.readFile(lockPath, 'utf8'));
    } catch {
      // Created but not yet written by its holder — or torn by a crash right then: only age tells.
      return ageMs > LOCK_UNWRITTEN_STALE_MS;
    }
    if (holder.host !== this.owner.host || typeof holder.pid !== 'number') return false;
    return (await processLiveness(holder.pid, holder.started_at ?? null)) !== 'alive';
  }

  /** Waits for pending work, then releases files and memory. Does not compact: closing stays fast. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = this.exclusive(async () => {
        this.closed = true;
        await Promise.allSettled([this.reader.close(), this.writer?.close(), this.retirePrevious()]);
        this.archive.dispose();
        this.stmts.free();
        this.db.close();
      });
      super.dispose();
    }
    return this.closing;
  }

  override dispose(): void {
    void this.close().catch((err) => this.log(`closing the journal failed: ${err}`));
  }
}

/**
 * Applies records read from a log, in order. A record that cannot be applied (a bug, a hand-edited
 * store) is skipped, not fatal; a record from a newer version is not applied and reported.
 */
function replay(
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

function newestFirst(a: TaskRow, b: TaskRow): number {
  return b.started_at - a.started_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
