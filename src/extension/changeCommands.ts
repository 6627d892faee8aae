/**
 * The commands on what a run changed: on a changed file (Open Change, Open Change with the File
 * on Disk, Revert), on a task (Open Changes in the multi-diff editor, Copy as Patch), and on a
 * task that ran in its own worktree (Apply to Workspace, Open Worktree, Remove Worktree); plus
 * the `agent-tasks-snapshot:` documents the diffs show.
 *
 * None of them runs git while the workspace is not trusted (a repository's config can run
 * commands): they say so instead. From the tree they get the node; scripts may pass a task id
 * (or `{ taskId }`), and for a file `{ taskId, path }`; from the Command Palette the task
 * commands ask which task.
 */
import { promises as fsp } from 'node:fs';
import * as vscode from 'vscode';
import { diffPatch, revertFile, type ChangedFile, type RevertOutcome } from '../core/runChanges';
import { isLive, type TaskRow } from '../core/taskTypes';
import { applyRunToWorkspace, removeRunWorktree } from '../core/worktree';
import { ChangeNode, isDirectory, isWorkspaceTrusted, joinRoot, snapshotUri, SnapshotDocuments, type ResolvedRange } from './changesView';
import type { AgentTasksContext, Services } from './context';
import { UserFacingError } from './errors';
import {
  changeDiffTitle,
  changesTitle,
  changeWithCurrentTitle,
  hasSnapshots,
  RESTRICTED_MODE_TEXT,
  revertDetail,
  type SnapshotSide,
} from './model/changePresentation';
import { formatAgo, plural } from './model/format';
import { Commands, SNAPSHOT_SCHEME } from './model/ids';
import { taskDescription, taskLabel } from './model/taskPresentation';
import { taskFromArg } from './taskCommands';

const PICK_LIMIT = 200;
const MANAGE_TRUST = 'Manage Workspace Trust';

/** One changed file of a run, with the snapshots it is compared between. */
interface ResolvedChange {
  readonly row: TaskRow;
  readonly file: ChangedFile;
  readonly range: ResolvedRange;
}

/** False (and the user told why) while the workspace is not trusted. */
function gitAllowed(): boolean {
  if (isWorkspaceTrusted()) return true;
  void vscode.window.showWarningMessage(`${RESTRICTED_MODE_TEXT}: trust this workspace to see, revert or apply what agent tasks changed.`, MANAGE_TRUST).then((choice) => {
    if (choice === MANAGE_TRUST) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}

/** A changed file from a tree node, or from `{ taskId, path }` (read fresh, its changes listed). */
async function changeFromArg(ctx: AgentTasksContext, arg: unknown): Promise<ResolvedChange> {
  if (arg instanceof ChangeNode) return { row: arg.row, file: arg.file, range: arg.range };
  const a = (typeof arg === 'object' && arg !== null ? arg : {}) as { taskId?: unknown; path?: unknown };
  if (typeof a.taskId !== 'string' || typeof a.path !== 'string') throw new UserFacingError('Pick a changed file under an agent task in the Agent Tasks view.');
  const services = await ctx.services();
  const row = await taskFromArg(services, a.taskId);
  if (!row) throw new UserFacingError(`Agent task ${a.taskId} is not in the task history.`);
  const outcome = await ctx.tasksView.changes.changesOf(row);
  if (!outcome.ok) throw new UserFacingError(`The changes of "${taskLabel(row)}" are not known: ${outcome.reason}.`);
  const file = outcome.files.find((f) => f.path === a.path);
  if (!file) throw new UserFacingError(`Agent task "${taskLabel(row)}" did not change ${a.path}.`);
  return { row, file, range: outcome.range };
}

interface TaskItem extends vscode.QuickPickItem {
  readonly row: TaskRow;
}

/** The task an argument names, else one picked among those `filter` accepts. */
async function taskArg(services: Services, arg: unknown, filter: (row: TaskRow) => boolean, none: string, placeHolder: string): Promise<TaskRow | undefined> {
  const given = await taskFromArg(services, arg);
  if (given) return given;
  const rows = (await services.store.listTasks({ includeRunning: true, limit: PICK_LIMIT })).filter(filter);
  if (rows.length === 0) {
    void vscode.window.showInformationMessage(none);
    return undefined;
  }
  const now = Date.now();
  const items: TaskItem[] = rows.map((row) => ({ row, label: taskLabel(row), description: taskDescription(row, now), detail: `${formatAgo(row.started_at, now)} · ${row.cwd}` }));
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true }))?.row;
}

