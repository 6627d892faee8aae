/**
 * Run Agent Task… and Run Again, plus the launcher that Recover uses too. A run is: pick a
 * profile, pick the folder, type the prompt, expand the profile (model/agentProfiles.ts) with a
 * fresh task id and session id, and hand the spec to a new supervisor process (core/supervisor.ts),
 * which owns the run: it journals the row before it spawns anything, and outlives this window. When a run cannot even start (a malformed profile, a refused spec) the
 * attempt is still journaled, as a `failed` row that says why.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { RESTRICTED_MODE_NO_GIT, SNAPSHOTS_OFF, type RunWorktree } from '../core/gitSnapshot';
import { sessionTakenMessage } from '../core/journalOps';
import type { SupervisedRun } from '../core/supervisedRuns';
import { SupervisorLaunchError } from '../core/supervisorLaunch';
import { ReadOnlyStoreError, SessionTakenError, type TaskStore } from '../core/taskStore';
import { TaskSpecError, toNewTask, type TaskSpec } from '../core/taskRunner';
import type { OutputFormat, TaskRow } from '../core/taskTypes';
import { createRunWorktree, discardRunWorktree, mainFolderFor, worktreeFolderFor, worktreeSource } from '../core/worktree';
import * as config from './config';
import type { AgentTasksContext, Services } from './context';
import { UserFacingError } from './errors';
import {
  AGENTS_SETTING,
  profileLaunch,
  orderForPicking,
  passesSessionId,
  profileCommandPreview,
  profileSettingPath,
  usesPrompt,
  type AgentProfile,
  type ProfileEntry,
  type ResolvedProfiles,
  type RunMode,
} from './model/agentProfiles';
import { displayCommandLine, firstLine, sentence } from './model/format';
import { finishNotice, OPEN_AGENT_SETTINGS, OPEN_SETTINGS, SHOW_OUTPUT } from './model/finishNotice';
import { Commands } from './model/ids';
import { isUnresolvedInterrupted } from './model/taskPresentation';
import { planRerun } from './model/recoverChoices';
import { decidePlace, placeWording, type RunPlace } from './model/runPlace';
import { pickTask, taskFromArg } from './taskCommands';

const NAME_MAX_CHARS = 80;

/** Arguments of `agentTasks.run` for scripts and tests: each one given skips its question. */
export interface RunArgs {
  agent?: string;
  prompt?: string;
  cwd?: string;
  /** In a new worktree (true) or in the folder (false); absent: asked, defaulting to the profile's `worktree`. */
  worktree?: boolean;
}

export interface LaunchRequest {
  readonly mode: RunMode;
  readonly plan:
    | { readonly kind: 'profile'; readonly profile: AgentProfile }
    | { readonly kind: 'verbatim'; readonly command: string; readonly args: readonly string[]; readonly format: OutputFormat; readonly stdin?: string | null };
  readonly agent: string | null;
  readonly prompt: string | null;
  readonly cwd: string;
  readonly workspace: string | null;
  /** The row this run continues or repeats. */
  readonly parentId?: string | null;
  /** Resume: the session to continue (else a fresh one). */
  readonly sessionId?: string;
  /** The task's name, when not the first line of its prompt (a resumed run keeps the original's). */
  readonly name?: string;
  /**
   * `'new'`: the run gets a new git worktree of `cwd`'s repository and works in it ("in a new
   * worktree"). A RunWorktree: it continues in that one (a resumed or restarted worktree run;
   * `cwd` is inside it). Absent: it works in `cwd`.
   */
  readonly worktree?: 'new' | RunWorktree;
}

/** What a failed attempt's row records. */
interface AttemptFields {
  readonly name: string;
  readonly agent: string | null;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly workspace: string | null;
  readonly prompt: string | null;
  readonly format: OutputFormat;
  readonly parentId?: string | null;
}

export class TaskLauncher {
  constructor(private readonly ctx: AgentTasksContext) {}

