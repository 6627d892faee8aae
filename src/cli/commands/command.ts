import type { CommandDef, ParsedArgs } from '../argParser';

/** One verb: its definition (options, help) and what it does; resolves with the exit code. */
export interface Command {
  readonly def: CommandDef;
  run(parsed: ParsedArgs, storeDir: string): Promise<number>;
}
