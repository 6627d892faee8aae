import type { GitRunState } from './gitSnapshot';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { encodeRecord, listLogSeqs, LogReader, LogWriter, ROTATION_GRACE_MS } from './journalLog';
import { checkTaskId, RECORD_VERSION, runningRow, SessionTakenError, sessionTakenMessage, taskLogPath, type JournalRecord } from './journalOps';
import { hostName, processStartTicks, processStartTime } from './processIdentity';
import { answeredFirstElsewhere, FirstAnswers, requestProblem } from './agentRequests';
import { Emitter } from './lifecycle';
import { isNoSpaceError } from './storeFiles';
import {
  isLive,
  type AnswerOutcome,
  type NewTask,
  type OwnerIdentity,
  type PendingRequest,
  type RequestAnswer,
  type RequestAnswered,
  type RequestJournal,
  type RunJournal,
  type RunningPatch,
  type TaskResult,
  type TaskRow,
} from './taskTypes';

/**
 * The journal as the process that owns one run writes it: records appended to the newest log,
 * nothing replayed (no sql.js, no snapshot), so a run's supervisor stays small and starts fast.
 * It knows only the rows it wrote; every other process replays its records as usual. A store
 * with no log yet (never opened) is not its job: the caller opens it with TaskStore first.
 */

export interface AppendJournalOptions {
  /** The rotation grace readers honour (journalLog.ts); tests use 0. */
  rotationGraceMs?: number;
  /** How often a durable record the disk has no room for is tried again. Default 2 s. */
  noSpaceRetryMs?: number;
  log?: (message: string) => void;
}

const DEFAULT_NO_SPACE_RETRY_MS = 2_000;

/**
 * The owner ids of a supervisor's rows start with this: such an owner obeys SIGTERM as "cancel
 * the run" (supervisor.ts), which no other owner (an editor's extension host!) may be sent.
 */
export const SUPERVISOR_OWNER_PREFIX = 'supervisor:';

export function isSupervisorOwned(row: Pick<TaskRow, 'owner_id'>): boolean {
  return row.owner_id.startsWith(SUPERVISOR_OWNER_PREFIX);
}

export class StoreNotInitializedError extends Error {}

export class AppendOnlyJournal implements RunJournal, RequestJournal {
  private readonly rows = new Map<string, TaskRow>();
  private stopping = false;
  private readonly _onDidAnswer = new Emitter<RequestAnswered>();
  /** The first answer journaled (by anyone) to an open request of one of this journal's runs. */
  readonly onDidAnswer = this._onDidAnswer.event;
  private readonly firstAnswers = new FirstAnswers();
  /** Where reading the other processes' records (answers) has got to. */
  private tail: { seq: number; reader: LogReader | null } | undefined;
  private polling: Promise<void> | undefined;
  /** The largest log size an append reported (the caller hands over a compaction when it is large). */
  logBytes = 0;

  private constructor(
    readonly dir: string,
    readonly owner: OwnerIdentity,
    private readonly writer: LogWriter,
    /** Where the log stood when this journal opened: records after it are read back for the session check. */
    private readonly openedAt: { seq: number; offset: number },
    private readonly options: AppendJournalOptions,
  ) {}

  static async open(dir: string, options: AppendJournalOptions = {}): Promise<AppendOnlyJournal> {
    const resolved = path.resolve(dir);
    const [seqs, startedAt, startTicks] = await Promise.all([listLogSeqs(resolved), processStartTime(process.pid), processStartTicks(process.pid)]);
    if (seqs.length === 0) throw new StoreNotInitializedError('it has no journal log yet (no editor window or agent-tasks command has opened it)');
    const seq = seqs[seqs.length - 1];
    const writer = await LogWriter.open(resolved, seq, options.rotationGraceMs ?? ROTATION_GRACE_MS);
    const size = await fsp
      .stat(path.join(resolved, `tasks.${String(seq).padStart(8, '0')}.journal`))
      .then((s) => s.size)
      .catch(() => 0);
    const owner: OwnerIdentity = { id: `${SUPERVISOR_OWNER_PREFIX}${randomUUID()}`, pid: process.pid, startedAt, startTicks, host: hostName() };
    return new AppendOnlyJournal(resolved, owner, writer, { seq, offset: size }, options);
  }

  logPathFor(id: string): string {
    return taskLogPath(this.dir, id);
  }

