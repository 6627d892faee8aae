import { toDisposable, type IDisposable } from './lifecycle';
import { hostName, processLiveness } from './processIdentity';
import type { TaskRow } from './taskTypes';

/**
 * While runs are live, checks every `everyMs` that their owners (the supervisors on this host)
 * still live, so a supervisor killed while a window watches (kill -9, the OOM killer) makes its
 * run interrupted in that window at once, not at the next activation. A dead owner's rows are
 * marked through the store's own recovery scan (the first record wins: only one window reports
 * a row). Rows of other hosts are left to their heartbeats, as the scan does.
 */
export const OWNER_CHECK_MS = 2_000;

export interface OwnerWatchTarget {
  markRunningAsInterrupted(): Promise<TaskRow[]>;
}

export function watchRunOwners(
  store: OwnerWatchTarget,
  running: () => readonly TaskRow[],
  onInterrupted: (rows: TaskRow[]) => void,
  options: { everyMs?: number; log?: (message: string) => void } = {},
): IDisposable {
  const host = hostName();
  let busy = false;
  const check = async (): Promise<void> => {
    const rows = running().filter((r) => r.owner_host === host);
    if (rows.length === 0) return;
    const owners = new Map(rows.map((r) => [r.owner_id, r]));
    for (const row of owners.values()) {
      if ((await processLiveness(row.owner_pid, row.owner_started_at, row.owner_start_ticks ?? null)) === 'alive') continue;
      const marked = await store.markRunningAsInterrupted();
      if (marked.length > 0) onInterrupted(marked);
      return;
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    check()
      .catch((err: unknown) => options.log?.(`checking the runs' owners failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (busy = false));
  }, options.everyMs ?? OWNER_CHECK_MS);
  timer.unref();
  return toDisposable(() => clearInterval(timer));
}
