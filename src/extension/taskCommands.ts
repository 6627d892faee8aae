/**
 * The commands that act on one task: Cancel, Dismiss, Show Output, Copy Session ID, plus Clear
 * History, Refresh and Show Log. From the tree they get the item; from the Command Palette they
 * ask for the task with a QuickPick; scripts may pass a task id (or `{ taskId }`).
 */
import * as vscode from 'vscode';
import { cancelRun, CancelRunError } from '../core/runControl';
import { isLive, LIVE_STATUSES, type TaskRow } from '../core/taskTypes';
import type { AgentTasksContext, Services } from './context';
import { UserFacingError } from './errors';
import { formatAgo, plural } from './model/format';
import { Commands } from './model/ids';
import { isUnresolvedInterrupted, taskDescription, taskLabel } from './model/taskPresentation';
import { TaskNode } from './tasksView';

const PICK_LIMIT = 200;

/** The task an argument names: a tree node, a task id, or `{ taskId }` / `{ id }`. Read fresh from the store. */
export async function taskFromArg(services: Services, arg: unknown): Promise<TaskRow | undefined> {
  let id: string | undefined;
  if (arg instanceof TaskNode) id = arg.row.id;
  else if (typeof arg === 'string') id = arg;
  else if (typeof arg === 'object' && arg !== null) {
    const a = arg as { taskId?: unknown; id?: unknown };
    if (typeof a.taskId === 'string') id = a.taskId;
    else if (typeof a.id === 'string') id = a.id;
  }
  if (id === undefined) return undefined;
  const row = await services.store.getTask(id);
  if (!row) throw new UserFacingError(`Agent task ${id} is not in the task history.`);
  return row;
}

export type TaskPickKind = 'running' | 'interrupted' | 'finished' | 'any' | 'withSession';

interface TaskItem extends vscode.QuickPickItem {
  readonly row: TaskRow;
}

/** Asks for a task of a kind; tells the user when there is none. */
export async function pickTask(services: Services, kind: TaskPickKind, placeHolder: string): Promise<TaskRow | undefined> {
  const { store } = services;
  let rows: TaskRow[];
  switch (kind) {
    case 'running':
      rows = await store.listTasks({ status: LIVE_STATUSES, limit: PICK_LIMIT });
      break;
    case 'interrupted':
      rows = await store.listUnresolvedInterruptedTasks();
      break;
    case 'finished':
      rows = await store.listTasks({ limit: PICK_LIMIT });
      break;
    case 'any':
      rows = await store.listTasks({ includeRunning: true, limit: PICK_LIMIT });
      break;
    case 'withSession':
      rows = (await store.listTasks({ includeRunning: true, limit: PICK_LIMIT })).filter((r) => r.session_id);
      break;
  }
  if (rows.length === 0) {
    const none: Record<TaskPickKind, string> = {
      running: 'No agent tasks are running.',
      interrupted: 'No interrupted agent tasks are waiting for recovery.',
      finished: 'The agent task history is empty.',
      any: 'The agent task history is empty.',
      withSession: 'No agent task has a session ID yet.',
    };
    void vscode.window.showInformationMessage(none[kind]);
    return undefined;
  }
  const now = Date.now();
  const items: TaskItem[] = rows.map((row) => ({ row, label: taskLabel(row), description: taskDescription(row, now), detail: `${formatAgo(row.started_at, now)} · ${row.cwd}` }));
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true }))?.row;
}

/**
 * Cancel, whoever runs the task (this window's or another's supervisor, a terminal's `agent-tasks
 * run`): core's cancelRun asks its owner (through the journal, and a supervisor by SIGTERM) and
 * steps in only when the owner is provably dead. Resolves once the row has ended.
 */
