import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { TaskStore } from '../../src/core/taskStore';
import { makeTempDir } from '../helpers/tempDir';

const run = promisify(execFile);
const WORKER = path.join(__dirname, 'concurrencyWorker.js');
const PROCESSES = 3;
const TASKS = 200;

async function runWorkers(dir: string, compactAfterBytes: number): Promise<{ tag: string; seen: number }[]> {
  const results = await Promise.all(
    Array.from({ length: PROCESSES }, (_, p) =>
      run(process.execPath, [WORKER, dir, `p${p}`, String(TASKS), String(compactAfterBytes)], { timeout: 120_000 }),
    ),
  );
  return results.map((r) => {
    assert.equal(r.stderr, '');
    return JSON.parse(r.stdout);
  });
}

async function checkStore(dir: string): Promise<void> {
  const store = await TaskStore.open({ dir });
  try {
    assert.equal(await store.countTasks({ status: 'success' }), PROCESSES * TASKS);
    assert.equal(await store.countTasks({ includeRunning: true }), PROCESSES * TASKS, 'no duplicate or stray rows');
    for (let p = 0; p < PROCESSES; p++) {
      const rows = await store.listTasks({ workspace: `p${p}`, limit: 1000 });
      assert.equal(rows.length, TASKS);
      assert.deepEqual(
        rows.map((r) => r.output_bytes).sort((a, b) => a - b),
        Array.from({ length: TASKS }, (_, i) => i),
      );
    }
  } finally {
    await store.close();
  }
}

test(`${PROCESSES} processes × ${TASKS} tasks on one store give ${PROCESSES * TASKS} finished rows`, { timeout: 180_000 }, async () => {
  const { dir, cleanup } = await makeTempDir('agent-tasks-conc-');
  try {
    const seen = await runWorkers(dir, 1024 * 1024);
    // Each saw at least its own rows; the last to finish saw everyone's.
    for (const s of seen) assert.ok(s.seen >= TASKS, `${s.tag} saw ${s.seen}`);
    assert.ok(seen.some((s) => s.seen === PROCESSES * TASKS));
    await checkStore(dir);
  } finally {
    await cleanup();
  }
});

test('the same while every process compacts often (log rotation under concurrent appends)', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = await makeTempDir('agent-tasks-conc-');
  try {
    await runWorkers(dir, 8 * 1024);
    await checkStore(dir);
  } finally {
    await cleanup();
  }
});
