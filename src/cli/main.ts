#!/usr/bin/env node
/**
 * `agent-tasks`: run a command as a journaled task, and read the journal the VS Code extension
 * writes (same store folder by default, so both see the same history).
 *
 * This file is the entry: global options, dispatch and help. Each verb is a module under
 * commands/; store.ts opens the store, format.ts prints rows.
 */
import * as path from 'node:path';
import { defaultStoreDir } from '../core/storeLocation';
import { UsageError, formatCommandHelp, optionValue, parseCommandArgs } from './argParser';
import { EXIT_USAGE, exitWhenFlushed, PROGRAM, STORE_ENV, writeErr, writeOut } from './common';
import { answerCommand } from './commands/answer';
import { cancelCommand } from './commands/cancel';
import { changesCommand } from './commands/changes';
import type { Command } from './commands/command';
import { compactCommand } from './commands/compact';
import { diffCommand } from './commands/diff';
import { listCommand } from './commands/list';
import { logsCommand } from './commands/logs';
import { recoverCommand } from './commands/recover';
import { runCommand } from './commands/run';
import { showCommand } from './commands/show';
import { waitCommand } from './commands/wait';
import { setCliScript } from './store';

export { STORE_ENV } from './common';
export { exitCodeFor, guessAgent, guessFormat } from './commands/run';
export { formatDuration } from './format';

// A writing command that leaves a compaction due hands it to `agent-tasks compact`, run from this file.
setCliScript(__filename);

/** In the order `--help` lists them. */
const COMMANDS: readonly Command[] = [runCommand, listCommand, showCommand, logsCommand, changesCommand, diffCommand, waitCommand, cancelCommand, answerCommand, compactCommand, recoverCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.def.name.length));
  return [
    `Usage: ${PROGRAM} [--store DIR] <command> [options]`,
    '',
    'Runs coding agents and other long commands as journaled tasks, in the store the Agent Tasks',
    'VS Code extension uses.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.def.name.padEnd(width)}  ${c.def.summary}`),
    '',
    `Store: --store DIR, else $${STORE_ENV}, else ${defaultStoreDir()}`,
    '(VS Code Insiders, forks, portable mode and code-server keep it elsewhere: pass --store there.)',
    'AGENT_TASKS_DEBUG=1 prints the store\'s diagnostics on stderr.',
    '',
    `Run \`${PROGRAM} <command> --help\` for a command's options.`,
  ].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Entry

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      const hint = err.command ? `${PROGRAM} ${err.command} --help` : `${PROGRAM} --help`;
      writeErr(`${PROGRAM}: ${err.message}\nSee \`${hint}\`.\n`);
      return EXIT_USAGE;
    }
    writeErr(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const { storeFlag, rest } = readGlobalOptions(argv);
  if (rest === 'help') {
    writeOut(mainHelp());
    return 0;
  }
  const [name, ...tokens] = rest;
  if (name === undefined) {
    writeErr(mainHelp());
    return EXIT_USAGE;
  }
  if (name === 'help') return helpCommand(tokens);
  const command = COMMANDS.find((c) => c.def.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const parsed = parseCommandArgs(tokens, command.def);
  if (parsed.help) {
    writeOut(formatCommandHelp(PROGRAM, command.def));
    return 0;
  }
  const storeDir = resolveStoreDir(optionValue(parsed, 'store') ?? storeFlag);
  return command.run(parsed, storeDir);
}

/** Options before the command name: only `--store` and `--help`. */
function readGlobalOptions(argv: readonly string[]): { storeFlag: string | undefined; rest: string[] | 'help' } {
  let storeFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '-h' || token === '--help') return { storeFlag, rest: 'help' };
    if (token.startsWith('--store=')) {
      storeFlag = token.slice('--store='.length);
    } else if (token === '--store') {
      storeFlag = argv[++i];
      if (storeFlag === undefined) throw new UsageError('--store needs a value (DIR)');
    } else if (token.startsWith('-')) {
      throw new UsageError(`unknown option ${token.split('=')[0]}`);
    } else {
      return { storeFlag, rest: argv.slice(i) };
    }
  }
  return { storeFlag, rest: [] };
}

function helpCommand(tokens: readonly string[]): number {
  if (tokens.length === 0) {
    writeOut(mainHelp());
    return 0;
  }
  const command = COMMANDS.find((c) => c.def.name === tokens[0]);
  if (!command || tokens.length > 1) throw new UsageError(`no help for ${JSON.stringify(tokens.join(' '))}`);
  writeOut(formatCommandHelp(PROGRAM, command.def));
  return 0;
}

export function resolveStoreDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag.trim() === '') throw new UsageError('--store needs a folder');
  return path.resolve(flag ?? (env[STORE_ENV] || defaultStoreDir()));
}

if (require.main === module) {
  void main(process.argv.slice(2)).then(exitWhenFlushed);
}
