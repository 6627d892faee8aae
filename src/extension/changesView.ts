/**
 * The tree's children of a task: what its run changed in the work tree, from its git snapshots
 * (src/core/runChanges.ts). One node per changed file, or one line saying why there is none; and
 * on top, when other runs worked in the same folder at the same time, a warning that the changes
 * may include theirs. Computed lazily when a task is expanded, and cached per (task, end
 * snapshot): a finished run's changes never change. A live run is compared with a snapshot
 * taken on demand, again on each expand and on Refresh (not on the view's elapsed-time ticks).
 * Also the read-only documents of a file as a snapshot holds it (the sides of the diffs).
 *
 * Git never runs while the workspace is not trusted: a repository's config can run commands.
 * What a node looks like is decided in model/changePresentation.ts.
 */
import { promises as fsp } from 'node:fs';
import * as vscode from 'vscode';
import { LARGE_FILE_BYTES, type GitSnapshot } from '../core/gitSnapshot';
import { Disposable, Emitter } from '../core/lifecycle';
import { changeRange, listChanges, readBlob, type ChangedFile } from '../core/runChanges';
import { isLive, type TaskRow } from '../core/taskTypes';
import { errorMessage } from './errors';
import {
  attributionWarning,
  binaryText,
  buildSnapshotQuery,
  changeItemView,
  COMPARED_WITH_NOW_TEXT,
  hasChangesNode,
  looksBinary,
  NO_CHANGES_TEXT,
  noChangesText,
  overlappingRuns,
  parseSnapshotQuery,
  RESTRICTED_MODE_TEXT,
  tooLargeText,
  type SnapshotSide,
} from './model/changePresentation';
import { Commands, SNAPSHOT_SCHEME } from './model/ids';

/** Computed change lists kept (finished runs' never go stale; the oldest go first). */
const CACHE_MAX_ENTRIES = 200;
/** A live run's list younger than this is the one its expand just computed: not taken again. */
const LIVE_FRESH_MS = 2_000;

/** What the changes view needs of a task node: its current row (tasksView.ts's TaskNode). */
export interface TaskNodeLike {
  readonly row: TaskRow;
}

/** The two snapshots a run's changes are read from. */
export interface ResolvedRange {
  /** The run's work tree: where its files are on disk. */
  readonly root: string;
  /**
   * Where git reads the snapshots: the work tree, or for a run in a worktree that was removed
   * since, its repository (the worktree shared its object store, where the refs keep the trees).
   */
  readonly gitDir: string;
  readonly from: GitSnapshot;
  readonly to: GitSnapshot;
  /** `to` was taken now (a live run, or one whose end snapshot was never taken). */
  readonly live: boolean;
}

export type ChangesOutcome =
  | { readonly ok: true; readonly range: ResolvedRange; readonly files: readonly ChangedFile[] }
  | { readonly ok: false; readonly reason: string; readonly restricted: boolean };

/** One changed file under its task. */
export class ChangeNode {
  readonly type = 'change';
  constructor(
    readonly task: TaskNodeLike,
    readonly row: TaskRow,
    readonly file: ChangedFile,
    readonly range: ResolvedRange,
  ) {}
}

export type ChangeInfoKind = 'overlap' | 'restricted' | 'unavailable' | 'none' | 'comparedWithNow';

/** A line under a task that is no file: why there are no changes, or a warning about them. */
export class ChangeInfoNode {
  readonly type = 'changeInfo';
  constructor(
    readonly task: TaskNodeLike,
    readonly kind: ChangeInfoKind,
    readonly text: string,
  ) {}
}

export type ChangesChild = ChangeNode | ChangeInfoNode;

interface CacheEntry {
  readonly outcome: Promise<ChangesOutcome>;
  readonly at: number;
}

export interface ChangesHost {
  /** The rows the view shows (for the attribution of overlapping runs). */
  knownRows(): readonly TaskRow[];
  readonly log: vscode.LogOutputChannel;
}

export function isWorkspaceTrusted(): boolean {
  return vscode.workspace.isTrusted;
}