function sideOf(range: ResolvedRange): SnapshotSide {
  return range.live ? 'now' : 'end';
}

/** The file before the run (under its old name when renamed). */
function leftUri(change: ResolvedChange): vscode.Uri {
  return snapshotUri(change.range.gitDir, change.range.from.tree, change.file.old_path ?? change.file.path, 'start');
}

function rightUri(change: ResolvedChange): vscode.Uri {
  return snapshotUri(change.range.gitDir, change.range.to.tree, change.file.path, sideOf(change.range));
}

async function openChange(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  if (!gitAllowed()) return;
  const change = await changeFromArg(ctx, arg);
  await vscode.commands.executeCommand('vscode.diff', leftUri(change), rightUri(change), changeDiffTitle(change.file, change.row, sideOf(change.range)), { preview: true });
}

async function openChangeWithCurrent(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  if (!gitAllowed()) return;
  const change = await changeFromArg(ctx, arg);
  const onDisk = joinRoot(change.range.root, change.file.path);
  const exists = await fsp.stat(onDisk).then((st) => st.isFile(), () => false);
  if (!exists) {
    // Nothing to compare with: show what the file was before the run.
    void vscode.window.showInformationMessage(`${change.file.path} does not exist on disk now; showing its version from before the run.`);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(leftUri(change)), { preview: true });
    return;
  }
  await vscode.commands.executeCommand('vscode.diff', leftUri(change), vscode.Uri.file(onDisk), changeWithCurrentTitle(change.file, change.row), { preview: true });
}

/**
 * Puts a file back as it was before the run (a file the run created is deleted), after a modal
 * confirmation; refused by core when the file changed after the run (that work would be lost).
 */
async function revertChange(ctx: AgentTasksContext, arg: unknown): Promise<RevertOutcome | undefined> {
  if (!gitAllowed()) return undefined;
  const listed = await changeFromArg(ctx, arg);
  const services = await ctx.services();
  const row = (await services.store.getTask(listed.row.id)) ?? listed.row;
  const label = taskLabel(row);
  if (isLive(row.status)) throw new UserFacingError(`"${label}" is still running: revert its files once it has ended.`);
  // Listed while the run was live, the node compares with a snapshot of then: revert against its end.
  const change = listed.range.live ? await changeFromArg(ctx, { taskId: row.id, path: listed.file.path }) : listed;
  if (!(await isDirectory(change.range.root))) throw new UserFacingError(`Cannot revert ${change.file.path}: the folder ${change.range.root} no longer exists.`);
  const confirm = 'Revert';
  const choice = await vscode.window.showWarningMessage(
    `Revert ${change.file.path} to its version from before "${label}"?`,
    { modal: true, detail: `${revertDetail(change.file)} Refused if the file was changed after the run ended.` },
    confirm,
  );
  if (choice !== confirm) return undefined;
  const root = change.range.root;
  const from = change.range.from.tree;
  const to = change.range.to.tree;
  let outcome: RevertOutcome;
  if (change.file.status === 'renamed' && change.file.old_path !== null) {
    // The old name back first: if that is refused, the new one stays where it is.
    outcome = await revertFile(root, from, to, change.file.old_path);
    if (outcome.ok) outcome = await revertFile(root, from, to, change.file.path);
  } else {
    outcome = await revertFile(root, from, to, change.file.path);
  }
  if (!outcome.ok) throw new UserFacingError(`${change.file.path} was not reverted: ${outcome.reason}.`);
  ctx.log.info(`Task ${row.id}: reverted ${change.file.path} (${outcome.action}).`);
  vscode.window.setStatusBarMessage(`Reverted ${change.file.path}`, 3_000);
  return outcome;
}

