/** How the commands print rows: tables, details, JSON. */
import type { GitRunState, GitSnapshot } from '../core/gitSnapshot';
import { COLUMNS } from '../core/journalOps';
import { capChars } from '../core/outputParsers';
import type { PermissionDenial, RateLimitStatus, TaskRow } from '../core/taskTypes';

export const NAME_MAX_CHARS = 80;

/** The row with exactly the journal's columns, in column order. */
export function publicRow(row: TaskRow): Record<string, unknown> {
  return Object.fromEntries(COLUMNS.map((c) => [c, row[c] ?? null]));
}

export function formatTable(rows: readonly TaskRow[]): string {
  const header = ['ID', 'STATUS', 'STARTED', 'DURATION', 'EXIT', 'COST', 'NAME'];
  const now = Date.now();
  const cells = rows.map((r) => [
    r.id.slice(0, 8),
    r.permission_denial_count > 0 ? `${r.status} (${r.permission_denial_count} denied)` : r.status,
    formatTime(r.started_at),
    formatDuration((r.finished_at ?? now) - r.started_at),
    r.signal ?? (r.exit_code === null ? '-' : String(r.exit_code)),
    r.cost_usd === null ? '-' : `$${r.cost_usd.toFixed(4)}`,
    oneLine(r.name, NAME_MAX_CHARS),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

export function formatDetails(row: TaskRow): string {
  const entries: [string, string][] = COLUMNS.map((c) => [c, formatValue(c, row[c])]);
  entries.splice(COLUMNS.indexOf('finished_at') + 1, 0, ['duration', formatDuration((row.finished_at ?? Date.now()) - row.started_at)]);
  const width = Math.max(...entries.map(([k]) => k.length));
  const indent = '\n' + ' '.repeat(width + 2);
  return entries.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${v.split('\n').join(indent)}`).join('\n') + '\n';
}

const TIME_COLUMNS = new Set<string>(['started_at', 'finished_at', 'owner_started_at', 'child_started_at', 'heartbeat_at', 'resolved_at']);

function formatValue(column: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (TIME_COLUMNS.has(column) && typeof value === 'number') return `${formatTime(value)} (${value})`;
  if (column === 'args') return JSON.stringify(value);
  if (column === 'prompt' && typeof value === 'string') return JSON.stringify(value);
  if (column === 'permission_denials' && Array.isArray(value)) {
    // One denied call per line (the parser cleaned and capped the text); formatDetails indents them.
    return value.length === 0 ? '-' : (value as PermissionDenial[]).map((d) => (d.summary ? `${d.tool}: ${d.summary}` : d.tool)).join('\n');
  }
  if (column === 'rate_limit' && typeof value === 'object') return formatRateLimit(value as RateLimitStatus);
  if (column === 'git' && typeof value === 'object') return formatGit(value as GitRunState);
  return String(value);
}

/** The run's snapshots, one per line: "start: tree 1a2b3c4 at HEAD 5d6e7f8", … (`agent-tasks changes` lists the files). */
function formatGit(g: GitRunState): string {
  const lines: string[] = [];
  if (g.unavailable) lines.push(`no snapshots: ${g.unavailable}`);
  if (g.root) lines.push(`work tree: ${g.root}`);
  const snap = (s: GitSnapshot | null): string => (s ? `tree ${s.tree.slice(0, 10)} at ${s.head ? `HEAD ${s.head.slice(0, 10)}` : 'no commit yet'} (${formatTime(s.at)})` : '-');
  if (g.start || g.root) lines.push(`start: ${snap(g.start)}`, `end: ${snap(g.end)}`);
  if (g.worktree) lines.push(`worktree: ${g.worktree.path} (branch ${g.worktree.branch})`);
  return lines.join('\n') || '-';
}

/** "allowed_warning (five_hour, 91% used, resets 2026-12-02 18:00:00)". */
function formatRateLimit(r: RateLimitStatus): string {
  const parts: string[] = [];
  if (r.kind) parts.push(r.kind);
  if (r.utilization !== null) parts.push(`${Math.round(r.utilization * 100)}% used`);
  if (r.resetsAt !== null) parts.push(`resets ${formatTime(r.resetsAt * 1000)}`);
  return parts.length > 0 ? `${r.status} (${parts.join(', ')})` : r.status;
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function oneLine(text: string, max: number): string {
  return capChars(text.replace(/\s+/g, ' ').trim(), max);
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
