#!/usr/bin/env node
/**
 * `agent-tasks`: run a command as a journaled task, and read the journal the VS Code extension
 * writes (same store folder by default, so both see the same history).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COLUMNS } from '../core/journalOps';
import { capChars } from '../core/outputParsers';
import { defaultStoreDir } from '../core/storeLocation';
import { TaskRunner, TaskSpecError, type RunningTask, type TaskSpec } from '../core/taskRunner';
import { TaskStore } from '../core/taskStore';
import { OUTPUT_FORMATS, TASK_STATUSES, type OutputFormat, type PermissionDenial, type RateLimitStatus, type TaskRow, type TaskStatus } from '../core/taskTypes';
import {
  UsageError,
  formatCommandHelp,
  hasFlag,
  optionValue,
  parseCommandArgs,
  type CommandDef,
  type OptionDef,
  type ParsedArgs,
} from './argParser';

const PROGRAM = 'agent-tasks';
export const STORE_ENV = 'AGENT_TASKS_STORE';
const EXIT_USAGE = 2;
const DEFAULT_LIST_LIMIT = 20;
const NAME_MAX_CHARS = 80;

const STORE_OPTION: OptionDef = {
  name: 'store',
  value: 'DIR',
  description: `The task store folder (default: $${STORE_ENV}, else the VS Code extension's folder)`,
};
const JSON_OPTION: OptionDef = { name: 'json', description: 'Print JSON (keys are the journal column names)' };

const COMMANDS: readonly CommandDef[] = [
  {
    name: 'run',
    summary: 'Run a command as a journaled task, streaming its output; exits with its exit code.',
    usage: 'run [options] [--] CMD [ARGS…]',
    positionals: 'command',
    options: [
      { name: 'name', value: 'NAME', description: 'A name for the task (default: the command line)' },
      { name: 'format', value: 'FORMAT', description: `How to read its stdout: ${OUTPUT_FORMATS.join(' | ')} (default: guessed from the command)` },
      { name: 'cwd', value: 'DIR', description: 'The working folder (default: the current folder)' },
      { name: 'session-id', value: 'ID', description: "The agent's session id, if known before it starts" },
      { name: 'agent', value: 'AGENT', description: 'The agent kind, e.g. claude or codex (default: guessed from the command)' },
      STORE_OPTION,
    ],
    details: [
      'The command is run directly (no shell), with the current environment. Everything from the first',
      'non-option argument (or after `--`) is the command line, taken verbatim.',
      'The format defaults to claude-stream-json for `claude … --output-format stream-json` and to',
      'codex-json for `codex exec --json …`, else text. Ctrl-C cancels the task (a second one kills it).',
      'Exit code: the command\'s own; 128+N when it was killed by signal N (or cancelled by one);',
      '1 when it could not start or the agent reported an error.',
    ].join('\n'),
  },
  {
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
  {
    name: 'show',
    summary: 'Show one task. ID may be any unique prefix of the task id.',
    usage: 'show ID [--json]',
    positionals: { min: 1, max: 1, name: 'the task ID' },
    options: [JSON_OPTION, STORE_OPTION],
  },
  {
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
  {
    name: 'recover',
    summary: 'Mark running tasks whose owner process is gone as interrupted, and list the interrupted tasks not yet resolved.',
    usage: 'recover [--json]',
    positionals: { min: 0, max: 0, name: '' },
    options: [JSON_OPTION, STORE_OPTION],
  },
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `Usage: ${PROGRAM} [--store DIR] <command> [options]`,
    '',
    'Runs coding agents and other long commands as journaled tasks, in the store the Agent Tasks',
    'VS Code extension uses.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
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
  const def = COMMANDS.find((c) => c.name === name);
  if (!def) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const parsed = parseCommandArgs(tokens, def);
  if (parsed.help) {
    writeOut(formatCommandHelp(PROGRAM, def));
    return 0;
  }
  const storeDir = resolveStoreDir(optionValue(parsed, 'store') ?? storeFlag);
  switch (def.name) {
    case 'run':
      return runCommand(parsed, storeDir);
    case 'list':
      return listCommand(parsed, storeDir);
    case 'show':
      return showCommand(parsed, storeDir);
    case 'compact':
      return compactCommand(storeDir);
    default:
      return recoverCommand(parsed, storeDir);
  }
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
  const def = COMMANDS.find((c) => c.name === tokens[0]);
  if (!def || tokens.length > 1) throw new UsageError(`no help for ${JSON.stringify(tokens.join(' '))}`);
  writeOut(formatCommandHelp(PROGRAM, def));
  return 0;
}

export function resolveStoreDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag.trim() === '') throw new UsageError('--store needs a folder');
  return path.resolve(flag ?? (env[STORE_ENV] || defaultStoreDir()));
}

// ---------------------------------------------------------------------------------------------
// Store access

/**
 * Opens the store for one command. `read`: list and show only read, so nothing is created,
 * moved aside or compacted. Notices (damage, a full disk, a read-only mount) go to stderr as
 * they come, also those found mid-command. A writing command never compacts by itself (it
 * would exit in the middle): when one is due, `close` hands it to a detached `compact`.
 */
