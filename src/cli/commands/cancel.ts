/** `agent-tasks cancel`: stop a run whoever owns it, and wait until its row has ended. */
import { CancelRunError, cancelRun, type CancelStep } from '../../core/runControl';
import type { TaskRow } from '../../core/taskTypes';
import { hasFlag, type ParsedArgs } from '../argParser';
import { PROGRAM, STORE_OPTION, writeErr, writeOut } from '../common';
import { publicRow } from '../format';
import { withTask } from '../store';
import type { Command } from './command';
import { taskIdArg } from './taskArg';

export const cancelCommand: Command = {
  def: {
    name: 'cancel',
    summary: 'Cancel a running task, whichever process runs it, and wait until it has ended.',
    usage: 'cancel ID [--json]',
    positionals: { min: 1, max: 1, name: 'the task ID' },
    options: [{ name: 'json', description: 'Print the final row as JSON (keys are the journal column names)' }, STORE_OPTION],
    details: [
      'ID may be any unique prefix of the task id. The request goes through the journal to the process',
      'that runs the task (an `agent-tasks run`, a VS Code window, a supervisor), which stops the agent:',
      'SIGTERM to its process group, SIGKILL after 5 s, and records it cancelled. If that process is',
      'gone (killed) and the agent still runs, this command stops the agent itself and records the task',
      'cancelled. An owner that does not answer within 20 s (an older Agent Tasks) has its agent stopped',
      'directly; it then records the end itself.',
      'Exit code: 0 when the task ends cancelled; 1 when it was not running, ended otherwise or could',
      'not be stopped; 2 for an unknown or ambiguous ID.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const idOrPrefix = taskIdArg(parsed, 'cancel');
  const json = hasFlag(parsed, 'json');
  return withTask(storeDir, idOrPrefix, 'write', async (store, found) => {
    const short = found.id.slice(0, 8);
    let result;
    try {
      result = await cancelRun(store, found.id, { onStep: (step) => reportStep(short, step) });
    } catch (err) {
      if (!(err instanceof CancelRunError)) throw err;
      writeErr(`${PROGRAM}: ${err.message}\n`);
      return 1;
    }
    const row = result.row;
    if (result.how === 'not-running') {
      writeErr(`${PROGRAM}: task ${short} is not running (status ${row.status})\n`);
      return 1;
    }
    if (json) writeOut(JSON.stringify(publicRow(row), null, 2) + '\n');
    if (row.status === 'cancelled') {
      if (!json) writeOut(`Cancelled task ${short}.\n`);
      return 0;
    }
    writeErr(`${PROGRAM}: ${endedOtherwise(short, row, result.how === 'direct')}\n`);
    return 1;
  });
}

function reportStep(short: string, step: CancelStep): void {
  if (step.kind === 'owner-gone') {
    writeErr(`${PROGRAM}: task ${short}: ${step.reason}; stopping its agent${step.row.child_pid === null ? '' : ` (pid ${step.row.child_pid})`} from here\n`);
  } else if (step.kind === 'owner-silent') {
    writeErr(
      `${PROGRAM}: task ${short}: its owner (pid ${step.row.owner_pid}) did not answer the cancel request (an older Agent Tasks?); stopping its agent${step.row.child_pid === null ? '' : ` (pid ${step.row.child_pid})`} directly\n`,
    );
  }
}

function endedOtherwise(short: string, row: TaskRow, direct: boolean): string {
  const how = `${row.status}${row.error ? `: ${row.error}` : ''}`;
  return direct ? `task ${short} was stopped; its owner recorded it as ${how}` : `task ${short} ended before it could be cancelled (${how})`;
}
