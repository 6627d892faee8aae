/**
 * Typed getters for the `agentTasks.*` settings. Values are read when needed (never cached), so
 * a settings change applies to the next run; listeners use `affects*` with
 * `onDidChangeConfiguration`. Parsing and validation live in ./model (plain Node, tested).
 */
import * as vscode from 'vscode';
import type { RetentionPolicy } from '../core/taskTypes';
import { resolveDefaultAgent, resolveProfiles, type LaunchSettings, type ProfileLayers, type ResolvedProfiles } from './model/agentProfiles';
import { mergeFolderProfiles, parseJsonc, settingFromFile } from './model/restrictedSettings';
import {
  AUTO_RESUME_SETTING,
  parseBoolean,
  parseOnWindowClose,
  parsePermissionTimeout,
  RESUME_AFTER_LIMIT_SETTING,
  SNAPSHOTS_SETTING,
  parseResumePrompt,
  parseRetention,
  STATUS_BAR_SETTING,
  type OnWindowClose,
  type Parsed,
} from './model/settings';

const SECTION = 'agentTasks';

function section(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** The setting per scope. Workspace scopes are read too: resolveProfiles decides (by trust) whether they count. */
function layers(key: string): ProfileLayers {
  const inspected = section().inspect<unknown>(key);
  return { user: inspected?.globalValue, workspace: inspected?.workspaceValue, workspaceFolder: inspected?.workspaceFolderValue };
}

/**
 * The agent profiles: built-ins, then user settings, then (only in a trusted workspace)
 * workspace settings. `agentTasks.agents` is a restricted setting: in Restricted Mode a
 * workspace cannot make this extension run a command.
 */
export function agentProfiles(): ResolvedProfiles {
  return resolveProfiles(layers('agents'), vscode.workspace.isTrusted);
}

/**
 * The profiles for the picker. In Restricted Mode VS Code hides the workspace values of
 * `agentTasks.agents`, so they are read from the workspace's settings files: only so that the
 * picker can list them as blocked and say why (resolveProfiles never runs a blocked profile).
 */
export async function agentProfilesForPicking(): Promise<ResolvedProfiles> {
  if (vscode.workspace.isTrusted) return agentProfiles();
  const read = async (uri: vscode.Uri): Promise<unknown> => {
    try {
      return parseJsonc(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
    } catch {
      return undefined;
    }
  };
  const key = `${SECTION}.agents`;
  const wsFile = vscode.workspace.workspaceFile;
  const workspace = wsFile?.scheme === 'file' ? settingFromFile(settingFromFile(await read(wsFile), 'settings'), key) : undefined;
  const folders = await Promise.all(
    (vscode.workspace.workspaceFolders ?? []).map(async (f) => settingFromFile(await read(vscode.Uri.joinPath(f.uri, '.vscode', 'settings.json')), key)),
  );
  return resolveProfiles({ ...layers('agents'), workspace, workspaceFolder: mergeFolderProfiles(folders) }, false);
}

export function defaultAgent(): string {
  return resolveDefaultAgent(layers('defaultAgent'), vscode.workspace.isTrusted);
}

export function retention(): Parsed<RetentionPolicy> {
  const c = section();
  return parseRetention({ maxAgeDays: c.get<unknown>('history.maxAgeDays'), maxEntries: c.get<unknown>('history.maxEntries') });
}

export function statusBarEnabled(): Parsed<boolean> {
  return parseBoolean(STATUS_BAR_SETTING, section().get<unknown>('statusBar.enabled'), true);
}

export function resumePrompt(): Parsed<string> {
  return parseResumePrompt(section().get<unknown>('resumePrompt'));
}

/**
 * Resume interrupted runs of this workspace at start-up without asking. Restricted: in Restricted
 * Mode only the user's own setting counts (a cloned folder must not make agents run by itself).
 */
export function autoResume(): Parsed<boolean> {
  const inspected = section().inspect<unknown>('autoResume');
  const raw = vscode.workspace.isTrusted ? section().get<unknown>('autoResume') : inspected?.globalValue;
  return parseBoolean(AUTO_RESUME_SETTING, raw, false);
}

/** How long an agent's request waits for an answer before it is denied, in ms (0: as long as the run lives). */
export function permissionTimeoutMs(): Parsed<number> {
  return parsePermissionTimeout(section().get<unknown>('permissions.timeoutMinutes'));
}

/** Wait out a usage limit and resume the session (default true). */
export function resumeAfterUsageLimit(): Parsed<boolean> {
  return parseBoolean(RESUME_AFTER_LIMIT_SETTING, section().get<unknown>('resumeAfterUsageLimit'), true);
}

/** Git snapshots of each run's work tree at its start and end (default true). */
export function snapshotsEnabled(): Parsed<boolean> {
  return parseBoolean(SNAPSHOTS_SETTING, section().get<unknown>('snapshots.enabled'), true);
}

/** The settings every profile run takes (model/agentProfiles.ts profileLaunch). */
export function launchSettings(): LaunchSettings {
  return {
    requestTimeoutMs: permissionTimeoutMs().value,
    resumePromptAfterLimit: resumeAfterUsageLimit().value ? resumePrompt().value : undefined,
  };
}

/** What closing a window does to the runs it started ("keepRunning", or "stop" unless a reload shows them again). */
export function onWindowClose(): Parsed<OnWindowClose> {
  return parseOnWindowClose(section().get<unknown>('onWindowClose'));
}

export function affectsProfiles(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.agents`) || e.affectsConfiguration(`${SECTION}.defaultAgent`);
}

export function affectsRetention(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.history`);
}

export function affectsStatusBar(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.statusBar`);
}
