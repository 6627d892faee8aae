/** `agent-tasks compact`: rewrite the snapshot (a writing command hands it over to this one, detached). */
import type { ParsedArgs } from '../argParser';
import { PROGRAM, STORE_OPTION, writeErr } from '../common';
import { isDirectory, openStore } from '../store';
import type { Command } from './command';

export const compactCommand: Command = {
  def: {
    name: 'compact',
    summary: 'Rewrite the journal snapshot and retire the logs it covers (runs by itself; rarely needed by hand).',
    usage: 'compact',
    positionals: { min: 0, max: 0, name: '' },
    options: [STORE_OPTION],
    details: [
      'Waits out the rotation grace (10 s) so that writers of other processes land first. Exits 0',
      'without doing anything when another live process is compacting the store.',
    ].join('\n'),
  },
  run,
};

async function run(_parsed: ParsedArgs, storeDir: string): Promise<number> {
  if (!(await isDirectory(storeDir))) return 0;
  const store = await openStore(storeDir, 'write');
  try {
    if (store.readOnly) {
      writeErr(`${PROGRAM}: cannot compact: the task store at ${storeDir} is read-only\n`);
      return 1;
    }
    const done = await store.compact();
    if (process.env.AGENT_TASKS_DEBUG) writeErr(`${PROGRAM}: ${done ? 'compacted' : 'another process is compacting'} ${storeDir}\n`);
    return 0;
  } finally {
    // Not closeStore: a compactor that found the lock held must not hand over to yet another one.
    await store.close();
  }
}