  /**
   * Starts a run under its own supervisor process. Resolves once the supervisor journaled the
   * start; the outcome is announced when the store shows it ended (if this window is still open).
   * Throws a UserFacingError when the run could not be started; the attempt is journaled first.
   */
  async launch(services: Services, req: LaunchRequest): Promise<SupervisedRun> {
    ensureWritable(services.store);
    const taskId = randomUUID();
    const sessionId = req.sessionId ?? randomUUID();
    const place = await this.placeRun(services, req, taskId);
    const cwd = place.cwd;
    let spec: TaskSpec;
    if (req.plan.kind === 'profile') {
      const profile = req.plan.profile;
      // In a worktree, ${workspaceFolder} is the worktree's copy of the workspace folder: the agent must not be pointed at the user's files.
      const workspaceFolder = place.worktree ? (req.workspace === null || req.workspace === req.cwd ? cwd : worktreeFolderFor(place.worktree, req.workspace)) : req.workspace ?? req.cwd;
      const launch = profileLaunch(profile, req.mode, { prompt: req.prompt, sessionId, workspaceFolder, taskId }, config.launchSettings());
      spec = {
        id: taskId,
        name: req.name ?? taskName(req.prompt, profile.name, launch.command, launch.args),
        agent: req.agent,
        cwd,
        workspace: req.workspace,
        prompt: req.prompt,
        // Journaled from the first moment when the agent is told to use it; else learned from its output.
        session_id: req.mode === 'resume' || passesSessionId(profile, req.mode) ? sessionId : null,
        parent_id: req.parentId ?? null,
        ...launch,
        // Checked again in the journal right before the spawn: two windows must never both resume one session.
        exclusiveSession: req.mode === 'resume',
      };
    } else {
      spec = {
        id: taskId,
        name: req.name ?? taskName(req.prompt, req.agent, req.plan.command, req.plan.args),
        agent: req.agent,
        command: req.plan.command,
        args: [...req.plan.args],
        cwd,
        workspace: req.workspace,
        prompt: req.prompt,
        format: req.plan.format,
        session_id: null,
        parent_id: req.parentId ?? null,
        ...(req.plan.stdin !== undefined && req.plan.stdin !== null ? { stdin: req.plan.stdin } : {}),
      };
    }
    // A repository's config can run commands (core.fsmonitor): no git in Restricted Mode.
    if (!vscode.workspace.isTrusted) spec.snapshots = { take: false, reason: RESTRICTED_MODE_NO_GIT };
    else if (!config.snapshotsEnabled().value) spec.snapshots = { take: false, reason: SNAPSHOTS_OFF };
    if (place.worktree) spec.worktree = place.worktree;
    let running: SupervisedRun;
    try {
      // Refused here, before any process starts, and journaled as a failed attempt.
      toNewTask(spec);
      if (spec.exclusiveSession && spec.session_id && (await services.store.hasInFlightTask({ sessionId: spec.session_id }))) {
        throw new SessionTakenError(sessionTakenMessage(spec.session_id));
      }
      running = await services.runs.start(spec);
    } catch (err) {
      // A worktree made for this run, which never started: nothing is in it yet.
      if (place.made && place.worktree) {
        const dropped = await discardRunWorktree(place.worktree).catch((e: unknown) => ({ ok: false as const, reason: String(e) }));
        if (!dropped.ok) this.ctx.log.warn(`Could not remove the unused worktree ${place.worktree.path}: ${dropped.reason}`);
      }
      if (err instanceof SessionTakenError) throw new UserFacingError(`Could not resume "${spec.name}": ${err.message}`);
      if (err instanceof TaskSpecError || err instanceof SupervisorLaunchError) {
        await this.recordFailedAttempt(services.store, { ...spec, format: spec.format ?? 'text', agent: spec.agent ?? null, prompt: spec.prompt ?? null, workspace: spec.workspace ?? null, parentId: spec.parent_id }, err.message);
        // A session another window's supervisor took first: the supervisor's answer says so.
        if (err instanceof SupervisorLaunchError && err.message.includes('two agents must not work on one session')) {
          throw new UserFacingError(`Could not resume "${spec.name}": ${err.message}`);
        }
        const where = err instanceof TaskSpecError && req.plan.kind === 'profile' ? ` (${profileSettingPath(req.plan.profile.name)})` : '';
        throw new UserFacingError(`Could not run "${spec.name}": ${sentence(err.message + where)}`, err instanceof TaskSpecError && req.plan.kind === 'profile' ? AGENTS_SETTING : undefined);
      }
      if (err instanceof ReadOnlyStoreError) throw new UserFacingError(err.message);
      throw err;
    }
    this.ctx.log.info(
      `Started task ${running.id} under supervisor pid ${running.pid}: ${displayCommandLine(spec.command, spec.args.map((a) => (a === spec.prompt ? '<prompt>' : a)))} in ${spec.cwd}`,
    );
    void running.done.then(
      (row) => (this.ctx.isShuttingDown ? undefined : this.announce(row, req)),
      (err: unknown) => this.ctx.log.error(`Could not learn how task ${running.id} ended:`, err),
    );
    return running;
  }

