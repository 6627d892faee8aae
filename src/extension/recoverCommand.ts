/**
 * Recover Interrupted Task…: pick an interrupted task (with the last line of its output), then
 * Resume session, Restart from scratch, Open Log or Dismiss. The new run's parent_id points at
 * the interrupted row, which is then resolved. If the interrupted task's agent process outlived
 * its editor, the user is told and offered to stop it first: two agents must never work on one
 * session (or on one folder's files at once). Before Resume is offered, the agent's own store is
 * searched for the session (core/agentSessions.ts): a session it no longer has offers Restart,
 * with the reason, instead of a Resume that would fail at once.
 */
import * as vscode from 'vscode';
import { findAgentSession } from '../core/agentSessions';
import { hostName } from '../core/processIdentity';
import type { TaskRow } from '../core/taskTypes';
import * as config from './config';
import type { AgentTasksContext, Services } from './context';
import { UserFacingError } from './errors';
import { AGENTS_SETTING, usesPrompt } from './model/agentProfiles';
import { Commands } from './model/ids';
import { readTail } from './model/logDocument';
import {
  checkedResume,
  interruptedPickItem,
  lastReadableLine,
  planRerun,
  planResume,
  recoverActions,
  resumedTaskName,
  sessionQuery,
  type RecoverAction,
  type ResumePlan,
} from './model/recoverChoices';
import { isUnresolvedInterrupted, taskLabel } from './model/taskPresentation';
import { childOf, isProcessAlive, stopProcessTree } from '../core/processControl';
import { askForPrompt, continuedWorktree, findProfile } from './runCommand';
import { taskFromArg } from './taskCommands';

const TAIL_BYTES = 16 * 1024;
const ACTIONS: readonly RecoverAction[] = ['resume', 'resumeWithMessage', 'restart', 'openLog', 'dismiss'];

/** Arguments for scripts and tests: skip the pickers. */
interface RecoverArgs {
  taskId?: string;
  action?: RecoverAction;
  /** The follow-up prompt of a resumed session (default agentTasks.resumePrompt; asked for with resumeWithMessage). */
  prompt?: string;
  /** Stop a still-running agent without asking. */
  stopAgent?: boolean;
}

function parseRecoverArgs(arg: unknown): RecoverArgs {
  if (typeof arg !== 'object' || arg === null) return {};
  const a = arg as Record<string, unknown>;
  const action = a.action;
  if (action !== undefined && !ACTIONS.includes(action as RecoverAction)) {
    throw new UserFacingError(`agentTasks.recover: "action" must be one of ${ACTIONS.join(', ')}.`);
  }
  return {
    taskId: typeof a.taskId === 'string' ? a.taskId : undefined,
    action: action as RecoverAction | undefined,
    prompt: typeof a.prompt === 'string' ? a.prompt : undefined,
    stopAgent: a.stopAgent === true,
  };
}

interface InterruptedItem extends vscode.QuickPickItem {
  readonly row: TaskRow;
}

/** The picker's items, each with the last readable line of its log (tails read in parallel, bounded). */
async function interruptedItems(rows: readonly TaskRow[]): Promise<InterruptedItem[]> {
  const now = Date.now();
  return Promise.all(
    rows.map(async (row) => {
      let last: string | null = null;
      if (row.log_path) {
        const tail = await readTail(row.log_path, TAIL_BYTES).catch(() => null);
        if (tail) last = lastReadableLine(row.format, tail.text, tail.truncated);
      }
      return { row, ...interruptedPickItem(row, now, last) };
    }),
  );
}