  /**
   * Journals the running row, durably. With `exclusiveSession`, another process's start of the
   * same session that landed first (after this journal opened: whoever launched this run checked
   * the whole store just before) makes this run cancelled, and SessionTakenError is thrown.
   */
  async startTask(task: NewTask, options: { exclusiveSession?: boolean } = {}): Promise<TaskRow> {
    if (task.id !== undefined) checkTaskId(task.id);
    const row = runningRow(task, this.owner, (id) => this.logPathFor(id), Date.now());
    await this.append(this.record({ op: 'start', row }), true);
    this.rows.set(row.id, row);
    const session = options.exclusiveSession ? row.session_id : null;
    if (session !== null && (await this.rivalStartOf(session, row.id)) !== undefined) {
      await this.finishTask(row.id, { status: 'cancelled', error: sessionTakenMessage(session) });
      throw new SessionTakenError(sessionTakenMessage(session));
    }
    return row;
  }

  async updateRunning(id: string, patch: RunningPatch): Promise<void> {
    const row = this.rows.get(id);
    if (!row || !isLive(row.status)) return;
    await this.append(this.record({ op: 'update', id, set: patch }), false);
    Object.assign(row, definedOnly(patch));
  }

  async heartbeat(ids: readonly string[]): Promise<void> {
    const at = Date.now();
    const live = ids.filter((id) => { const st = this.rows.get(id)?.status; return st !== undefined && isLive(st); });
    if (live.length === 0) return;
    await this.append(this.record({ op: 'heartbeat', ids: live, at }), false);
    for (const id of live) this.rows.get(id)!.heartbeat_at = at;
  }

  async finishTask(id: string, result: TaskResult, fallback?: NewTask): Promise<TaskRow> {
    const started = this.rows.get(id) ?? (fallback ? runningRow({ ...fallback, id }, this.owner, (i) => this.logPathFor(i), Date.now()) : undefined);
    if (!started) throw new Error(`Unknown task ${id}`);
    const set = { ...definedOnly(result), finished_at: result.finished_at ?? Date.now() };
    await this.append(this.record({ op: 'finish', id, set, row: started }), true);
    const finished: TaskRow = { ...started, ...set, pending_requests: [], resume_at: null } as TaskRow;
    this.rows.set(id, finished);
    return finished;
  }

  async interruptOwnTasks(ids: readonly string[], reason: string): Promise<TaskRow[]> {
    const live = ids.map((id) => this.rows.get(id)).filter((r): r is TaskRow => !!r && isLive(r.status));
    if (live.length === 0) return [];
    const at = Date.now();
    await this.append(this.record({ op: 'interrupt', ids: live.map((r) => r.id), at, reason }), true);
    return live.map((r) => {
      const row: TaskRow = { ...r, status: 'interrupted', finished_at: at, error: reason };
      this.rows.set(r.id, row);
      return row;
    });
  }

  // ---- agents that ask ------------------------------------------------------------------------

  async recordGit(id: string, git: GitRunState): Promise<void> {
    await this.append(this.record({ op: 'git', id, at: Date.now(), git }), true);
    const row = this.rows.get(id);
    if (row) row.git = git;
  }

  async recordRequest(id: string, request: PendingRequest): Promise<void> {
    const row = this.rows.get(id);
    if (!row || !isLive(row.status) || row.pending_requests.some((r) => r.id === request.id)) return;
    await this.append(this.record({ op: 'ask', id, at: Date.now(), request }), true);
    row.pending_requests = [...row.pending_requests, request];
    row.status = 'needs_input';
  }

  async closeRequest(id: string, requestId: string, reason: string): Promise<void> {
    const row = this.rows.get(id);
    if (!row || !row.pending_requests.some((r) => r.id === requestId)) return;
    await this.append(this.record({ op: 'closeRequest', id, at: Date.now(), request: requestId, reason }), true);
    this.forget(row, requestId);
  }

  async setPhase(id: string, status: 'running' | 'waiting', resumeAt: number | null): Promise<void> {
    const row = this.rows.get(id);
    if (!row || !isLive(row.status)) return;
    await this.append(this.record({ op: 'phase', id, at: Date.now(), status, resume_at: resumeAt }), true);
    row.resume_at = resumeAt;
    if (row.pending_requests.length === 0) row.status = status;
  }

