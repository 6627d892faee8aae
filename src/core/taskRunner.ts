/**
 * Runs agent commands (Claude Code, Codex, any long command) as child processes and journals
 * each run: the row is durable before the child is spawned, the child's output streams to a
 * per-task log and through the agent's output parser, and the row is finished with the outcome.
 * Plain Node: no `vscode` import, so the extension and the CLI share it.
 *
 * Process quirks this file relies on:
 * - Children are spawned `detached`: on POSIX that makes each one the leader of its own process
 *   group (setsid), so cancel can signal the whole tree (`process.kill(-pid)`) — agents spawn
 *   shells, MCP servers, test runners. It also keeps a terminal's Ctrl-C (sent to the foreground
 *   group) away from the child: the CLI forwards it as a cancel instead. On Windows `detached`
 *   gives the child its own (hidden) console; there are no process groups, so only the child
 *   itself is signalled there.
 * - `exit` fires when the process ends, `close` once its stdio pipes are drained too: the runner
 *   finishes on `close` so no output is lost. A grandchild that inherited the pipes can hold them
 *   open long after the child exited; after PIPE_DRAIN_GRACE_MS the runner stops waiting for it.
 * - A child killed by a signal reports `code === null` and the signal's name.
 * - A spawn failure (ENOENT, EACCES) is reported by an `error` event with no pid, followed by a
 *   `close` with a negative code; a cwd that is a file makes `spawn` throw synchronously.
 */
import type { RunWorktree } from './gitSnapshot';
import { RunSnapshots, type SnapshotPolicy } from './runSnapshots';
import { errorMessage } from './errors';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { finished, type Readable, type Writable } from 'node:stream';
import { Disposable, Emitter, toDisposable } from './lifecycle';
import { createOutputParser, lastDisplayLine, oneLineUntrusted, type OutputParser, type OutputSummary } from './outputParsers';
import { signalProcessGroup } from './processControl';
import { APPEND_FLAGS, isLinkError, moveAside } from './storeFiles';
import { processStartTicks, processStartTime } from './processIdentity';
import { AgentConversation } from './agentConversation';
import { LimitWaits, resumeAfterLimitProblem, RunUsage, type ResumeAfterLimit } from './usageLimit';
import { isLive, isRequestJournal, OUTPUT_FORMATS, type RequestJournal, type CancelRequestSource, type NewTask, type RunJournal, type RunningPatch, type TaskResult, type TaskRow } from './taskTypes';

/** A task to start: the journaled fields plus what only the child gets. */
export type TaskSpec = NewTask & {
  /** Added to the inherited environment of the child only: never journaled, never logged. */
  env?: Record<string, string>;
  /** Run through the platform shell: only for profiles that ask for it. The prompt must not be part of a shell command line. */
  shell?: boolean;
  /** It continues `session_id`, which must not run twice: the journal refuses a second live run (SessionTakenError). */
  exclusiveSession?: boolean;
  /**
   * Written to the child's standard input, which is then closed (a prompt that must not be on the
   * command line). Never journaled: the row has `prompt`. Without it the child's stdin is /dev/null.
   */
  stdin?: string;
  /**
   * The agent asks through its stdio (Claude Code's `--input-format stream-json
   * --permission-prompt-tool stdio`, format `claude-stream-json`): `stdin` goes as its first user
   * message, its permission requests and questions are journaled (`needs_input`), and the first
   * answer journaled for each, from any process, is written back. Stdin closes after its result.
   */
  interactive?: boolean;
  /** With `interactive`: an unanswered request is denied after this long (agentTasks.permissions.timeoutMinutes). 0: never. */
  requestTimeoutMs?: number;
  /**
   * When the agent stops on a usage limit with a reset time (usageLimit.ts), the run waits
   * (`waiting`, `resume_at`) and then runs `command` again with these args (and stdin), which
   * continue its session: same row, same log. Absent: a usage limit ends the run, as any error.
   */
  resumeAfterLimit?: ResumeAfterLimit;
  /**
   * Git snapshots of the run's work tree at its start and end (runSnapshots.ts). Absent: taken
   * when `cwd` is in a git work tree. `{ take: false, reason }`: never runs git (Restricted Mode),
   * and the row says why.
   */
  snapshots?: SnapshotPolicy;
  /** The run works in a worktree its caller created for it (worktree.ts): recorded in the row's `git`. */
  worktree?: RunWorktree;
};

export interface StartOptions {
  /**
   * Also copy the child's output here as it comes (the CLI's terminal). A destination that
   * cannot keep up pauses the child's pipe, exactly like a slow log file does.
   */
  tee?: { stdout?: Writable; stderr?: Writable };
}

export interface RunningTask {
  readonly id: string;
  /** The row as journaled at start. */
  readonly row: TaskRow;
  /** What the run has learned so far: child pid, session id, tokens, cost, output bytes (stdout + stderr). */
  readonly progress: RunningPatch;
  /** The finished row, once the process is gone and the row is durable. Rejects only when the journal failed to record the end. */
  readonly done: Promise<TaskRow>;
}

