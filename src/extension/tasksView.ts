/**
 * The sidebar tree (`agentTasks.tasks`): Running, Interrupted (while some wait for recovery) and
 * History (newest first, a page at a time). The store's change events drive it: each burst of
 * changes reloads the snapshot once (debounced), and only what changed is refreshed — a group
 * whose children changed, or a single row in place. Running rows re-render every second for
 * their elapsed time; their tokens and cost come from the supervisors' heartbeats in the store.
 * What a row looks like is decided in model/taskPresentation.ts. A task whose run has git
 * snapshots expands to what it changed (changesView.ts).
 */
import * as vscode from 'vscode';
import { Disposable, Emitter, toDisposable } from '../core/lifecycle';
import type { StoreView, TaskRow } from '../core/taskTypes';
import type { AgentTasksContext, Services } from './context';
import { Commands, ContextKeys, SHOW_MORE_HISTORY_COMMAND, TASKS_VIEW_ID } from './model/ids';
import { plural } from './model/format';
import {
  buildSnapshot,
  diffSnapshots,
  GROUP_LABELS,
  groupDescription,
  groupRows,
  historyQueryLimit,
  isEmptySnapshot,
  taskAccessibilityLabel,
  taskContextValue,
  taskDescription,
  taskIcon,
  taskLabel,
  taskTooltipMarkdown,
  visibleGroups,
  type GroupKind,
  isLiveGroup,
  type TreeSnapshot,
} from './model/taskPresentation';
import { hostName } from '../core/processIdentity';
import { ChangeInfoNode, ChangeNode, TaskChanges } from './changesView';
import { hasChangesNode } from './model/changePresentation';

const RELOAD_DEBOUNCE_MS = 150;
const ITEM_REFRESH_DEBOUNCE_MS = 250;
const ELAPSED_TICK_MS = 1_000;

export class GroupNode {
  readonly type = 'group';
  constructor(readonly kind: GroupKind) {}
}

/** One per task id, kept across reloads so that `fire(node)` and `TreeItem.id` stay stable. */
export class TaskNode {
  readonly type = 'task';
  constructor(
    public row: TaskRow,
    public group: GroupKind,
  ) {}
}

export class MoreNode {
  readonly type = 'more';
}

export type TreeNode = GroupNode | TaskNode | MoreNode | ChangeNode | ChangeInfoNode;

