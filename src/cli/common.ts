/** What every `agent-tasks` command shares: the program name, exit codes, options and output. */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { OptionDef } from './argParser';

export const PROGRAM = 'agent-tasks';
export const STORE_ENV = 'AGENT_TASKS_STORE';
export const EXIT_USAGE = 2;

export const STORE_OPTION: OptionDef = {
  name: 'store',
  value: 'DIR',
  description: `The task store folder (default: $${STORE_ENV}, else the VS Code extension's folder)`,
};
export const JSON_OPTION: OptionDef = { name: 'json', description: 'Print JSON (keys are the journal column names)' };

export function writeOut(text: string): void {
  process.stdout.write(text);
}

export function writeErr(text: string): void {
  process.stderr.write(text);
}

/**
 * Ends the process once stdout and stderr have taken everything written to them, after a garbage
 * collection. Node 20 can deadlock at exit (nodejs/node#54918): a V8 background job (a compile)
 * waits in CollectionBarrier::AwaitCollectionBackground for a collection that only the main thread
 * runs, while the main thread waits for that job, at a natural exit (NodePlatform::DrainTasks)
 * and in process.exit alike (NodePlatform::Shutdown joins the worker threads). Seen with gdb in
 * CI: `agent-tasks list` had printed its answer and sat with every thread blocked. A collection
 * on the main thread right before the exit releases a job that waits for one.
 */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending > 0) return;
    collectGarbage();
    process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableEnded || stream.destroyed) done();
    else stream.write('', done);
  }
}

function collectGarbage(): void {
  try {
    let gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== 'function') {
      // A plain Node process (the CLI) may expose it at run time; the supervisor runs with --expose-gc.
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    }
    gc();
  } catch {
    // Exit all the same.
  }
}
