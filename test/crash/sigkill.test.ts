import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { TaskStore } from '../../src/core/taskStore';
import { makeTempDir } from '../helpers/tempDir';

/**
 * A child loops start/finish on one store; the test SIGKILLs it at a random moment, reopens the
 * store, and checks that every acknowledged write is there and that recovery marks exactly the
 * orphaned rows. CRASH_ROUNDS sets the number of rounds (default 200).
 */
const ROUNDS = Number(process.env.CRASH_ROUNDS) || 200;
const WORKER = path.join(__dirname, 'crashWorker.js');

interface RoundResult {
  pid: number;
  started: string[];
  finished: string[];
  stderr: string;
}

function runAndKill(dir: string, round: number, killAfterMs: number, killBeforeReady: boolean): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    // A small compaction threshold makes kills land inside compactions too.
    const child = spawn(process.execPath, [WORKER, dir, String(round), String(16 * 1024)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => (timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs));
    if (killBeforeReady) arm();
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY')) arm();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`worker ended by itself (code ${code}): ${stderr}`));
      const lines = out.split('\n');
      resolve({
        pid: child.pid!,
        started: lines.filter((l) => l.startsWith('S ')).map((l) => l.slice(2)),
        finished: lines.filter((l) => l.startsWith('F ')).map((l) => l.slice(2)),
        stderr,
      });
    });
  });
}

test(`SIGKILL at random moments loses no acknowledged write (${ROUNDS} rounds)`, { timeout: 30 * 60_000 }, async () => {
  const { dir, cleanup } = await makeTempDir('agent-tasks-crash-');
  let acked = 0;
  let orphansMarked = 0;
  let compactions = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const killBeforeReady = round % 10 === 9;
      const r = await runAndKill(dir, round, killBeforeReady ? Math.random() * 150 : Math.random() * 250, killBeforeReady);
      assert.equal(r.stderr, '', `round ${round}: worker wrote to stderr`);
      const store = await TaskStore.open({ dir, log: (m) => m.startsWith('compacted') && compactions++ });
      try {
        for (const id of r.started) assert.ok(await store.getTask(id), `round ${round}: acknowledged start of ${id} lost`);
        for (const id of r.finished) {
          const row = await store.getTask(id);
          assert.equal(row?.status, 'success', `round ${round}: acknowledged finish of ${id} lost (${row?.status})`);
          assert.equal(row?.output_bytes, Number(id.split('-t')[1]));
        }
        const running = await store.listTasks({ status: 'running', limit: 100_000 });
        for (const row of running) {
          assert.equal(row.owner_pid, r.pid, `round ${round}: running row ${row.id} belongs to pid ${row.owner_pid}`);
          assert.ok(!r.finished.includes(row.id));
        }
        const marked = await store.markRunningAsInterrupted();
        assert.deepEqual(marked.map((x) => x.id).sort(), running.map((x) => x.id).sort(), `round ${round}: recovery marked other rows than the orphans`);
        assert.equal(await store.countTasks({ status: 'running' }), 0);
        acked += r.started.length + r.finished.length;
        orphansMarked += marked.length;
      } finally {
        await store.close();
      }
    }
  } finally {
    await cleanup();
  }
  console.log(`crash: ${ROUNDS} rounds, ${acked} acknowledged writes checked, ${orphansMarked} orphans marked, ${compactions} compactions at reopen`);
  assert.ok(acked > ROUNDS, 'the workers got real work done between kills');
});
