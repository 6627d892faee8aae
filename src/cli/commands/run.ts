/** `agent-tasks run`: a command as a journaled task, its output streamed to this terminal. */
import { SNAPSHOTS_OFF } from '../../core/gitSnapshot';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capChars } from '../../core/outputParsers';
import { launchSupervisor } from '../../core/supervisorLaunch';
import { TaskRunner, TaskSpecError, type RunningTask, type TaskSpec } from '../../core/taskRunner';
import type { TaskStore } from '../../core/taskStore';
import { discardRunWorktree, WORKTREES_ENV } from '../../core/worktree';
import { OUTPUT_FORMATS, type OutputFormat, type TaskRow } from '../../core/taskTypes';
import { hasFlag, UsageError, optionValue, type ParsedArgs } from '../argParser';
import { EXIT_USAGE, JSON_OPTION, PROGRAM, STORE_OPTION, writeErr, writeOut } from '../common';
import { NAME_MAX_CHARS, publicRow } from '../format';
import { closeStore, getCliScript, openStore } from '../store';
import type { Command } from './command';
import { newWorktree, profileRunSpec } from '../agentProfile';

/** How often a run's store catches up (cancel requests) besides file events. */
const CANCEL_POLL_MS = 1_000;
/** A detached run's supervisor starts `compact` when its appends took the log past this. */
const COMPACT_HANDOVER_BYTES = 1024 * 1024;

