/**
 * What the user can do with an interrupted (or any finished) task, decided without `vscode`:
 * the picker items of the Recover command, which actions apply, and how a task is run again
 * (through its profile, or verbatim when the profile is gone).
 */
import type { AgentSessionCheck, AgentSessionQuery } from '../../core/agentSessions';
import { renderLogLine } from '../../core/logRenderer';
import { capChars, lastDisplayLine } from '../../core/outputParsers';
import type { OutputFormat, TaskRow } from '../../core/taskTypes';
import { expandProfile, passesSessionId, profileSettingPath, usesPrompt, type AgentProfile, type ProfileEntry } from './agentProfiles';
import { formatAgo, formatDuration, plural } from './format';
import { DEFAULT_RESUME_PROMPT } from './settings';
import { taskDurationMs, taskLabel } from './taskPresentation';

const DETAIL_MAX_CHARS = 160;

/** The text of the notification shown when activation found interrupted tasks. */
export function interruptedNotice(count: number): string {
  return count === 1
    ? '1 agent task was interrupted: the process that ran it stopped (a crash, a reboot, kill -9). Resume its session?'
    : `${count} agent tasks were interrupted: the processes that ran them stopped (a crash, a reboot, kill -9). Resume their sessions?`;
}

/**
 * The last readable line of a log tail: the last line that renders to text (Claude/Codex JSON
 * events rendered; escapes and progress-bar carriage returns removed). When the tail was cut
 * from a larger file, its first (partial) line is skipped.
 */
export function lastReadableLine(format: OutputFormat, tail: string, truncated: boolean): string | null {
  const lines = tail.split('\n');
  const first = truncated ? 1 : 0;
  for (let i = lines.length - 1; i >= first; i--) {
    if (lines[i].trim() === '') continue;
    const rendered = renderLogLine(format, lines[i].replace(/\r$/, ''));
    if (rendered === null) continue;
    const visible = lastDisplayLine(rendered);
    if (visible !== null) return visible.length > DETAIL_MAX_CHARS ? `${visible.slice(0, DETAIL_MAX_CHARS - 1)}…` : visible;
  }
  return null;
}

