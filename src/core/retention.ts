import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { SegmentInfo } from './historyArchive';
import { PRUNABLE, type JournalStatements } from './journalOps';
import type { RetentionPolicy, TaskRow } from './taskTypes';

/**
 * What retention removes: finished hot rows past the policy (never live rows, never unresolved
 * interrupted ones) and whole archive segments. The store journals the removals; this decides them.
 */

export type RemovalPolicy = RetentionPolicy | 'everything';

const DAY_MS = 86_400_000;

/** A removed task: its log file, and the work tree whose refs keep its snapshots (gitSnapshot.ts), if any. */
export interface RemovedTask {
  readonly id: string;
  readonly log_path: string | null;
  readonly snapshotRoot: string | null;
}

/** What a removal needs of a row (`git` names the refs to delete). */
export const REMOVED_COLUMNS = 'id, log_path, git';

export function removedTask(row: Pick<TaskRow, 'id' | 'log_path' | 'git'>): RemovedTask {
  return { id: row.id, log_path: row.log_path, snapshotRoot: row.git?.start || row.git?.end ? row.git.root : null };
}

/** The hot rows to remove, with their log files and snapshots. */
export function hotRowsToRemove(stmts: JournalStatements, now: number, policy: RemovalPolicy): Map<string, RemovedTask> {
  const victims = new Map<string, RemovedTask>();
  const collect = (rows: TaskRow[]) => rows.forEach((r) => victims.set(r.id, removedTask(r)));
  if (policy === 'everything') {
    collect(stmts.all(`SELECT ${REMOVED_COLUMNS} FROM task_history WHERE ${PRUNABLE}`));
    return victims;
  }
  if (policy.maxAgeDays > 0) {
    collect(stmts.all(`SELECT ${REMOVED_COLUMNS} FROM task_history WHERE ${PRUNABLE} AND COALESCE(finished_at, started_at) < ?`, [now - policy.maxAgeDays * DAY_MS]));
  }
  if (policy.maxRows > 0) {
    collect(stmts.all(`SELECT ${REMOVED_COLUMNS} FROM task_history WHERE ${PRUNABLE} ORDER BY started_at DESC LIMIT -1 OFFSET ?`, [policy.maxRows]));
  }
  return victims;
}

/**
 * The archive segments to drop, oldest first: too old as a whole, or beyond the row limit once
 * `hotRows` finished hot rows are counted (segments hold the oldest history).
 */
export function segmentsToDrop(segments: readonly SegmentInfo[], hotRows: number, now: number, policy: RemovalPolicy): SegmentInfo[] {
  const oldestFirst = [...segments].sort((a, b) => a.newest_started - b.newest_started);
  if (policy === 'everything') return oldestFirst;
  const drop = new Set<string>();
  if (policy.maxAgeDays > 0) for (const seg of oldestFirst) if (seg.newest_finished < now - policy.maxAgeDays * DAY_MS) drop.add(seg.name);
  if (policy.maxRows > 0) {
    const allowed = Math.max(0, policy.maxRows - hotRows);
    let total = oldestFirst.filter((seg) => !drop.has(seg.name)).reduce((n, seg) => n + seg.rows, 0);
    for (const seg of oldestFirst) {
      if (total <= allowed) break;
      if (!drop.has(seg.name)) {
        drop.add(seg.name);
        total -= seg.rows;
      }
    }
  }
  return oldestFirst.filter((seg) => drop.has(seg.name));
}

/** Deletes task logs, only ever inside the store's logs folder. */
export async function deleteTaskLogs(dir: string, paths: readonly (string | null)[]): Promise<void> {
  const logsDir = path.join(dir, 'logs') + path.sep;
  await Promise.all(paths.filter((p): p is string => !!p && path.resolve(p).startsWith(logsDir)).map((p) => fsp.unlink(p).catch(() => undefined)));
}