export class TaskChanges extends Disposable {
  /** A task whose children changed (undefined: all of them). tasksView.ts forwards it to the tree. */
  private readonly _onDidChange = this._register(new Emitter<TaskNodeLike | undefined>());
  readonly onDidChange = this._onDidChange.event;
  private readonly cache = new Map<string, CacheEntry>();
  /** Work trees whose snapshots this window listed: the only ones snapshot documents are read from. */
  private readonly roots = new Set<string>();

  constructor(private readonly host: ChangesHost) {
    super();
    this._register(
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.cache.clear();
        this._onDidChange.fire(undefined);
      }),
    );
  }

  /** Refresh: live runs are compared anew; a git error is retried. */
  invalidate(): void {
    this.cache.clear();
  }

  /** A task was expanded: a live run's changes are taken again (unless this expand just did). */
  expanded(node: TaskNodeLike): void {
    const key = cacheKey(node.row);
    const entry = key === undefined ? undefined : this.cache.get(key);
    if (entry && isNowKey(key!) && Date.now() - entry.at > LIVE_FRESH_MS) {
      this.cache.delete(key!);
      this._onDidChange.fire(node);
    }
  }

  /** The work tree folders whose snapshot files may be shown (see SnapshotDocuments). */
  isKnownRoot(root: string): boolean {
    if (this.roots.has(root)) return true;
    // A worktree run's snapshots are also read in its repository (its worktree may be gone).
    return this.host.knownRows().some((r) => r.git?.root === root || r.git?.worktree?.repo === root);
  }

  /**
   * A run's changed files, or why there are none. Never runs git in Restricted Mode. Cached per
   * (task, end snapshot); a live run's list is taken once per expand/refresh.
   */
  changesOf(row: TaskRow): Promise<ChangesOutcome> {
    const key = cacheKey(row);
    // Why a run has no snapshots is known without git.
    if (key === undefined) return Promise.resolve({ ok: false, reason: row.git?.unavailable ?? 'no snapshots were taken', restricted: false });
    if (!isWorkspaceTrusted()) return Promise.resolve({ ok: false, reason: RESTRICTED_MODE_TEXT, restricted: true });
    const cached = this.cache.get(key);
    if (cached) return cached.outcome;
    // The run's earlier lists (a live one, before its end was recorded) are stale now.
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${row.id}:`)) this.cache.delete(k);
    const outcome = this.compute(row);
    this.cache.set(key, { outcome, at: Date.now() });
    while (this.cache.size > CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return outcome;
  }

  private async compute(row: TaskRow): Promise<ChangesOutcome> {
    try {
      const range = await changeRange(row.git, { allowSnapshotNow: isWorkspaceTrusted() });
      if (!range.ok) return { ok: false, reason: range.reason, restricted: false };
      const repo = row.git?.worktree?.repo;
      const gitDir = !(await isDirectory(range.root)) && repo && (await isDirectory(repo)) ? repo : range.root;
      this.roots.add(gitDir);
      const files = range.from.tree === range.to.tree ? [] : await listChanges(gitDir, range.from.tree, range.to.tree);
      return { ok: true, range: { root: range.root, gitDir, from: range.from, to: range.to, live: range.live }, files };
    } catch (err) {
      this.host.log.warn(`Task ${row.id}: could not list its changes: ${errorMessage(err)}`);
      return { ok: false, reason: `git failed: ${errorMessage(err)}`, restricted: false };
    }
  }

  /** The children of a task node (none when its row has no snapshots and no reason for it). */
  async children(task: TaskNodeLike): Promise<ChangesChild[]> {
    const row = task.row;
    if (!hasChangesNode(row)) return [];
    const nodes: ChangesChild[] = [];
    const warning = attributionWarning(overlappingRuns(row, this.host.knownRows(), Date.now()));
    if (warning !== null) nodes.push(new ChangeInfoNode(task, 'overlap', warning));
    const outcome = await this.changesOf(row);
    if (!outcome.ok) {
      nodes.push(new ChangeInfoNode(task, outcome.restricted ? 'restricted' : 'unavailable', outcome.restricted ? RESTRICTED_MODE_TEXT : noChangesText(outcome.reason)));
      return nodes;
    }
    if (outcome.range.live && !isLive(row.status)) nodes.push(new ChangeInfoNode(task, 'comparedWithNow', COMPARED_WITH_NOW_TEXT));
    if (outcome.files.length === 0) nodes.push(new ChangeInfoNode(task, 'none', NO_CHANGES_TEXT));
    for (const file of outcome.files) nodes.push(new ChangeNode(task, row, file, outcome.range));
    return nodes;
  }

  treeItem(node: ChangesChild): vscode.TreeItem {
    return node instanceof ChangeNode ? changeItem(node) : infoItem(node);
  }
}

/** `<id>:<end tree>`, or `<id>:now` while the run has no end snapshot (compared with a snapshot taken now). */
function cacheKey(row: TaskRow): string | undefined {
  const git = row.git;
  if (!git || git.unavailable !== null || git.root === null || git.start === null) return undefined;
  return `${row.id}:${git.end?.tree ?? 'now'}`;
}

function isNowKey(key: string): boolean {
  return key.endsWith(':now');
}

function changeItem(node: ChangeNode): vscode.TreeItem {
  const view = changeItemView(node.file);
  const item = new vscode.TreeItem(view.label, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.row.id}/change/${node.file.path}`;
  // The file on disk: file icons, and the decorations other extensions give it.
  item.resourceUri = vscode.Uri.file(joinRoot(node.range.root, node.file.path));
  item.description = view.description;
  item.iconPath = new vscode.ThemeIcon(view.icon.id, view.icon.color ? new vscode.ThemeColor(view.icon.color) : undefined);
  item.tooltip = view.tooltip;
  item.accessibilityInformation = { label: view.accessibilityLabel };
  item.contextValue = node.range.live ? 'agentTaskChange.live' : 'agentTaskChange';
  item.command = { command: Commands.openChange, title: 'Open Change', arguments: [node] };
  return item;
}

