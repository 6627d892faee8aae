/**
 * The status bar entry: how many agent tasks run (this window's, other windows', the CLI's: each
 * is owned by its own supervisor process), and whether interrupted tasks wait for recovery. It
 * listens to the tree's loads of the store; `render()` is the one place that writes to the item
 * (content decided by model/statusBarModel.ts).
 */
import * as vscode from 'vscode';
import { Disposable, type Event } from '../core/lifecycle';
import type { StoreView } from '../core/taskTypes';
import * as config from './config';
import type { AgentTasksContext, Services } from './context';
import { FOCUS_TASKS_VIEW_COMMAND } from './model/ids';
import { statusBarView } from './model/statusBarModel';

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;
  private services: Services | undefined;
  private interruptedCount = 0;
  private running: StoreView['running'] = [];

  constructor(ctx: AgentTasksContext) {
    super();
    this.item = this._register(vscode.window.createStatusBarItem('agentTasks.status', vscode.StatusBarAlignment.Left, 10));
    this.item.name = 'Agent Tasks';
    this.item.command = FOCUS_TASKS_VIEW_COMMAND;
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!config.affectsStatusBar(e)) return;
        const enabled = config.statusBarEnabled();
        for (const problem of enabled.problems) void ctx.showSettingWarning(problem, 'agentTasks.statusBar');
        this.render();
      }),
    );
  }

  attach(services: Services, views: { onDidLoad: Event<StoreView>; lastView: StoreView | undefined }): void {
    this.services = services;
    // Runs start and end, interrupted rows appear (scan, other windows) and get resolved: the tree's load of the store tells.
    this._register(views.onDidLoad((view) => this.show(view)));
    if (views.lastView) this.show(views.lastView);
    else this.render();
  }

  private show(view: StoreView): void {
    this.interruptedCount = view.interrupted.length;
    this.running = view.running;
    this.render();
  }

  private render(): void {
    if (this.isDisposed) return;
    const view = statusBarView({
      enabled: config.statusBarEnabled().value,
      running: this.services ? this.running : [],
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