export interface RunningTaskChange {
  readonly kind: 'started' | 'progress' | 'ended';
  readonly task: RunningTask;
  /** The finished row (`ended` only; undefined when the journal failed to record it). */
  readonly row?: TaskRow;
}

export interface TaskRunnerOptions {
  /** How often running rows are marked alive (and their progress saved). Default 15 s. */
  heartbeatMs?: number;
  /** How long cancel waits after SIGTERM before SIGKILL. Default 5 s. */
  killGraceMs?: number;
  /** Diagnostics: journal writes that failed, log file errors. */
  log?: (message: string) => void;
}

/** The spec is unusable (a programming or configuration error); nothing was journaled. */
export class TaskSpecError extends Error {
  override readonly name = 'TaskSpecError';
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_KILL_GRACE_MS = 5_000;
/** `progress` events are coalesced to at most one per task per this many ms. */
const PROGRESS_EVENT_MS = 250;
/** How long to wait, after the child exited, for pipes that a grandchild may be holding open. */
const PIPE_DRAIN_GRACE_MS = 2_000;
/** Output buffered for the log file before the child's pipe is paused. */
const LOG_HIGH_WATER_MARK = 1024 * 1024;
/** How much of the end of stderr is kept for the error of a run that failed without saying why. */
const STDERR_TAIL_BYTES = 4096;
const STDERR_REASON_MAX_CHARS = 300;

/**
 * Starts, watches and stops the tasks of one process. `dispose()` only drops timers and listeners:
 * call `stopAll()` first (deactivate) so running children are stopped and recorded.
 */
export class TaskRunner extends Disposable {
  private readonly _onDidChangeRunning = this._register(new Emitter<RunningTaskChange>());
  /** A task started, made progress (coalesced) or ended. */
  readonly onDidChangeRunning = this._onDidChangeRunning.event;

  private readonly executions = new Map<string, TaskExecution>();
  /** Ids between validation and registration, so one id cannot start twice. */
  private readonly startingIds = new Set<string>();
  private readonly heartbeatMs: number;
  private readonly killGraceMs: number;
  private readonly log: (message: string) => void;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private readonly progressDue = new Set<TaskExecution>();
  private progressTimer: NodeJS.Timeout | undefined;
  private stopReason: string | undefined;

  /** The journal's request side (agents that ask, usage-limit waits), when it has one. */
  private readonly requests: RequestJournal | undefined;

  constructor(
    private readonly journal: RunJournal,
    options: TaskRunnerOptions = {},
  ) {
    super();
    this.requests = isRequestJournal(journal) ? journal : undefined;
    this.heartbeatMs = positiveOr(options.heartbeatMs, DEFAULT_HEARTBEAT_MS);
    this.killGraceMs = nonNegativeOr(options.killGraceMs, DEFAULT_KILL_GRACE_MS);
    this.log = options.log ?? (() => undefined);
    this._register(toDisposable(() => {
      clearInterval(this.heartbeatTimer);
      clearTimeout(this.progressTimer);
      // A run waiting for a usage limit has no process: its timer is all that is left of it.
      for (const execution of this.executions.values()) execution.dropLimitWait();
    }));
    // Another process (agent-tasks cancel, another window) asked, through the journal, to cancel one
    // of our runs: obey as for our own Cancel. A journal that cannot tell (a supervisor's) has no event.
    const requests = (journal as Partial<CancelRequestSource>).onDidRequestCancel;
    if (requests) {
      this._register(
        requests((request) => {
          if (!this.executions.has(request.id)) return;
          if (request.by !== this.journal.owner.id) this.log(`Task ${request.id}: cancelling it, as another process asked`);
          void this.cancel(request.id);
        }),
      );
    }
  }

  /**
   * Validates the spec, journals the start durably, then spawns the child. Resolves once the
   * child is spawned — or, when it could not be (command not found, missing folder), once its
   * failure is on its way to the journal: `done` tells the outcome either way.
   * Rejects (and spawns nothing) when the spec is invalid or the journal refused the start.
   */
  async start(spec: TaskSpec, options: StartOptions = {}): Promise<RunningTask> {
    if (this.isDisposed || this.stopReason !== undefined) throw new Error('The task runner is stopped');
    const task = toNewTask(spec);
    if (spec.interactive && !this.requests) {
      throw new TaskSpecError('This journal cannot record what an agent asks: run interactive agents under a supervisor or a TaskStore');
    }
    if (spec.resumeAfterLimit && !this.requests) {
      throw new TaskSpecError('This journal cannot record a run waiting for a usage limit: run it under a supervisor or a TaskStore');
    }
    if (this.executions.has(task.id) || this.startingIds.has(task.id)) throw new TaskSpecError(`Task ${task.id} is already running`);
    this.startingIds.add(task.id);
    // The start snapshot's git work begins now, alongside the durable start record and the
    // spawn (which never wait for it): the head start is what keeps the agent's first writes out
    // of it (runSnapshots.ts). It is journaled only once the row is, and only if the row is ours.
    const snapshots = new RunSnapshots(task.id, task.cwd, this.journal, spec.snapshots ?? { take: true }, spec.worktree ?? null, this.log);
    let started!: (ours: boolean) => void;
    snapshots.begin(new Promise<boolean>((resolve) => (started = resolve)));
    let execution: TaskExecution;
    try {
      const row = await this.journal.startTask(task, { exclusiveSession: spec.exclusiveSession === true });
      if (!isLive(row.status) || row.owner_id !== this.journal.owner.id) {
        throw new TaskSpecError(`Task ${task.id} already exists (${row.status})`);
      }
      execution = this.register(row, task);
      started(true);
    } catch (err) {
      started(false);
      throw err;
    } finally {
      this.startingIds.delete(task.id);
    }
    if (this.stopReason !== undefined) execution.requestStop({ kind: 'interrupt', reason: this.stopReason }, 0);
    await execution.launch({
      env: spec.env ?? {},
      shell: spec.shell === true,
      tee: options.tee ?? {},
      stdin: spec.stdin,
      interactive: spec.interactive ? { requestTimeoutMs: spec.requestTimeoutMs } : undefined,
      resumeAfterLimit: spec.resumeAfterLimit,
      snapshots,
    });
    return execution;
  }

