/** `agent-tasks list`: tasks, newest first. */
import { TASK_STATUSES, type TaskRow, type TaskStatus } from '../../core/taskTypes';
import { UsageError, hasFlag, optionValue, type ParsedArgs } from '../argParser';
import { JSON_OPTION, STORE_OPTION, writeOut } from '../common';
import { formatTable, publicRow } from '../format';
import { withExistingStore } from '../store';
import type { Command } from './command';

const DEFAULT_LIST_LIMIT = 20;

export const listCommand: Command = {
  def: {
    name: 'list',
    summary: 'List tasks, newest first.',
    usage: 'list [--status S[,S…]] [--limit N] [--json]',
    positionals: { min: 0, max: 0, name: '' },
    options: [
      { name: 'status', value: 'S', description: `Only these statuses: ${TASK_STATUSES.join(', ')} (comma-separated)` },
      { name: 'limit', value: 'N', description: `At most N tasks (default ${DEFAULT_LIST_LIMIT})` },
      JSON_OPTION,
      STORE_OPTION,
    ],
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const status = parseStatuses(optionValue(parsed, 'status'));
  const limit = parseLimit(optionValue(parsed, 'limit'));
  const json = hasFlag(parsed, 'json');
  const rows = await withExistingStore(storeDir, 'read', () => [] as TaskRow[], (store) => store.listTasks({ status, limit, includeRunning: true }));
  if (json) writeOut(JSON.stringify(rows.map(publicRow), null, 2) + '\n');
  else writeOut(rows.length === 0 ? 'No tasks.\n' : formatTable(rows));
  return 0;
}

function parseStatuses(value: string | undefined): TaskStatus[] | undefined {
  if (value === undefined) return undefined;
  const statuses = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = statuses.find((s) => !TASK_STATUSES.includes(s as TaskStatus));
  if (statuses.length === 0 || unknown !== undefined) {
    throw new UsageError(`--status must be one or more of ${TASK_STATUSES.join(', ')}${unknown ? ` (got ${JSON.stringify(unknown)})` : ''}`, 'list');
  }
  return statuses as TaskStatus[];
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIST_LIMIT;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--limit must be a positive whole number (got ${JSON.stringify(value)})`, 'list');
  return n;
}
