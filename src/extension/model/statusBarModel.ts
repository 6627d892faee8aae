/**
 * The status bar entry's content as plain values: one function decides text, tooltip, colour and
 * visibility. No `vscode` import.
 */
import type { TaskRow } from '../../core/taskTypes';
import { formatClock, plural } from './format';
import { taskLabel } from './taskPresentation';

export interface StatusBarInput {
  readonly enabled: boolean;
  /** Live tasks of every window and terminal (running, needs_input, waiting). */
  readonly running: readonly TaskRow[];
  /** Unresolved interrupted tasks in the store (any window's). */
  readonly interruptedCount: number;
}

export interface StatusBarView {
  readonly visible: boolean;
  readonly text: string;
  readonly tooltip: string;
  /** Use `statusBarItem.warningBackground`. */
  readonly warning: boolean;
  readonly ariaLabel: string;
}

const TOOLTIP_MAX_TASKS = 10;

export function statusBarView(input: StatusBarInput): StatusBarView {
  const asking = input.running.filter((r) => r.status === 'needs_input');
  const running = input.running.filter((r) => r.status !== 'needs_input');
  const k = asking.length;
  const n = running.length;
  const m = input.interruptedCount;
  if (!input.enabled || (n === 0 && m === 0 && k === 0)) return { visible: false, text: '', tooltip: '', warning: false, ariaLabel: '' };
  const text: string[] = [];
  if (k > 0) text.push(`$(bell-dot) ${k}`);
  if (n > 0) text.push(`$(sync~spin) ${n}`);
  if (m > 0) text.push(`$(warning) ${m}`);
  const tooltip: string[] = [];
  const aria: string[] = [];
  if (k > 0) {
    tooltip.push(`${plural(k, 'agent task')} ${k === 1 ? 'needs' : 'need'} your answer:`);
    for (const row of asking.slice(0, TOOLTIP_MAX_TASKS)) tooltip.push(`• ${taskLabel(row)}: ${row.pending_requests[0]?.tool ?? 'a request'}`);
    if (k > TOOLTIP_MAX_TASKS) tooltip.push(`• … and ${k - TOOLTIP_MAX_TASKS} more`);
    tooltip.push('');
    aria.push(`${plural(k, 'agent task')} ${k === 1 ? 'needs' : 'need'} input`);
  }
  if (n > 0) {
    tooltip.push(`${plural(n, 'agent task')} running:`);
    for (const row of running.slice(0, TOOLTIP_MAX_TASKS)) {
      tooltip.push(`• ${taskLabel(row)} (${row.agent ? `${row.agent}, ` : ''}started ${formatClock(row.started_at)})`);
    }
    if (n > TOOLTIP_MAX_TASKS) tooltip.push(`• … and ${n - TOOLTIP_MAX_TASKS} more`);
    aria.push(`${plural(n, 'agent task')} running`);
  }
  if (m > 0) {
    if (tooltip.length > 0 && tooltip[tooltip.length - 1] !== '') tooltip.push('');
    tooltip.push(`${plural(m, 'interrupted agent task')} can be recovered.`);
    aria.push(`${plural(m, 'interrupted agent task')} to recover`);
  }
  tooltip.push('', 'Click to show the Agent Tasks view.');
  return { visible: true, text: text.join(' '), tooltip: tooltip.join('\n'), warning: m > 0 || k > 0, ariaLabel: aria.join(', ') };
}