export interface InterruptedPickItem {
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

/** "Fix the flaky test" — "claude · interrupted 5 min ago · had run 3m 12s" — "› last output line". */
export function interruptedPickItem(row: TaskRow, now: number, lastLine: string | null): InterruptedPickItem {
  const parts: string[] = [];
  if (row.agent) parts.push(row.agent);
  parts.push(`interrupted ${formatAgo(row.finished_at ?? row.started_at, now)}`);
  const ms = taskDurationMs(row, now);
  if (ms !== null) parts.push(`had run ${formatDuration(ms)}`);
  const detail = lastLine !== null ? `› ${lastLine}` : row.output_bytes > 0 ? '(output not readable)' : '(no output)';
  return { label: taskLabel(row), description: parts.join(' · '), detail };
}

/** `resume` tells the session agentTasks.resumePrompt; `resumeWithMessage` asks what to tell it. */
export type RecoverAction = 'resume' | 'resumeWithMessage' | 'restart' | 'openLog' | 'dismiss';

export interface RecoverActionItem {
  readonly action: RecoverAction;
  readonly label: string;
  readonly detail: string;
}

/** How a finished task can be run again. */
export type RerunPlan =
  | { readonly kind: 'profile'; readonly profile: AgentProfile }
  /**
   * The profile is gone (or the row came from the CLI without one): the journaled argv, as it was.
   * `stdin`: the row's prompt when its argv does not hold it (it went on stdin; the row does not say
   * how it went, and an agent that read it from the environment only gets an extra stdin).
   */
  | { readonly kind: 'verbatim'; readonly command: string; readonly args: readonly string[]; readonly format: OutputFormat; readonly stdin: string | null }
  | { readonly kind: 'impossible'; readonly reason: string };

/** Run again / Restart from scratch: the same prompt and folder, a new session. */
export function planRerun(row: TaskRow, entry: ProfileEntry | undefined): RerunPlan {
  // A row the CLI started has its prompt inside its argv, not in `prompt`: the profile would run it without one.
  const profileFits = entry?.kind !== 'ok' || row.prompt !== null || !usesPrompt(entry.profile);
  if (entry?.kind === 'ok' && profileFits) return { kind: 'profile', profile: entry.profile };
  if (entry !== undefined && entry.kind !== 'ok') return { kind: 'impossible', reason: entry.problem };
  if (row.command.trim() === '') return { kind: 'impossible', reason: 'The task has no command to run again.' };
  // The old argv names the old session (`--session-id X`): agents refuse to start a session that exists.
  if (row.session_id && row.args.some((a) => a.includes(row.session_id as string))) {
    const name = row.agent ?? 'its agent';
    return {
      kind: 'impossible',
      reason: `The agent profile "${name}" is no longer defined (${profileSettingPath(name)}), and the task's command line names its old session, so it cannot be run again as it was.`,
    };
  }
  const prompt = row.prompt;
  const stdin = prompt !== null && prompt !== '' && !row.args.some((a) => a.includes(prompt)) ? prompt : null;
  return { kind: 'verbatim', command: row.command, args: row.args, format: row.format, stdin };
}

export type ResumePlan =
  | { readonly kind: 'resume'; readonly profile: AgentProfile; readonly sessionId: string }
  /** `sessionMissing`: the profile is fine, but the agent no longer has the session (see checkedResume). */
  | { readonly kind: 'impossible'; readonly reason: string; readonly sessionMissing?: true };

/** Resume session: the same session continues, through the profile's `resumeArgs`. */
export function planResume(row: TaskRow, entry: ProfileEntry | undefined): ResumePlan {
  const name = row.agent ?? '';
  if (!row.session_id) return { kind: 'impossible', reason: 'Resume is not available: the agent never reported a session ID.' };
  if (entry === undefined) {
    return { kind: 'impossible', reason: `Resume is not available: no agent profile "${name}" is defined (${profileSettingPath(name || 'name')}).` };
  }
  if (entry.kind !== 'ok') return { kind: 'impossible', reason: entry.problem };
  if (entry.profile.resumeArgs === undefined) {
    return { kind: 'impossible', reason: `Resume is not available: the profile "${entry.name}" has no "resumeArgs" (${profileSettingPath(entry.name, 'resumeArgs')}).` };
  }
  if (!passesSessionId(entry.profile, 'resume')) {
    return { kind: 'impossible', reason: `Resume is not available: ${profileSettingPath(entry.name, 'resumeArgs')} does not use \${sessionId}.` };
  }
  return { kind: 'resume', profile: entry.profile, sessionId: row.session_id };
}

/**
 * What to look for before Resume is offered: the session of the agent that ran the row (its
 * format and program), in the environment the resumed run would get (`baseEnv`, i.e.
 * process.env, with the profile's `env` on top: HOME, CLAUDE_CONFIG_DIR, CODEX_HOME…). Null
 * when Resume is not possible anyway.
 */
export function sessionQuery(row: TaskRow, resume: ResumePlan, baseEnv: Readonly<Record<string, string | undefined>>): AgentSessionQuery | null {
  if (resume.kind !== 'resume') return null;
  const vars = { prompt: null, sessionId: resume.sessionId, workspaceFolder: row.workspace ?? row.cwd, taskId: row.id };
  let profileEnv: Record<string, string>;
  try {
    profileEnv = expandProfile(resume.profile, 'resume', vars).env;
  } catch {
    profileEnv = { ...resume.profile.env };
  }
  return { format: row.format, command: row.command, sessionId: resume.sessionId, cwd: row.cwd, env: { ...baseEnv, ...profileEnv } };
}

/**
 * Resume after looking for the session: a session the agent no longer has is not offered (the
 * run would fail at once, e.g. Claude's "No conversation found"); Restart is, with the reason.
 * 'found' and 'unknown' (not an agent we know, an unreadable folder) keep Resume.
 */
export function checkedResume(resume: ResumePlan, check: AgentSessionCheck): ResumePlan {
  if (resume.kind !== 'resume' || check.state !== 'missing') return resume;
  return { kind: 'impossible', reason: `Resume is not available: ${check.reason}`, sessionMissing: true };
}

export interface RecoverActions {
  readonly items: readonly RecoverActionItem[];
  /** Why Resume or Restart are missing, for the picker's title. */
  readonly notes: readonly string[];
}

export function recoverActions(row: TaskRow, resume: ResumePlan, rerun: RerunPlan, resumePrompt = DEFAULT_RESUME_PROMPT): RecoverActions {
  const items: RecoverActionItem[] = [];
  const notes: string[] = [];
  if (resume.kind === 'resume') {
    const told = usesPrompt(resume.profile, 'resume') ? `, telling it "${capChars(resumePrompt, 60)}"` : '';
    items.push({ action: 'resume', label: '$(debug-continue) Resume session', detail: `Continue session ${resume.sessionId} with ${resume.profile.name} where it stopped${told}` });
    if (usesPrompt(resume.profile, 'resume')) {
      items.push({ action: 'resumeWithMessage', label: '$(comment) Resume with a message…', detail: 'Continue the same session with what you type' });
    }
  } else {
    notes.push(resume.reason);
  }
  if (rerun.kind !== 'impossible') {
    const why = resume.kind === 'impossible' && resume.sessionMissing ? ' (the old one is gone)' : '';
    items.push({ action: 'restart', label: '$(debug-restart) Restart from scratch', detail: `Run the same command${row.prompt ? ' and prompt' : ''} again in ${row.cwd}, in a new session${why}` });
  } else {
    notes.push(rerun.reason);
  }
  items.push({ action: 'openLog', label: '$(output) Open Log', detail: row.output_bytes > 0 ? `See what it did before it stopped (${plural(row.output_bytes, 'byte')})` : 'It printed nothing before it stopped' });
  items.push({ action: 'dismiss', label: '$(close) Dismiss', detail: 'Keep it in the history and stop offering to recover it' });
  return { items, notes };
}

/** A resumed run keeps the interrupted task's name (its prompt is only the follow-up), marked once. */
export function resumedTaskName(interruptedName: string): string {
  const base = interruptedName.replace(/ \(resumed\)$/, '');
  return `${base} (resumed)`;
}