/** A task's changes, or a message for the user why there are none to show. */
async function taskChanges(ctx: AgentTasksContext, row: TaskRow): Promise<{ range: ResolvedRange; files: readonly ChangedFile[] }> {
  const outcome = await ctx.tasksView.changes.changesOf(row);
  if (!outcome.ok) throw new UserFacingError(`The changes of "${taskLabel(row)}" are not known: ${outcome.reason}.`);
  return outcome;
}

/** All of a task's changed files in VS Code's multi-diff editor (the first file's diff where it is missing). */
async function openChanges(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  if (!gitAllowed()) return;
  const services = await ctx.services();
  const row = await taskArg(services, arg, hasSnapshots, 'No agent task has git snapshots to compare.', 'Open the changes of which agent task?');
  if (!row) return;
  const { range, files } = await taskChanges(ctx, row);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Agent task "${taskLabel(row)}" changed no files.`);
    return;
  }
  const changes = files.map((file) => ({ row, file, range }));
  const resources = changes.map((c) => [vscode.Uri.file(joinRoot(range.root, c.file.path)), leftUri(c), rightUri(c)]);
  try {
    await vscode.commands.executeCommand('vscode.changes', changesTitle(row, range.live), resources);
  } catch (err) {
    ctx.log.info(`The multi-diff editor is not available (${err instanceof Error ? err.message : String(err)}): opening the first file's diff.`);
    const first = changes[0];
    await vscode.commands.executeCommand('vscode.diff', leftUri(first), rightUri(first), changeDiffTitle(first.file, row, sideOf(range)), { preview: true });
  }
}

/** The task's changes as a unified diff (binary-safe, `git apply` takes it), on the clipboard. Returns it. */
async function copyPatch(ctx: AgentTasksContext, arg: unknown): Promise<string | undefined> {
  if (!gitAllowed()) return undefined;
  const services = await ctx.services();
  const row = await taskArg(services, arg, hasSnapshots, 'No agent task has git snapshots to compare.', 'Copy the changes of which agent task as a patch?');
  if (!row) return undefined;
  const { range, files } = await taskChanges(ctx, row);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Agent task "${taskLabel(row)}" changed no files: there is no patch to copy.`);
    return undefined;
  }
  // The clipboard holds text: a file that is not UTF-8 comes out with replacement characters there (agent-tasks diff keeps its bytes).
  const patch = (await diffPatch(range.gitDir, range.from.tree, range.to.tree)).toString('utf8');
  await vscode.env.clipboard.writeText(patch);
  vscode.window.setStatusBarMessage(`Copied the patch of "${taskLabel(row)}" (${plural(files.length, 'file')})`, 3_000);
  return patch;
}

function isEndedWorktreeRun(row: TaskRow): boolean {
  return !!row.git?.worktree && !isLive(row.status);
}

async function worktreeTask(ctx: AgentTasksContext, arg: unknown, placeHolder: string): Promise<{ row: TaskRow; worktree: NonNullable<NonNullable<TaskRow['git']>['worktree']> } | undefined> {
  const services = await ctx.services();
  const row = await taskArg(services, arg, isEndedWorktreeRun, 'No ended agent task ran in a worktree of its own.', placeHolder);
  if (!row) return undefined;
  const worktree = row.git?.worktree;
  if (!worktree) throw new UserFacingError(`Agent task "${taskLabel(row)}" did not run in a worktree of its own.`);
  if (isLive(row.status)) throw new UserFacingError(`"${taskLabel(row)}" is still running in its worktree: wait until it has ended.`);
  return { row, worktree };
}

/** Writes the run's changes into the main work tree (not staged), after a modal confirmation. */
async function applyWorktree(ctx: AgentTasksContext, arg: unknown): Promise<string[] | undefined> {
  if (!gitAllowed()) return undefined;
  const task = await worktreeTask(ctx, arg, 'Apply the changes of which agent task to the workspace?');
  if (!task) return undefined;
  const { row, worktree } = task;
  const confirm = 'Apply';
  const choice = await vscode.window.showWarningMessage(
    `Apply the changes of "${taskLabel(row)}" to ${worktree.repo}?`,
    { modal: true, detail: `What the run changed in its worktree (branch ${worktree.branch}) is written into the files of ${worktree.repo}, not staged. If any of it conflicts with what is there now, nothing is changed.` },
    confirm,
  );
  if (choice !== confirm) return undefined;
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Applying "${taskLabel(row)}"…` }, () => applyRunToWorkspace(row));
  if (!outcome.ok) {
    ctx.log.warn(`Task ${row.id}: apply refused: ${outcome.reason}`);
    throw new UserFacingError(outcome.reason);
  }
  ctx.log.info(`Task ${row.id}: applied ${outcome.files.length} file(s) to ${worktree.repo}.`);
  void vscode.window.showInformationMessage(
    outcome.files.length === 0 ? `Agent task "${taskLabel(row)}" changed no files: nothing to apply.` : `Applied ${plural(outcome.files.length, 'changed file')} of "${taskLabel(row)}" to ${worktree.repo}.`,
  );
  return outcome.files;
}