export class TasksView extends Disposable implements vscode.TreeDataProvider<TreeNode> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<TreeNode | undefined>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** Each load of the store's view: the status bar shows from the same read. */
  private readonly _onDidLoad = this._register(new Emitter<StoreView>());
  readonly onDidLoad = this._onDidLoad.event;
  /** The last view loaded (a listener attached later starts from it). */
  lastView: StoreView | undefined;

  private readonly treeView: vscode.TreeView<TreeNode>;
  private readonly groups = new Map<GroupKind, GroupNode>();
  private readonly nodes = new Map<string, TaskNode>();
  private readonly more = new MoreNode();
  private services: Services | undefined;
  private snapshot: TreeSnapshot | undefined;
  private firstLoad: Promise<void> | undefined;
  private pages = 1;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly dueItems = new Set<TaskNode>();
  private itemTimer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly host = hostName();
  /** The children of tasks: what their runs changed. */
  readonly changes: TaskChanges;

  constructor(private readonly ctx: AgentTasksContext) {
    super();
    for (const kind of ['needsInput', 'running', 'interrupted', 'history'] as const) this.groups.set(kind, new GroupNode(kind));
    this.treeView = this._register(vscode.window.createTreeView(TASKS_VIEW_ID, { treeDataProvider: this, showCollapseAll: false }));
    this.changes = this._register(new TaskChanges({ knownRows: () => this.knownRows(), log: ctx.log }));
    this._register(
      this.changes.onDidChange((node) => {
        if (node === undefined) this._onDidChangeTreeData.fire(undefined);
        else if (node instanceof TaskNode && this.nodes.get(node.row.id) === node) this._onDidChangeTreeData.fire(node);
      }),
    );
    this._register(
      this.treeView.onDidExpandElement((e) => {
        if (e.element instanceof TaskNode) this.changes.expanded(e.element);
      }),
    );
    this._register(
      toDisposable(() => {
        clearTimeout(this.reloadTimer);
        clearTimeout(this.itemTimer);
        clearInterval(this.ticker);
      }),
    );
    this._register(
      ctx.registerCommand(SHOW_MORE_HISTORY_COMMAND, () => {
        this.pages++;
        return this.reload();
      }),
    );
  }

  attach(services: Services): void {
    this.services = services;
    this._register(services.store.onDidChangeTasks(() => this.scheduleReload()));
    this.firstLoad = this.reload();
  }

  /** Reloads now (the Refresh command); tasks' changes are listed anew (a live run's from a new snapshot). */
  async refresh(): Promise<void> {
    this.changes.invalidate();
    await this.reload();
    for (const node of this.nodes.values()) if (hasChangesNode(node.row)) this._onDidChangeTreeData.fire(node);
  }

  /** Resolves once the first load of the store's view is done (or the store could not open). */
  async whenLoaded(): Promise<void> {
    if (!this.firstLoad) await this.ctx.ready;
    await this.firstLoad;
  }

  /** Every row the tree shows. */
  knownRows(): TaskRow[] {
    const s = this.snapshot;
    return s ? [...s.needsInput, ...s.running, ...s.interrupted, ...s.history] : [];
  }

  /** The task ids shown (tests and the e2e suite read the tree through this). */
  get shownSnapshot(): TreeSnapshot | undefined {
    return this.snapshot;
  }

  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reload(), RELOAD_DEBOUNCE_MS);
  }

  private scheduleItem(node: TaskNode): void {
    this.dueItems.add(node);
    if (this.itemTimer !== undefined) return;
    this.itemTimer = setTimeout(() => {
      this.itemTimer = undefined;
      const due = [...this.dueItems];
      this.dueItems.clear();
      for (const n of due) if (this.nodes.get(n.row.id) === n) this._onDidChangeTreeData.fire(n);
    }, ITEM_REFRESH_DEBOUNCE_MS);
  }

  /** One reload at a time; a request during one runs once more after it. */
  private reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          await this.loadOnce();
        } catch (err) {
          this.ctx.log.warn(`Could not load the task list: ${err instanceof Error ? err.message : String(err)}`);
        }
      } while (this.reloadAgain && !this.isDisposed);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async loadOnce(): Promise<void> {
    // this.services, not ctx.current: the tree is attached before the recovery scan ends.
    const services = this.services;
    if (!services || this.isDisposed || this.ctx.isShuttingDown) return;
    // One catch-up and one query set for the tree, its badge, the context key and the status bar.
    const view = await services.store.readView({ historyLimit: historyQueryLimit(this.pages, 0) });
    this.lastView = view;
    this._onDidLoad.fire(view);
    const next = buildSnapshot({ running: view.running, interrupted: view.interrupted, finished: view.history, finishedTotal: view.historyTotal, pages: this.pages });
    const prev = this.snapshot;
    this.snapshot = next;
    this.syncNodes(next);
    this.updateChrome(next);

    const diff = diffSnapshots(prev, next);
    if (diff.root) this._onDidChangeTreeData.fire(undefined);
    else {
      for (const kind of diff.groups) this._onDidChangeTreeData.fire(this.groups.get(kind));
      for (const id of diff.tasks) {
        const node = this.nodes.get(id);
        if (node) this.scheduleItem(node);
      }
    }
    this.updateTicker(next);
  }

  /** Keeps one node per shown task id, with its current row and group; forgets the others. */
  private syncNodes(s: TreeSnapshot): void {
    const seen = new Set<string>();
    for (const kind of visibleGroups(s)) {
      for (const row of groupRows(s, kind)) {
        seen.add(row.id);
        const node = this.nodes.get(row.id);
        if (node) {
          node.row = row;
          node.group = kind;
        } else {
          this.nodes.set(row.id, new TaskNode(row, kind));
        }
      }
    }
    for (const id of [...this.nodes.keys()]) if (!seen.has(id)) this.nodes.delete(id);
  }

  private updateChrome(s: TreeSnapshot): void {
    const n = s.interrupted.length;
    this.treeView.badge = n > 0 ? { value: n, tooltip: `${plural(n, 'interrupted agent task')} to recover` } : undefined;
    void this.ctx.setContext(ContextKeys.hasInterrupted, n > 0);
  }

  /** Elapsed times of running rows tick once a second, only while something runs. */
  private updateTicker(s: TreeSnapshot): void {
    const live = s.running.length + s.needsInput.length;
    if (live > 0 && this.ticker === undefined) {
      this.ticker = setInterval(() => {
        for (const node of this.nodes.values()) if (isLiveGroup(node.group)) this.scheduleItem(node);
      }, ELAPSED_TICK_MS);
    } else if (live === 0 && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  // ---- TreeDataProvider ----------------------------------------------------------------------

  async getChildren(element?: TreeNode): Promise<TreeNode[]> {
    if (element === undefined) {
      // The view may open before the store: wait for the first load (VS Code shows progress).
      // attach() runs before the recovery scan: once it has, the first load is all there is to wait for.
      await this.whenLoaded();
      const s = this.snapshot;
      if (!s || isEmptySnapshot(s)) return []; // the welcome view shows
      return visibleGroups(s).map((kind) => this.groups.get(kind)!);
    }
    if (element instanceof GroupNode && this.snapshot) {
      const children: TreeNode[] = groupRows(this.snapshot, element.kind).map((row) => this.nodes.get(row.id)!);
      if (element.kind === 'history' && this.snapshot.historyHasMore) children.push(this.more);
      return children;
    }
    if (element instanceof TaskNode) return this.changes.children(element);
    return [];
  }

  getParent(element: TreeNode): TreeNode | undefined {
    if (element instanceof TaskNode) return this.groups.get(element.group);
    if (element instanceof MoreNode) return this.groups.get('history');
    if (element instanceof ChangeNode || element instanceof ChangeInfoNode) return element.task instanceof TaskNode ? element.task : undefined;
    return undefined;
  }

  getTreeItem(element: TreeNode): vscode.TreeItem {
    if (element instanceof GroupNode) return this.groupItem(element);
    if (element instanceof ChangeNode || element instanceof ChangeInfoNode) return this.changes.treeItem(element);
    if (element instanceof MoreNode) {
      const item = new vscode.TreeItem('Show more', vscode.TreeItemCollapsibleState.None);
      item.id = 'agentTasks.history.more';
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.command = { command: SHOW_MORE_HISTORY_COMMAND, title: 'Show more' };
      return item;
    }
    return this.taskItem(element);
  }

  private groupItem(node: GroupNode): vscode.TreeItem {
    const s = this.snapshot;
    const empty = !s || groupRows(s, node.kind).length === 0;
    const item = new vscode.TreeItem(
      GROUP_LABELS[node.kind],
      empty ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Expanded,
    );
    // VS Code keeps an item's collapse state by id: a group first shown empty (a leaf) would stay
    // collapsed once it gets rows. A separate id while empty makes it open when its first task arrives.
    item.id = `agentTasks.group.${node.kind}${empty ? '.empty' : ''}`;
    item.description = s ? groupDescription(s, node.kind) : '';
    item.contextValue = `agentTaskGroup.${node.kind}`;
    return item;
  }

  private taskItem(node: TaskNode): vscode.TreeItem {
    const now = Date.now();
    // Started from this window (its supervisor owns it either way; the tooltip says where it runs).
    const own = this.services?.runs.get(node.row.id) !== undefined;
    const row = node.row;
    // Collapsed, not expanded: its changes are listed (git runs) only when asked for.
    const item = new vscode.TreeItem(taskLabel(row), hasChangesNode(row) ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = taskDescription(row, now);
    const icon = taskIcon(row);
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    const tooltip = new vscode.MarkdownString(taskTooltipMarkdown(row, { now, own, host: this.host }));
    // Prompts, errors and paths are user text: no command links, no HTML, no theme icons.
    tooltip.isTrusted = false;
    tooltip.supportHtml = false;
    tooltip.supportThemeIcons = false;
    item.tooltip = tooltip;
    item.contextValue = taskContextValue(row, own);
    item.accessibilityInformation = { label: taskAccessibilityLabel(row, now) };
    item.command = { command: Commands.showOutput, title: 'Show Output', arguments: [node] };
    return item;
  }
}