async function pickInterrupted(services: Services): Promise<TaskRow | undefined> {
  const rows = await services.store.listUnresolvedInterruptedTasks();
  if (rows.length === 0) {
    void vscode.window.showInformationMessage('No interrupted agent tasks are waiting for recovery.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(interruptedItems(rows), {
    title: 'Recover Interrupted Task',
    placeHolder: 'Which interrupted agent task?',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.row;
}

/**
 * True when no agent of this task runs any more (or the user had it stopped). A process whose
 * pid now belongs to another program (start time differs) counts as gone.
 */
async function ensureAgentStopped(ctx: AgentTasksContext, row: TaskRow, what: string, stopWithoutAsking: boolean): Promise<boolean> {
  if (row.child_pid === null) return true;
  const label = taskLabel(row);
  if (row.owner_host !== hostName()) {
    const go = 'Continue Anyway';
    const choice = await vscode.window.showWarningMessage(
      `Agent task "${label}" ran on another machine (${row.owner_host}); its agent may still be running there.`,
      { modal: true, detail: `Make sure it stopped before ${what}: two agents must not work on one session.` },
      go,
    );
    return choice === go;
  }
  if (!(await isProcessAlive(childOf(row, row.child_pid)))) return true;
  const stop = 'Stop Agent and Continue';
  if (!stopWithoutAsking) {
    const choice = await vscode.window.showWarningMessage(
      `The agent of "${label}" is still running (pid ${row.child_pid}): its VS Code window stopped, but the agent did not.`,
      { modal: true, detail: `Stop it before ${what}? Two agents must not work on one session. You can also open its log first and decide later.` },
      stop,
      'Open Log',
    );
    if (choice === 'Open Log') await vscode.commands.executeCommand(Commands.showOutput, row.id);
    if (choice !== stop) return false;
  }
  const pid = row.child_pid;
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Stopping the agent of "${label}" (pid ${pid})…` },
    () => stopProcessTree(childOf(row, pid)),
  );
  ctx.log.info(`Stopping agent pid ${pid} of task ${row.id}: ${outcome}`);
  if (outcome === 'still-alive') throw new UserFacingError(`The agent process ${pid} of "${label}" did not stop; the task was not ${what === 'resuming it' ? 'resumed' : 'restarted'}.`);
  return true;
}

/**
 * Resume, once the agent's session was looked for where the agent keeps it, in the environment
 * the resumed run would get (process.env and the profile's env: nothing of it is journaled).
 */
async function withSessionChecked(ctx: AgentTasksContext, row: TaskRow, resume: ResumePlan): Promise<ResumePlan> {
  const query = sessionQuery(row, resume, process.env);
  if (query === null) return resume;
  const check = await findAgentSession(query);
  if (check.state === 'found') ctx.log.debug(`Task ${row.id}: session ${query.sessionId} is in ${check.path}`);
  else if (check.state === 'missing') ctx.log.info(`Task ${row.id}: ${check.reason} Resume is not offered.`);
  else if (check.detail !== undefined) ctx.log.info(`Task ${row.id}: could not tell whether session ${query.sessionId} exists (${check.detail}); Resume is offered.`);
  return checkedResume(resume, check);
}

/** Agent Tasks: Recover Interrupted Task… Returns the new task's id when a run started. */
async function recover(ctx: AgentTasksContext, arg: unknown): Promise<string | undefined> {
  const services = await ctx.services();
  const args = parseRecoverArgs(arg);
  const row = (await taskFromArg(services, args.taskId ?? arg)) ?? (await pickInterrupted(services));
  if (!row) return undefined;
  if (!isUnresolvedInterrupted(row)) {
    void vscode.window.showInformationMessage(
      row.status === 'interrupted' ? `Agent task "${taskLabel(row)}" was already recovered (${row.resolution}).` : `Agent task "${taskLabel(row)}" was not interrupted (${row.status}).`,
    );
    return undefined;
  }
  const entry = findProfile(config.agentProfiles(), row.agent);
  let resume = planResume(row, entry);
  const rerun = planRerun(row, entry);
  let action = args.action;
  if (action === undefined || action === 'resume' || action === 'resumeWithMessage') resume = await withSessionChecked(ctx, row, resume);
  const resumePrompt = config.resumePrompt();
  for (const problem of resumePrompt.problems) void ctx.showSettingWarning(problem, 'agentTasks.resumePrompt');
  const { items, notes } = recoverActions(row, resume, rerun, resumePrompt.value);
  if (action === undefined) {
    const picked = await vscode.window.showQuickPick(
      items.map((item) => ({ label: item.label, detail: item.detail, action: item.action })),
      { title: `Recover "${taskLabel(row)}"`, placeHolder: notes.length > 0 ? notes.join(' ') : 'Resume the session, restart from scratch, open its log, or dismiss it' },
    );
    action = picked?.action;
  }
  if (action === undefined) return undefined;

  switch (action) {
    case 'openLog':
      await ctx.outputView.show(row);
      return undefined;
    case 'dismiss':
      await services.store.resolveInterrupted(row.id, 'dismissed');
      return undefined;
    case 'resume':
    case 'resumeWithMessage': {
      if (resume.kind === 'impossible') throw new UserFacingError(resume.reason, resume.sessionMissing ? undefined : AGENTS_SETTING);
      if (!(await ensureAgentStopped(ctx, row, 'resuming it', args.stopAgent === true))) return undefined;
      if (await services.store.hasInFlightTask({ sessionId: resume.sessionId })) {
        throw new UserFacingError(`Session ${resume.sessionId} is already running in another task: two agents must not work on one session.`);
      }
      let prompt: string | null = null;
      if (usesPrompt(resume.profile, 'resume')) {
        prompt =
          args.prompt ??
          (action === 'resume'
            ? resumePrompt.value
            : await askForPrompt({
                title: `Resume "${taskLabel(row)}"`,
                prompt: `What should ${resume.profile.name} do in the resumed session?`,
                value: resumePrompt.value,
              }));
        if (prompt === null) return undefined;
      }
      const running = await ctx.launcher.launch(services, {
        mode: 'resume',
        plan: { kind: 'profile', profile: resume.profile },
        agent: row.agent,
        prompt,
        cwd: row.cwd,
        workspace: row.workspace,
        parentId: row.id,
        sessionId: resume.sessionId,
        name: resumedTaskName(row.name),
        // In its worktree, where its session's work is; the new row records it too (Apply, Remove).
        ...continuedWorktree(row),
      });
      await services.store.resolveInterrupted(row.id, 'resumed');
      return running.id;
    }
    case 'restart': {
      if (rerun.kind === 'impossible') throw new UserFacingError(rerun.reason, AGENTS_SETTING);
      if (!(await ensureAgentStopped(ctx, row, 'restarting it', args.stopAgent === true))) return undefined;
      const running = await ctx.launcher.launch(services, {
        mode: 'start',
        plan: rerun,
        agent: row.agent,
        prompt: row.prompt,
        cwd: row.cwd,
        workspace: row.workspace,
        parentId: row.id,
        ...continuedWorktree(row),
      });
      await services.store.resolveInterrupted(row.id, 'restarted');
      return running.id;
    }
  }
}

/**
 * One-click Resume (the interrupted-task notification, agentTasks.autoResume): each row's session
 * continues with agentTasks.resumePrompt, its orphaned agent stopped first without a question.
 * With several rows and `pick`, one multi-select QuickPick (all selected) chooses which. Returns
 * the new tasks' ids; a row that cannot be resumed is reported and the others go on.
 */
export async function resumeInterrupted(ctx: AgentTasksContext, rows: readonly TaskRow[], options: { pick: boolean }): Promise<string[]> {
  let chosen = rows;
  if (options.pick && rows.length > 1) {
    const items = (await interruptedItems(rows)).map((item) => ({ ...item, picked: true }));
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Resume Interrupted Tasks',
      placeHolder: 'Which sessions should continue? (Enter resumes the selected ones)',
      canPickMany: true,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!picked) return [];
    chosen = picked.map((p) => p.row);
  }
  const started: string[] = [];
  for (const row of chosen) {
    try {
      const id = await recover(ctx, { taskId: row.id, action: 'resume', stopAgent: true });
      if (id) started.push(id);
    } catch (err) {
      void ctx.showError(err);
    }
  }
  return started;
}

export function registerRecoverCommand(ctx: AgentTasksContext): vscode.Disposable[] {
  return [ctx.registerCommand(Commands.recover, (arg) => recover(ctx, arg))];
}
