/** What every `agent-tasks` command shares: the program name, exit codes, options and output. */
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
 * Ends the process once stdout and stderr have taken everything written to them. The CLI and the
 * supervisor end this way instead of letting the event loop run dry: at that natural exit, Node 20
 * can deadlock in `NodePlatform::DrainTasks`, waiting for a V8 worker task that never finishes
 * (nodejs/node#54918; seen with gdb in a CI run: `agent-tasks recover` printed its answer, then
 * hung for minutes with every thread idle). Everything the command started is awaited before this.
 */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableEnded || stream.destroyed) done();
    else stream.write('', done);
  }
}
