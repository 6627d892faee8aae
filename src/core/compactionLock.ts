import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { processLiveness } from './processIdentity';
import { CREATE_NEW_FLAGS, errorCode, FILE_MODE, moveAside, readFileNoFollow } from './storeFiles';
import type { OwnerIdentity } from './taskTypes';

/**
 * `compact.lock`: one process compacts a store at a time. A lock whose holder is provably dead
 * (same host: the pid is gone or reused) is taken over at once; one from another host, or one
 * nobody could read, only when old. A lock file that cannot be read is kept aside, not deleted.
 */

export const LOCK_NAME = 'compact.lock';
const LOCK_STALE_MS = 5 * 60_000;
const LOCK_UNWRITTEN_STALE_MS = 10_000;

interface LockHolder {
  owner_id?: string;
  pid?: number;
  started_at?: number | null;
  start_ticks?: number | null;
  host?: string;
}

/** Takes the lock; false when a live process holds it. `onNotice` hears of a damaged lock kept aside. */
export async function tryLock(dir: string, owner: OwnerIdentity, onNotice: (message: string) => void): Promise<boolean> {
  const lockPath = path.join(dir, LOCK_NAME);
  const me = JSON.stringify({
    owner_id: owner.id,
    pid: owner.pid,
    started_at: owner.startedAt,
    start_ticks: owner.startTicks,
    host: owner.host,
    at: Date.now(),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // O_EXCL never follows a link: a planted one makes this fail with EEXIST, and is judged below.
      const h = await fsp.open(lockPath, CREATE_NEW_FLAGS, FILE_MODE);
      try {
        await h.writeFile(me);
      } finally {
        await h.close();
      }
      return true;
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    const verdict = await judgeLock(lockPath, owner);
    if (verdict === 'held') return false;
    if (verdict === 'unreadable') {
      const movedTo = await moveAside(lockPath).catch(() => undefined);
      if (movedTo) onNotice(`The task journal's ${LOCK_NAME} in ${dir} could not be read; it was kept as ${movedTo}.`);
    } else {
      await fsp.unlink(lockPath).catch(() => undefined);
    }
  }
  return false;
}

export async function releaseLock(dir: string): Promise<void> {
  await fsp.unlink(path.join(dir, LOCK_NAME)).catch(() => undefined);
}

async function judgeLock(lockPath: string, me: OwnerIdentity): Promise<'held' | 'stale' | 'unreadable'> {
  let stat;
  try {
    stat = await fsp.lstat(lockPath);
  } catch {
    return 'stale'; // released meanwhile
  }
  const ageMs = Date.now() - stat.mtimeMs;
  let holder: LockHolder;
  try {
    if (!stat.isFile()) throw new Error('not a file');
    holder = JSON.parse((await readFileNoFollow(lockPath)).toString('utf8')) as LockHolder;
    if (typeof holder !== 'object' || holder === null) throw new Error('not a lock');
  } catch {
    // Created but not yet written by its holder — or torn by a crash right then: only age tells.
    return ageMs > LOCK_UNWRITTEN_STALE_MS ? 'unreadable' : 'held';
  }
  // No compaction takes minutes: an old lock is stale whoever holds it.
  if (ageMs > LOCK_STALE_MS) return 'stale';
  if (holder.host !== me.host || typeof holder.pid !== 'number') return 'held';
  const liveness = await processLiveness(holder.pid, holder.started_at ?? null, holder.start_ticks ?? null);
  return liveness === 'alive' ? 'held' : 'stale';
}
