import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';

/**
 * Process liveness and start times, so that a journal row's owner can be judged dead
 * only when it provably is: the pid is gone, or it now belongs to another process.
 */

// Linux reports start times in clock ticks since boot; USER_HZ is 100 on every mainstream build.
const LINUX_TICKS_PER_SECOND = 100;
// btime is whole seconds and drifts with clock adjustments: start times compare with this slack.
export const START_TIME_TOLERANCE_MS = 2_000;

let bootTimeMs: Promise<number | null> | undefined;

function linuxBootTimeMs(): Promise<number | null> {
  bootTimeMs ??= fsp.readFile('/proc/stat', 'utf8').then(
    (text) => {
      const m = /^btime\s+(\d+)/m.exec(text);
      return m ? Number(m[1]) * 1000 : null;
    },
    () => null,
  );
  return bootTimeMs;
}

interface LinuxProcStat {
  state: string;
  startTicks: number;
}

async function readLinuxProcStat(pid: number): Promise<LinuxProcStat | null> {
  let text: string;
  try {
    text = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: fields are counted from the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); starttime is field 22.
  const startTicks = Number(rest[19]);
  return Number.isFinite(startTicks) ? { state: rest[0], startTicks } : null;
}

/**
 * When `pid` started, in clock ticks since boot (Linux; null elsewhere or when it is gone). Unlike
 * a wall-clock start time, it does not move when the clock is stepped (NTP, a suspended VM), so it
 * is compared exactly.
 */
export async function processStartTicks(pid: number): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  return (await readLinuxProcStat(pid))?.startTicks ?? null;
}

function darwinStartTime(pid: number): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'lstart=', '-p', String(pid)], { timeout: 5_000 }, (err, stdout) => {
      if (err) return resolve(null);
      const t = Date.parse(stdout.trim());
      resolve(Number.isFinite(t) ? t : null);
    });
  });
}

/** Wall-clock ms at which `pid` started, or null when the process is gone or the OS does not say. */
export async function processStartTime(pid: number): Promise<number | null> {
  if (process.platform === 'linux') {
    const [stat, boot] = await Promise.all([readLinuxProcStat(pid), linuxBootTimeMs()]);
    if (!stat || boot === null) return null;
    return boot + Math.round((stat.startTicks * 1000) / LINUX_TICKS_PER_SECOND);
  }
  if (process.platform === 'darwin') return darwinStartTime(pid);
  return null;
}

function signalZeroSaysAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type Liveness = 'alive' | 'dead' | 'reused';

/**
 * Whether the process that had `pid` (and, when known, started at `startedAt`, or `startTicks`
 * clock ticks after boot) still runs on this host. 'reused' means the pid now belongs to a process
 * that started at another time. Ticks, when recorded, decide: wall-clock start times are derived
 * from btime, which moves when the clock is stepped, so they only compare with a slack.
 */
export async function processLiveness(pid: number, startedAt: number | null, startTicks: number | null = null): Promise<Liveness> {
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  if (!signalZeroSaysAlive(pid)) return 'dead';
  if (process.platform === 'linux') {
    const stat = await readLinuxProcStat(pid);
    if (!stat) return 'dead';
    // A killed process whose parent has not reaped it yet answers signal 0 but is gone.
    if (stat.state === 'Z' || stat.state === 'X') return 'dead';
    if (startTicks !== null && startTicks !== undefined) return stat.startTicks === startTicks ? 'alive' : 'reused';
  }
  if (startedAt === null) return 'alive';
  const now = await processStartTime(pid);
  if (now === null) return 'alive';
  return Math.abs(now - startedAt) > START_TIME_TOLERANCE_MS ? 'reused' : 'alive';
}

export function hostName(): string {
  return os.hostname();
}
