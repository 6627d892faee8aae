import { writeSync } from 'node:fs';
import { TaskStore } from '../../src/core/taskStore';

/**
 * Runs `count` tasks start→finish on a shared store, then reports how many finished rows it
 * sees in all. node concurrencyWorker.js <storeDir> <tag> <count> [compactAfterBytes]
 */
async function main(): Promise<void> {
  const [dir, tag, count, compactAfter] = process.argv.slice(2);
  // A short grace keeps the test fast; the race it covers is a write and a rotation within microseconds.
  const store = await TaskStore.open({ dir, compactAfterBytes: Number(compactAfter) || 1024 * 1024, rotationGraceMs: 100 });
  for (let i = 0; i < Number(count); i++) {
    const id = `${tag}-${i}`;
    await store.startTask({ id, name: id, command: 'agent', args: [String(i)], cwd: '/tmp', workspace: tag });
    await store.heartbeat([id]);
    await store.finishTask(id, { status: 'success', exit_code: 0, output_bytes: i });
    // Reads interleave with the other writers' appends and compactions.
    if (i % 25 === 0) await store.countTasks();
  }
  writeSync(1, `${JSON.stringify({ tag, seen: await store.countTasks({ status: 'success' }) })}\n`);
  await store.close();
}

// An explicit exit: Node 20 can hang at a natural exit (see exitWhenFlushed in src/cli/common.ts).
main().then(
  () => process.exit(0),
  (err) => {
    writeSync(2, `concurrencyWorker failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