  /**
   * Where the run works: `req.cwd`; or a new worktree made for it now (its branch is named after
   * the task's id); or the worktree it continues, which must still be there. Refusals are journaled
   * as failed attempts, as any run that could not start.
   */
  private async placeRun(services: Services, req: LaunchRequest, taskId: string): Promise<{ cwd: string; worktree?: RunWorktree; made: boolean }> {
    if (req.worktree === undefined) return { cwd: req.cwd, made: false };
    const label = req.name ?? (firstLine(req.prompt) || req.agent || 'run');
    const refuse = async (reason: string): Promise<never> => {
      const plan = req.plan;
      const command = plan.kind === 'profile' ? plan.profile.command : plan.command;
      const format = plan.kind === 'profile' ? plan.profile.format : plan.format;
      await this.recordFailedAttempt(services.store, { name: label, agent: req.agent, command, args: [], cwd: req.cwd, workspace: req.workspace, prompt: req.prompt, format, parentId: req.parentId }, reason);
      throw new UserFacingError(`Could not run "${label}": ${sentence(reason)}`);
    };
    if (req.worktree !== 'new') {
      const exists = await fsp.stat(req.cwd).then((s) => s.isDirectory(), () => false);
      if (!exists) return refuse(`its worktree ${req.worktree.path} (branch ${req.worktree.branch}) was removed`);
      return { cwd: req.cwd, worktree: req.worktree, made: false };
    }
    // git runs hooks on checkout: never in Restricted Mode (the Run command does not offer it there).
    if (!vscode.workspace.isTrusted) return refuse('running in a new worktree needs git, which does not run in Restricted Mode');
    const created = await createRunWorktree({ cwd: req.cwd, name: label, taskId });
    if (!created.ok) return refuse(`no new worktree: ${created.reason}`);
    this.ctx.log.info(`Task ${taskId} works in a new worktree: ${created.worktree.path} on branch ${created.worktree.branch} (from ${created.worktree.base.slice(0, 7)})`);
    return { cwd: created.cwd, worktree: created.worktree, made: true };
  }