  /**
   * Stops a task: SIGTERM to its process group, SIGKILL after `graceMs` (default `killGraceMs`)
   * if anything is left. Resolves with the `cancelled` row once the process is gone and the row
   * is written; undefined when this runner is not running that task. Calling it again with a
   * shorter grace (a second Ctrl-C) brings the SIGKILL forward.
   */
  cancel(id: string, options: { graceMs?: number } = {}): Promise<TaskRow | undefined> {
    const execution = this.executions.get(id);
    if (!execution) return Promise.resolve(undefined);
    execution.requestStop({ kind: 'cancel' }, nonNegativeOr(options.graceMs, this.killGraceMs));
    return execution.done;
  }

  /**
   * For deactivate: SIGTERMs every running child (SIGKILL follows after the grace period if this
   * process is still alive) and records their rows `interrupted` with `reason`, durably, without
   * waiting for the children. The runner accepts no new tasks afterwards. Resolves with the rows
   * it marked. A child that still ends while this process lives has its row finished
   * `interrupted` (with its exit code) too.
   */
  async stopAll(reason: string): Promise<TaskRow[]> {
    this.stopReason = reason;
    const live = [...this.executions.values()].filter((e) => !e.isFinishing);
    for (const execution of live) execution.requestStop({ kind: 'interrupt', reason }, this.killGraceMs);
    if (live.length === 0) return [];
    return this.journal.interruptOwnTasks(live.map((e) => e.id), reason);
  }

  get(id: string): RunningTask | undefined {
    return this.executions.get(id);
  }

  list(): RunningTask[] {
    return [...this.executions.values()];
  }

  private register(row: TaskRow, task: NewTask): TaskExecution {
    const execution = new TaskExecution(row, task, {
      journal: this.journal,
      requests: this.requests,
      log: this.log,
      onProgress: (e) => this.noteProgress(e),
      onEnded: (e, finishedRow) => this.noteEnded(e, finishedRow),
    });
    this.executions.set(execution.id, execution);
    this.ensureHeartbeat();
    this._onDidChangeRunning.fire({ kind: 'started', task: execution });
    return execution;
  }

  private noteProgress(execution: TaskExecution): void {
    this.progressDue.add(execution);
    if (this.progressTimer !== undefined || this.isDisposed) return;
    this.progressTimer = setTimeout(() => this.fireProgress(), PROGRESS_EVENT_MS);
    this.progressTimer.unref();
  }

  private fireProgress(): void {
    this.progressTimer = undefined;
    const due = [...this.progressDue];
    this.progressDue.clear();
    for (const execution of due) {
      if (this.executions.get(execution.id) === execution) this._onDidChangeRunning.fire({ kind: 'progress', task: execution });
    }
  }

  private noteEnded(execution: TaskExecution, row: TaskRow | undefined): void {
    this.executions.delete(execution.id);
    this.progressDue.delete(execution);
    if (this.executions.size === 0) this.stopHeartbeat();
    this._onDidChangeRunning.fire({ kind: 'ended', task: execution, row });
  }

