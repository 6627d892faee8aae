/**
 * The status bar entry: how many tasks this window runs, and whether interrupted tasks wait for
 * recovery. It listens to the runner and the store; `render()` is the one place that writes to
 * the item (content decided by model/statusBarModel.ts).
 */
import * as vscode from 'vscode';
import { Disposable, toDisposable } from '../core/lifecycle';
import * as config from './config';
import type { AgentTasksContext, Services } from './context';
import { FOCUS_TASKS_VIEW_COMMAND } from './model/ids';
import { statusBarView } from './model/statusBarModel';

const COUNT_DEBOUNCE_MS = 200;

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;
  private services: Services | undefined;
  private interruptedCount = 0;
  private countTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: AgentTasksContext) {
    super();
    this.item = this._register(vscode.window.createStatusBarItem('agentTasks.status', vscode.StatusBarAlignment.Left, 10));
    this.item.name = 'Agent Tasks';
    this.item.command = FOCUS_TASKS_VIEW_COMMAND;
    this._register(toDisposable(() => clearTimeout(this.countTimer)));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!config.affectsStatusBar(e)) return;
        const enabled = config.statusBarEnabled();
        for (const problem of enabled.problems) void ctx.showSettingWarning(problem, 'agentTasks.statusBar');
        this.render();
      }),
    );
  }

  attach(services: Services): void {
    this.services = services;
    this._register(services.runner.onDidChangeRunning((e) => e.kind !== 'progress' && this.render()));
    // Interrupted rows appear (scan, other windows) and get resolved through the store.
    this._register(services.store.onDidChangeTasks(() => this.scheduleCount()));
    void this.count();
  }

  private scheduleCount(): void {
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(() => void this.count(), COUNT_DEBOUNCE_MS);
  }

  private async count(): Promise<void> {
    const services = this.ctx.current;
    if (!services) return;
    try {
      this.interruptedCount = (await services.store.listUnresolvedInterruptedTasks()).length;
    } catch (err) {
      this.ctx.log.debug(`status bar: could not count interrupted tasks: ${err}`);
    }
    this.render();
  }

  private render(): void {
    if (this.isDisposed) return;
    const view = statusBarView({
      enabled: config.statusBarEnabled().value,
      running: this.services?.runner.list().map((t) => t.row) ?? [],
      interruptedCount: this.interruptedCount,
    });
    if (!view.visible) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.accessibilityInformation = { label: `Agent Tasks: ${view.ariaLabel}`, role: 'button' };
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }
}
