import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';

/** One row as a separate, read-only process would see it (a store opened and closed for it). */
export async function readRow(dir: string, id: string): Promise<TaskRow | undefined> {
  const store = await TaskStore.open({ dir, readOnly: true });
  try {
    return await store.getTask(id);
  } finally {
    await store.close();
  }
}
