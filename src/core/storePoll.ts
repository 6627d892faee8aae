import { toDisposable, type IDisposable } from './lifecycle';

/**
 * Some file systems send no change events (network mounts, WSL's /mnt, some container volumes),
 * so a store's file watch alone would leave a view of live runs frozen. While `hasLiveRuns()`
 * says runs are live, this reads the store every `everyMs` (a refresh reads only what the logs
 * gained: nothing when nothing changed). Idle stores are not polled.
 */
export const LIVE_POLL_MS = 2_000;

export function pollWhileLive(store: { refresh(): Promise<void> }, hasLiveRuns: () => boolean, everyMs = LIVE_POLL_MS, log?: (message: string) => void): IDisposable {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !hasLiveRuns()) return;
    busy = true;
    store
      .refresh()
      .catch((err: unknown) => log?.(`polling the task journal failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return toDisposable(() => clearInterval(timer));
}
