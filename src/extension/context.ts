/**
 * The extension's one owner of everything (the idea of rust-analyzer's `Ctx`): activate() builds
 * it and pushes it into `context.subscriptions`; every disposable below is registered here or in
 * an object registered here. The task store opens asynchronously; commands that arrive before
 * the recovery scan finished wait for it (`services()`).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable, setUnexpectedErrorHandler, toDisposable } from '../core/lifecycle';
import { setSqlWasmPath } from '../core/sqlite';
import { watchRunOwners } from '../core/ownerWatch';
import { stopOrphanedAgents } from '../core/processControl';
import { dropSnapshotsOf, snapshotInterruptedRuns } from '../core/runSnapshots';
import { LIVE_POLL_MS, pollWhileLive } from '../core/storePoll';
import { SupervisedRuns } from '../core/supervisedRuns';
import { TaskStore } from '../core/taskStore';
import { LIVE_STATUSES, type RetentionPolicy, type TaskRow } from '../core/taskTypes';
import { registerChangeCommands } from './changeCommands';
import * as config from './config';
import { errorMessage, UserFacingError } from './errors';
import { ContextKeys, Commands } from './model/ids';
import { interruptedNotice } from './model/recoverChoices';
import { OutputView } from './outputView';
import { registerRecoverCommand, resumeInterrupted } from './recoverCommand';
import { RequestPrompts } from './requestPrompts';
import { registerRunCommands, TaskLauncher } from './runCommand';
import { StatusBar } from './statusBar';
import { registerTaskCommands } from './taskCommands';
import { TasksView } from './tasksView';

export interface Services {
  readonly store: TaskStore;
  /** The runs this window started; each is owned by its own supervisor process, which outlives the window. */
  readonly runs: SupervisedRuns;
}

/** A supervisor's appends past this log size make it start `agent-tasks compact` when its run ends. */
const SUPERVISOR_COMPACT_AFTER_BYTES = 1024 * 1024;
/** Pruning is not urgent: it waits until the editor has settled after start-up. */
const PRUNE_DELAY_MS = 30_000;

/**
 * The store's retention policy, read from the settings whenever the store prunes, so that a
 * settings change applies without reopening the store.
 */
class LiveRetention implements RetentionPolicy {
  get maxAgeDays(): number {
    return config.retention().value.maxAgeDays;
  }
  get maxRows(): number {
    return config.retention().value.maxRows;
  }
}