async function cancelTask(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  const services = await ctx.services();
  const row = (await taskFromArg(services, arg)) ?? (await pickTask(services, 'running', 'Cancel which agent task?'));
  if (!row) return;
  if (!isLive(row.status)) {
    void vscode.window.showInformationMessage(`Agent task "${taskLabel(row)}" is not running (${row.status}).`);
    return;
  }
  ctx.log.info(`Cancelling task ${row.id} (owner pid ${row.owner_pid} on ${row.owner_host})`);
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Cancelling "${taskLabel(row)}"…` },
      () => cancelRun(services.store, row.id),
    );
    if (result.how === 'takeover') ctx.log.info(`Task ${row.id}: its owner was gone; ${result.row.error ?? 'recorded cancelled'}`);
  } catch (err) {
    if (err instanceof CancelRunError) throw new UserFacingError(`Could not cancel "${taskLabel(row)}": ${err.message}.`);
    throw err;
  }
}

async function dismissTask(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  const services = await ctx.services();
  const row = (await taskFromArg(services, arg)) ?? (await pickTask(services, 'interrupted', 'Dismiss which interrupted agent task?'));
  if (!row) return;
  if (!isUnresolvedInterrupted(row)) {
    void vscode.window.showInformationMessage(`Agent task "${taskLabel(row)}" is not waiting for recovery.`);
    return;
  }
  await services.store.resolveInterrupted(row.id, 'dismissed');
}

async function showOutput(ctx: AgentTasksContext, arg: unknown): Promise<void> {
  const services = await ctx.services();
  const row = (await taskFromArg(services, arg)) ?? (await pickTask(services, 'any', 'Show the output of which agent task?'));
  if (row) await ctx.outputView.show(row);
}

async function copySessionId(ctx: AgentTasksContext, arg: unknown): Promise<string | undefined> {
  const services = await ctx.services();
  const row = (await taskFromArg(services, arg)) ?? (await pickTask(services, 'withSession', 'Copy the session ID of which agent task?'));
  if (!row) return undefined;
  if (!row.session_id) throw new UserFacingError(`Agent task "${taskLabel(row)}" has no session ID.`);
  await vscode.env.clipboard.writeText(row.session_id);
  vscode.window.setStatusBarMessage(`Copied session ID ${row.session_id}`, 3_000);
  return row.session_id;
}

async function clearHistory(ctx: AgentTasksContext): Promise<void> {
  const services = await ctx.services();
  const { store } = services;
  if (store.readOnly) throw new UserFacingError('The task journal is read-only: its history cannot be cleared.');
  const finished = (await store.countTasks()) - (await store.listUnresolvedInterruptedTasks()).length;
  if (finished <= 0) {
    void vscode.window.showInformationMessage('The agent task history is already empty.');
    return;
  }
  const confirm = 'Clear History';
  const choice = await vscode.window.showWarningMessage(
    `Delete ${plural(finished, 'finished agent task')} and their output logs?`,
    { modal: true, detail: 'Running tasks and interrupted tasks waiting for recovery are kept. This cannot be undone.' },
    confirm,
  );
  if (choice !== confirm) return;
  const removed = await store.clearHistory();
  ctx.log.info(`Cleared ${removed} task(s) from the history.`);
}

async function refresh(ctx: AgentTasksContext): Promise<void> {
  const services = await ctx.services();
  await services.store.refresh();
  await ctx.tasksView.refresh();
}

export function registerTaskCommands(ctx: AgentTasksContext): vscode.Disposable[] {
  return [
    ctx.registerCommand(Commands.cancel, (arg) => cancelTask(ctx, arg)),
    ctx.registerCommand(Commands.dismiss, (arg) => dismissTask(ctx, arg)),
    ctx.registerCommand(Commands.showOutput, (arg) => showOutput(ctx, arg)),
    ctx.registerCommand(Commands.copySessionId, (arg) => copySessionId(ctx, arg)),
    ctx.registerCommand(Commands.clearHistory, () => clearHistory(ctx)),
    ctx.registerCommand(Commands.refresh, () => refresh(ctx)),
    ctx.registerCommand(Commands.showLog, () => ctx.log.show()),
  ];
}
