/**
 * The notification a window shows when one of its runs ends, decided without `vscode`: its
 * severity, its text and its buttons.
 */
import type { TaskRow } from '../../core/taskTypes';
import { formatCost, formatDuration, sentence } from './format';
import { deniedCount, deniedLines, deniedText, taskLabel } from './taskPresentation';

export const SHOW_OUTPUT = 'Show Output';
export const OPEN_SETTINGS = 'Open Settings';
export const OPEN_AGENT_SETTINGS = 'Open Agent Settings';

/** Denied calls named in the notification (the tooltip and the output view list more). */
const DENIALS_NOTICE_MAX = 3;

export interface FinishNotice {
  readonly severity: 'info' | 'warning' | 'error';
  readonly message: string;
  readonly buttons: readonly string[];
}

/**
 * Notifications turn `[text](target)` into links, `command:` targets included, and row text
 * (errors, tool inputs) is the agent's: its brackets are shown as parentheses, so no link can
 * be made from it.
 */
export function plainNoticeText(text: string): string {
  return text.replace(/\[/g, '(').replace(/\]/g, ')');
}

/**
 * `notStartedSetting` names the profile setting to check when the command never ran. Undefined
 * for a cancelled or interrupted run: those are not announced.
 */
export function finishNotice(row: TaskRow, notStartedSetting?: string): FinishNotice | undefined {
  const label = plainNoticeText(taskLabel(row));
  const took = row.finished_at !== null ? ` in ${formatDuration(Math.max(0, row.finished_at - row.started_at))}` : '';
  const cost = row.cost_usd !== null ? ` (${formatCost(row.cost_usd)})` : '';
  if (row.status === 'success') {
    if (deniedCount(row) > 0) {
      const named = plainNoticeText(deniedLines(row, DENIALS_NOTICE_MAX).join('; '));
      return {
        severity: 'warning',
        message: `Agent task "${label}" finished${took}${cost}, but ${deniedText(row)}: ${named}. Allow the tools it needs in the agent's profile (agentTasks.agents).`,
        buttons: [OPEN_AGENT_SETTINGS, SHOW_OUTPUT],
      };
    }
    const note = row.output_bytes === 0 ? ' It printed no output.' : '';
    return { severity: 'info', message: `Agent task "${label}" finished${took}${cost}.${note}`, buttons: [SHOW_OUTPUT] };
  }
  if (row.status === 'failed') {
    const hint = notStartedSetting ? ` Check ${notStartedSetting}.` : '';
    const denied = deniedCount(row) > 0 ? ` (${deniedText(row)})` : '';
    return {
      severity: 'error',
      message: `Agent task "${label}" failed${denied}: ${sentence(plainNoticeText(row.error ?? 'unknown error'))}${hint}`,
      buttons: notStartedSetting ? [OPEN_SETTINGS, SHOW_OUTPUT] : [SHOW_OUTPUT],
    };
  }
  return undefined;
}
