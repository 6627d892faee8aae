import { randomUUID } from 'node:crypto';
import { constants as fsc, promises as fsp, watch as fsWatch } from 'node:fs';
import * as path from 'node:path';
import type { SqlJsStatic } from 'sql.js';
import { describeSegmentDamage } from './archiveNotices';
import type { GitRunState } from './gitSnapshot';
import { releaseLock, tryLock } from './compactionLock';
import { ArchiveCache, ARCHIVE_DIR, nextSegmentName, segmentInfoOf, writeSegment, type SegmentDamage } from './historyArchive';
import { createLogFile, encodeRecord, fsyncDir, listLogSeqs, logFileName, LogReader, LogWriter, pathExists, ROTATION_GRACE_MS } from './journalLog';
import {
  applyRecord,
  JournalStatements,
  LIVE_SQL,
  PRUNABLE,
  RECORD_VERSION,
  runningRow,
  checkTaskId,
  taskLogPath,
  SessionTakenError,
  sessionTakenMessage,
  type FinishFields,
  type JournalRecord,
} from './journalOps';
import { Disposable, Emitter, toDisposable, type IDisposable } from './lifecycle';
import { hostName, processStartTicks, processStartTime } from './processIdentity';
import { findOrphans } from './recoveryScan';
import { writeSnapshot } from './snapshot';
import { loadSqlJs } from './sqlite';
import { ensurePrivateFolder, errorCode, isNoSpaceError, isReadOnlyError, DIR_MODE } from './storeFiles';
import { keepDamagedLog, loadJournalState, reconcileArchive, replay, type OpenedState } from './storeOpen';
import { countRows, newestRows, newestRowsWhere, readStoreView, type CountQuery } from './storeQueries';
import { answeredFirstElsewhere, FirstAnswers, requestProblem } from './agentRequests';
import { deleteTaskLogs, hotRowsToRemove, removedTask, REMOVED_COLUMNS, segmentsToDrop, type RemovalPolicy, type RemovedTask } from './retention';
import {
  DEFAULT_RETENTION,
  isLive,
  type CancelRequest,
  type ListTasksQuery,
  type NewTask,
  type OwnerIdentity,
  type AnswerOutcome,
  type PendingRequest,
  type RequestAnswer,
  type RequestAnswered,
  type RequestJournal,
  type Resolution,
  type RetentionPolicy,
  type RunningPatch,
  type StoreView,
  type TaskJournal,
  type TaskResult,
  type TaskRow,
  type TasksChangeEvent,
} from './taskTypes';

export interface TaskStoreOptions {
  /** The store folder (created 0700). */
  dir: string;
  /** Open to read only (list, show): nothing is created, written, moved aside or compacted. */
  readOnly?: boolean;
  retention?: RetentionPolicy;
  /** Diagnostics (the extension's log channel, the CLI's --verbose). */
  log?: (message: string) => void;
  /** Rewrite the snapshot once this many log bytes accumulated since the last one. */
  compactAfterBytes?: number;
  /**
   * Whether this process compacts by itself when the logs grow (default true: a long-lived
   * process). A short-lived one (the CLI) passes false and, when `compactionDue`, hands the
   * compaction to a process that can finish it: a compaction seals the log and must wait out the
   * rotation grace, and a process that exits in between leaves a sealed log and a stale lock.
   */
  compactInBackground?: boolean;
  /** Rows from another host are orphaned after this long without a heartbeat. */
  staleAfterMs?: number;
  /**
   * When compaction finds more than `max` finished rows in the hot database, it moves the oldest
   * down to `keep` into an archive segment (historyArchive.ts). Defaults: 4,000 and 2,000.
   */
  hotHistory?: { max: number; keep: number };
  /** How long a sealed log is still read after a rotation (tests shorten it). */
  rotationGraceMs?: number;
  /** How often a durable write refused for lack of disk space is tried again (default 2 s). */
  noSpaceRetryMs?: number;
  /** Overrides the owner identity (tests simulate other processes and hosts). */
  owner?: Partial<OwnerIdentity>;
}

const DEFAULT_COMPACT_AFTER_BYTES = 1024 * 1024;
const DEFAULT_HOT_HISTORY = { max: 4_000, keep: 2_000 };
const DEFAULT_NO_SPACE_RETRY_MS = 2_000;
const PRUNE_EVERY_FINISHES = 100;
const PRUNE_BATCH = 500;