async function openStore(dir: string, access: 'read' | 'write'): Promise<TaskStore> {
  const store = await TaskStore.open({
    dir,
    readOnly: access === 'read',
    compactInBackground: false,
    // Tuning and tests: how many log bytes make a compaction due (default 1 MiB).
    compactAfterBytes: Number(process.env.AGENT_TASKS_COMPACT_AFTER_BYTES) || undefined,
    log: process.env.AGENT_TASKS_DEBUG ? (m) => writeErr(`[store] ${m}\n`) : undefined,
  });
  for (const notice of store.notices) writeErr(`${PROGRAM}: ${notice}\n`);
  store.onDidAddNotice((notice) => writeErr(`${PROGRAM}: ${notice}\n`));
  return store;
}

async function closeStore(store: TaskStore): Promise<void> {
  const handOver = store.compactionDue;
  await store.close();
  if (handOver) handOverCompaction(store.dir);
}

/**
 * Starts `agent-tasks compact` for the store, detached, so that the compaction finishes after
 * this process exits (it waits out the rotation grace). A compactor that finds the lock held by
 * a live process exits at once.
 */
function handOverCompaction(dir: string): void {
  // This file itself (dist/cli.js in the package): never whatever script happens to be running.
  try {
    const child = spawn(process.execPath, [__filename, 'compact', '--store', dir], { detached: true, stdio: 'ignore', env: process.env });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // The next process that writes the store tries again.
  }
}

