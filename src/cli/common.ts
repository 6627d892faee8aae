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