export class StoreClosedError extends Error {
  constructor() {
    super('The task journal is closed.');
  }
}

export class ReadOnlyStoreError extends Error {}

export { SessionTakenError };

/** What happens to a durable write the disk has no room for. */
type NoSpacePolicy = 'retry' | 'fail';

/**
 * The task journal: an in-memory sql.js database kept durable by an append-only log of row
 * changes (journalLog.ts) over a snapshot rewritten now and then (snapshot.ts). Several
 * processes may share one store folder; each sees the others' rows on its next read.
 * All work is serialized on one promise chain per instance and uses only asynchronous I/O.
 * Opening is storeOpen.ts, reading storeQueries.ts, the archive historyArchive.ts.
 */
export class TaskStore extends Disposable implements TaskJournal, RequestJournal {
  private readonly _onDidChangeTasks = this._register(new Emitter<TasksChangeEvent>());
  readonly onDidChangeTasks = this._onDidChangeTasks.event;
  private readonly _onDidAddNotice = this._register(new Emitter<string>());
  readonly onDidAddNotice = this._onDidAddNotice.event;
  /**
   * Removed tasks that had git snapshots: whoever may run git there (not a window in Restricted
   * Mode) deletes their refs (runSnapshots.ts dropSnapshotsOf).
   */
  private readonly _onDidRemoveSnapshots = this._register(new Emitter<readonly RemovedTask[]>());
  readonly onDidRemoveSnapshots = this._onDidRemoveSnapshots.event;
  private readonly _onDidRequestCancel = this._register(new Emitter<CancelRequest>());
  /** A catch-up read a cancel request for a running row this instance owns (TaskRunner obeys it). */
  readonly onDidRequestCancel = this._onDidRequestCancel.event;
  private readonly _onDidAnswer = this._register(new Emitter<RequestAnswered>());
  /** A catch-up read the first answer to an open request of a row this instance owns. */
  readonly onDidAnswer = this._onDidAnswer.event;

  private stmts: JournalStatements;
  private readonly archive: ArchiveCache;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set as soon as close() is called: a write waiting for disk space gives up. */
  private stopping = false;
  private closing: Promise<void> | undefined;
  private compactionScheduled = false;
  private finishesSincePrune = 0;
  private needsSnapshot = false;
  private readonly damagedSeqs = new Set<number>();
  private readonly _notices: string[] = [];
  private readOnlyReason: string | undefined;
  /** The log before the current one, still read until `until` (see ROTATION_GRACE_MS). */
  private previous: { reader: LogReader; until: number } | undefined;
  /** Set between the two phases of this instance's compaction. */
  private sealing: number | undefined;
  /** Cancel requests for this instance's running rows read by the current catch-up, not fired yet. */
  private cancelRequests: CancelRequest[] = [];
  /** Answers to this instance's rows read by the current catch-up, first per request, not fired yet. */
  private answers: RequestAnswered[] = [];
  private readonly firstAnswers = new FirstAnswers();
  /** Sees every record a catch-up reads, in log order (first-record-wins checks). */
  private recordObserver: ((rec: JournalRecord) => void) | undefined;

  private constructor(
    private readonly SQL: SqlJsStatic,
    readonly dir: string,
    readonly owner: OwnerIdentity,
    private db: import('sql.js').Database,
    private reader: LogReader,
    private writer: LogWriter | undefined,
    private tailBytes: number,
    private readonly options: TaskStoreOptions,
  ) {
    super();
    this.stmts = new JournalStatements(db);
    this.archive = new ArchiveCache(SQL, dir, () => this.readOnly, (damage) => this.onSegmentDamage(damage));
  }