  /** The owner answers one of its own requests (a timeout): it counts only if no one answered first. */
  async answerRequest(id: string, requestId: string, answer: RequestAnswer): Promise<AnswerOutcome> {
    await this.pollAnswers();
    const refused = requestProblem(this.rows.get(id), id, requestId);
    if (refused) return { ok: false, reason: refused };
    const nonce = randomUUID();
    await this.append(this.record({ op: 'answer', id, at: Date.now(), request: requestId, answer, nonce }), true);
    await this.pollAnswers();
    const row = this.rows.get(id)!;
    return this.firstAnswers.winnerOf(id, requestId) === nonce ? { ok: true, row: { ...row } } : { ok: false, reason: answeredFirstElsewhere(id, requestId) };
  }

  /** Reads what was appended since the last call (this journal's records too, in log order) and relays first answers. */
  pollAnswers(): Promise<void> {
    this.polling ??= this.readTail().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readTail(): Promise<void> {
    this.tail ??= { seq: this.openedAt.seq, reader: await LogReader.open(this.dir, this.openedAt.seq, this.openedAt.offset) };
    for (;;) {
      const { reader } = this.tail;
      if (reader) {
        const { records } = await reader.readNew();
        for (const value of records) this.noteRecord(value as Partial<JournalRecord>);
      }
      // A rotation: what is left of this log was read; the next one starts at its beginning.
      const next = (await listLogSeqs(this.dir)).find((s) => s > this.tail!.seq);
      if (next === undefined) return;
      await reader?.close();
      this.tail = { seq: next, reader: await LogReader.open(this.dir, next, 0) };
    }
  }

  private noteRecord(rec: Partial<JournalRecord>): void {
    if (rec.op !== 'answer' || typeof rec.id !== 'string' || typeof rec.request !== 'string') return;
    const row = this.rows.get(rec.id);
    if (!row || !isLive(row.status) || !row.pending_requests.some((r) => r.id === rec.request)) return;
    const first = this.firstAnswers.first(rec as Extract<JournalRecord, { op: 'answer' }>);
    if (!first) return;
    this.forget(row, first.request);
    this._onDidAnswer.fire(first);
  }

  private forget(row: TaskRow, requestId: string): void {
    row.pending_requests = row.pending_requests.filter((r) => r.id !== requestId);
    if (row.pending_requests.length === 0 && row.status === 'needs_input') row.status = row.resume_at !== null ? 'waiting' : 'running';
  }

  /** Gives up on durable writes waiting for disk space, then closes the log. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.tail?.reader?.close();
    this._onDidAnswer.dispose();
    await this.writer.close();
  }

  private record(fields: Record<string, unknown>): JournalRecord {
    return { v: RECORD_VERSION, by: this.owner.id, ...fields } as unknown as JournalRecord;
  }

  /** As TaskStore's: a durable record the disk has no room for is kept and tried again until it lands. */
  private async append(rec: JournalRecord, durable: boolean): Promise<void> {
    const bytes = encodeRecord(rec);
    for (let attempt = 0; ; attempt++) {
      try {
        this.logBytes = Math.max(this.logBytes, await this.writer.append(bytes, durable));
        if (attempt > 0) this.options.log?.(`the ${rec.op} record held back for lack of disk space is on disk now`);
        return;
      } catch (err) {
        if (!isNoSpaceError(err) || !durable || this.stopping) throw err;
        if (attempt === 0) this.options.log?.(`the disk holding ${this.dir} is full: the ${rec.op} record is tried again until it lands`);
        await new Promise((resolve) => setTimeout(resolve, this.options.noSpaceRetryMs ?? DEFAULT_NO_SPACE_RETRY_MS));
      }
    }
  }

  /** The id of a start of `session` by another run that precedes `mine` in the logs since this journal opened. */
  private async rivalStartOf(session: string, mine: string): Promise<string | undefined> {
    const seqs = (await listLogSeqs(this.dir)).filter((s) => s >= this.openedAt.seq);
    for (const seq of seqs) {
      const reader = await LogReader.open(this.dir, seq, seq === this.openedAt.seq ? this.openedAt.offset : 0);
      if (!reader) continue;
      try {
        const { records } = await reader.readNew();
        for (const value of records) {
          const rec = value as Partial<JournalRecord>;
          if (rec.op !== 'start' || !rec.row) continue;
          if (rec.row.id === mine) return undefined;
          if (rec.row.session_id === session) return rec.row.id;
        }
      } finally {
        await reader.close();
      }
    }
    return undefined;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