/** Opens the run's worktree folder in a new window (which asks for trust itself: no git runs here). */
async function openWorktree(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  const task = await worktreeTask(ctx, arg, 'Open the worktree of which agent task?');
  if (!task) return;
  if (!(await isDirectory(task.worktree.path))) throw new UserFacingError(`The worktree of "${taskLabel(task.row)}", ${task.worktree.path}, no longer exists.`);
  await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(task.worktree.path), { forceNewWindow: true });
}

/** Removes the run's worktree and branch; asks again, and forces, when that would lose work. */
async function removeWorktree(ctx: AgentTasksContext, arg: unknown): Promise<boolean> {
  if (!gitAllowed()) return false;
  const task = await worktreeTask(ctx, arg, 'Remove the worktree of which agent task?');
  if (!task) return false;
  const { row, worktree } = task;
  const label = taskLabel(row);
  const confirm = 'Remove';
  const choice = await vscode.window.showWarningMessage(
    `Remove the worktree of "${label}"?`,
    { modal: true, detail: `The folder ${worktree.path} and the branch ${worktree.branch} are deleted. The task stays in the history.` },
    confirm,
  );
  if (choice !== confirm) return false;
  let outcome = await removeRunWorktree(row, { force: false });
  if (!outcome.ok && outcome.unmerged) {
    const force = 'Remove Anyway';
    const again = await vscode.window.showWarningMessage(`${outcome.reason}`, { modal: true, detail: 'Apply its changes to the workspace first to keep them. Removing anyway cannot be undone.' }, force);
    if (again !== force) return false;
    outcome = await removeRunWorktree(row, { force: true });
  }
  if (!outcome.ok) throw new UserFacingError(`The worktree of "${label}" was not removed: ${outcome.reason}`);
  ctx.log.info(`Task ${row.id}: removed its worktree ${worktree.path} and branch ${worktree.branch}.`);
  vscode.window.setStatusBarMessage(`Removed the worktree of "${label}"`, 3_000);
  return true;
}

export function registerChangeCommands(ctx: AgentTasksContext): vscode.Disposable[] {
  const changes = ctx.tasksView.changes;
  // A diff restored at start-up asks before the view has loaded: wait for it, then check.
  const documents = new SnapshotDocuments(async (root) => {
    await ctx.tasksView.whenLoaded();
    return changes.isKnownRoot(root);
  });
  return [
    vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, documents),
    ctx.registerCommand(Commands.openChange, (arg) => openChange(ctx, arg)),
    ctx.registerCommand(Commands.openChangeWithCurrent, (arg) => openChangeWithCurrent(ctx, arg)),
    ctx.registerCommand(Commands.revertFile, (arg) => revertChange(ctx, arg)),
    ctx.registerCommand(Commands.openChanges, (arg) => openChanges(ctx, arg)),
    ctx.registerCommand(Commands.copyPatch, (arg) => copyPatch(ctx, arg)),
    ctx.registerCommand(Commands.applyWorktree, (arg) => applyWorktree(ctx, arg)),
    ctx.registerCommand(Commands.openWorktree, (arg) => openWorktree(ctx, arg)),
    ctx.registerCommand(Commands.removeWorktree, (arg) => removeWorktree(ctx, arg)),
  ];
}
