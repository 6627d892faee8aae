/**
 * How a task row looks in the sidebar: label, description, icon, context value, tooltip, and the
 * grouping/paging of the tree. No `vscode` import: tasksView.ts turns these plain values into
 * TreeItems, and the tests check them with exact strings.
 */
import { isLive, type TaskRow } from '../../core/taskTypes';
import { displayArg, firstLine, formatClock, formatCost, formatDuration, formatTimestamp, formatTokens } from './format';

const LABEL_MAX_CHARS = 80;
const PROMPT_TOOLTIP_MAX_CHARS = 600;
const ERROR_TOOLTIP_MAX_CHARS = 600;
/** Denied calls listed in a tooltip (the output header lists more). */
const DENIALS_TOOLTIP_MAX = 10;

function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Its name, else the first line of its prompt, else its command. */
export function taskLabel(row: TaskRow): string {
  const name = firstLine(row.name);
  if (name !== '') return cap(name, LABEL_MAX_CHARS);
  const prompt = firstLine(row.prompt);
  if (prompt !== '') return cap(prompt, LABEL_MAX_CHARS);
  return cap(firstLine(row.command) || row.id, LABEL_MAX_CHARS);
}

/** Running: time so far; finished: total time; null when the clock went backwards. */
export function taskDurationMs(row: TaskRow, now: number): number | null {
  const end = isLive(row.status) ? now : row.finished_at;
  if (end === null) return null;
  const ms = end - row.started_at;
  return ms >= 0 ? ms : null;
}

export function isZeroOutputSuccess(row: TaskRow): boolean {
  return row.status === 'success' && row.output_bytes === 0;
}

/** Tool calls the agent was not allowed to make (its permission settings denied them). */
export function deniedCount(row: TaskRow): number {
  return Math.max(row.permission_denial_count ?? 0, row.permission_denials?.length ?? 0);
}

/** "1 action denied", "3 actions denied". */
export function deniedText(row: TaskRow): string {
  const n = deniedCount(row);
  return `${n} ${n === 1 ? 'action' : 'actions'} denied`;
}

/**
 * One line per denied call ("Bash: npm test"), at most `max`, then "… and N more". Untrusted
 * text, already cleaned by the parser: callers escape it for their medium.
 */
export function deniedLines(row: TaskRow, max: number): string[] {
  const denials = row.permission_denials ?? [];
  const lines = denials.slice(0, max).map((d) => (d.summary ? `${d.tool}: ${d.summary}` : d.tool));
  const more = deniedCount(row) - lines.length;
  if (more > 0) lines.push(`… and ${more} more`);
  return lines;
}

export function isUnresolvedInterrupted(row: TaskRow): boolean {
  return row.status === 'interrupted' && row.resolved_at === null;
}

function totalTokens(row: TaskRow): number | null {
  if (row.input_tokens === null && row.output_tokens === null) return null;
  return (row.input_tokens ?? 0) + (row.output_tokens ?? 0);
}

/** The status word(s) of a row, e.g. "failed (exit 1)", "interrupted (resumed)", "success, no output". */
export function statusText(row: TaskRow): string {
  switch (row.status) {
    case 'running':
      return 'running';
    case 'needs_input':
      return row.pending_requests.length > 1 ? `needs input (${row.pending_requests.length} requests)` : 'needs input';
    case 'waiting':
      return row.resume_at === null ? 'waiting (usage limit)' : `waiting (usage limit), resumes at ${formatClock(row.resume_at)}`;
    case 'success':
      if (deniedCount(row) > 0) return `success, ${deniedText(row)}`;
      return isZeroOutputSuccess(row) ? 'success, no output' : 'success';
    case 'failed':
      if (row.exit_code !== null && row.exit_code >= 0) return `failed (exit ${row.exit_code})`;
      if (row.signal !== null) return `failed (${row.signal})`;
      return row.child_pid === null ? 'failed to start' : 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'interrupted':
      return row.resolution === null ? 'interrupted' : `interrupted (${row.resolution})`;
  }
}