/** For the reading commands: no store folder yet means no tasks, not a reason to create one. */
async function withExistingStore<T>(dir: string, access: 'read' | 'write', whenMissing: () => T, use: (store: TaskStore) => Promise<T>): Promise<T> {
  if (!(await isDirectory(dir))) {
    writeErr(`${PROGRAM}: no task store at ${dir} yet (pass --store DIR or set ${STORE_ENV} to use another)\n`);
    return whenMissing();
  }
  const store = await openStore(dir, access);
  try {
    return await use(store);
  } finally {
    await closeStore(store);
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// run

async function runCommand(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const spec = runSpec(parsed);
  const store = await openStore(storeDir, 'write');
  try {
    if (store.readOnly) {
      writeErr(`${PROGRAM}: cannot run: the task store at ${storeDir} is read-only\n`);
      return 1;
    }
    const runner = new TaskRunner(store, { log: (m) => writeErr(`${PROGRAM}: ${m}\n`) });
    try {
      return await runToCompletion(runner, spec);
    } finally {
      runner.dispose();
    }
  } finally {
    await closeStore(store);
  }
}

function runSpec(parsed: ParsedArgs): TaskSpec {
  const [command, ...args] = parsed.commandLine;
  if (command === undefined || command === '') throw new UsageError('missing the command to run', 'run');
  const formatFlag = optionValue(parsed, 'format');
  if (formatFlag !== undefined && !OUTPUT_FORMATS.includes(formatFlag as OutputFormat)) {
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`, 'run');
  }
  const name = optionValue(parsed, 'name');
  if (name !== undefined && name.trim() === '') throw new UsageError('--name must not be empty', 'run');
  const cwd = optionValue(parsed, 'cwd');
  if (cwd !== undefined && cwd.trim() === '') throw new UsageError('--cwd must not be empty', 'run');
  return {
    name: name ?? capChars([command, ...args].join(' '), NAME_MAX_CHARS),
    agent: optionValue(parsed, 'agent') ?? guessAgent(command),
    command,
    args,
    cwd: path.resolve(cwd ?? process.cwd()),
    format: (formatFlag as OutputFormat | undefined) ?? guessFormat(command, args),
    session_id: optionValue(parsed, 'session-id') ?? null,
  };
}

function commandBaseName(command: string): string {
  return path.basename(command).replace(/\.(exe|cmd|bat|js)$/i, '').toLowerCase();
}

export function guessAgent(command: string): string | null {
  const base = commandBaseName(command);
  return base === 'claude' || base === 'codex' ? base : null;
}

export function guessFormat(command: string, args: readonly string[]): OutputFormat {
  const base = commandBaseName(command);
  const formatAt = args.indexOf('--output-format');
  const streamJson = (formatAt !== -1 && args[formatAt + 1] === 'stream-json') || args.includes('--output-format=stream-json');
  if (base === 'claude' && streamJson) return 'claude-stream-json';
  if (base === 'codex' && args[0] === 'exec' && args.includes('--json')) return 'codex-json';
  return 'text';
}

/**
 * Starts the task with its output copied to this terminal, turns SIGINT/SIGTERM/SIGHUP into a
 * cancel (the child has its own process group, so a terminal's Ctrl-C reaches only us), and
 * waits for the finished row.
 */
async function runToCompletion(runner: TaskRunner, spec: TaskSpec): Promise<number> {
  const received: NodeJS.Signals[] = [];
  let task: RunningTask | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received.push(signal);
    // A second signal means "now": SIGKILL without the grace period.
    if (task) void runner.cancel(task.id, received.length > 1 ? { graceMs: 0 } : {});
  };
  const signals: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  // A closed terminal pipe (`| head`) must not kill the run; the log still gets everything.
  const ignorePipeErrors = (): void => undefined;
  process.stdout.on('error', ignorePipeErrors);
  process.stderr.on('error', ignorePipeErrors);
  try {
    try {
      task = await runner.start(spec, { tee: { stdout: process.stdout, stderr: process.stderr } });
    } catch (err) {
      writeErr(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
      return err instanceof TaskSpecError ? EXIT_USAGE : 1;
    }
    if (received.length > 0) void runner.cancel(task.id);
    const row = await task.done;
    return reportRunEnd(row, received[0]);
  } finally {
    for (const s of signals) process.off(s, onSignal);
    process.stdout.off('error', ignorePipeErrors);
    process.stderr.off('error', ignorePipeErrors);
  }
}

function reportRunEnd(row: TaskRow, cancelSignal: NodeJS.Signals | undefined): number {
  const exitCode = exitCodeFor(row, cancelSignal);
  // The child's own stderr already explains a plain non-zero exit or a signal; say what it could not.
  const unexplained = row.status === 'failed' && ((row.exit_code === null && row.signal === null) || row.exit_code === 0);
  if (unexplained && row.error) writeErr(`${PROGRAM}: ${row.error}\n`);
  return exitCode;
}

/** Like a shell: the command's code, 128+N for signal N, 1 when there is no code to pass on. */
export function exitCodeFor(row: Pick<TaskRow, 'status' | 'exit_code' | 'signal'>, cancelSignal?: NodeJS.Signals): number {
  if (row.status === 'success') return 0;
  if (row.status === 'cancelled' && cancelSignal !== undefined) return 128 + signalNumber(cancelSignal);
  if (row.signal !== null) return 128 + signalNumber(row.signal);
  if (row.exit_code !== null && row.exit_code > 0 && row.exit_code <= 255) return row.exit_code;
  return 1;
}

function signalNumber(signal: string): number {
  return (os.constants.signals as Record<string, number | undefined>)[signal] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// list, show, recover

async function listCommand(parsed: ParsedArgs, storeDir: string): Promise<number> {
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

async function showCommand(parsed: ParsedArgs, storeDir: string): Promise<number> {
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

async function findByIdOrPrefix(store: TaskStore, idOrPrefix: string): Promise<TaskRow[]> {
  const exact = await store.getTask(idOrPrefix);
  if (exact) return [exact];
  const total = await store.countTasks({ includeRunning: true });
  if (total === 0) return [];
  const rows = await store.listTasks({ includeRunning: true, limit: total });
  return rows.filter((r) => r.id.startsWith(idOrPrefix));
}

async function compactCommand(storeDir: string): Promise<number> {
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

async function recoverCommand(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const result = await withExistingStore(
    storeDir,
    'write',
    () => ({ marked: [] as TaskRow[], unmarked: [] as TaskRow[], unresolved: [] as TaskRow[] }),
    async (store) => {
      const marked = await store.markRunningAsInterrupted();
      // A read-only store (or a full disk) cannot record them, but the answer is still worth giving.
      const markedIds = new Set(marked.map((r) => r.id));
      const unmarked = (await store.findOrphanedTasks()).filter((r) => !markedIds.has(r.id));
      return { marked, unmarked, unresolved: await store.listUnresolvedInterruptedTasks() };
    },
  );
  if (hasFlag(parsed, 'json')) {
    const json = { marked: result.marked.map(publicRow), unresolved: result.unresolved.map(publicRow), orphaned_unrecorded: result.unmarked.map(publicRow) };
    writeOut(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  writeOut(
    result.marked.length === 0
      ? result.unmarked.length === 0
        ? 'No orphaned running tasks.\n'
        : ''
      : `Marked ${plural(result.marked.length, 'task')} as interrupted:\n${formatTable(result.marked)}`,
  );
  if (result.unmarked.length > 0) {
    writeOut(`${plural(result.unmarked.length, 'running task')} whose owner is gone could not be marked interrupted (see above why):\n${formatTable(result.unmarked)}`);
  }
  if (result.unresolved.length > 0) {
    writeOut(`\n${plural(result.unresolved.length, 'interrupted task')} not yet resolved (resume, restart or dismiss them in VS Code):\n${formatTable(result.unresolved)}`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Output

/** The row with exactly the journal's columns, in column order. */
function publicRow(row: TaskRow): Record<string, unknown> {
  return Object.fromEntries(COLUMNS.map((c) => [c, row[c] ?? null]));
}

function formatTable(rows: readonly TaskRow[]): string {
  const header = ['ID', 'STATUS', 'STARTED', 'DURATION', 'EXIT', 'COST', 'NAME'];
  const now = Date.now();
  const cells = rows.map((r) => [
    r.id.slice(0, 8),
    r.permission_denial_count > 0 ? `${r.status} (${r.permission_denial_count} denied)` : r.status,
    formatTime(r.started_at),
    formatDuration((r.finished_at ?? now) - r.started_at),
    r.signal ?? (r.exit_code === null ? '-' : String(r.exit_code)),
    r.cost_usd === null ? '-' : `$${r.cost_usd.toFixed(4)}`,
    oneLine(r.name, NAME_MAX_CHARS),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

function formatDetails(row: TaskRow): string {
  const entries: [string, string][] = COLUMNS.map((c) => [c, formatValue(c, row[c])]);
  entries.splice(COLUMNS.indexOf('finished_at') + 1, 0, ['duration', formatDuration((row.finished_at ?? Date.now()) - row.started_at)]);
  const width = Math.max(...entries.map(([k]) => k.length));
  const indent = '\n' + ' '.repeat(width + 2);
  return entries.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${v.split('\n').join(indent)}`).join('\n') + '\n';
}

const TIME_COLUMNS = new Set<string>(['started_at', 'finished_at', 'owner_started_at', 'child_started_at', 'heartbeat_at', 'resolved_at']);

function formatValue(column: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (TIME_COLUMNS.has(column) && typeof value === 'number') return `${formatTime(value)} (${value})`;
  if (column === 'args') return JSON.stringify(value);
  if (column === 'prompt' && typeof value === 'string') return JSON.stringify(value);
  if (column === 'permission_denials' && Array.isArray(value)) {
    // One denied call per line (the parser cleaned and capped the text); formatDetails indents them.
    return value.length === 0 ? '-' : (value as PermissionDenial[]).map((d) => (d.summary ? `${d.tool}: ${d.summary}` : d.tool)).join('\n');
  }
  if (column === 'rate_limit' && typeof value === 'object') return formatRateLimit(value as RateLimitStatus);
  return String(value);
}

/** "allowed_warning (five_hour, 91% used, resets 2026-12-02 18:00:00)". */
function formatRateLimit(r: RateLimitStatus): string {
  const parts: string[] = [];
  if (r.kind) parts.push(r.kind);
  if (r.utilization !== null) parts.push(`${Math.round(r.utilization * 100)}% used`);
  if (r.resetsAt !== null) parts.push(`resets ${formatTime(r.resetsAt * 1000)}`);
  return parts.length > 0 ? `${r.status} (${parts.join(', ')})` : r.status;
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function oneLine(text: string, max: number): string {
  return capChars(text.replace(/\s+/g, ' ').trim(), max);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function writeOut(text: string): void {
  process.stdout.write(text);
}

function writeErr(text: string): void {
  process.stderr.write(text);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
