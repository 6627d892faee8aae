/**
 * Parsing of the scalar settings, so that a malformed value (a string where a number belongs,
 * a negative count) falls back to the default with a message naming the setting, never a crash.
 * No `vscode` import: config.ts hands the raw values over.
 */
import { DEFAULT_RETENTION, type RetentionPolicy } from '../../core/taskTypes';

export const MAX_AGE_SETTING = 'agentTasks.history.maxAgeDays';
export const MAX_ENTRIES_SETTING = 'agentTasks.history.maxEntries';
export const STATUS_BAR_SETTING = 'agentTasks.statusBar.enabled';
export const RESUME_PROMPT_SETTING = 'agentTasks.resumePrompt';
export const AUTO_RESUME_SETTING = 'agentTasks.autoResume';
export const ON_WINDOW_CLOSE_SETTING = 'agentTasks.onWindowClose';
export type OnWindowClose = 'keepRunning' | 'stop';
export const PERMISSION_TIMEOUT_SETTING = 'agentTasks.permissions.timeoutMinutes';
export const RESUME_AFTER_LIMIT_SETTING = 'agentTasks.resumeAfterUsageLimit';
export const SNAPSHOTS_SETTING = 'agentTasks.snapshots.enabled';
/** What a resumed session is told when the user did not type a message (agentTasks.resumePrompt's default). */
export const DEFAULT_RESUME_PROMPT = 'You were interrupted. Continue where you left off.';
const RESUME_PROMPT_MAX_CHARS = 10_000;

export interface Parsed<T> {
  readonly value: T;
  /** Each names its setting; empty when the value was fine. */
  readonly problems: readonly string[];
}

function countSetting(setting: string, raw: unknown, fallback: number, problems: string[]): number {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  problems.push(`${setting} must be a whole number ≥ 0 (0 keeps everything), not ${JSON.stringify(raw)}; using ${fallback}.`);
  return fallback;
}

export function parseRetention(raw: { maxAgeDays?: unknown; maxEntries?: unknown }): Parsed<RetentionPolicy> {
  const problems: string[] = [];
  const maxAgeDays = countSetting(MAX_AGE_SETTING, raw.maxAgeDays, DEFAULT_RETENTION.maxAgeDays, problems);
  const maxRows = countSetting(MAX_ENTRIES_SETTING, raw.maxEntries, DEFAULT_RETENTION.maxRows, problems);
  return { value: { maxAgeDays, maxRows }, problems };
}

/** The follow-up prompt of a one-click Resume: a non-blank string, else the default with a message. */
export function parseResumePrompt(raw: unknown): Parsed<string> {
  if (raw === undefined || raw === null) return { value: DEFAULT_RESUME_PROMPT, problems: [] };
  if (typeof raw === 'string' && raw.trim() !== '' && raw.length <= RESUME_PROMPT_MAX_CHARS) return { value: raw, problems: [] };
  return {
    value: DEFAULT_RESUME_PROMPT,
    problems: [`${RESUME_PROMPT_SETTING} must be a non-empty text of at most ${RESUME_PROMPT_MAX_CHARS} characters; using "${DEFAULT_RESUME_PROMPT}".`],
  };
}

export function parseOnWindowClose(raw: unknown): Parsed<OnWindowClose> {
  if (raw === undefined || raw === null || raw === 'keepRunning') return { value: 'keepRunning', problems: [] };
  if (raw === 'stop') return { value: 'stop', problems: [] };
  return { value: 'keepRunning', problems: [`${ON_WINDOW_CLOSE_SETTING} must be "keepRunning" or "stop", not ${JSON.stringify(raw)}; using "keepRunning".`] };
}

export function parseBoolean(setting: string, raw: unknown, fallback: boolean): Parsed<boolean> {
  if (raw === undefined || raw === null) return { value: fallback, problems: [] };
  if (typeof raw === 'boolean') return { value: raw, problems: [] };
  return { value: fallback, problems: [`${setting} must be true or false, not ${JSON.stringify(raw)}; using ${fallback}.`] };
}

/** agentTasks.permissions.timeoutMinutes as milliseconds; 0 (the default) waits for an answer as long as the run lives. */
export function parsePermissionTimeout(raw: unknown): Parsed<number> {
  if (raw === undefined || raw === null) return { value: 0, problems: [] };
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return { value: Math.round(raw * 60_000), problems: [] };
  return { value: 0, problems: [`${PERMISSION_TIMEOUT_SETTING} must be a number of minutes (0 or more), not ${JSON.stringify(raw)}; requests wait for an answer.`] };
}