/** "claude · running · 1m 05s · 46 tokens · $0.0123": agent, status, time, then tokens and cost when known. */
export function taskDescription(row: TaskRow, now: number): string {
  const parts: string[] = [];
  if (row.agent) parts.push(row.agent);
  parts.push(statusText(row));
  const ms = taskDurationMs(row, now);
  if (ms !== null) parts.push(formatDuration(ms));
  const tokens = totalTokens(row);
  if (tokens !== null && tokens > 0) parts.push(`${formatTokens(tokens)} tokens`);
  if (row.cost_usd !== null) parts.push(formatCost(row.cost_usd));
  // A run in its own worktree: its branch is where its work is until applied.
  if (row.git?.worktree) parts.push(row.git.worktree.branch);
  return parts.join(' · ');
}

export interface IconSpec {
  /** A codicon id. */
  readonly id: string;
  /** A theme color id, when the icon is colored. */
  readonly color?: string;
}

export function taskIcon(row: TaskRow): IconSpec {
  switch (row.status) {
    case 'running':
      return { id: 'sync~spin' };
    case 'needs_input':
      return { id: 'bell-dot', color: 'list.warningForeground' };
    case 'waiting':
      return { id: 'watch' };
    case 'interrupted':
      return row.resolution === null ? { id: 'warning', color: 'list.warningForeground' } : { id: 'warning' };
    case 'failed':
      return { id: 'error', color: 'list.errorForeground' };
    case 'cancelled':
      return { id: 'debug-stop' };
    case 'success':
      // An agent that "succeeded" without being allowed to act, or without printing anything,
      // usually did not do what was asked: worth a second look.
      if (deniedCount(row) > 0) return { id: 'warning', color: 'list.warningForeground' };
      return isZeroOutputSuccess(row) ? { id: 'circle-slash', color: 'list.warningForeground' } : { id: 'check' };
  }
}

/**
 * `agentTask.<status>` then, in this order, `.own` (run by this window), `.unresolved`
 * (interrupted, waiting for recovery), `.session` (has a session id), `.changes` (has a start
 * snapshot: Open Changes, Copy as Patch), `.worktree` (ran in its own worktree). package.json
 * menus match these with regular expressions.
 */
export function taskContextValue(row: TaskRow, own: boolean): string {
  let value = `agentTask.${row.status}`;
  if (own && isLive(row.status)) value += '.own';
  if (isUnresolvedInterrupted(row)) value += '.unresolved';
  if (row.session_id) value += '.session';
  const git = row.git;
  if (git && git.unavailable === null && git.root !== null && git.start !== null) value += '.changes';
  if (git?.worktree) value += '.worktree';
  return value;
}

/** For screen readers: the label and the description in words. */
export function taskAccessibilityLabel(row: TaskRow, now: number): string {
  return `${taskLabel(row)}, ${taskDescription(row, now).split(' · ').join(', ')}`;
}

/** Escapes every Markdown-significant character, so user text (prompts, errors, paths) shows as typed. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~&"'$:]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`));
}

/** Escaped, with line breaks kept as Markdown hard breaks. */
function escapeMultiline(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => escapeMarkdown(line))
    .join('  \n');
}

/** The command line for display, with the prompt argument shown as `<prompt>` (it is shown on its own). */
export function displayTaskCommand(row: TaskRow): string {
  const args = row.args.map((a) => (row.prompt && a === row.prompt ? '<prompt>' : displayArg(a)));
  return [displayArg(row.command), ...args].join(' ');
}

export interface TooltipContext {
  readonly now: number;
  /** Run by this window's runner. */
  readonly own: boolean;
  /** This machine's host name (rows from other hosts say so). */
  readonly host: string;
}

/**
 * The tooltip as Markdown. Every value from the row is escaped: the caller wraps it in an
 * untrusted MarkdownString (no command links, no HTML).
 */
