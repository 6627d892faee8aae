/** How the commands open and close the task store. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { TaskStore } from '../core/taskStore';
import type { TaskRow } from '../core/taskTypes';
import { EXIT_USAGE, PROGRAM, STORE_ENV, writeErr } from './common';
import { formatTable } from './format';

/**
 * The script `handOverCompaction` starts: the CLI's entry file itself (dist/cli.js in the package,
 * out/src/cli/main.js under tsc), never whatever script happens to be running. main.ts sets it.
 */
let cliScript: string | undefined;

export function setCliScript(file: string): void {
  cliScript = file;
}

/** The CLI's own entry file (dist/cli.js, or main.js of the tsc output), once main.ts registered it. */
export function getCliScript(): string | undefined {
  return cliScript;
}

/**
 * Opens the store for one command. `read`: list and show only read, so nothing is created,
 * moved aside or compacted. Notices (damage, a full disk, a read-only mount) go to stderr as
 * they come, also those found mid-command. A writing command never compacts by itself (it
 * would exit in the middle): when one is due, `close` hands it to a detached `compact`.
 */
export async function openStore(dir: string, access: 'read' | 'write'): Promise<TaskStore> {
  const store = await TaskStore.open({
    dir,
    readOnly: access === 'read',
    compactInBackground: false,
    // Tuning and tests: how many log bytes make a compaction due (default 1 MiB).
    compactAfterBytes: Number(process.env.AGENT_TASKS_COMPACT_AFTER_BYTES) || undefined,
    log: process.env.AGENT_TASKS_DEBUG ? (m) => writeErr(`[store] ${m}\n`) : undefined,
  });
  for (const notice of store.notices) writeErr(`${PROGRAM}: ${notice}\n`);
  store.onDidAddNotice((notice) => writeErr(`${PROGRAM}: ${notice}\n`));
  return store;
}

export async function closeStore(store: TaskStore): Promise<void> {
  const handOver = store.compactionDue;
  await store.close();
  if (handOver) handOverCompaction(store.dir);
}

/**
 * Starts `agent-tasks compact` for the store, detached, so that the compaction finishes after
 * this process exits (it waits out the rotation grace). A compactor that finds the lock held by
 * a live process exits at once.
 */
function handOverCompaction(dir: string): void {
  if (cliScript === undefined) return;
  try {
    const child = spawn(process.execPath, [cliScript, 'compact', '--store', dir], { detached: true, stdio: 'ignore', env: process.env });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // The next process that writes the store tries again.
  }
}

/** For the reading commands: no store folder yet means no tasks, not a reason to create one. */
export async function withExistingStore<T>(dir: string, access: 'read' | 'write', whenMissing: () => T, use: (store: TaskStore) => Promise<T>): Promise<T> {
  if (!(await isDirectory(dir))) {
    writeErr(`${PROGRAM}: no task store at ${dir} yet (pass --store DIR or set ${STORE_ENV} to use another)\n`);
    return whenMissing();
  }
  const store = await openStore(dir, access);
  try {
    return await use(store);
  } finally {
    await closeStore(store);
  }
}

export async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** The row with this id, else every row whose id starts with `idOrPrefix`. */
export async function findByIdOrPrefix(store: TaskStore, idOrPrefix: string): Promise<TaskRow[]> {
  const exact = await store.getTask(idOrPrefix);
  if (exact) return [exact];
  const total = await store.countTasks({ includeRunning: true });
  if (total === 0) return [];
  const rows = await store.listTasks({ includeRunning: true, limit: total });
  return rows.filter((r) => r.id.startsWith(idOrPrefix));
}

/**
 * The one task `idOrPrefix` names, or the message that says why there is none (no such task, or
 * a prefix of several: their table follows). For the verbs that act on one task.
 */
export async function lookupTask(store: TaskStore, idOrPrefix: string): Promise<{ row: TaskRow } | { problem: string }> {
  const rows = await findByIdOrPrefix(store, idOrPrefix);
  if (rows.length === 0) return { problem: `no task with id ${JSON.stringify(idOrPrefix)}\n` };
  if (rows.length > 1) return { problem: `${JSON.stringify(idOrPrefix)} matches ${rows.length} tasks; give more of the id:\n${formatTable(rows.slice(0, 10))}` };
  return { row: rows[0] };
}

/**
 * For the verbs that act on one task (answer, cancel, wait): opens the store, finds the task by id
 * or unique prefix and hands both over; no store folder, no such task or an ambiguous prefix is
 * said on stderr and exits 2.
 */
export async function withTask(
  dir: string,
  idOrPrefix: string,
  access: 'read' | 'write',
  use: (store: TaskStore, row: TaskRow) => Promise<number>,
): Promise<number> {
  if (!(await isDirectory(dir))) {
    writeErr(`${PROGRAM}: no task with id ${JSON.stringify(idOrPrefix)} (there is no task store at ${dir})\n`);
    return EXIT_USAGE;
  }
  const store = await openStore(dir, access);
  try {
    const found = await lookupTask(store, idOrPrefix);
    if ('problem' in found) {
      writeErr(`${PROGRAM}: ${found.problem}`);
      return EXIT_USAGE;
    }
    return await use(store, found.row);
  } finally {
    await closeStore(store);
  }
}
