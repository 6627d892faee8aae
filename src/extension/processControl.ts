/**
 * Stopping an agent process this window does not own: the child of an interrupted task that
 * outlived its editor, or a task the CLI or another window runs. No `vscode` import.
 *
 * The runner spawns each agent as the leader of its own process group (POSIX), so the group is
 * signalled: agents start shells, MCP servers and test runners that must stop with them.
 */
import { processLiveness } from '../core/processIdentity';

export type StopOutcome = 'stopped' | 'already-gone' | 'still-alive';

function signal(pid: number, sig: NodeJS.Signals): void {
  if (process.platform !== 'win32') {
    try {
      process.kill(-pid, sig);
      return;
    } catch {
      // Not a group leader (or the group is gone): signal the process itself.
    }
  }
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

async function waitUntilGone(pid: number, startedAt: number | null, ms: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await processLiveness(pid, startedAt)) !== 'alive') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. Checks the process identity (pid + start time) first, so
 * a pid reused by an unrelated process is never signalled.
 */
export async function stopProcessTree(
  pid: number,
  startedAt: number | null,
  options: { graceMs?: number; pollMs?: number } = {},
): Promise<StopOutcome> {
  const graceMs = options.graceMs ?? 5_000;
  const pollMs = options.pollMs ?? 100;
  if ((await processLiveness(pid, startedAt)) !== 'alive') return 'already-gone';
  signal(pid, 'SIGTERM');
  if (await waitUntilGone(pid, startedAt, graceMs, pollMs)) return 'stopped';
  signal(pid, 'SIGKILL');
  return (await waitUntilGone(pid, startedAt, 2_000, pollMs)) ? 'stopped' : 'still-alive';
}
