/** What `changes` and `diff` share: the task by id or prefix, and the two snapshots to compare. */
import { changeRange } from '../../core/runChanges';
import { isLive, type TaskRow } from '../../core/taskTypes';
import type { ParsedArgs } from '../argParser';
import { PROGRAM, writeErr } from '../common';
import { isDirectory, lookupTask, withExistingStore } from '../store';
import { taskIdArg } from './taskArg';

/** The range to compare: the task, the folder git runs in, the two trees, and what the range is. */
export interface TaskChanges {
  readonly row: TaskRow;
  /** Where git runs: the work tree's root, or the main repository of a worktree removed since. */
  readonly cwd: string;
  readonly root: string;
  readonly from: string;
  readonly to: string;
  /** "start → end", or "start → now (…)" when the second tree is a snapshot taken now. */
  readonly label: string;
}

/**
 * Finds the task and its change range; on a problem says so on stderr and returns the exit code:
 * 2 for no such task or an ambiguous prefix (as every verb that takes an id), 1 for a task with
 * no snapshots to compare (and why). A run without an end snapshot (still
 * running, or its end was never snapshotted) is compared with a snapshot taken now: the CLI is
 * run by the user in a terminal, where git may run as it does for them.
 */
export async function resolveTaskChanges(parsed: ParsedArgs, storeDir: string, command: string): Promise<TaskChanges | 1 | 2> {
  const idOrPrefix = taskIdArg(parsed, command);
  // The store is closed before git runs: a big diff must not hold it open.
  const found = await withExistingStore(storeDir, 'read', () => ({ problem: `no task with id ${JSON.stringify(idOrPrefix)}\n` }), (store) => lookupTask(store, idOrPrefix));
  if ('problem' in found) {
    writeErr(`${PROGRAM}: ${found.problem}`);
    return 2;
  }
  const row = found.row;
  const range = await changeRange(row.git, { allowSnapshotNow: true });
  if (!range.ok) {
    writeErr(`${PROGRAM}: task ${row.id.slice(0, 8)} has no snapshots to compare: ${range.reason}\n`);
    return 1;
  }
  // A worktree removed after its run: its trees and refs live on in the repository it came from.
  const worktreeRepo = row.git?.worktree?.repo;
  const cwd = (await isDirectory(range.root)) ? range.root : worktreeRepo && (await isDirectory(worktreeRepo)) ? worktreeRepo : null;
  if (cwd === null) {
    writeErr(`${PROGRAM}: task ${row.id.slice(0, 8)}: its work tree ${range.root} no longer exists\n`);
    return 1;
  }
  const label = !range.live ? 'start → end' : isLive(row.status) ? 'start → now (the run is still going)' : 'start → now (its end snapshot was not taken)';
  return { row, cwd, root: range.root, from: range.from.tree, to: range.to.tree, label };
}
