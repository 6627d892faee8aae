/** `agent-tasks wait`: block until a run ends; exit with its exit code. */
import { waitForRunEnd } from '../../core/runControl';
import type { TaskRow } from '../../core/taskTypes';
import { hasFlag, type ParsedArgs } from '../argParser';
import { PROGRAM, STORE_OPTION, writeErr, writeOut } from '../common';
import { publicRow } from '../format';
import { withTask } from '../store';
import type { Command } from './command';
import { exitCodeFor } from './run';
import { taskIdArg } from './taskArg';

export const waitCommand: Command = {
  def: {
    name: 'wait',
    summary: 'Wait until a task has ended; exits with its exit code.',
    usage: 'wait ID [--json]',
    positionals: { min: 1, max: 1, name: 'the task ID' },
    options: [{ name: 'json', description: 'Print the final row as JSON (keys are the journal column names)' }, STORE_OPTION],
    details: [
      'ID may be any unique prefix of the task id. A task that has already ended answers at once.',
      'Exit code: 0 for success; the command\'s own code when it failed with one (128+N when killed by',
      'signal N); 1 when it failed without one, or was interrupted (its owner process died: the',
      'message says so); 130 when it was cancelled; 2 for an unknown or ambiguous ID.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const idOrPrefix = taskIdArg(parsed, 'wait');
  // Only reads: works on a read-only store too.
  return withTask(storeDir, idOrPrefix, 'read', async (store, row) => {
    const end = await waitForRunEnd(store, row.id);
    if (hasFlag(parsed, 'json')) writeOut(JSON.stringify(publicRow(end.row), null, 2) + '\n');
    const short = end.row.id.slice(0, 8);
    if (end.ownerGone !== undefined) {
      writeErr(`${PROGRAM}: task ${short} was interrupted: ${end.ownerGone} (\`${PROGRAM} recover\` records it)\n`);
      return 1;
    }
    return reportEnd(short, end.row);
  });
}

/** The task's exit code, like `run`'s; what the row says went wrong on stderr (the task's own output is not here to say it). */
export function waitExitCode(row: TaskRow): number {
  if (row.status === 'cancelled') return 130;
  if (row.status === 'interrupted') return 1;
  return exitCodeFor(row);
}

function reportEnd(short: string, row: TaskRow): number {
  if (row.status === 'interrupted') writeErr(`${PROGRAM}: task ${short} was interrupted${row.error ? `: ${row.error.replace(/^Interrupted: /, '')}` : ''}\n`);
  else if (row.status === 'failed') writeErr(`${PROGRAM}: task ${short} failed${row.error ? `: ${row.error}` : ''}\n`);
  return waitExitCode(row);
}