const INFO_ICONS: Record<ChangeInfoKind, { id: string; color?: string }> = {
  overlap: { id: 'warning', color: 'list.warningForeground' },
  restricted: { id: 'workspace-untrusted' },
  unavailable: { id: 'info' },
  none: { id: 'circle-slash' },
  comparedWithNow: { id: 'info' },
};

function infoItem(node: ChangeInfoNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.task.row.id}/info/${node.kind}`;
  const icon = INFO_ICONS[node.kind];
  item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
  item.tooltip = node.text;
  item.contextValue = `agentTaskChangeInfo.${node.kind}`;
  if (node.kind === 'restricted') item.command = { command: 'workbench.trust.manage', title: 'Manage Workspace Trust' };
  return item;
}

export async function isDirectory(p: string): Promise<boolean> {
  return fsp.stat(p).then((st) => st.isDirectory(), () => false);
}

/** A work tree path joined with a `/`-separated path inside it. */
export function joinRoot(root: string, file: string): string {
  return `${root.replace(/[\\/]+$/, '')}/${file}`;
}

/** The URI of a file as a snapshot holds it (the side of a diff). */
export function snapshotUri(root: string, tree: string, file: string, side: SnapshotSide): vscode.Uri {
  // The path ends in the file's name, so the editor picks its language from it.
  return vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, path: `/${file}`, query: buildSnapshotQuery({ root, tree, path: file, side }) });
}

/**
 * Serves `agent-tasks-snapshot:` documents: a file's content in a snapshot's tree, read-only. An
 * absent file (the side before an add, after a delete) is empty; a file over LARGE_FILE_BYTES
 * or a binary one is a one-line note. Only trees of work trees this window knows are read: the
 * URI may come from anywhere.
 */
export class SnapshotDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly isKnownRoot: (root: string) => Promise<boolean>) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = parseSnapshotQuery(uri.query);
    if (!ref) return '(not a valid address of a file in an agent task snapshot)';
    if (!isWorkspaceTrusted()) return `(${RESTRICTED_MODE_TEXT})`;
    if (!(await this.isKnownRoot(ref.root))) return `(${ref.root} is not the folder of an agent task this window shows)`;
    try {
      const blob = await readBlob(ref.root, ref.tree, ref.path, LARGE_FILE_BYTES);
      if (blob === 'absent') return '';
      if (blob === 'too-large') return tooLargeText(ref.path, LARGE_FILE_BYTES);
      if (looksBinary(blob)) return binaryText(ref.path, blob.length);
      return blob.toString('utf8');
    } catch (err) {
      return `(could not read ${ref.path} from the snapshot: ${errorMessage(err)})`;
    }
  }
}
