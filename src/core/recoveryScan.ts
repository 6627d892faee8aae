import { processLiveness } from './processIdentity';
import type { TaskRow } from './taskTypes';

/**
 * Who may be declared dead. A running row is orphaned only when its owner provably is:
 * on this host, its pid is gone or now belongs to a process that started at another time;
 * on another host (a shared store), its heartbeat has gone stale. A live owner — another
 * editor window, a CLI run in a terminal — keeps its rows.
 */

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** A row from another host counts as orphaned after this long without a heartbeat. */
export const DEFAULT_STALE_AFTER_MS = 8 * DEFAULT_HEARTBEAT_MS;

export interface OwnerVerdict {
  dead: boolean;
  reason: string;
}

type OwnerFields = Pick<TaskRow, 'owner_pid' | 'owner_started_at' | 'owner_start_ticks' | 'owner_host' | 'heartbeat_at' | 'started_at'>;

export async function judgeOwner(row: OwnerFields, ctx: { host: string; now: number; staleAfterMs?: number }): Promise<OwnerVerdict> {
  if (row.owner_host !== ctx.host) {
    const last = row.heartbeat_at ?? row.started_at;
    const silentMs = ctx.now - last;
    const staleAfter = ctx.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    return silentMs > staleAfter
      ? { dead: true, reason: `its owner on host ${row.owner_host} stopped sending heartbeats ${formatAge(silentMs)} ago` }
      : { dead: false, reason: `owned by a process on host ${row.owner_host} that sent a heartbeat ${formatAge(silentMs)} ago` };
  }
  const liveness = await processLiveness(row.owner_pid, row.owner_started_at, row.owner_start_ticks ?? null);
  switch (liveness) {
    case 'dead':
      return { dead: true, reason: `the process that ran it (pid ${row.owner_pid}) exited` };
    case 'reused':
      return { dead: true, reason: `the process that ran it (pid ${row.owner_pid}) exited; the pid now belongs to another process` };
    default:
      return { dead: false, reason: `owned by pid ${row.owner_pid}, still running` };
  }
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

/** Groups rows by owner so each owner process is judged once. */
export async function findOrphans(
  rows: readonly TaskRow[],
  ctx: { host: string; now: number; staleAfterMs?: number },
): Promise<Map<string, { verdict: OwnerVerdict; ids: string[] }>> {
  const byOwner = new Map<string, TaskRow[]>();
  for (const row of rows) {
    const list = byOwner.get(row.owner_id);
    if (list) list.push(row);
    else byOwner.set(row.owner_id, [row]);
  }
  const orphans = new Map<string, { verdict: OwnerVerdict; ids: string[] }>();
  for (const [ownerId, owned] of byOwner) {
    // Heartbeats are per row; the freshest one speaks for the owner.
    const freshest = owned.reduce((a, b) => ((b.heartbeat_at ?? b.started_at) > (a.heartbeat_at ?? a.started_at) ? b : a));
    const verdict = await judgeOwner(freshest, ctx);
    if (verdict.dead) orphans.set(ownerId, { verdict, ids: owned.map((r) => r.id) });
  }
  return orphans;
}