export const runCommand: Command = {
  def: {
    name: 'run',
    summary: 'Run a command as a journaled task, streaming its output; exits with its exit code.',
    usage: 'run [options] [--] CMD [ARGS…]  |  run --agent NAME [options] PROMPT',
    positionals: 'command',
    options: [
      { name: 'name', value: 'NAME', description: 'A name for the task (default: the command line)' },
      { name: 'format', value: 'FORMAT', description: `How to read its stdout: ${OUTPUT_FORMATS.join(' | ')} (default: guessed from the command)` },
      { name: 'cwd', value: 'DIR', description: 'The working folder (default: the current folder)' },
      { name: 'session-id', value: 'ID', description: "The agent's session id, if known before it starts" },
      { name: 'agent', value: 'NAME', description: 'With one PROMPT argument: run the agent profile NAME (claude, codex, gemini, or yours). With a command line: the agent kind recorded for it (default: guessed)' },
      { name: 'detach', description: "Return at once: a supervisor process runs the task with no terminal; the task's id is the last line printed" },
      { name: 'worktree', description: 'Run in a new git worktree, on a new branch agent-tasks/<name>-<id> from HEAD, not in the folder itself' },
      { name: 'no-worktree', description: 'With --agent NAME: run in the folder itself, even when the profile says "worktree": true' },
      { name: 'no-snapshots', description: "Take no git snapshots of the work tree at the run's start and end (changes and diff then have nothing to show)" },
      JSON_OPTION,
      STORE_OPTION,
    ],
    details: [
      '`run --agent NAME PROMPT` runs an agent profile as the editor does: the built-ins (claude, codex,',
      'gemini) and your `agentTasks.agents` from VS Code\'s user settings.json (or the file named by',
      '$AGENT_TASKS_SETTINGS), with PROMPT as the prompt. A profile that asks (the built-in claude) shows',
      'needs_input when the agent asks; answer it from another terminal (`agent-tasks answer ID allow`)',
      'or a VS Code window.',
      'The command is run directly (no shell), with the current environment. Everything from the first',
      'non-option argument (or after `--`) is the command line, taken verbatim.',
      'The format defaults to claude-stream-json for `claude … --output-format stream-json` and to',
      'codex-json for `codex exec --json …`, else text. Ctrl-C cancels the task (a second one kills it),',
      'and so does `agent-tasks cancel ID` from any other terminal.',
      'Exit code: the command\'s own; 128+N when it was killed by signal N (or cancelled by one);',
      '130 when `agent-tasks cancel` cancelled it; 1 when it could not start or the agent reported an error.',
      'With --detach the task is owned by its own supervisor process (as the editor\'s runs are): nothing of',
      'it depends on this terminal; follow it with `logs ID --follow`, `wait ID` or `cancel ID`. The id is',
      'printed once the start is journaled (--json: the running row); exit code 0, or 1 when it could not start.',
      'With --worktree (or a profile with "worktree": true) the run works in a new git worktree under',
      `~/.agent-tasks/worktrees (or $${WORKTREES_ENV}), on a new branch agent-tasks/<name>-<id> from HEAD,`,
      'in the same subfolder as --cwd: your work tree stays as it is. Apply its changes, or remove the worktree',
      'and its branch, from the editor (or with git). The folder must be in a git repository with a commit.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const spec = await runSpec(parsed);
  if (hasFlag(parsed, 'no-snapshots')) spec.snapshots = { take: false, reason: SNAPSHOTS_OFF };
  if (spec.worktree) writeErr(`${PROGRAM}: working in ${spec.cwd}, a new worktree on branch ${spec.worktree.branch}\n`);
  const started = { yes: false };
  try {
    if (hasFlag(parsed, 'detach')) return await runDetached(spec, storeDir, hasFlag(parsed, 'json'), started);
    return await runAttached(spec, storeDir, started);
  } finally {
    // A run that never started leaves no worktree (nor branch) behind.
    if (spec.worktree && !started.yes) {
      const dropped = await discardRunWorktree(spec.worktree).catch((err: unknown) => ({ ok: false as const, reason: err instanceof Error ? err.message : String(err) }));
      if (!dropped.ok) writeErr(`${PROGRAM}: the worktree ${spec.worktree.path} was left behind: ${dropped.reason}\n`);
    }
  }
}

async function runAttached(spec: TaskSpec, storeDir: string, started: { yes: boolean }): Promise<number> {
  const store = await openStore(storeDir, 'write');
  try {
    if (store.readOnly) {
      writeErr(`${PROGRAM}: cannot run: the task store at ${storeDir} is read-only\n`);
      return 1;
    }
    const runner = new TaskRunner(store, { log: (m) => writeErr(`${PROGRAM}: ${m}\n`) });
    const stopListening = listenForCancelRequests(store);
    try {
      return await runToCompletion(runner, spec, started);
    } finally {
      stopListening();
      runner.dispose();
    }
  } finally {
    await closeStore(store);
  }
}

/**
 * `run --detach`: the task goes to its own supervisor (src/core/supervisor.ts), the same that
 * owns an editor's runs, started with this Node. Resolves once the start is journaled.
 */
async function runDetached(spec: TaskSpec, storeDir: string, json: boolean, started: { yes: boolean }): Promise<number> {
  // The store must exist and have a log: a supervisor only appends to it.
  const store = await openStore(storeDir, 'write');
  const readOnly = store.readOnly;
  await closeStore(store);
  if (readOnly) {
    writeErr(`${PROGRAM}: cannot run: the task store at ${storeDir} is read-only\n`);
    return 1;
  }
  const cli = getCliScript();
  const script = cli ? supervisorScriptNextTo(cli) : undefined;
  if (!cli || !script) {
    writeErr(`${PROGRAM}: cannot run detached: the supervisor script is missing next to ${cli ?? 'the CLI'}\n`);
    return 1;
  }
  try {
    const { row } = await launchSupervisor({
      node: process.execPath,
      script,
      request: { storeDir, spec, compact: { command: process.execPath, args: [cli, 'compact', '--store', storeDir], afterBytes: COMPACT_HANDOVER_BYTES } },
    });
    started.yes = true;
    writeOut(json ? `${JSON.stringify(publicRow(row), null, 2)}\n` : `${row.id}\n`);
    return 0;
  } catch (err) {
    writeErr(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof TaskSpecError ? EXIT_USAGE : 1;
  }
}

/** dist/supervisor.js next to dist/cli.js; supervisorMain.js next to main.js in the tsc output. */
function supervisorScriptNextTo(cli: string): string | undefined {
  const dir = path.dirname(cli);
  return ['supervisor.js', 'supervisorMain.js'].map((name) => path.join(dir, name)).find((file) => existsSync(file));
}

/**
 * `agent-tasks cancel` (or a window) asks through the journal; the runner obeys when a catch-up
 * reads the request. So the store catches up when the folder changes (inotify/FSEvents) and, for
 * file systems without events, every second: one read at the log's end when nothing was written.
 */
function listenForCancelRequests(store: TaskStore): () => void {
  const watcher = store.watchForChanges();
  const timer = setInterval(() => void store.refresh().catch(() => undefined), CANCEL_POLL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    watcher.dispose();
  };
}

async function runSpec(parsed: ParsedArgs): Promise<TaskSpec> {
  const [command, ...args] = parsed.commandLine;
  if (command === undefined || command === '') throw new UsageError('missing the command to run', 'run');
  if (hasFlag(parsed, 'worktree') && hasFlag(parsed, 'no-worktree')) throw new UsageError('--worktree and --no-worktree contradict each other', 'run');
  // Undefined: as the profile says.
  const worktree = hasFlag(parsed, 'worktree') ? true : hasFlag(parsed, 'no-worktree') ? false : undefined;
  const profileName = optionValue(parsed, 'agent');
  if (profileName !== undefined && args.length === 0) {
    for (const flag of ['format', 'session-id']) if (optionValue(parsed, flag) !== undefined) throw new UsageError(`--${flag} goes with a command line, not with --agent NAME PROMPT (the profile says it)`, 'run');
    const cwdFlag = optionValue(parsed, 'cwd');
    if (cwdFlag !== undefined && cwdFlag.trim() === '') throw new UsageError('--cwd must not be empty', 'run');
    const nameFlag = optionValue(parsed, 'name');
    if (nameFlag !== undefined && nameFlag.trim() === '') throw new UsageError('--name must not be empty', 'run');
    const { spec, warnings } = await profileRunSpec(profileName, command, path.resolve(cwdFlag ?? process.cwd()), process.env, { worktree, name: nameFlag });
    for (const w of warnings) writeErr(`${PROGRAM}: ${w}\n`);
    return spec;
  }
  if (worktree === false) throw new UsageError('--no-worktree goes with --agent NAME PROMPT (a command line runs in its folder unless --worktree)', 'run');
  const formatFlag = optionValue(parsed, 'format');
  if (formatFlag !== undefined && !OUTPUT_FORMATS.includes(formatFlag as OutputFormat)) {
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`, 'run');
  }
  const name = optionValue(parsed, 'name');
  if (name !== undefined && name.trim() === '') throw new UsageError('--name must not be empty', 'run');
  const cwd = optionValue(parsed, 'cwd');
  if (cwd !== undefined && cwd.trim() === '') throw new UsageError('--cwd must not be empty', 'run');
  const spec: TaskSpec = {
    name: name ?? capChars([command, ...args].join(' '), NAME_MAX_CHARS),
    agent: optionValue(parsed, 'agent') ?? guessAgent(command),
    command,
    args,
    cwd: path.resolve(cwd ?? process.cwd()),
    format: (formatFlag as OutputFormat | undefined) ?? guessFormat(command, args),
    session_id: optionValue(parsed, 'session-id') ?? null,
  };
  if (!worktree) return spec;
  // The branch is named after the task's id, so the id is chosen here.
  const id = randomUUID();
  const place = await newWorktree(spec.cwd, spec.name, id);
  return { ...spec, id, cwd: place.cwd, workspace: spec.cwd, worktree: place.worktree };
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
async function runToCompletion(runner: TaskRunner, spec: TaskSpec, started: { yes: boolean }): Promise<number> {
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
      started.yes = true;
    } catch (err) {
      writeErr(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
      return err instanceof TaskSpecError ? EXIT_USAGE : 1;
    }
    if (received.length > 0) void runner.cancel(task.id);
    const row = await task.done;
    // Cancelled from elsewhere (`agent-tasks cancel`, a window): 130, as `wait` reports it.
    return reportRunEnd(row, received[0] ?? (row.status === 'cancelled' ? 'SIGINT' : undefined));
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