  static async open(options: TaskStoreOptions): Promise<TaskStore> {
    const dir = path.resolve(options.dir);
    const notices: string[] = [];
    let readOnlyReason = options.readOnly ? undefined : await TaskStore.prepareFolder(dir, notices);
    const readOnly = options.readOnly === true || readOnlyReason !== undefined;
    const [SQL, startedAt, startTicks] = await Promise.all([loadSqlJs(), processStartTime(process.pid), processStartTicks(process.pid)]);
    const owner: OwnerIdentity = {
      id: options.owner?.id ?? randomUUID(),
      pid: options.owner?.pid ?? process.pid,
      startedAt: options.owner?.startedAt !== undefined ? options.owner.startedAt : startedAt,
      // A test that impersonates another process names its start; this process's ticks would contradict it.
      startTicks:
        options.owner?.startTicks !== undefined ? options.owner.startTicks : options.owner?.pid !== undefined || options.owner?.startedAt !== undefined ? null : startTicks,
      host: options.owner?.host ?? hostName(),
    };
    const state = await loadJournalState(SQL, dir, { readOnly, log: options.log, notices });
    readOnlyReason ??= state.readOnlyReason;
    let writer: LogWriter | undefined;
    if (!readOnly && !readOnlyReason) {
      try {
        writer = await LogWriter.open(dir, state.reader.seq, options.rotationGraceMs ?? ROTATION_GRACE_MS);
      } catch (err) {
        if (!isReadOnlyError(err)) throw err;
        readOnlyReason = readOnlyNotice(dir, err);
        notices.push(readOnlyReason);
      }
    }
    const store = new TaskStore(SQL, dir, owner, state.db, state.reader, writer, state.tailBytes, options);
    store._notices.push(...notices);
    store.readOnlyReason = readOnlyReason ?? (options.readOnly ? 'The task journal was opened to read only.' : undefined);
    store.needsSnapshot = state.needsSnapshot;
    await store.exclusive(() => store.settleOpenState(state));
    if (store.compactionDue) store.scheduleCompaction();
    // Counting the rows only for a log line would cost the first load a table scan (loadJournalState logged the sizes).
    store.log(`opened ${dir}: log ${logFileName(state.reader.seq)}${store.readOnly ? ' (read-only)' : ''}`);
    return store;
  }

  /**
   * Creates the folders (0700) and checks that the store can be written. Returns why not (a
   * read-only mount, a folder of another user), and then the store opens read-only.
   */
  private static async prepareFolder(dir: string, notices: string[]): Promise<string | undefined> {
    try {
      await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
      await fsp.access(dir, fsc.W_OK);
    } catch (err) {
      if (isReadOnlyError(err)) {
        const reason = readOnlyNotice(dir, err);
        notices.push(reason);
        return reason;
      }
      throw err;
    }
    // The folder may predate us (VS Code creates globalStorage folders 0755): ours alone.
    await fsp.chmod(dir, DIR_MODE).catch(() => undefined);
    for (const name of ['logs', ARCHIVE_DIR]) {
      const notice = await ensurePrivateFolder(dir, name);
      if (notice) notices.push(notice);
    }
    return undefined;
  }

  /** Journals what opening reconciled, and re-archives rows salvaged from damaged segments. */
  private async settleOpenState(state: Pick<OpenedState, 'reconciliation' | 'salvaged'>): Promise<void> {
    for (const rec of state.reconciliation) {
      if (this.readOnly) break; // applied in memory already
      await this.write({ ...rec, by: this.owner.id }, true).catch((err) => this.log(`could not journal the archive listing: ${err}`));
    }
    for (const seg of state.salvaged) await this.rearchiveSalvaged(seg.name, seg.stmts, undefined);
  }

  get readOnly(): boolean {
    return this.readOnlyReason !== undefined;
  }

  get notices(): readonly string[] {
    return this._notices;
  }

  /** How many archive segments this instance parsed (the view's first load parses none). */
  get segmentsParsed(): number {
    return this.archive.parsed;
  }

