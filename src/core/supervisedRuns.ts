import { isSupervisorOwned } from './appendJournal';
import { Disposable, Emitter } from './lifecycle';
import { hostName, processLiveness } from './processIdentity';
import { WINDOW_BACK_SIGNAL, WINDOW_CLOSED_SIGNAL, type SupervisorRequest } from './supervisor';
import { launchSupervisor } from './supervisorLaunch';
import type { TaskSpec } from './taskRunner';
import type { TaskStore } from './taskStore';
import { isLive, type TaskRow } from './taskTypes';

/**
 * The runs a process (an editor window) started, each owned by its own supervisor process
 * (supervisor.ts): this process is only their view. It launches them, learns how they end from
 * the store (the supervisors' records arrive through its file watch), and asks their supervisors
 * to stop. A reload or a crash of this process interrupts none of them.
 */

export interface SupervisedRun {
  readonly id: string;
  /** The row as the supervisor journaled it at start. */
  readonly row: TaskRow;
  /** The supervisor's pid. */
  readonly pid: number;
  /** The finished row, once the store has it. */
  readonly done: Promise<TaskRow>;
}

export interface SupervisedRunsOptions {
  /** The Node that runs supervisors (the editor's own). */
  readonly node: string;
  /** dist/supervisor.js. */
  readonly script: string;
  /** `agent-tasks compact` for a supervisor to start when its appends made the log large. */
  readonly compact?: SupervisorRequest['compact'];
  readonly env?: NodeJS.ProcessEnv;
  readonly launchTimeoutMs?: number;
}

export class SupervisedRuns extends Disposable {
  private readonly _onDidStart = this._register(new Emitter<SupervisedRun>());
  readonly onDidStart = this._onDidStart.event;
  private readonly _onDidEnd = this._register(new Emitter<TaskRow>());
  /** A run this process started has ended (as the store recorded it). */
  readonly onDidEnd = this._onDidEnd.event;
  private readonly runs = new Map<string, { run: SupervisedRun; resolve: (row: TaskRow) => void }>();

  constructor(
    private readonly store: TaskStore,
    private readonly options: SupervisedRunsOptions,
  ) {
    super();
    this._register(store.onDidChangeTasks((e) => void this.checkEnded(e.ids)));
  }

  /**
   * Starts a supervisor for `spec`; resolves once the start is journaled (the supervisor said
   * so). Rejects with a SupervisorLaunchError when the supervisor could not start.
   */
  async start(spec: TaskSpec): Promise<SupervisedRun> {
    const { row, pid } = await launchSupervisor({
      node: this.options.node,
      script: this.options.script,
      env: this.options.env,
      timeoutMs: this.options.launchTimeoutMs,
      request: { storeDir: this.store.dir, spec, ...(this.options.compact ? { compact: this.options.compact } : {}) },
    });
    let resolve!: (row: TaskRow) => void;
    const done = new Promise<TaskRow>((r) => (resolve = r));
    const run: SupervisedRun = { id: row.id, row, pid, done };
    this.runs.set(row.id, { run, resolve });
    this._onDidStart.fire(run);
    // The supervisor may have finished already (a command that was not found): look once now.
    await this.store.refresh().catch(() => undefined);
    void this.checkEnded([row.id]);
    return run;
  }

  /** A run this process started and that has not ended yet. */
  get(id: string): SupervisedRun | undefined {
    return this.runs.get(id)?.run;
  }

  list(): SupervisedRun[] {
    return [...this.runs.values()].map((r) => r.run);
  }

  /**
   * Asks the run's supervisor to cancel it (SIGTERM: the agent gets SIGTERM, then SIGKILL after
   * the grace; the store then shows it cancelled). Only a live supervisor whose identity (pid
   * and start time) matches the row's owner is signalled: never a reused pid, nor an owner that
   * is not a supervisor (an editor's extension host). False when it could not ask.
   */
  cancel(row: TaskRow): Promise<boolean> {
    return signalSupervisor(row, 'SIGTERM');
  }

  /**
   * agentTasks.onWindowClose = "stop", at deactivate: tells this window's runs' supervisors that
   * it closed; each stops its run unless a window shows it again soon (`showAgain`).
   */
  async windowClosing(): Promise<number> {
    let told = 0;
    for (const run of this.list()) {
      const row = (await this.store.getTask(run.id).catch(() => undefined)) ?? run.row;
      if (await signalSupervisor(row, WINDOW_CLOSED_SIGNAL)) told++;
    }
    return told;
  }

  /** At activation: these running rows are shown again (a reload), so no supervisor stops them. */
  async showAgain(rows: readonly TaskRow[]): Promise<void> {
    for (const row of rows) await signalSupervisor(row, WINDOW_BACK_SIGNAL);
  }

  private async checkEnded(ids: readonly string[]): Promise<void> {
    const candidates = ids.length === 0 ? [...this.runs.keys()] : ids.filter((id) => this.runs.has(id));
    for (const id of candidates) {
      const row = await this.store.getTask(id).catch(() => undefined);
      const entry = this.runs.get(id);
      if (!row || !entry || isLive(row.status)) continue;
      this.runs.delete(id);
      entry.resolve(row);
      this._onDidEnd.fire(row);
    }
  }
}

/**
 * Signals a row's supervisor: only a live one whose identity (pid and start time) matches the
 * row's owner, on this host, and only an owner that is a supervisor (never an editor's extension
 * host, never a reused pid). False when it could not.
 */
export async function signalSupervisor(row: TaskRow, signal: NodeJS.Signals): Promise<boolean> {
  if (!isLive(row.status) || !isSupervisorOwned(row) || row.owner_host !== hostName()) return false;
  if ((await processLiveness(row.owner_pid, row.owner_started_at, row.owner_start_ticks ?? null)) !== 'alive') return false;
  try {
    process.kill(row.owner_pid, signal);
    return true;
  } catch {
    return false;
  }
}