  /** One timer for all tasks, unref'd so it never keeps a process alive on its own. */
  private ensureHeartbeat(): void {
    if (this.heartbeatTimer !== undefined || this.isDisposed) return;
    this.heartbeatTimer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.heartbeatInFlight) return;
    const live = [...this.executions.values()].filter((e) => !e.isFinishing);
    if (live.length === 0) return;
    this.heartbeatInFlight = true;
    try {
      for (const execution of live) execution.saveProgress();
      await this.journal.heartbeat(live.map((e) => e.id));
    } catch (err) {
      this.log(`Heartbeat failed: ${errorMessage(err)}`);
    } finally {
      this.heartbeatInFlight = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One run

type StopRequest = { kind: 'cancel' } | { kind: 'interrupt'; reason: string };

/** How the child ended: it ran and exited, or it never ran (with why, when that was a failure). */
type ChildEnd =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'not-started'; problem: string | null };

interface ExecutionHooks {
  journal: RunJournal;
  /** The same journal, when it records requests and phases (start() refuses specs that need it otherwise). */
  requests: RequestJournal | undefined;
  log: (message: string) => void;
  onProgress(execution: TaskExecution): void;
  onEnded(execution: TaskExecution, row: TaskRow | undefined): void;
}

interface LaunchOptions {
  env: Record<string, string>;
  shell: boolean;
  tee: { stdout?: Writable; stderr?: Writable };
  stdin?: string;
  interactive?: { requestTimeoutMs?: number };
  resumeAfterLimit?: ResumeAfterLimit;
  snapshots: RunSnapshots;
}

class TaskExecution implements RunningTask {
  readonly done: Promise<TaskRow>;
  private resolveDone!: (row: TaskRow) => void;
  private rejectDone!: (err: unknown) => void;
  /** The current process's output parser (a resumed run has a new process, and a new parser). */
  private parser: OutputParser;
  private readonly state: RunningPatch;
  /** What the run's processes used, added up over resumes. */
  private readonly usage = new RunUsage();
  /** Usage-limit waits, when the spec allows them (`resumeAfterLimit`). */
  private limits: LimitWaits | undefined;
  /** The row's error when the resume cap was hit. */
  private limitError: string | null = null;
  /** How the last process ended, while the run waits for a usage limit. */
  private endBeforeWait: ChildEnd | undefined;
  private launchOptions: LaunchOptions | undefined;
  private unsavedProgress = false;
  /** Journal writes of this task, in order: the finish waits for them. */
  private journalWrites: Promise<void> = Promise.resolve();
  private stderrTail: Buffer = Buffer.alloc(0);
  private child: ChildProcess | undefined;
  private logStream: WriteStream | undefined;
  private stopRequest: StopRequest | undefined;
  private sentTerm = false;
  private killTimer: NodeJS.Timeout | undefined;
  private killDeadline = Number.POSITIVE_INFINITY;
  private pipeDrainTimer: NodeJS.Timeout | undefined;
  private spawnFailed = false;
  private closed = false;
  private finishing = false;
  private conversation: AgentConversation | undefined;

  constructor(
    readonly row: TaskRow,
    private readonly task: NewTask,
    private readonly hooks: ExecutionHooks,
  ) {
    this.state = { session_id: row.session_id, output_bytes: 0 };
    this.parser = this.createParser();
    this.done = new Promise<TaskRow>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers may ignore `done`; a journal failure must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  get id(): string {
    return this.row.id;
  }

  get progress(): RunningPatch {
    return { ...this.state };
  }

  get isFinishing(): boolean {
    return this.finishing;
  }

  async launch(options: LaunchOptions): Promise<void> {
    this.launchOptions = options;
    if (options.resumeAfterLimit) this.limits = new LimitWaits(options.resumeAfterLimit);
    try {
      const problem = await this.prepare();
      if (problem !== null || this.stopRequest !== undefined) {
        void this.finish({ kind: 'not-started', problem });
        return;
      }
      this.spawnChild(options, this.task.args, options.stdin);
    } catch (err) {
      void this.finish({ kind: 'not-started', problem: `Could not start "${this.task.command}": ${errorMessage(err)}` });
    }
  }

  requestStop(stop: StopRequest, graceMs: number): void {
    if (this.finishing) return;
    this.stopRequest ??= stop;
    // Waiting for a usage limit: no process runs, the run just ends (cancelled or interrupted).
    if (this.limits?.cancel()) {
      void this.finish(this.endBeforeWait ?? { kind: 'not-started', problem: null });
      return;
    }
    const child = this.child;
    // Before the spawn, `launch` sees the request and never spawns.
    if (child?.pid === undefined || this.closed) return;
    if (graceMs <= 0) {
      signalProcessTree(child, 'SIGKILL');
      return;
    }
    if (!this.sentTerm) {
      this.sentTerm = true;
      signalProcessTree(child, 'SIGTERM');
    }
    const deadline = Date.now() + graceMs;
    if (deadline >= this.killDeadline) return;
    this.killDeadline = deadline;
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => signalProcessTree(child, 'SIGKILL'), graceMs);
    this.killTimer.unref();
  }

  /** Queues a write of the progress learned since the last one (called on each heartbeat). */
  saveProgress(): void {
    if (!this.unsavedProgress || this.finishing) return;
    this.unsavedProgress = false;
    const patch = this.progressPatch();
    this.queueJournalWrite(() => this.hooks.journal.updateRunning(this.id, patch));
  }

  /** A folder problem or a log file problem, as the message the row will carry; null when all is well. */
  private async prepare(): Promise<string | null> {
    const cwdProblem = await describeCwdProblem(this.task.cwd);
    if (cwdProblem !== null) return cwdProblem;
    const logPath = this.hooks.journal.logPathFor(this.id);
    try {
      this.logStream = await openLogFile(logPath);
    } catch (err) {
      return `Could not open the output log ${logPath}: ${errorMessage(err)}`;
    }
    this.logStream.on('error', (err) => this.hooks.log(`Output log of task ${this.id} failed: ${err.message}`));
    return null;
  }

