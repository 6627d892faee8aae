import { TaskStore } from '../src/core/taskStore';

/** Opens a store, scans and reads the first tree data like an activating extension, then reports its peak RSS. */
async function main(): Promise<void> {
  const store = await TaskStore.open({ dir: process.argv[2] });
  await store.markRunningAsInterrupted();
  await store.listUnresolvedInterruptedTasks();
  await store.listTasks({ status: 'running' });
  await store.listTasks({ limit: 50 });
  await store.close();
  process.stdout.write(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

void main();
