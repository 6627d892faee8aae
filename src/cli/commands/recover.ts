/** `agent-tasks recover`: mark orphaned runs interrupted, list the unresolved ones. */
import { stopOrphanedAgents } from '../../core/processControl';
import { snapshotInterruptedRuns } from '../../core/runSnapshots';
import type { TaskRow } from '../../core/taskTypes';
import { hasFlag, type ParsedArgs } from '../argParser';
import { JSON_OPTION, PROGRAM, STORE_OPTION, writeErr, writeOut } from '../common';
import { formatTable, plural, publicRow } from '../format';
import { withExistingStore } from '../store';
import type { Command } from './command';

export const recoverCommand: Command = {
  def: {
    name: 'recover',
    summary: 'Mark running tasks whose owner process is gone as interrupted, and list the interrupted tasks not yet resolved.',
    usage: 'recover [--json]',
    positionals: { min: 0, max: 0, name: '' },
    options: [JSON_OPTION, STORE_OPTION],
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const result = await withExistingStore(
    storeDir,
    'write',
    () => ({ marked: [] as TaskRow[], unmarked: [] as TaskRow[], unresolved: [] as TaskRow[] }),
    async (store) => {
      const marked = await store.markRunningAsInterrupted();
      // Their agents work unseen now (nothing logs them): stopped, pid and start checked.
      for (const { row, outcome } of await stopOrphanedAgents(marked)) {
        if (outcome !== 'already-gone') writeErr(`${PROGRAM}: task ${row.id.slice(0, 8)}: its agent (pid ${row.child_pid}) outlived its owner: ${outcome}\n`);
      }
      // What they had changed, once their agents are stopped (a user in a terminal runs git as they like).
      await snapshotInterruptedRuns(store, marked, (m) => writeErr(`${PROGRAM}: ${m}\n`));
      // A read-only store (or a full disk) cannot record them, but the answer is still worth giving.
      const markedIds = new Set(marked.map((r) => r.id));
      const unmarked = (await store.findOrphanedTasks()).filter((r) => !markedIds.has(r.id));
      return { marked, unmarked, unresolved: await store.listUnresolvedInterruptedTasks() };
    },
  );
  if (hasFlag(parsed, 'json')) {
    const json = { marked: result.marked.map(publicRow), unresolved: result.unresolved.map(publicRow), orphaned_unrecorded: result.unmarked.map(publicRow) };
    writeOut(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  writeOut(
    result.marked.length === 0
      ? result.unmarked.length === 0
        ? 'No orphaned running tasks.\n'
        : ''
      : `Marked ${plural(result.marked.length, 'task')} as interrupted:\n${formatTable(result.marked)}`,
  );
  if (result.unmarked.length > 0) {
    writeOut(`${plural(result.unmarked.length, 'running task')} whose owner is gone could not be marked interrupted (see above why):\n${formatTable(result.unmarked)}`);
  }
  if (result.unresolved.length > 0) {
    writeOut(`\n${plural(result.unresolved.length, 'interrupted task')} not yet resolved (resume, restart or dismiss them in VS Code):\n${formatTable(result.unresolved)}`);
  }
  return 0;
}