  /** Drops a pending usage-limit wait without ending the run (the runner is disposed). */
  dropLimitWait(): void {
    if (this.limits?.cancel()) this.hooks.log(`Task ${this.id}: no longer waiting to resume after its usage limit (the task runner was disposed)`);
  }

  private createParser(): OutputParser {
    return createOutputParser(this.row.format, {
      onUpdate: (summary) => this.applySummary(summary),
      onEvent: (event) => this.conversation?.onEvent(event),
      onOverlongLine: (head) => this.conversation?.onOverlongLine(head),
    });
  }

  private spawnChild(options: LaunchOptions, args: readonly string[], stdin: string | undefined): void {
    let child: ChildProcess;
    try {
      child = spawn(this.task.command, args, {
        cwd: this.task.cwd,
        env: { ...process.env, ...options.env },
        shell: options.shell,
        detached: true,
        stdio: [stdin !== undefined || options.interactive ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      void this.failToSpawn(err);
      return;
    }
    this.child = child;
    child.on('error', (err) => {
      if (child.pid === undefined) void this.failToSpawn(err);
      else this.hooks.log(`Task ${this.id}: ${err.message}`);
    });
    child.once('exit', () => this.waitForPipes(child));
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => this.onClose(code, signal));
    // An agent may exit, or close its stdin, before reading all of it: the write then fails
    // (EPIPE). Its exit tells how the run went; the stdin error alone is only logged.
    child.stdin?.on('error', (err) => this.hooks.log(`Task ${this.id}: its standard input closed before all of it was written (${err.message})`));
    if (child.pid === undefined) return;
    this.recordChild(child.pid);
    if (options.interactive && child.stdin) {
      this.conversation = new AgentConversation(child.stdin, {
        taskId: this.id,
        journal: this.hooks.requests!,
        requestTimeoutMs: options.interactive.requestTimeoutMs,
        log: this.hooks.log,
      });
      this.conversation.start(stdin ?? this.task.prompt ?? '');
    }
    this.pumpOutput(child, options.tee);
    if (stdin !== undefined && !this.conversation) child.stdin?.end(stdin, 'utf8');
  }

  private async failToSpawn(err: unknown): Promise<void> {
    if (this.spawnFailed) return;
    this.spawnFailed = true;
    const problem = await describeSpawnError(err as NodeJS.ErrnoException, this.task.command, this.task.cwd);
    await this.finish({ kind: 'not-started', problem });
  }

  private recordChild(pid: number): void {
    this.state.child_pid = pid;
    this.hooks.onProgress(this);
    this.queueJournalWrite(async () => {
      const [startedAt, startTicks] = await Promise.all([processStartTime(pid).catch(() => null), processStartTicks(pid).catch(() => null)]);
      this.state.child_started_at = startedAt;
      this.state.child_start_ticks = startTicks;
      await this.hooks.journal.updateRunning(this.id, { child_pid: pid, child_started_at: startedAt, child_start_ticks: startTicks });
    });
  }

  private pumpOutput(child: ChildProcess, tee: LaunchOptions['tee']): void {
    const log = this.logStream;
    const sinks = (extra: Writable | undefined): Writable[] => [log, extra].filter((s): s is Writable => s !== undefined);
    // Only stdout is the agent's event stream; both streams go to the log.
    pipeWithBackpressure(child.stdout!, sinks(tee.stdout), (chunk) => {
      this.countOutput(chunk);
      this.parser.push(chunk);
    });
    pipeWithBackpressure(child.stderr!, sinks(tee.stderr), (chunk) => {
      this.countOutput(chunk);
      this.keepStderrTail(chunk);
    });
  }

  /** The end of stderr, for the error of a run that failed without saying why on stdout. */
  private keepStderrTail(chunk: Buffer): void {
    const joined = this.stderrTail.length === 0 ? chunk : Buffer.concat([this.stderrTail, chunk]);
    this.stderrTail = joined.length > STDERR_TAIL_BYTES ? joined.subarray(joined.length - STDERR_TAIL_BYTES) : joined;
  }

  private countOutput(chunk: Buffer): void {
    this.state.output_bytes = (this.state.output_bytes ?? 0) + chunk.length;
    this.unsavedProgress = true;
    this.hooks.onProgress(this);
  }

  private applySummary(summary: OutputSummary): void {
    const newSession = summary.sessionId !== null && summary.sessionId !== this.state.session_id;
    if (summary.sessionId !== null) this.state.session_id = summary.sessionId;
    // After resumes (usage limits): the earlier processes' usage plus this one's.
    const used = this.usage.columns(summary);
    if (used.input_tokens !== null) this.state.input_tokens = used.input_tokens;
    if (used.output_tokens !== null) this.state.output_tokens = used.output_tokens;
    if (used.cache_read_tokens !== null) this.state.cache_read_tokens = used.cache_read_tokens;
    if (used.cache_creation_tokens !== null) this.state.cache_creation_tokens = used.cache_creation_tokens;
    if (used.cost_usd !== null) this.state.cost_usd = used.cost_usd;
    if (summary.rateLimit !== null) this.state.rate_limit = summary.rateLimit;
    this.unsavedProgress = true;
    this.hooks.onProgress(this);
    // The session id is what lets a user resume an interrupted run: save it now, not at the next heartbeat.
    if (newSession && !this.finishing) {
      const sessionId = summary.sessionId;
      this.queueJournalWrite(() => this.hooks.journal.updateRunning(this.id, { session_id: sessionId }));
    }
  }

  /** The child is gone, but a grandchild may still hold its pipes: stop waiting for them after a while. */
  private waitForPipes(child: ChildProcess): void {
    if (this.closed) return;
    this.pipeDrainTimer = setTimeout(() => {
      // Paused pipes are just waiting for a slow log or terminal: that is progress, keep waiting.
      if (child.stdout?.isPaused() || child.stderr?.isPaused()) return this.waitForPipes(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, PIPE_DRAIN_GRACE_MS);
    this.pipeDrainTimer.unref();
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.spawnFailed) return;
    this.closed = true;
    // What a grandchild holding the stdin pipe never read is dropped with the run.
    this.child?.stdin?.destroy();
    // After a cancel, sweep whatever else is left of the tree (grandchildren that ignored SIGTERM).
    if (this.stopRequest !== undefined && this.child !== undefined) signalProcessTree(this.child, 'SIGKILL');
    const end: ChildEnd = { kind: 'exited', code, signal };
    if (this.stopRequest === undefined && this.waitForUsageLimit(end)) return;
    void this.finish(end);
  }

  /**
   * The process ended failed on a usage limit that resets soon enough (usageLimit.ts): the run is
   * journaled `waiting` until then, and resumes. False when the run ends now.
   */
  private waitForUsageLimit(end: Extract<ChildEnd, { kind: 'exited' }>): boolean {
    if (this.limits === undefined || end.signal !== null) return false;
    this.parser.end();
    const summary = this.parser.summary;
    if (decideOutcome(end, summary, undefined, this.stderrTail).status !== 'failed') return false;
    const decision = this.limits.decide(summary);
    if (decision.kind === 'give-up') this.limitError = decision.error;
    if (decision.kind !== 'wait') return false;
    const { resumeAt } = decision;
    this.endBeforeWait = end;
    this.conversation?.dispose();
    this.conversation = undefined;
    clearTimeout(this.killTimer);
    clearTimeout(this.pipeDrainTimer);
    // What this process used is carried over; the next one gets a parser of its own.
    this.usage.carry(summary);
    this.parser = this.createParser();
    const patch = this.progressPatch();
    const journal = this.hooks.requests!;
    this.queueJournalWrite(() => this.hooks.journal.updateRunning(this.id, patch));
    this.queueJournalWrite(() => journal.setPhase(this.id, 'waiting', resumeAt));
    this.hooks.log(`Task ${this.id}: the agent hit a usage limit; resuming its session at ${new Date(resumeAt).toISOString()}`);
    this.limits.wait(resumeAt, () => this.resumeAfterLimit());
    this.hooks.onProgress(this);
    return true;
  }

  /** The usage limit has reset: the agent runs again on the same session, into the same row and log. */
  private resumeAfterLimit(): void {
    const options = this.launchOptions;
    const resume = this.limits?.resume;
    if (this.finishing || this.stopRequest !== undefined || options === undefined || resume === undefined) return;
    const journal = this.hooks.requests!;
    this.queueJournalWrite(() => journal.setPhase(this.id, 'running', null));
    this.endBeforeWait = undefined;
    this.child = undefined;
    this.closed = false;
    this.spawnFailed = false;
    this.sentTerm = false;
    this.killDeadline = Number.POSITIVE_INFINITY;
    this.stderrTail = Buffer.alloc(0);
    this.spawnChild(options, resume.args, resume.stdin);
  }

  private async finish(end: ChildEnd): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    // Requests still open end with the run (the finish record closes them in the journal).
    this.conversation?.dispose();
    this.limits?.cancel();
    clearTimeout(this.killTimer);
    clearTimeout(this.pipeDrainTimer);
    this.parser.end();
    await closeLogFile(this.logStream);
    await this.journalWrites;
    // The end snapshot is in the row before its end is: whoever sees the run finished sees its changes.
    await this.launchOptions?.snapshots.end();
    const outcome = decideOutcome(end, this.parser.summary, this.stopRequest, this.stderrTail);
    // The usage limit came back once resumes ran out: say so.
    if (this.limitError !== null && outcome.status === 'failed') outcome.error = this.limitError;
    const result: TaskResult = {
      ...this.progressPatch(),
      child_pid: this.state.child_pid ?? null,
      child_started_at: this.state.child_started_at ?? null,
      child_start_ticks: this.state.child_start_ticks ?? null,
      ...outcome,
      ...this.usage.denials(this.parser.summary),
      finished_at: Date.now(),
    };
    let row: TaskRow | undefined;
    try {
      row = await this.hooks.journal.finishTask(this.id, result, this.task);
    } catch (err) {
      this.hooks.log(`Could not record the end of task ${this.id}: ${errorMessage(err)}`);
      this.hooks.onEnded(this, undefined);
      this.rejectDone(err);
      return;
    }
    this.hooks.onEnded(this, row);
    this.resolveDone(row);
  }

  private progressPatch(): RunningPatch {
    const { session_id, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, output_bytes, rate_limit } = this.state;
    return { session_id, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, output_bytes, rate_limit };
  }

  private queueJournalWrite(write: () => Promise<void>): void {
    this.journalWrites = this.journalWrites
      .then(write)
      .catch((err) => this.hooks.log(`Could not update task ${this.id}: ${errorMessage(err)}`));
  }
}

/** The row's terminal fields for how the child ended, what its output said and whether it was stopped. */
function decideOutcome(
  end: ChildEnd,
  summary: OutputSummary,
  stop: StopRequest | undefined,
  stderrTail: Uint8Array = Buffer.alloc(0),
): Pick<TaskResult, 'status' | 'exit_code' | 'signal' | 'error'> {
  const exit_code = end.kind === 'exited' ? end.code : null;
  const signal = end.kind === 'exited' ? end.signal : null;
  if (stop?.kind === 'cancel') return { status: 'cancelled', exit_code, signal, error: null };
  if (stop?.kind === 'interrupt') return { status: 'interrupted', exit_code, signal, error: stop.reason };
  if (end.kind === 'not-started') return { status: 'failed', exit_code, signal, error: end.problem ?? 'Not started' };
  const agentError = summary.isError === true ? summary.errorMessage ?? `The agent reported an error (${summary.resultSubtype ?? 'unknown'})` : null;
  // An agent that refuses to start (Codex outside a trusted folder, Gemini without auth, an
  // unknown option) says why on stderr only: its last line is the reason.
  // A Rust agent (Codex) prints "Error: …" and then a backtrace: the reason is above it.
  const tail = Buffer.from(stderrTail).toString('utf8');
  const lastStderr = lastDisplayLine(tail.split(/\n\s*Stack backtrace:/)[0]) ?? lastDisplayLine(tail);
  const said = lastStderr === null ? '' : `: ${oneLineUntrusted(lastStderr, STDERR_REASON_MAX_CHARS)}`;
  // A signal-killed child has code === null.
  if (signal !== null) return { status: 'failed', exit_code, signal, error: agentError ?? `Killed by ${signal}${said}` };
  if (exit_code !== 0) return { status: 'failed', exit_code, signal, error: agentError ?? `Exited with code ${exit_code}${said}` };
  // An agent can report a failed run and still exit 0.
  if (agentError !== null) return { status: 'failed', exit_code, signal, error: agentError };
  return { status: 'success', exit_code, signal, error: null };
}

// ---------------------------------------------------------------------------------------------
// Spec validation

/** The journaled part of a spec, checked and completed (id, absolute cwd, format). Env and shell stay out. */
export function toNewTask(spec: TaskSpec): NewTask & { id: string; format: NonNullable<NewTask['format']> } {
  if (typeof spec !== 'object' || spec === null) throw new TaskSpecError('The task spec must be an object');
  requireText(spec.name, 'name');
  requireText(spec.command, 'command');
  requireText(spec.cwd, 'cwd');
  if (!Array.isArray(spec.args) || !spec.args.every((a) => typeof a === 'string')) throw new TaskSpecError('args must be an array of strings');
  spec.args.forEach((arg, i) => rejectNul(arg, `args[${i}]`));
  const format = spec.format ?? 'text';
  if (!OUTPUT_FORMATS.includes(format)) throw new TaskSpecError(`Unknown output format: ${String(format)}`);
  if (spec.id !== undefined) requireText(spec.id, 'id');
  if (spec.prompt !== undefined && spec.prompt !== null && typeof spec.prompt !== 'string') throw new TaskSpecError('prompt must be a string');
  if (spec.shell !== undefined && typeof spec.shell !== 'boolean') throw new TaskSpecError('shell must be a boolean');
  if (spec.stdin !== undefined && typeof spec.stdin !== 'string') throw new TaskSpecError('stdin must be a string');
  if (spec.interactive !== undefined && typeof spec.interactive !== 'boolean') throw new TaskSpecError('interactive must be a boolean');
  if (spec.interactive && format !== 'claude-stream-json') throw new TaskSpecError(`An interactive agent speaks claude-stream-json (this one: ${format})`);
  if (spec.interactive && spec.shell) throw new TaskSpecError('An interactive agent cannot run through a shell');
  if (spec.requestTimeoutMs !== undefined && !(typeof spec.requestTimeoutMs === 'number' && spec.requestTimeoutMs >= 0)) throw new TaskSpecError('requestTimeoutMs must be a number ≥ 0');
  validateEnv(spec.env);
  const resumeProblem = resumeAfterLimitProblem(spec.resumeAfterLimit, { interactive: spec.interactive === true });
  if (resumeProblem !== null) throw new TaskSpecError(resumeProblem);
  if (spec.shell === true && spec.prompt && promptIsInCommandLine(spec.prompt, [spec.command, ...spec.args, ...(spec.resumeAfterLimit?.args ?? [])])) {
    throw new TaskSpecError('A prompt cannot be part of a shell command line: pass it in the environment, or run without `shell`');
  }
  return {
    id: spec.id ?? randomUUID(),
    name: spec.name,
    agent: spec.agent ?? null,
    command: spec.command,
    args: [...spec.args],
    cwd: path.resolve(spec.cwd),
    workspace: spec.workspace ?? null,
    prompt: spec.prompt ?? null,
    format,
    session_id: spec.session_id ?? null,
    parent_id: spec.parent_id ?? null,
    ...(spec.started_at !== undefined ? { started_at: spec.started_at } : {}),
  };
}

/** The prompt appears in the command line: as a whole element, or inside one when the shell could read something into it. */
function promptIsInCommandLine(prompt: string, commandLine: readonly string[]): boolean {
  const inert = /^[A-Za-z0-9_./,:+=@-]*$/.test(prompt);
  return commandLine.some((part) => part === prompt || (!inert && part.includes(prompt)));
}

function requireText(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new TaskSpecError(`${field} must be a non-empty string`);
  rejectNul(value, field);
}

function rejectNul(value: string, field: string): void {
  // spawn throws on NUL bytes; say which field instead.
  if (value.includes('\0')) throw new TaskSpecError(`${field} contains a NUL character`);
}

function validateEnv(env: unknown): void {
  if (env === undefined) return;
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new TaskSpecError('env must be an object of strings');
  for (const [key, value] of Object.entries(env)) {
    // Values are never echoed: they may be secrets.
    if (key === '' || key.includes('=') || key.includes('\0')) throw new TaskSpecError(`Invalid environment variable name: ${JSON.stringify(key)}`);
    if (typeof value !== 'string' || value.includes('\0')) throw new TaskSpecError(`The value of environment variable ${key} must be a string without NUL characters`);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes, files and streams

async function describeCwdProblem(cwd: string): Promise<string | null> {
  try {
    const stat = await fsp.stat(cwd);
    return stat.isDirectory() ? null : `Working folder is not a folder: ${cwd}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `Working folder does not exist: ${cwd}`;
    return `Working folder cannot be used: ${cwd} (${errorMessage(err)})`;
  }
}

/** A spawn error as the message a user sees. ENOENT means a missing command or a missing cwd: the cwd is checked again to tell. */
async function describeSpawnError(err: NodeJS.ErrnoException, command: string, cwd: string): Promise<string> {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return (await describeCwdProblem(cwd)) ?? `Command not found: "${command}" (is it installed and on PATH?)`;
    case 'EACCES':
      return `Command cannot be run: "${command}" (permission denied, or it is not an executable file)`;
    default:
      return `Could not start "${command}": ${err.message}`;
  }
}

/** Signals the child's whole process group (POSIX), or the child alone (Windows). */
function signalProcessTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid !== undefined) signalProcessGroup(child.pid, signal);
}

/**
 * Opens the task's output log for appending (0600), never through a link: one planted at the
 * log's path is moved aside (it would receive the agent's output wherever it points).
 */
async function openLogFile(file: string): Promise<WriteStream> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await fsp.open(file, APPEND_FLAGS, 0o600).catch(async (err) => {
    if (!isLinkError(err)) throw err;
    await moveAside(file);
    return fsp.open(file, APPEND_FLAGS, 0o600);
  });
  return handle.createWriteStream({ highWaterMark: LOG_HIGH_WATER_MARK });
}

/** Ends the log and waits until its data is written and the file closed (errors were reported already). */
function closeLogFile(stream: WriteStream | undefined): Promise<void> {
  if (stream === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    finished(stream, () => resolve());
    stream.end();
  });
}

/**
 * Copies a child's pipe into `sinks` chunk by chunk. While any sink is over its high-water mark
 * the pipe is paused, so the OS pipe fills and the child blocks on write: output never piles up
 * in memory. A sink that fails or closes stops counting (it will never drain).
 */
function pipeWithBackpressure(source: Readable, sinks: readonly Writable[], onChunk: (chunk: Buffer) => void): void {
  const waitingFor = new Set<Writable>();
  const waitForDrain = (sink: Writable): void => {
    waitingFor.add(sink);
    const resume = (): void => {
      sink.off('drain', resume);
      sink.off('close', resume);
      waitingFor.delete(sink);
      if (waitingFor.size === 0) source.resume();
    };
    sink.on('drain', resume);
    sink.on('close', resume);
  };
  source.on('data', (chunk: Buffer) => {
    onChunk(chunk);
    for (const sink of sinks) {
      if (sink.destroyed || sink.writableEnded) continue;
      if (!sink.write(chunk) && !waitingFor.has(sink)) waitForDrain(sink);
    }
    if (waitingFor.size > 0) source.pause();
  });
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function nonNegativeOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}