  /** Journals a run that could not start (malformed profile, refused spec): it shows in History, failed, with the reason. */
  async recordFailedAttempt(store: TaskStore, fields: AttemptFields, error: string): Promise<void> {
    const id = randomUUID();
    try {
      await store.finishTask(
        id,
        { status: 'failed', error, exit_code: null, signal: null },
        {
          id,
          name: fields.name,
          agent: fields.agent,
          command: fields.command,
          args: [...fields.args],
          cwd: fields.cwd,
          workspace: fields.workspace,
          prompt: fields.prompt,
          format: fields.format,
          parent_id: fields.parentId ?? null,
        },
      );
    } catch (err) {
      this.ctx.log.warn(`Could not journal the failed attempt "${fields.name}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Tells the user how a run of this window ended (not when it was cancelled or the window is closing). */
  private async announce(row: TaskRow, req: LaunchRequest): Promise<void> {
    // No child pid: the command never ran (not found, not executable, missing folder).
    const notStarted = row.status === 'failed' && row.child_pid === null && req.plan.kind === 'profile';
    const notice = finishNotice(row, notStarted && req.plan.kind === 'profile' ? profileSettingPath(req.plan.profile.name, 'command') : undefined);
    if (notice === undefined) return;
    const choice =
      notice.severity === 'error'
        ? await vscode.window.showErrorMessage(notice.message, ...notice.buttons)
        : notice.severity === 'warning'
          ? await vscode.window.showWarningMessage(notice.message, ...notice.buttons)
          : await vscode.window.showInformationMessage(notice.message, ...notice.buttons);
    if (choice === OPEN_SETTINGS || choice === OPEN_AGENT_SETTINGS) await vscode.commands.executeCommand('workbench.action.openSettings', AGENTS_SETTING);
    if (choice === SHOW_OUTPUT) await vscode.commands.executeCommand(Commands.showOutput, row.id);
  }
}

export function ensureWritable(store: TaskStore): void {
  if (store.readOnly) {
    const reason = store.notices[store.notices.length - 1] ?? 'The task journal is read-only.';
    throw new UserFacingError(`Agent Tasks cannot run tasks now. ${reason}`);
  }
}

/** Asks for what the agent should do; null when the user cancels. */
export async function askForPrompt(options: { title: string; prompt: string; placeHolder?: string; value?: string }): Promise<string | null> {
  const text = await vscode.window.showInputBox({
    ...options,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'Type what the agent should do.' : undefined),
  });
  return text ?? null;
}

/** A task's name: the first line of its prompt, else "agent: command line". */
function taskName(prompt: string | null, agent: string | null, command: string, args: readonly string[]): string {
  const text = firstLine(prompt) || `${agent ? `${agent}: ` : ''}${displayCommandLine(command, args)}`;
  return text.length <= NAME_MAX_CHARS ? text : `${text.slice(0, NAME_MAX_CHARS - 1)}…`;
}

export function findProfile(resolved: ResolvedProfiles, name: string | null): ProfileEntry | undefined {
  return name === null ? undefined : resolved.entries.find((e) => e.name === name);
}

/** The folder a run uses: the given one, the only workspace folder, a picked one, or (no folder open) the home folder. */
async function chooseFolder(cwd: string | undefined): Promise<{ cwd: string; workspace: string | null; label: string } | undefined> {
  if (cwd !== undefined) {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(cwd));
    return { cwd, workspace: folder?.uri.fsPath ?? null, label: cwd };
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) return { cwd: os.homedir(), workspace: null, label: 'your home folder (no folder is open)' };
  const folder = folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Run the agent in which folder?', ignoreFocusOut: true });
  if (!folder) return undefined;
  if (folder.uri.scheme !== 'file') throw new UserFacingError(`Agent Tasks runs agents in folders on disk; "${folder.name}" is not one (${folder.uri.scheme}:).`);
  return { cwd: folder.uri.fsPath, workspace: folder.uri.fsPath, label: folder.name };
}

/** The folder for a failed attempt's row: no question asked. */
function defaultFolder(cwd: string | undefined): { cwd: string; workspace: string | null } {
  if (cwd !== undefined) return { cwd, workspace: null };
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? { cwd: folder.uri.fsPath, workspace: folder.uri.fsPath } : { cwd: os.homedir(), workspace: null };
}

interface ProfileItem extends vscode.QuickPickItem {
  readonly entry: ProfileEntry;
}

async function pickProfile(resolved: ResolvedProfiles, defaultAgent: string): Promise<ProfileEntry | undefined> {
  const items: ProfileItem[] = orderForPicking(resolved.entries, defaultAgent).map((entry) => {
    const isDefault = entry.name === defaultAgent;
    switch (entry.kind) {
      case 'ok':
        return {
          entry,
          label: entry.name,
          description: `${isDefault ? 'default · ' : ''}${entry.source === 'built-in' ? 'built-in' : `from ${entry.source} settings`}`,
          detail: profileCommandPreview(entry.profile),
        };
      case 'invalid':
        return { entry, label: entry.name, description: '$(error) invalid profile', detail: entry.problem };
      case 'blocked':
        return { entry, label: entry.name, description: '$(workspace-untrusted) workspace setting, not used in Restricted Mode', detail: 'Defined by this workspace, which is not trusted' };
    }
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Run Agent Task',
    placeHolder: `Choose an agent (profiles come from ${AGENTS_SETTING})`,
    matchOnDetail: true,
    ignoreFocusOut: true,
  });
  return picked?.entry;
}

function parseRunArgs(arg: unknown): RunArgs {
  if (typeof arg !== 'object' || arg === null) return {};
  const a = arg as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const value = a[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new UserFacingError(`agentTasks.run: the "${key}" argument must be a string.`);
    return value;
  };
  const worktree = a.worktree;
  if (worktree !== undefined && typeof worktree !== 'boolean') throw new UserFacingError('agentTasks.run: the "worktree" argument must be true or false.');
  return { agent: text('agent'), prompt: text('prompt'), cwd: text('cwd'), worktree };
}

/**
 * Where the run works: in the folder, or in a new worktree of it; `offer` when both are possible
 * (a trusted workspace, a folder in a repository with a commit), starting from the profile's
 * `"worktree"`, and the prompt box lets the user switch. Undefined when the user cancels.
 */
async function choosePlace(profile: AgentProfile, folder: { cwd: string; label: string }, requested: boolean | undefined): Promise<{ place: RunPlace; offer: boolean } | undefined> {
  const trusted = vscode.workspace.isTrusted;
  // git only where it may run, and only when the answer can matter.
  const source = trusted && requested !== false ? await worktreeSource(folder.cwd) : null;
  const decision = decidePlace({ requested, profileName: profile.name, profileWorktree: profile.worktree === true, trusted, source });
  switch (decision.kind) {
    case 'use':
      return { place: decision.place, offer: false };
    case 'refuse':
      throw new UserFacingError(decision.reason);
    case 'confirmFolder': {
      const RUN_HERE = 'Run in This Folder';
      return (await vscode.window.showWarningMessage(decision.message, RUN_HERE)) === RUN_HERE ? { place: 'folder', offer: false } : undefined;
    }
    case 'offer':
      return { place: decision.preferred, offer: true };
  }
}

/**
 * The prompt, and where the run works: when both places are possible, a button on the prompt box
 * switches between them (its tooltip says to which; the box's line says where the run goes now).
 * Null when the user cancels.
 */
function askForPromptAndPlace(title: string, profileName: string, folderLabel: string, start: { place: RunPlace; offer: boolean }): Promise<{ prompt: string; place: RunPlace } | null> {
  if (!start.offer) {
    return askForPrompt({ title, prompt: placeWording(start.place, profileName, folderLabel).prompt, placeHolder: 'Describe the task' }).then((prompt) => (prompt === null ? null : { prompt, place: start.place }));
  }
  return new Promise((resolve) => {
    const input = vscode.window.createInputBox();
    let place = start.place;
    const show = (): void => {
      const wording = placeWording(place, profileName, folderLabel);
      input.prompt = wording.prompt;
      input.buttons = [{ iconPath: new vscode.ThemeIcon(place === 'worktree' ? 'folder' : 'git-branch'), tooltip: wording.toggle }];
    };
    let settled = false;
    const settle = (answer: { prompt: string; place: RunPlace } | null): void => {
      if (settled) return;
      settled = true;
      input.dispose();
      resolve(answer);
    };
    input.title = title;
    input.placeholder = 'Describe the task';
    input.ignoreFocusOut = true;
    show();
    input.onDidTriggerButton(() => {
      place = place === 'worktree' ? 'folder' : 'worktree';
      show();
    });
    input.onDidChangeValue(() => (input.validationMessage = undefined));
    input.onDidAccept(() => {
      if (input.value.trim() === '') input.validationMessage = 'Type what the agent should do.';
      else settle({ prompt: input.value, place });
    });
    input.onDidHide(() => settle(null));
    input.show();
  });
}

/** Agent Tasks: Run Agent Task… Returns the new task's id (for scripts and tests), or undefined when cancelled. */
async function runAgentTask(ctx: AgentTasksContext, arg: unknown): Promise<string | undefined> {
  const args = parseRunArgs(arg);
  const services = await ctx.services();
  ensureWritable(services.store);
  const resolved = await config.agentProfilesForPicking();
  for (const problem of resolved.problems) void ctx.showSettingWarning(problem, AGENTS_SETTING);

  let entry: ProfileEntry | undefined;
  if (args.agent !== undefined) {
    entry = findProfile(resolved, args.agent);
    if (!entry) {
      const where = defaultFolder(args.cwd);
      const problem = `No agent profile "${args.agent}" is defined: add it to ${AGENTS_SETTING} (${profileSettingPath(args.agent)}).`;
      await ctx.launcher.recordFailedAttempt(services.store, { name: `${args.agent}: unknown agent profile`, agent: args.agent, command: '', args: [], ...where, prompt: args.prompt ?? null, format: 'text' }, problem);
      throw new UserFacingError(problem, AGENTS_SETTING);
    }
  } else {
    entry = await pickProfile(resolved, config.defaultAgent());
    if (!entry) return undefined;
  }

  if (entry.kind === 'blocked') {
    ctx.log.warn(entry.problem);
    void vscode.window.showWarningMessage(entry.problem, 'Manage Workspace Trust').then((choice) => {
      if (choice === 'Manage Workspace Trust') void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return undefined;
  }
  if (entry.kind === 'invalid') {
    const where = defaultFolder(args.cwd);
    await ctx.launcher.recordFailedAttempt(
      services.store,
      { name: `${entry.name}: invalid agent profile`, agent: entry.name, command: entry.command ?? '', args: [], ...where, prompt: args.prompt ?? null, format: entry.format },
      entry.problem,
    );
    throw new UserFacingError(entry.problem, AGENTS_SETTING);
  }

  const profile = entry.profile;
  const folder = await chooseFolder(args.cwd);
  if (!folder) return undefined;
  const start = await choosePlace(profile, folder, args.worktree);
  if (!start) return undefined;
  let place = start.place;
  let prompt: string | null = null;
  if (usesPrompt(profile)) {
    if (args.prompt !== undefined) {
      prompt = args.prompt;
    } else {
      const answer = await askForPromptAndPlace(`Run Agent Task: ${profile.name}`, profile.name, folder.label, start);
      if (answer === null) return undefined;
      ({ prompt, place } = answer);
    }
  }
  const running = await ctx.launcher.launch(services, {
    mode: 'start',
    plan: { kind: 'profile', profile },
    agent: profile.name,
    prompt,
    cwd: folder.cwd,
    workspace: folder.workspace,
    ...(place === 'worktree' ? { worktree: 'new' as const } : {}),
  });
  return running.id;
}

/** Agent Tasks: Run Again — the same prompt in the same folder, in a new session. */
async function rerunTask(ctx: AgentTasksContext, arg: unknown): Promise<string | undefined> {
  const services = await ctx.services();
  const row = (await taskFromArg(services, arg)) ?? (await pickTask(services, 'finished', 'Run which task again?'));
  if (!row) return undefined;
  // An interrupted task waiting for recovery is restarted through Recover (it checks its agent is gone, and resolves it).
  if (isUnresolvedInterrupted(row)) return vscode.commands.executeCommand<string | undefined>(Commands.recover, { taskId: row.id, action: 'restart' });
  const plan = planRerun(row, findProfile(config.agentProfiles(), row.agent));
  if (plan.kind === 'impossible') throw new UserFacingError(plan.reason, AGENTS_SETTING);
  // A worktree run runs again in a new worktree, from the same place in the main work tree: the old one holds the old run's work.
  const worktree = row.git?.worktree;
  const running = await ctx.launcher.launch(services, {
    mode: 'start',
    plan,
    agent: row.agent,
    prompt: row.prompt,
    cwd: worktree ? mainFolderFor(worktree, row.cwd) : row.cwd,
    workspace: row.workspace,
    parentId: row.id,
    ...(worktree ? { worktree: 'new' as const } : {}),
  });
  return running.id;
}

/** The worktree an interrupted run continues in when resumed or restarted (its cwd is in it): recorded on the new row too. */
export function continuedWorktree(row: TaskRow): { worktree?: RunWorktree } {
  return row.git?.worktree ? { worktree: row.git.worktree } : {};
}

export function registerRunCommands(ctx: AgentTasksContext): vscode.Disposable[] {
  return [ctx.registerCommand(Commands.run, (arg) => runAgentTask(ctx, arg)), ctx.registerCommand(Commands.rerun, (arg) => rerunTask(ctx, arg))];
}