export class AgentTasksContext extends Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly tasksView: TasksView;
  readonly outputView: OutputView;
  private readonly statusBar: StatusBar;
  private readonly requestPrompts: RequestPrompts;
  readonly launcher: TaskLauncher;
  /** Resolves once the store is open and the recovery scan ran; undefined when that failed (the user was told). */
  readonly ready: Promise<Services | undefined>;
  private readonly retention = new LiveRetention();
  private opened: Services | undefined;
  private openError: unknown;
  private shuttingDown: Promise<void> | undefined;

  constructor(readonly extension: vscode.ExtensionContext) {
    super();
    this.log = this._register(vscode.window.createOutputChannel('Agent Tasks', { log: true }));
    setUnexpectedErrorHandler((err) => this.log.error('Unexpected error in an event listener:', err));
    void this.setContext(ContextKeys.state, 'loading');

    this.tasksView = this._register(new TasksView(this));
    this.outputView = this._register(new OutputView(this));
    this.statusBar = this._register(new StatusBar(this));
    this.requestPrompts = this._register(new RequestPrompts(this));
    this.launcher = new TaskLauncher(this);
    for (const d of [...registerRunCommands(this), ...registerRecoverCommand(this), ...registerTaskCommands(this), ...registerChangeCommands(this)]) this._register(d);
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (config.affectsRetention(e)) this.onRetentionChanged();
        if (config.affectsProfiles(e)) this.logProfileProblems();
      }),
    );

    this.ready = this.open()
      .then((services) => {
        this.opened = services;
        this.statusBar.attach(services, this.tasksView);
        this.requestPrompts.attach(services, this.tasksView);
        this.outputView.attach(services);
        void this.setContext(ContextKeys.state, 'ready');
        return services;
      })
      .catch((err: unknown) => {
        this.openError = err;
        void this.setContext(ContextKeys.state, 'failed');
        this.log.error('Agent Tasks could not open its task journal:', err);
        void vscode.window.showErrorMessage(`Agent Tasks could not open its task journal: ${errorMessage(err)}`, 'Show Log').then((choice) => {
          if (choice === 'Show Log') this.log.show();
        });
        return undefined;
      });
  }

  /** The store and runner, once the recovery scan ran. Throws (a message for the user) when they could not be opened. */
  async services(): Promise<Services> {
    const services = await this.ready;
    if (!services) throw new UserFacingError(`Agent Tasks is not available: its task journal could not be opened (${errorMessage(this.openError)}). See the "Agent Tasks" output for details.`);
    if (this.shuttingDown) throw new UserFacingError('Agent Tasks is shutting down.');
    return services;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown !== undefined;
  }

  /** The services if they are open now (views use this; they render nothing until then). */
  get current(): Services | undefined {
    return this.shuttingDown ? undefined : this.opened;
  }

  private async open(): Promise<Services> {
    const dist = path.join(this.extension.extensionPath, 'dist');
    setSqlWasmPath(path.join(dist, 'sql-wasm.wasm'));
    const dir = this.extension.globalStorageUri.fsPath;
    const retention = config.retention();
    for (const problem of retention.problems) void this.showSettingWarning(problem, 'agentTasks.history');
    const store = await TaskStore.open({ dir, retention: this.retention, log: (m) => this.log.debug(m) });
    if (this.isDisposed) {
      await store.close();
      throw new Error('Agent Tasks was deactivated while it started.');
    }
    this._register(store);
    // Runs are owned by supervisor processes started with the editor's own Node (Electron as Node
    // in desktop VS Code, the server's node in code-server and remotes): a reload, a closed
    // window or a crashed extension host interrupts none of them.
    const runs = this._register(
      new SupervisedRuns(store, {
        node: process.execPath,
        script: path.join(dist, 'supervisor.js'),
        compact: { command: process.execPath, args: [path.join(dist, 'cli.js'), 'compact', '--store', dir], afterBytes: SUPERVISOR_COMPACT_AFTER_BYTES },
      }),
    );
    // Supervisors, CLI runs and other windows write to the same store: show their rows live. Where
    // the file system sends no events, a slow poll keeps the view right while runs are live.
    this._register(store.watchForChanges());
    this._register(pollWhileLive(store, () => (this.tasksView.lastView?.running.length ?? 0) > 0, LIVE_POLL_MS, (m) => this.log.debug(m)));
    for (const notice of store.notices) {
      this.log.warn(notice);
      void vscode.window.showWarningMessage(notice);
    }
    // Damage found later (a segment read mid-query, a full disk) is told as it is found.
    this._register(
      store.onDidAddNotice((notice) => {
        this.log.warn(notice);
        void vscode.window.showWarningMessage(notice);
      }),
    );
    // Pruned history takes its snapshots' refs along (not in Restricted Mode: no git there; a later prune cannot retry, the refs stay).
    this._register(store.onDidRemoveSnapshots((removed) => void (vscode.workspace.isTrusted ? dropSnapshotsOf(removed, (m) => this.log.warn(m)) : undefined)));
    // The tree shows what is read at once; marking orphans waits for a durable write, which can be
    // slow right after heavy disk activity (a big checkout), and its rows then refresh in place.
    this.tasksView.attach({ store, runs });
    // A reload's window shows its runs again: a pending agentTasks.onWindowClose "stop" is off.
    void this.showRunsAgain(store, runs);
    const marked = await store.markRunningAsInterrupted();
    if (marked.length > 0) this.log.info(`Marked ${marked.length} orphaned task(s) as interrupted: ${marked.map((r) => r.id).join(', ')}`);
    void this.afterInterrupted(store, marked);
    // After the start-up scan (so no row is offered twice): a supervisor killed while this window
    // watches makes its run interrupted now, and offered.
    this._register(
      watchRunOwners(store, () => this.tasksView.lastView?.running ?? [], (rows) => {
        this.log.info(`The supervisor of ${rows.length} running task(s) died: ${rows.map((r) => r.id).join(', ')}`);
        void this.afterInterrupted(store, rows);
        void this.offerRecovery(store, rows);
      }, { log: (m) => this.log.debug(m) }),
    );
    const unresolved = await store.listUnresolvedInterruptedTasks();
    this.log.info(`Task journal ${dir} open${store.readOnly ? ' (read-only)' : ''}; ${unresolved.length} interrupted task(s) to recover.`);
    if (unresolved.length > 0) void this.recoverAtStart(store, unresolved);
    this.schedulePrune(store);
    return { store, runs };
  }

  /**
   * Runs whose owner died: agents that outlived it are stopped (no one logs them any more), then
   * their end snapshots record what they had changed. Not in Restricted Mode: git would run what
   * an untrusted repository's config says (core.fsmonitor).
   */
  private async afterInterrupted(store: TaskStore, rows: readonly TaskRow[]): Promise<void> {
    for (const { row, outcome } of await stopOrphanedAgents(rows).catch(() => [])) {
      this.log.info(`Task ${row.id}: its agent (pid ${row.child_pid}) outlived its owner: ${outcome}`);
    }
    if (rows.length === 0 || !vscode.workspace.isTrusted) return;
    await snapshotInterruptedRuns(store, rows, (m) => this.log.warn(m));
  }

  private async showRunsAgain(store: TaskStore, runs: SupervisedRuns): Promise<void> {
    const mine = (await store.listTasks({ status: LIVE_STATUSES, limit: 500 })).filter(isOfThisWorkspace);
    await runs.showAgain(mine);
  }

  /**
   * Interrupted runs found at start-up: resumed at once with agentTasks.autoResume (this
   * workspace's), else offered. The notification's Resume continues the newest one's session
   * (several: one multi-select QuickPick) — two user actions from the notice to the session
   * running again.
   */
  private async recoverAtStart(store: TaskStore, rows: readonly TaskRow[]): Promise<void> {
    const auto = config.autoResume();
    for (const problem of auto.problems) void this.showSettingWarning(problem, 'agentTasks.autoResume');
    const folders = workspaceFolderPaths();
    const mine = rows.filter((r) => r.workspace !== null && folders.includes(r.workspace));
    if (auto.value && mine.length > 0 && !store.readOnly) {
      const started = await resumeInterrupted(this, mine, { pick: false });
      this.log.info(`agentTasks.autoResume: resumed ${started.length} of ${mine.length} interrupted task(s) of this workspace.`);
      if (started.length > 0) void vscode.window.showInformationMessage(`Agent Tasks resumed ${started.length === 1 ? '1 interrupted task' : `${started.length} interrupted tasks`} (agentTasks.autoResume).`);
      const left = rows.filter((r) => !mine.includes(r));
      if (left.length > 0) void this.offerRecovery(store, left);
      return;
    }
    await this.offerRecovery(store, rows);
  }

  private async offerRecovery(store: TaskStore, rows: readonly TaskRow[]): Promise<void> {
    const ids = rows.map((r) => r.id);
    const choice = await vscode.window.showWarningMessage(interruptedNotice(ids.length), 'Resume', 'Recover…', 'Dismiss');
    if (choice === 'Resume') {
      // The newest first; the rows may have been resolved in another window meanwhile.
      const open = (await store.listUnresolvedInterruptedTasks()).filter((r) => ids.includes(r.id));
      await resumeInterrupted(this, open, { pick: true });
    } else if (choice === 'Recover…') await vscode.commands.executeCommand(Commands.recover);
    else if (choice === 'Dismiss') {
      // Closing the notification means "not now"; Dismiss means "stop offering these".
      for (const id of ids) await store.resolveInterrupted(id, 'dismissed').catch((err) => this.log.warn(`Could not dismiss ${id}: ${errorMessage(err)}`));
    }
  }

  private schedulePrune(store: TaskStore): void {
    if (store.readOnly) return;
    const timer = setTimeout(() => void this.prune(store), PRUNE_DELAY_MS);
    this._register(toDisposable(() => clearTimeout(timer)));
  }

  private async prune(store: TaskStore): Promise<void> {
    try {
      const removed = await store.prune();
      if (removed > 0) this.log.info(`Removed ${removed} task(s) beyond the history retention settings.`);
    } catch (err) {
      this.log.warn(`Pruning the history failed: ${errorMessage(err)}`);
    }
  }

  private onRetentionChanged(): void {
    const parsed = config.retention();
    for (const problem of parsed.problems) void this.showSettingWarning(problem, 'agentTasks.history');
    if (this.current && !this.current.store.readOnly) void this.prune(this.current.store);
  }

  /**
   * Profiles are read when a run starts; an edit is only checked here, into the log: a message
   * each time settings.json is saved mid-edit would be noise. Running a broken profile says why.
   */
  private logProfileProblems(): void {
    const resolved = config.agentProfiles();
    for (const problem of resolved.problems) this.log.warn(problem);
    for (const entry of resolved.entries) if (entry.kind === 'invalid') this.log.warn(entry.problem);
  }

  setContext(key: string, value: unknown): Thenable<unknown> {
    return vscode.commands.executeCommand('setContext', key, value);
  }

  /**
   * Registers a command whose errors are shown to the user (and logged), never lost. The command
   * does not wait for the message to be closed: a script that runs it gets its answer at once.
   */
  registerCommand(id: string, handler: (...args: unknown[]) => unknown): vscode.Disposable {
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (err) {
        void this.showError(err);
        return undefined;
      }
    });
  }

  async showError(err: unknown): Promise<void> {
    if (err instanceof UserFacingError) {
      this.log.warn(err.message);
      if (err.setting) return this.showSettingError(err.message, err.setting);
      await vscode.window.showErrorMessage(err.message);
      return;
    }
    this.log.error(err instanceof Error ? err : String(err));
    const choice = await vscode.window.showErrorMessage(`Agent Tasks: ${errorMessage(err)}`, 'Show Log');
    if (choice === 'Show Log') this.log.show();
  }

  async showSettingError(message: string, setting: string): Promise<void> {
    if ((await vscode.window.showErrorMessage(message, 'Open Settings')) === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', setting);
    }
  }

  async showSettingWarning(message: string, setting: string): Promise<void> {
    this.log.warn(message);
    if ((await vscode.window.showWarningMessage(message, 'Open Settings')) === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', setting);
    }
  }

  /**
   * For deactivate: closes the store. Running tasks go on: their supervisors own them, and the
   * next window (a reload, another window) shows them. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      const services = await this.ready;
      if (!services) return;
      const running = services.runs.list();
      if (running.length > 0 && config.onWindowClose().value === 'stop') {
        // A reload shows them again within seconds and they go on; a window that stays closed stops them.
        const told = await services.runs.windowClosing().catch(() => 0);
        this.log.info(`agentTasks.onWindowClose is "stop": ${told} task(s) stop unless a window shows them again soon.`);
      } else if (running.length > 0) {
        this.log.info(`Leaving ${running.length} task(s) running under their supervisors: ${running.map((r) => r.id).join(', ')}`);
      }
      await services.store.close().catch((err) => this.log.error('Closing the task journal failed:', err));
    })();
    return this.shuttingDown;
  }
}

function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
}

/** The run belongs to this window's workspace (a run with no workspace, to a window with no folder). */
export function isOfThisWorkspace(row: TaskRow): boolean {
  const folders = workspaceFolderPaths();
  return row.workspace === null ? folders.length === 0 : folders.includes(row.workspace);
}
