/** `agent-tasks show`: one task, by id or unique prefix. */
import type { TaskRow } from '../../core/taskTypes';
import { hasFlag, type ParsedArgs } from '../argParser';
import { JSON_OPTION, PROGRAM, STORE_OPTION, writeErr, writeOut } from '../common';
import { formatDetails, formatTable, publicRow } from '../format';
import { findByIdOrPrefix, withExistingStore } from '../store';
import type { Command } from './command';

export const showCommand: Command = {
  def: {
    name: 'show',
    summary: 'Show one task. ID may be any unique prefix of the task id.',
    usage: 'show ID [--json]',
    positionals: { min: 1, max: 1, name: 'the task ID' },
    options: [JSON_OPTION, STORE_OPTION],
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const idOrPrefix = parsed.positionals[0];
  const found = await withExistingStore(storeDir, 'read', () => ({ rows: [] as TaskRow[] }), async (store) => ({ rows: await findByIdOrPrefix(store, idOrPrefix) }));
  if (found.rows.length === 0) {
    writeErr(`${PROGRAM}: no task with id ${JSON.stringify(idOrPrefix)}\n`);
    return 1;
  }
  if (found.rows.length > 1) {
    writeErr(`${PROGRAM}: ${JSON.stringify(idOrPrefix)} matches ${found.rows.length} tasks; give more of the id:\n${formatTable(found.rows.slice(0, 10))}`);
    return 1;
  }
  const row = found.rows[0];
  writeOut(hasFlag(parsed, 'json') ? JSON.stringify(publicRow(row), null, 2) + '\n' : formatDetails(row));
  return 0;
}