export function taskTooltipMarkdown(row: TaskRow, ctx: TooltipContext): string {
  const lines: string[] = [`**${escapeMarkdown(taskLabel(row))}**`, ''];
  const field = (name: string, value: string): void => {
    lines.push(`**${name}:** ${value}  `);
  };
  field('Status', escapeMarkdown(statusText(row)));
  if (row.agent) field('Agent', escapeMarkdown(row.agent));
  field('Command', escapeMarkdown(displayTaskCommand(row)));
  field('Folder', escapeMarkdown(row.cwd));
  field('Started', escapeMarkdown(formatTimestamp(row.started_at)));
  if (row.finished_at !== null) field('Finished', escapeMarkdown(formatTimestamp(row.finished_at)));
  const ms = taskDurationMs(row, ctx.now);
  if (ms !== null) field(isLive(row.status) ? 'Running for' : 'Duration', escapeMarkdown(formatDuration(ms)));
  if (row.exit_code !== null) field('Exit code', String(row.exit_code));
  if (row.signal !== null) field('Signal', escapeMarkdown(row.signal));
  if (totalTokens(row) !== null) {
    const tokenParts = [`${formatTokens(row.input_tokens ?? 0)} in`, `${formatTokens(row.output_tokens ?? 0)} out`];
    if (row.cache_read_tokens) tokenParts.push(`${formatTokens(row.cache_read_tokens)} cache read`);
    if (row.cache_creation_tokens) tokenParts.push(`${formatTokens(row.cache_creation_tokens)} cache write`);
    field('Tokens', escapeMarkdown(tokenParts.join(', ')));
  }
  if (row.cost_usd !== null) field('Cost', escapeMarkdown(formatCost(row.cost_usd)));
  if (row.session_id) field('Session ID', escapeMarkdown(row.session_id));
  if (row.git?.worktree) field('Worktree', escapeMarkdown(`${row.git.worktree.path} (branch ${row.git.worktree.branch})`));
  if (isLive(row.status)) {
    const where = ctx.own
      ? 'this window'
      : row.owner_host === ctx.host
        ? `another process (pid ${row.owner_pid}: the agent-tasks CLI or another window)`
        : `another machine (${row.owner_host})`;
    field('Runs in', escapeMarkdown(where));
  }
  if (row.resolution !== null) field('Recovery', escapeMarkdown(row.resolution));
  if (row.error) field('Error', escapeMultiline(cap(row.error, ERROR_TOOLTIP_MAX_CHARS)));
  if (deniedCount(row) > 0) {
    lines.push('', `**${escapeMarkdown(deniedText(row))}** (the agent's permission settings did not allow them):  `);
    for (const line of deniedLines(row, DENIALS_TOOLTIP_MAX)) lines.push(`- ${escapeMarkdown(line)}`);
  }
  if (row.prompt) {
    lines.push('', '**Prompt:**  ', escapeMultiline(cap(row.prompt, PROMPT_TOOLTIP_MAX_CHARS)));
  }
  lines.push('', `Task ${escapeMarkdown(row.id)}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Grouping and paging

export type GroupKind = 'needsInput' | 'running' | 'interrupted' | 'history';

export const HISTORY_PAGE_SIZE = 50;

export interface TreeSnapshot {
  /** Live runs whose agent waits for an answer: shown first, in their own group. */
  readonly needsInput: readonly TaskRow[];
  /** The other live runs (running, waiting). */
  readonly running: readonly TaskRow[];
  readonly interrupted: readonly TaskRow[];
  readonly history: readonly TaskRow[];
  readonly historyHasMore: boolean;
  /** Finished rows other than unresolved interrupted ones. */
  readonly historyTotal: number;
}

/** How many history rows to ask the store for: the shown pages, the unresolved rows it will return too, and one to know if there is more. */
export function historyQueryLimit(pages: number, unresolvedCount: number): number {
  return pages * HISTORY_PAGE_SIZE + unresolvedCount + 1;
}

/**
 * Builds the tree's content. `finished` are the newest terminal rows (as many as
 * historyQueryLimit asked for); unresolved interrupted rows among them belong to their own group.
 */
export function buildSnapshot(input: {
  running: readonly TaskRow[];
  interrupted: readonly TaskRow[];
  finished: readonly TaskRow[];
  finishedTotal: number;
  pages: number;
}): TreeSnapshot {
  const shown = input.pages * HISTORY_PAGE_SIZE;
  const history = input.finished.filter((r) => !isUnresolvedInterrupted(r));
  return {
    needsInput: input.running.filter((r) => r.status === 'needs_input'),
    running: input.running.filter((r) => r.status !== 'needs_input'),
    interrupted: input.interrupted,
    history: history.slice(0, shown),
    historyHasMore: history.length > shown,
    historyTotal: Math.max(0, input.finishedTotal - input.interrupted.length),
  };
}

export function isEmptySnapshot(s: TreeSnapshot): boolean {
  return s.needsInput.length === 0 && s.running.length === 0 && s.interrupted.length === 0 && s.history.length === 0;
}

/**
 * Running and History always (once there is anything at all); Needs input at the top while an
 * agent waits for an answer; Interrupted only while some wait for recovery.
 */
export function visibleGroups(s: TreeSnapshot): GroupKind[] {
  if (isEmptySnapshot(s)) return [];
  const groups: GroupKind[] = [];
  if (s.needsInput.length > 0) groups.push('needsInput');
  groups.push('running');
  if (s.interrupted.length > 0) groups.push('interrupted');
  groups.push('history');
  return groups;
}

export function groupRows(s: TreeSnapshot, kind: GroupKind): readonly TaskRow[] {
  return kind === 'needsInput' ? s.needsInput : kind === 'running' ? s.running : kind === 'interrupted' ? s.interrupted : s.history;
}

export const GROUP_LABELS: Record<GroupKind, string> = { needsInput: 'Needs input', running: 'Running', interrupted: 'Interrupted', history: 'History' };

/** Groups whose rows are live: their elapsed times tick. */
export function isLiveGroup(kind: GroupKind): boolean {
  return kind === 'needsInput' || kind === 'running';
}

export function groupDescription(s: TreeSnapshot, kind: GroupKind): string {
  switch (kind) {
    case 'needsInput': {
      const open = s.needsInput.reduce((n, r) => n + Math.max(1, r.pending_requests.length), 0);
      return `${open} to answer`;
    }
    case 'running':
      return s.running.length === 0 ? 'none' : String(s.running.length);
    case 'interrupted':
      return `${s.interrupted.length} to recover`;
    case 'history':
      return s.historyHasMore ? `${s.history.length} of ${s.historyTotal}` : String(s.history.length);
  }
}

/** What changed between two snapshots, so that the view refreshes as little as it can. */
export interface SnapshotDiff {
  /** The set of groups changed: refresh everything. */
  readonly root: boolean;
  /** Groups whose children, order or count changed. */
  readonly groups: readonly GroupKind[];
  /** Rows that changed in place (same group, same position). */
  readonly tasks: readonly string[];
}

export function diffSnapshots(prev: TreeSnapshot | undefined, next: TreeSnapshot): SnapshotDiff {
  if (prev === undefined) return { root: true, groups: [], tasks: [] };
  const prevGroups = visibleGroups(prev);
  const nextGroups = visibleGroups(next);
  if (prevGroups.join() !== nextGroups.join()) return { root: true, groups: [], tasks: [] };
  // A row that moved between groups (started → finished) is refreshed from the root: refreshing
  // its new group before its old one would show one id twice, which VS Code rejects.
  const prevGroupOf = new Map<string, GroupKind>();
  for (const kind of prevGroups) for (const row of groupRows(prev, kind)) prevGroupOf.set(row.id, kind);
  for (const kind of nextGroups) {
    for (const row of groupRows(next, kind)) {
      const was = prevGroupOf.get(row.id);
      if (was !== undefined && was !== kind) return { root: true, groups: [], tasks: [] };
    }
  }
  const groups: GroupKind[] = [];
  const tasks: string[] = [];
  for (const kind of nextGroups) {
    const a = groupRows(prev, kind);
    const b = groupRows(next, kind);
    const sameChildren =
      a.length === b.length &&
      a.every((row, i) => row.id === b[i].id) &&
      groupDescription(prev, kind) === groupDescription(next, kind) &&
      (kind !== 'history' || prev.historyHasMore === next.historyHasMore);
    if (!sameChildren) {
      groups.push(kind);
      continue;
    }
    b.forEach((row, i) => {
      if (JSON.stringify(row) !== JSON.stringify(a[i])) tasks.push(row.id);
    });
  }
  return { root: false, groups, tasks };
}
