/**
 * Signalling agent processes: the runner's own children, and agents this process does not own
 * (the child of an interrupted task that outlived its editor, or a task the CLI or another window
 * runs). The one place that signals process groups.
 *
 * The runner spawns each agent as the leader of its own process group (POSIX), so the group is
 * signalled: agents start shells, MCP servers and test runners that must stop with them.
 */
import { hostName, processLiveness } from './processIdentity';
import type { TaskRow } from './taskTypes';

export type StopOutcome = 'stopped' | 'already-gone' | 'still-alive';

/** A process as the journal records it: pid plus its start (ticks since boot and/or wall ms). */
export interface ProcessRef {
  pid: number;
  startedAt: number | null;
  startTicks?: number | null;
}

/**
 * Signals the process group led by `pid` (POSIX), else the process alone (Windows, or a pid that
 * leads no group). Returns false when nothing was there to signal.
 */
export function signalProcessGroup(pid: number, sig: NodeJS.Signals): boolean {
  if (process.platform !== 'win32') {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      // Not a group leader (or the group is gone): signal the process itself.
    }
  }
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // gone already
  }
}

function liveness(ref: ProcessRef) {
  return processLiveness(ref.pid, ref.startedAt, ref.startTicks ?? null);
}

async function waitUntilGone(ref: ProcessRef, ms: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await liveness(ref)) !== 'alive') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Whether the recorded process still runs (same pid, same start). */
export async function isProcessAlive(ref: ProcessRef): Promise<boolean> {
  return (await liveness(ref)) === 'alive';
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. Checks the process identity (pid + start) first, so a
 * pid reused by an unrelated process is never signalled.
 */
export async function stopProcessTree(ref: ProcessRef, options: { graceMs?: number; pollMs?: number } = {}): Promise<StopOutcome> {
  const graceMs = options.graceMs ?? 5_000;
  const pollMs = options.pollMs ?? 100;
  if ((await liveness(ref)) !== 'alive') return 'already-gone';
  signalProcessGroup(ref.pid, 'SIGTERM');
  if (await waitUntilGone(ref, graceMs, pollMs)) return 'stopped';
  signalProcessGroup(ref.pid, 'SIGKILL');
  return (await waitUntilGone(ref, 2_000, pollMs)) ? 'stopped' : 'still-alive';
}

/** The agent process a journal row records (its `child_*` columns). */
export function childOf(row: { child_started_at: number | null; child_start_ticks?: number | null }, pid: number): ProcessRef {
  return { pid, startedAt: row.child_started_at, startTicks: row.child_start_ticks ?? null };
}

/**
 * The agents of rows just marked interrupted: their owner died, so nothing logs them any more and
 * nobody would record their end. Each one still alive on this host (pid and start checked) is
 * stopped, so that two agents never work on one session and none works unseen. Returns what
 * became of each agent that was recorded.
 */
export async function stopOrphanedAgents(rows: readonly TaskRow[], options: { graceMs?: number } = {}): Promise<{ row: TaskRow; outcome: StopOutcome }[]> {
  const host = hostName();
  const live = rows.filter((r) => r.child_pid !== null && r.owner_host === host);
  return Promise.all(live.map(async (row) => ({ row, outcome: await stopProcessTree(childOf(row, row.child_pid!), options) })));
}
