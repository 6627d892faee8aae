/**
 * `agent-tasks run --agent NAME PROMPT`: a profile by name, as the editor runs it — the built-ins
 * and the user's `agentTasks.agents` from VS Code's user settings.json (JSON with comments).
 * Workspace settings are not read: a terminal is not a workspace, and a folder's settings must
 * not choose what runs.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { vscodeUserSettingsFile } from '../core/storeLocation';
import type { RunWorktree } from '../core/gitSnapshot';
import type { TaskSpec } from '../core/taskRunner';
import { createRunWorktree } from '../core/worktree';
import { passesSessionId, profileLaunch, resolveProfiles } from '../extension/model/agentProfiles';
import { parseJsonc, settingFromFile } from '../extension/model/restrictedSettings';
import { parseBoolean, parsePermissionTimeout, parseResumePrompt, PERMISSION_TIMEOUT_SETTING, RESUME_AFTER_LIMIT_SETTING } from '../extension/model/settings';
import { UsageError } from './argParser';
import { NAME_MAX_CHARS } from './format';
import { capChars } from '../core/outputParsers';

/** Overrides where the user settings are read from (VS Code Insiders, forks, portable mode, tests). */
export const SETTINGS_ENV = 'AGENT_TASKS_SETTINGS';

export interface ProfileRun {
  readonly spec: TaskSpec;
  /** Things worth saying on stderr (an unreadable settings file). */
  readonly warnings: string[];
}

/**
 * `worktree`: run in a new git worktree (true), in `cwd` itself (false), or as the profile says
 * (undefined: its `"worktree"` field). The worktree is made here, before the profile is
 * expanded: its folder is the run's cwd and its ${workspaceFolder}. `name`: the task's name
 * (default: the prompt's first line), which the worktree's branch is named after.
 */
export async function profileRunSpec(
  name: string,
  prompt: string,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  options: { worktree?: boolean; name?: string } = {},
): Promise<ProfileRun> {
  const warnings: string[] = [];
  const file = env[SETTINGS_ENV] || vscodeUserSettingsFile();
  let settings: unknown;
  try {
    const text = await fsp.readFile(file, 'utf8');
    settings = parseJsonc(text);
    if (settings === undefined && text.trim() !== '') warnings.push(`${file} could not be read as JSON with comments: only the built-in profiles are known`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`${file} could not be read (${(err as Error).message}): only the built-in profiles are known`);
  }
  const resolved = resolveProfiles({ user: settingFromFile(settings, 'agentTasks.agents') }, true);
  const entry = resolved.entries.find((e) => e.name === name);
  if (!entry) throw new UsageError(`no agent profile ${JSON.stringify(name)} (known: ${resolved.entries.map((e) => e.name).join(', ')}; yours are read from ${file})`, 'run');
  if (entry.kind !== 'ok') throw new UsageError(entry.problem, 'run');
  const timeout = parsePermissionTimeout(settingFromFile(settings, PERMISSION_TIMEOUT_SETTING));
  // As in the editor: a usage limit with a reset time is waited out, then the session continues.
  const waitOutLimits = parseBoolean(RESUME_AFTER_LIMIT_SETTING, settingFromFile(settings, RESUME_AFTER_LIMIT_SETTING), true);
  const followUp = parseResumePrompt(settingFromFile(settings, 'agentTasks.resumePrompt'));
  warnings.push(...timeout.problems, ...waitOutLimits.problems, ...followUp.problems);
  const profile = entry.profile;
  const taskId = randomUUID();
  const sessionId = randomUUID();
  const taskName = options.name ?? capChars(prompt.split('\n')[0].trim() || name, NAME_MAX_CHARS);
  const place = (options.worktree ?? profile.worktree === true) ? await newWorktree(cwd, taskName, taskId) : { cwd, worktree: undefined };
  const launch = profileLaunch(profile, 'start', { prompt, sessionId, workspaceFolder: place.cwd, taskId }, {
    requestTimeoutMs: timeout.value,
    resumePromptAfterLimit: waitOutLimits.value ? followUp.value : undefined,
  });
  return {
    warnings,
    spec: {
      id: taskId,
      name: taskName,
      agent: name,
      cwd: place.cwd,
      // The folder it was started from: a worktree run belongs with it (and its window).
      workspace: cwd,
      prompt,
      session_id: passesSessionId(profile, 'start') ? sessionId : null,
      ...launch,
      ...(place.worktree ? { worktree: place.worktree } : {}),
    },
  };
}

/** A run could not get the worktree it asked for: not a usage mistake, so exit code 1. */
export class WorktreeRefusedError extends Error {
  override readonly name = 'WorktreeRefusedError';
}

/** The worktree a run works in (`agent-tasks run --worktree`, or a profile's `"worktree": true`); throws WorktreeRefusedError saying why not. */
export async function newWorktree(cwd: string, taskName: string, taskId: string): Promise<{ cwd: string; worktree: RunWorktree }> {
  const created = await createRunWorktree({ cwd, name: taskName, taskId });
  if (!created.ok) throw new WorktreeRefusedError(`cannot run in a new worktree: ${created.reason}`);
  return { cwd: created.cwd, worktree: created.worktree };
}
