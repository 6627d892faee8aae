import { writeSync } from 'node:fs';
import { TaskStore } from '../../src/core/taskStore';

/**
 * Loops start/finish on one store until it is killed. Prints `S id` once a start has resolved
 * and `F id` once a finish has: what it printed was acknowledged. Writes to fd 1 synchronously,
 * so a line is out before the next await.
 *   node crashWorker.js <storeDir> <round> [compactAfterBytes]
 */
async function main(): Promise<void> {
  const [dir, round, compactAfter] = process.argv.slice(2);
  const store = await TaskStore.open({ dir, compactAfterBytes: Number(compactAfter) || 64 * 1024, rotationGraceMs: 50 });
  writeSync(1, `READY ${process.pid}\n`);
  for (let i = 0; ; i++) {
    const id = `r${round}-t${i}`;
    await store.startTask({
      id,
      name: `crash round ${round} task ${i}`,
      command: 'agent',
      args: ['-p', `prompt ${i}`],
      cwd: '/tmp',
      prompt: `prompt ${i}`,
    });
    writeSync(1, `S ${id}\n`);
    await store.updateRunning(id, { child_pid: 1000 + i, output_bytes: i });
    await store.finishTask(id, { status: 'success', exit_code: 0, output_bytes: i, cost_usd: i / 1000 });
    writeSync(1, `F ${id}\n`);
  }
}

// An explicit exit: Node 20 can hang at a natural exit (see exitWhenFlushed in src/cli/common.ts).
main().then(
  () => process.exit(0),
  (err) => {
    writeSync(2, `crashWorker failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