  /**
   * True when the logs have grown enough (or damage was found) that a compaction should run.
   * A process that does not compact in the background hands it over (see the CLI's `compact`).
   */
  get compactionDue(): boolean {
    return !this.readOnly && !this.closed && (this.needsSnapshot || this.tailBytes > this.compactAfterBytes);
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

  private notice(message: string): void {
    this._notices.push(message);
    this.log(message);
    this._onDidAddNotice.fire(message);
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

  // ---- reading other processes' records ----------------------------------------------------

  private applyRaw(records: unknown[], changed: Set<string>): void {
    const { sawNewer } = replay(this.stmts, records, this.options.log, (rec, ids) => {
      this.recordObserver?.(rec);
      if (rec.op === 'cancelRequest') this.noteCancelRequest(rec);
      if (rec.op === 'answer') this.noteAnswer(rec);
      if (rec.by !== this.owner.id) for (const id of ids) changed.add(id);
    });
    if (sawNewer && !this.readOnly) {
      this.readOnlyReason = `Another process wrote records from a newer version of Agent Tasks to the task journal in ${this.dir}. This window now shows it read-only: update Agent Tasks to run tasks.`;
      this.notice(this.readOnlyReason);
    }
  }

  private async drain(reader: LogReader, changed: Set<string>): Promise<number> {
    const got = await reader.readNew();
    if (reader === this.reader) this.tailBytes += got.bytesRead;
    this.applyRaw(got.records, changed);
    if (got.skippedBytes > 0) await this.onDamagedLog(reader.seq, got.skippedBytes, reader.offset + got.pendingBytes);
    return got.pendingBytes;
  }

  private async onDamagedLog(seq: number, damagedBytes: number, coverBytes: number): Promise<void> {
    this.damagedSeqs.add(seq);
    this.needsSnapshot = true;
    this.notice(await keepDamagedLog(this.dir, seq, damagedBytes, coverBytes, this.readOnly));
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
    const state = await loadJournalState(this.SQL, this.dir, { readOnly: this.readOnly, log: this.options.log, notices });
    for (const n of notices) this.notice(n);
    this.stmts.free();
    this.db.close();
    await Promise.all([this.reader.close(), this.retirePrevious()]);
    this.db = state.db;
    this.stmts = new JournalStatements(state.db);
    this.reader = state.reader;
    this.tailBytes = state.tailBytes;
    if (state.readOnlyReason) this.readOnlyReason = state.readOnlyReason;
    await this.writer?.moveTo(state.reader.seq);
    await this.settleOpenState(state);
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
    this.fireCancelRequests();
    this.fireAnswers();
  }

  /**
   * A cancel request read in log order: kept when it names a row this instance owns that is still
   * running at that point of the log (a request that lands after the finish asks for nothing).
   * Fired after the catch-up, so listeners see the store in a settled state.
   */
  private noteCancelRequest(rec: Extract<JournalRecord, { op: 'cancelRequest' }>): void {
    const row = this.getSync(rec.id);
    if (row && isLive(row.status) && row.owner_id === this.owner.id) this.cancelRequests.push({ id: rec.id, at: rec.at, by: rec.by });
  }

  /** The first answer (in log order) to a request of a live row this instance owns, relayed once. */
  private noteAnswer(rec: Extract<JournalRecord, { op: 'answer' }>): void {
    const row = this.getSync(rec.id);
    if (!row || !isLive(row.status) || row.owner_id !== this.owner.id) return;
    const first = this.firstAnswers.first(rec);
    if (first) this.answers.push(first);
  }

  private fireAnswers(): void {
    const answers = this.answers;
    this.answers = [];
    for (const answer of answers) this._onDidAnswer.fire(answer);
  }

  private fireCancelRequests(): void {
    const requests = this.cancelRequests;
    if (requests.length === 0) return;
    this.cancelRequests = [];
    for (const request of requests) this._onDidRequestCancel.fire(request);
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
  private async write(rec: JournalRecord, durable: boolean, noSpace: NoSpacePolicy = 'retry'): Promise<string[]> {
    if (this.readOnlyReason || !this.writer) throw new ReadOnlyStoreError(this.readOnlyReason ?? 'The task journal is read-only.');
    const io = this.append(this.writer, rec, durable, noSpace);
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

  /**
   * One record onto the log. A durable record the disk has no room for is kept and tried again
   * until it lands (a full disk must not turn a finished run into an interrupted one), unless
   * the store is being closed or the caller would rather answer without it ('fail').
   */
  private async append(writer: LogWriter, rec: JournalRecord, durable: boolean, noSpace: NoSpacePolicy): Promise<void> {
    const bytes = encodeRecord(rec);
    for (let attempt = 0; ; attempt++) {
      try {
        const logSize = await writer.append(bytes, durable);
        if (logSize > this.compactAfterBytes) this.scheduleCompaction();
        if (attempt > 0) this.notice(`The task journal in ${this.dir} could write again: the ${rec.op} record held back for lack of disk space is on disk now.`);
        return;
      } catch (err) {
        if (!isNoSpaceError(err) || !durable || noSpace === 'fail' || this.stopping) throw err;
        const every = this.options.noSpaceRetryMs ?? DEFAULT_NO_SPACE_RETRY_MS;
        if (attempt === 0) {
          this.notice(`The disk holding the task journal in ${this.dir} is full: a ${rec.op} record is held in memory and written again every ${every / 1000} s until it lands. Free some disk space.`);
        }
        await new Promise((resolve) => setTimeout(resolve, every));
      }
    }
  }

  private record<T extends JournalRecord['op']>(op: T, fields: Omit<Extract<JournalRecord, { op: T }>, 'v' | 'by' | 'op'>): JournalRecord {
    return { v: RECORD_VERSION, by: this.owner.id, op, ...fields } as unknown as JournalRecord;
  }

  private getSync(id: string): TaskRow | undefined {
    return this.stmts.get('SELECT * FROM task_history WHERE id = ?', [id]);
  }

  logPathFor(id: string): string {
    return taskLogPath(this.dir, id);
  }

  private newRow(task: NewTask, now: number): TaskRow {
    return runningRow(task, this.owner, (id) => this.logPathFor(id), now);
  }

  /**
   * Journals a new running row (durable before it resolves). With `exclusiveSession`, the row
   * continues an agent session that must not run twice (two windows resuming one interrupted
   * task): it is refused when a live run of the session exists, and when another process's start
   * of the same session lands in the log first, this one is recorded cancelled and
   * `SessionTakenError` is thrown — before anything is spawned.
   */
  startTask(task: NewTask, options: { exclusiveSession?: boolean } = {}): Promise<TaskRow> {
    return this.exclusive(async () => {
      if (task.id !== undefined) checkTaskId(task.id);
      const existing = task.id ? this.getSync(task.id) : undefined;
      if (existing) return existing;
      const session = options.exclusiveSession ? (task.session_id ?? null) : null;
      if (session !== null) {
        await this.refreshInner();
        if (this.runningOfSession(session).length > 0) throw new SessionTakenError(sessionTakenMessage(session));
      }
      const row = this.newRow(task, Date.now());
      const rec = this.record('start', { row });
      if (session === null) {
        await this.write(rec, true);
        return row;
      }
      let rival: string | undefined;
      let reachedMine = false;
      await this.write(rec, true);
      await this.observeCatchUp((seen) => {
        if (seen === rec || (seen.op === 'start' && seen.row.id === row.id)) reachedMine = true;
        else if (!reachedMine && seen.op === 'start' && seen.row.session_id === session && seen.row.id !== row.id) rival ??= seen.row.id;
      });
      if (rival === undefined) return row;
      await this.write(
        this.record('finish', { id: row.id, set: { status: 'cancelled', finished_at: Date.now(), error: sessionTakenMessage(session) }, row }),
        true,
      );
      throw new SessionTakenError(sessionTakenMessage(session));
    });
  }

  private runningOfSession(session: string): TaskRow[] {
    return this.stmts.all(`SELECT * FROM task_history WHERE ${LIVE_SQL} AND session_id = ?`, [session]);
  }

  /** A catch-up whose records (in log order, this process's own included) `observe` sees. */
  private async observeCatchUp(observe: (rec: JournalRecord) => void): Promise<void> {
    this.recordObserver = observe;
    try {
      await this.refreshInner();
    } finally {
      this.recordObserver = undefined;
    }
  }

  updateRunning(id: string, patch: RunningPatch): Promise<void> {
    return this.exclusive(async () => {
      await this.write(this.record('update', { id, set: { ...patch } }), false);
    });
  }

  /**
   * Asks the owner of a running row (any process, this one included) to cancel it: a durable
   * `cancelRequest` record, which changes no row. The owner's store fires onDidRequestCancel when
   * a catch-up reads it; for this instance's own rows that catch-up happens here, before this
   * resolves. Whether anyone obeys is the caller's to watch (runControl.ts's cancelRun does).
   */
  requestCancel(id: string): Promise<void> {
    return this.exclusive(async () => {
      await this.refreshInner();
      await this.write(this.record('cancelRequest', { id, at: Date.now() }), true);
      await this.refreshInner();
    });
  }

  /** Any row, live or finished: the end snapshot of an interrupted run is recorded by its recovery. */
  recordGit(id: string, git: GitRunState): Promise<void> {
    return this.exclusive(async () => {
      await this.write(this.record('git', { id, at: Date.now(), git }), true);
    });
  }

  // ---- agents that ask (RequestJournal) ---------------------------------------------------

  recordRequest(id: string, request: PendingRequest): Promise<void> {
    return this.exclusive(async () => {
      await this.write(this.record('ask', { id, at: Date.now(), request }), true);
    });
  }

  closeRequest(id: string, requestId: string, reason: string): Promise<void> {
    return this.exclusive(async () => {
      await this.write(this.record('closeRequest', { id, at: Date.now(), request: requestId, reason }), true);
    });
  }

  setPhase(id: string, status: 'running' | 'waiting', resumeAt: number | null): Promise<void> {
    return this.exclusive(async () => {
      await this.write(this.record('phase', { id, at: Date.now(), status, resume_at: resumeAt }), true);
    });
  }

  pollAnswers(): Promise<void> {
    return this.refresh();
  }

  /**
   * Answers an open request of any run (its owner relays it to the agent). Of several answers,
   * from windows or the CLI, only the first in the log counts: this one is `ok` only if it was.
   */
  answerRequest(id: string, requestId: string, answer: RequestAnswer): Promise<AnswerOutcome> {
    return this.exclusive(async () => {
      await this.refreshInner();
      const before = this.getSync(id);
      const refused = requestProblem(before, id, requestId);
      if (refused) return { ok: false, reason: refused };
      const nonce = randomUUID();
      await this.write(this.record('answer', { id, at: Date.now(), request: requestId, answer, nonce }), true);
      // Read back in log order: an answer that landed before this one is the one that counts.
      let winner: string | undefined;
      await this.observeCatchUp((rec) => {
        if (rec.op === 'answer' && rec.id === id && rec.request === requestId) winner ??= rec.nonce;
      });
      const row = this.getSync(id)!;
      return winner === nonce ? { ok: true, row } : { ok: false, reason: answeredFirstElsewhere(id, requestId) };
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

  /** Running rows of other owners whose owner is provably dead (nothing is written). */
  private async orphanedRows(): Promise<{ rows: TaskRow[]; groups: { reason: string; ids: string[] }[] }> {
    const running = this.stmts.all(`SELECT * FROM task_history WHERE ${LIVE_SQL} AND owner_id <> ?`, [this.owner.id]);
    if (running.length === 0) return { rows: [], groups: [] };
    const orphans = await findOrphans(running, { host: this.owner.host, now: Date.now(), staleAfterMs: this.options.staleAfterMs });
    const groups = [...orphans.values()].map(({ verdict, ids }) => ({ reason: `Interrupted: ${verdict.reason}.`, ids }));
    const ids = new Set(groups.flatMap((g) => g.ids));
    return { rows: running.filter((r) => ids.has(r.id)), groups };
  }

  /** The running rows `markRunningAsInterrupted` would mark, without marking them (a read-only store, a full disk). */
  findOrphanedTasks(): Promise<TaskRow[]> {
    return this.read(async () => (await this.orphanedRows()).rows);
  }

  /**
   * Marks running rows whose owner is provably dead as interrupted, and returns the rows this
   * call marked. When several processes (windows opening at once) mark the same rows, each row
   * is reported only by the process whose interrupt record landed first in the log, so that only
   * one window tells the user. On a full disk it marks nothing and returns nothing (with a notice):
   * `findOrphanedTasks` still answers.
   */
  markRunningAsInterrupted(): Promise<TaskRow[]> {
    return this.exclusive(async () => {
      await this.refreshInner();
      if (this.readOnly) return [];
      const { groups } = await this.orphanedRows();
      if (groups.length === 0) return [];
      const now = Date.now();
      const mine = new Map<string, Set<string>>();
      const candidates = new Set<string>();
      for (const { reason, ids } of groups) {
        const nonce = randomUUID();
        try {
          const marked = await this.write(this.record('interrupt', { ids, at: now, reason, nonce }), true, 'fail');
          mine.set(nonce, new Set(marked));
          for (const id of marked) candidates.add(id);
        } catch (err) {
          if (!isNoSpaceError(err)) throw err;
          this.notice(`The disk holding the task journal in ${this.dir} is full: ${ids.length} orphaned task(s) could not be marked interrupted yet.`);
        }
      }
      // Read back in log order: an interrupt by another process that lands before ours claims its rows.
      const reached = new Set<string>();
      await this.observeCatchUp((rec) => {
        if (rec.op !== 'interrupt') return;
        if (rec.nonce !== undefined && mine.has(rec.nonce)) reached.add(rec.nonce);
        else if (rec.by !== this.owner.id) {
          for (const [nonce, ids] of mine) if (!reached.has(nonce)) for (const id of rec.ids) if (ids.has(id)) candidates.delete(id);
        }
      });
      return [...candidates].map((id) => this.getSync(id)).filter((r): r is TaskRow => !!r);
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

  private async removeHistory(now: number, policy: RemovalPolicy): Promise<number> {
    if (this.readOnly) return 0;
    await this.refreshInner();
    const victims = hotRowsToRemove(this.stmts, now, policy);
    const ids = [...victims.keys()];
    for (let i = 0; i < ids.length; i += PRUNE_BATCH) {
      await this.write(this.record('prune', { ids: ids.slice(i, i + PRUNE_BATCH) }), false);
    }
    const removed = [...victims.values()];
    const dropped = await this.pruneArchive(now, policy, removed);
    await deleteTaskLogs(this.dir, removed.map((r) => r.log_path));
    const withSnapshots = removed.filter((r) => r.snapshotRoot !== null);
    if (withSnapshots.length > 0) this._onDidRemoveSnapshots.fire(withSnapshots);
    if (ids.length || dropped) this.log(`removed ${ids.length} finished tasks and ${dropped} archived ones`);
    return ids.length + dropped;
  }

  /** Drops whole archive segments that retention no longer keeps; returns how many rows went with them. */
  private async pruneArchive(now: number, policy: RemovalPolicy, removed: RemovedTask[]): Promise<number> {
    // Only a row limit weighs the hot rows against the segments.
    const hotRows = policy !== 'everything' && policy.maxRows > 0 ? Number(this.stmts.scalar(`SELECT count(*) FROM task_history WHERE ${PRUNABLE}`)) : 0;
    let rows = 0;
    for (const seg of segmentsToDrop(this.stmts.segments(), hotRows, now, policy)) {
      const gone = (await this.archive.run(seg, (s) => s.all(`SELECT ${REMOVED_COLUMNS} FROM task_history`).map(removedTask))) ?? [];
      await deleteTaskLogs(this.dir, gone.map((r) => r.log_path));
      removed.push(...gone);
      // The file goes first: a kill before the record leaves a listed segment without a file,
      // which the next open unlists; the other order would leave a file the next open lists again.
      this.archive.forget(seg.name);
      await fsp.unlink(path.join(this.dir, ARCHIVE_DIR, seg.name)).catch(() => undefined);
      await this.write(this.record('dropSegment', { name: seg.name }), true);
      rows += seg.rows;
    }
    return rows;
  }

  // ---- damaged archive segments --------------------------------------------------------------

  /** A segment found damaged while reading: tell the user, and keep what was salvaged. */
  private async onSegmentDamage(damage: SegmentDamage): Promise<void> {
    const salvagedRows = Number(damage.salvaged.scalar('SELECT count(*) FROM task_history'));
    this.notice(describeSegmentDamage(this.dir, damage, salvagedRows));
    this.needsSnapshot = true;
    await this.rearchiveSalvaged(damage.name, damage.salvaged, damage.listed !== undefined ? damage.name : undefined);
  }

  /**
   * Writes rows salvaged from a damaged segment to a new segment and lists it instead of the
   * damaged one (`unlist`). A read-only store keeps them in memory, listed under the old name.
   */
  private async rearchiveSalvaged(name: string, salvaged: JournalStatements, unlist: string | undefined): Promise<void> {
    const rows = salvaged.all('SELECT * FROM task_history');
    if (this.readOnly || !this.writer) {
      if (!unlist) {
        applyRecord(this.stmts, this.record('archive', { segment: segmentInfoOf(name, rows), ids: [] }));
        this.archive.adopt(name, salvaged);
      }
      return;
    }
    try {
      if (rows.length > 0) {
        const segment = await writeSegment(this.SQL, this.dir, await nextSegmentName(this.dir, this.stmts.segments()), rows);
        await this.write(this.record('archive', { segment, ids: rows.map((r) => r.id) }), true);
      }
      if (unlist) await this.write(this.record('dropSegment', { name: unlist }), true);
    } catch (err) {
      this.log(`could not re-archive the rows salvaged from ${name}: ${err}`);
    }
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

  listTasks(query: ListTasksQuery = {}): Promise<TaskRow[]> {
    return this.read(() => newestRows(this.stmts, this.archive, query, Math.max(1, Math.min(query.limit ?? 50, 100_000))));
  }

  countTasks(query: CountQuery = {}): Promise<number> {
    return this.read(() => countRows(this.stmts, this.archive, query));
  }

  readView(options: { historyLimit: number }): Promise<StoreView> {
    return this.read(() => readStoreView(this.stmts, this.archive, options.historyLimit));
  }

  listUnresolvedInterruptedTasks(): Promise<TaskRow[]> {
    return this.read(() =>
      this.stmts.all(`SELECT * FROM task_history WHERE status = 'interrupted' AND resolved_at IS NULL ORDER BY started_at DESC, id DESC`),
    );
  }

  listZeroOutputSuccesses(limit = 50): Promise<TaskRow[]> {
    return this.read(() => newestRowsWhere(this.stmts, this.archive, { sql: `WHERE status = 'success' AND output_bytes = 0`, params: [] }, limit, true));
  }

  hasInFlightTask(query: { sessionId?: string; workspace?: string }): Promise<boolean> {
    return this.read(() => {
      const [col, value] = query.sessionId !== undefined ? ['session_id', query.sessionId] : ['workspace', query.workspace ?? null];
      return this.stmts.scalar(`SELECT 1 FROM task_history WHERE ${LIVE_SQL} AND ${col} IS ? LIMIT 1`, [value]) !== null;
    });
  }

  // ---- compaction ----------------------------------------------------------------------------

  private scheduleCompaction(): void {
    if (this.options.compactInBackground === false || this.compactionScheduled || this.readOnly || this.closed) return;
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
      await releaseLock(this.dir);
    }
  }

  private async sealCurrentLog(): Promise<number | undefined> {
    if (this.readOnly || !this.writer || this.sealing !== undefined) return undefined;
    if (!(await tryLock(this.dir, this.owner, (n) => this.notice(n)))) return undefined;
    try {
      await this.refreshInner();
      const sealed = this.reader.seq;
      const movedTo = await createLogFile(this.dir, sealed + 1);
      if (movedTo) this.notice(`The task journal file ${logFileName(sealed + 1)} in ${this.dir} was a symbolic link; it was not followed, and was moved to ${movedTo}.`);
      await fsyncDir(this.dir);
      await this.writer.moveTo(sealed + 1);
      this.sealing = sealed;
      return sealed;
    } catch (err) {
      await releaseLock(this.dir);
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
      if (pending > 0) await this.onDamagedLog(sealed, pending, sealedReader.offset + pending);
    }
    if (changed.size) this._onDidChangeTasks.fire({ ids: [...changed], external: true });
    this.fireCancelRequests();
    // Under the lock, the archive folder is brought in line too: a segment a killed compaction left unlisted is listed.
    const notices: string[] = [];
    const reconciled = await reconcileArchive(this.SQL, this.dir, this.stmts, false, notices);
    for (const n of notices) this.notice(n);
    await this.settleOpenState({ reconciliation: reconciled.records, salvaged: reconciled.salvaged });
    await this.archiveOldHistory();
    // The state may already hold records of the next log: replaying them again over the snapshot is
    // idempotent (journalOps.ts), so "covers ≤ sealed" stays true.
    const bytes = await writeSnapshot(this.db, this.dir, sealed, this.owner.id);
    this.needsSnapshot = false;
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
    // Written before its record: a kill in between leaves a file nobody lists, which the next
    // open (or compaction) checks and lists; the rows are never in neither place.
    const segment = await writeSegment(this.SQL, this.dir, await nextSegmentName(this.dir, this.stmts.segments()), rows);
    await this.write(this.record('archive', { segment, ids: rows.map((r) => r.id) }), true);
    this.log(`archived ${rows.length} finished tasks to ${segment.name}`);
  }

  /** Deletes the logs the snapshot covers (a damaged one's copy was kept when the damage was found). */
  private async retireLogs(upTo: number): Promise<void> {
    for (const seq of await listLogSeqs(this.dir)) {
      if (seq > upTo) continue;
      const file = path.join(this.dir, logFileName(seq));
      try {
        await fsp.unlink(file);
        this.damagedSeqs.delete(seq);
      } catch (err) {
        // Windows cannot delete a file another process holds open: the next compaction tries again.
        if (errorCode(err) !== 'ENOENT') this.log(`could not retire ${file}: ${err}`);
      }
    }
  }

  /** Waits for pending work, then releases files and memory. Does not compact: closing stays fast. */
  close(): Promise<void> {
    if (!this.closing) {
      this.stopping = true;
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

function readOnlyNotice(dir: string, err: unknown): string {
  const why = errorCode(err) === 'EROFS' ? 'is on a read-only file system' : 'cannot be written by this user';
  return `The task journal in ${dir} ${why}: it is shown read-only. Tasks cannot be run or recorded until it is writable.`;
}


