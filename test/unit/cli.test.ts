import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exitCodeFor, formatDuration, guessFormat, resolveStoreDir } from '../../src/cli/main';
import { parseCommandArgs, UsageError, type CommandDef } from '../../src/cli/argParser';
import { defaultStoreDir } from '../../src/core/storeLocation';
import { signalZeroSucceeds } from '../helpers/processes';
import { waitFor as waitForShared } from '../helpers/waitFor';

const waitFor: typeof waitForShared = (what, probe, timeoutMs = 8_000) => waitForShared(what, probe, timeoutMs);

// out/test/unit → out/src/cli/main.js and the repository's test/fixtures.
const CLI = path.resolve(__dirname, '../../src/cli/main.js');
const FAKE_AGENT = path.resolve(__dirname, '../../../test/fixtures/fakeAgent.js');
const SESSION_ID = '0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70';

const COLUMNS = [
  'id', 'name', 'agent', 'command', 'args', 'cwd', 'workspace', 'prompt', 'format', 'status',
  'started_at', 'finished_at', 'exit_code', 'signal', 'error', 'session_id', 'input_tokens',
  'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'cost_usd', 'output_bytes',
  'log_path', 'owner_id', 'owner_pid', 'owner_started_at', 'owner_host', 'child_pid',
  'child_started_at', 'heartbeat_at', 'resolved_at', 'resolution', 'parent_id',
  'owner_start_ticks', 'child_start_ticks', 'permission_denials', 'permission_denial_count', 'rate_limit',
  'pending_requests', 'resume_at', 'git',
];

interface Row {
  [column: string]: unknown;
  id: string;
  name: string;
  status: string;
  child_pid: number | null;
}

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  result: Promise<CliResult>;
}

/** The environment without anything that would steer the fake agent or the store from outside. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAKE_AGENT_') && k !== 'AGENT_TASKS_STORE') env[k] = v;
  return { ...env, ...extra };
}

function startCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    result,
  };
}

function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return startCli(args, env, cwd).result;
}

async function setup(t: TestContext): Promise<{ store: string; work: string }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-cli-'));
  const work = path.join(dir, 'work');
  await fsp.mkdir(work);
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return { store: path.join(dir, 'store'), work };
}

async function listJson(store: string): Promise<Row[]> {
  const r = await cli(['--store', store, 'list', '--json', '--limit', '100']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Row[];
}

const fakeRun = (store: string, ...runOptions: string[]): string[] => [
  '--store', store, 'run', ...runOptions, '--', process.execPath, FAKE_AGENT, '-p', 'hello', '--session-id', SESSION_ID,
];

/** FAKE_AGENT_SLEEP_MS for an agent that only ends when it is killed (the longest timer Node keeps). */
const UNTIL_KILLED = { FAKE_AGENT_SLEEP_MS: String(2 ** 31 - 1) };

/**
 * A run whose agent prints "ready" and then keeps running until `releaseFile` exists, then exits 0:
 * alive for exactly as long as the test needs, however slow the machine. It also ends when the
 * file's folder is gone (the test's temporary folder removed), so a failed test leaves no process.
 */
function runUntilReleased(store: string, name: string, releaseFile: string): string[] {
  const script = [
    "const fs = require('node:fs'), path = require('node:path');",
    'const file = process.argv[1];',
    "process.stdout.write('ready\\n');",
    'const timer = setInterval(() => {',
    '  if (fs.existsSync(file)) { clearInterval(timer); process.stdout.write("released\\n"); }',
    '  else if (!fs.existsSync(path.dirname(file))) process.exit(3);',
    '}, 20);',
  ].join('\n');
  return ['--store', store, 'run', '--name', name, '--', process.execPath, '-e', script, '--', releaseFile];
}

test('run streams the output, exits 0 and journals the task; list --json has exactly the journal columns', async (t) => {
  const { store, work } = await setup(t);
  const r = await cli(fakeRun(store, '--name', 'greet', '--format', 'claude-stream-json', '--agent', 'claude'), { FAKE_AGENT_STDERR: 'a warning\n' }, work);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, 'a warning\n');
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; session_id: string });
  assert.deepEqual(lines.map((l) => l.type), ['system', 'assistant', 'result']);
  assert.equal(lines[0].session_id, SESSION_ID);

  const rows = await listJson(store);
  assert.equal(rows.length, 1);
  const row = rows[0];
  assert.deepEqual(Object.keys(row), COLUMNS);
  assert.equal(row.name, 'greet');
  assert.equal(row.agent, 'claude');
  assert.equal(row.status, 'success');
  assert.equal(row.exit_code, 0);
  assert.equal(row.signal, null);
  assert.equal(row.error, null);
  assert.equal(row.command, process.execPath);
  assert.deepEqual(row.args, [FAKE_AGENT, '-p', 'hello', '--session-id', SESSION_ID]);
  assert.equal(row.cwd, work);
  assert.equal(row.format, 'claude-stream-json');
  assert.equal(row.session_id, SESSION_ID);
  assert.equal(row.input_tokens, 12);
  assert.equal(row.output_tokens, 34);
  assert.equal(row.cost_usd, 0.0123);
  assert.equal(row.output_bytes, Buffer.byteLength(r.stdout) + Buffer.byteLength('a warning\n'));
  assert.equal(await fsp.readFile(row.log_path as string, 'utf8').then((s) => s.length), row.output_bytes);

  const table = await cli(['--store', store, 'list']);
  assert.equal(table.code, 0);
  const [header, line] = table.stdout.trimEnd().split('\n');
  assert.match(header, /^ID\s+STATUS\s+STARTED\s+DURATION\s+EXIT\s+COST\s+NAME$/);
  assert.match(line, new RegExp(`^${row.id.slice(0, 8)}\\s+success\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+s\\s+0\\s+\\$0\\.0123\\s+greet$`));
});

test('run passes on a non-zero exit code, 128+N for a signal, and 1 when the command cannot start', async (t) => {
  const { store, work } = await setup(t);
  const failed = await cli(fakeRun(store, '--name', 'three'), { FAKE_AGENT_EXIT_CODE: '3' }, work);
  assert.equal(failed.code, 3, failed.stderr);
  assert.equal(failed.stderr, '');
  const killed = await cli(fakeRun(store, '--name', 'killed'), { FAKE_AGENT_KILL_SIGNAL: 'SIGKILL' }, work);
  assert.equal(killed.code, 128 + os.constants.signals.SIGKILL);
  const missing = await cli(['--store', store, 'run', '--name', 'missing', '--', 'agent-tasks-no-such-command-xyz', '-p', 'x'], {}, work);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'agent-tasks: Command not found: "agent-tasks-no-such-command-xyz" (is it installed and on PATH?)\n');
  const agentError = await cli(fakeRun(store, '--name', 'agent-error', '--format', 'claude-stream-json'), { FAKE_AGENT_IS_ERROR: '1' }, work);
  assert.equal(agentError.code, 1);
  assert.equal(agentError.stderr, 'agent-tasks: The fake agent failed on purpose.\n');

  const byName = new Map((await listJson(store)).map((r) => [r.name, r]));
  assert.deepEqual(pick(byName.get('three')!), { status: 'failed', exit_code: 3, signal: null, error: 'Exited with code 3' });
  assert.deepEqual(pick(byName.get('killed')!), { status: 'failed', exit_code: null, signal: 'SIGKILL', error: 'Killed by SIGKILL' });
  assert.deepEqual(pick(byName.get('missing')!), {
    status: 'failed', exit_code: null, signal: null, error: 'Command not found: "agent-tasks-no-such-command-xyz" (is it installed and on PATH?)',
  });
  assert.deepEqual(pick(byName.get('agent-error')!), { status: 'failed', exit_code: 0, signal: null, error: 'The fake agent failed on purpose.' });

  const onlyFailed = await cli(['--store', store, 'list', '--json', '--status', 'failed', '--limit', '2']);
  assert.equal(JSON.parse(onlyFailed.stdout).length, 2);
  const none = await cli(['--store', store, 'list', '--json', '--status', 'success']);
  assert.deepEqual(JSON.parse(none.stdout), []);
});

function pick(row: Row): Record<string, unknown> {
  return { status: row.status, exit_code: row.exit_code, signal: row.signal, error: row.error };
}

test('show finds a task by id or unique prefix', async (t) => {
  const { store, work } = await setup(t);
  assert.equal((await cli(fakeRun(store, '--name', 'one'), {}, work)).code, 0);
  const [row] = await listJson(store);
  const byPrefix = await cli(['--store', store, 'show', row.id.slice(0, 6), '--json']);
  assert.equal(byPrefix.code, 0, byPrefix.stderr);
  assert.deepEqual(JSON.parse(byPrefix.stdout), row);
  const human = await cli(['--store', store, 'show', row.id]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(`^id:\\s+${row.id}$`, 'm'));
  assert.match(human.stdout, /^status:\s+success$/m);
  assert.match(human.stdout, /^name:\s+one$/m);
  const missing = await cli(['--store', store, 'show', 'zzzz']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'agent-tasks: no task with id "zzzz"\n');
});

test('usage errors exit 2 with a message; --help exits 0', async (t) => {
  const { store } = await setup(t);
  const cases: [string[], RegExp][] = [
    [['list', '--bogus'], /^agent-tasks: unknown option --bogus\nSee `agent-tasks list --help`\.\n$/],
    [['list', '--limit', 'ten'], /^agent-tasks: --limit must be a positive whole number \(got "ten"\)/],
    [['list', '--status', 'done'], /^agent-tasks: --status must be one or more of running, needs_input, waiting, success, failed, cancelled, interrupted \(got "done"\)/],
    [['list', '--json=yes'], /^agent-tasks: --json does not take a value/],
    [['list', 'extra'], /^agent-tasks: unexpected argument "extra"/],
    [['run'], /^agent-tasks: missing the command to run\nSee `agent-tasks run --help`\.\n$/],
    [['run', '--format', 'xml', '--', 'true'], /^agent-tasks: --format must be one of text, claude-stream-json, codex-json/],
    [['run', '--name'], /^agent-tasks: --name needs a value \(NAME\)/],
    [['show'], /^agent-tasks: missing the task ID/],
    [['frobnicate'], /^agent-tasks: unknown command "frobnicate"\nSee `agent-tasks --help`\.\n$/],
    [['--verbose', 'list'], /^agent-tasks: unknown option --verbose/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(['--store', store, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '');
  }
  const noCommand = await cli([]);
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.stderr, /^Usage: agent-tasks \[--store DIR\] <command>/);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: agent-tasks \[--store DIR\] <command> \[options\]\n/);
  const runHelp = await cli(['run', '--help']);
  assert.equal(runHelp.code, 0);
  assert.match(runHelp.stdout, /^Usage: agent-tasks run \[options\] \[--\] CMD \[ARGS…\]  \|  run --agent NAME \[options\] PROMPT\n/);
  assert.match(runHelp.stdout, /--session-id ID/);
  // Everything after the command name belongs to the command, --help included.
  assert.deepEqual(await fsp.readdir(path.dirname(store)), ['work']);
});

test('the store comes from --store, else AGENT_TASKS_STORE', async (t) => {
  const { store, work } = await setup(t);
  const viaEnv = await cli(['run', '--name', 'env-store', '--', process.execPath, '-e', 'console.log("hi")'], { AGENT_TASKS_STORE: store }, work);
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(viaEnv.stdout, 'hi\n');
  const rows = await listJson(store);
  assert.deepEqual(rows.map((r) => r.name), ['env-store']);
  const viaEquals = await cli([`--store=${store}`, 'list', '--json']);
  assert.equal(JSON.parse(viaEquals.stdout).length, 1);
  const missingStore = await cli(['--store', path.join(store, 'nope'), 'list', '--json']);
  assert.equal(missingStore.code, 0);
  assert.deepEqual(JSON.parse(missingStore.stdout), []);
  assert.match(missingStore.stderr, /no task store at .*nope yet/);
});

test('Ctrl-C cancels the running task: exit 130, row cancelled, child gone', async (t) => {
  const { store, work } = await setup(t);
  const run = startCli(fakeRun(store, '--name', 'interrupted-by-user', '--format', 'claude-stream-json'), UNTIL_KILLED, work);
  let childPid: number | undefined;
  t.after(() => {
    run.child.kill('SIGKILL');
    if (childPid !== undefined && signalZeroSucceeds(childPid)) process.kill(childPid, 'SIGKILL');
  });
  await waitFor('the agent to start', () => run.stdout.includes('"subtype":"init"'));
  const running = await waitFor('the child pid in the journal', async () => (await listJson(store)).find((r) => r.child_pid !== null));
  childPid = running.child_pid!;
  run.child.kill('SIGINT');
  const r = await run.result;
  assert.equal(r.code, 130, r.stderr);
  const [row] = await listJson(store);
  assert.deepEqual(pick(row), { status: 'cancelled', exit_code: null, signal: 'SIGTERM', error: null });
  assert.equal(row.session_id, SESSION_ID);
  assert.equal(signalZeroSucceeds(running.child_pid!), false);
});

test('recover marks a SIGKILLed run interrupted and leaves a live run alone', async (t) => {
  const { store, work } = await setup(t);
  // Neither agent ends on its own: "doomed" runs until killed, "alive" until the test releases it.
  const release = path.join(work, 'release-alive');
  const doomed = startCli(fakeRun(store, '--name', 'doomed'), UNTIL_KILLED, work);
  const alive = startCli(runUntilReleased(store, 'alive', release), {}, work);
  let orphanPid: number | undefined;
  let aliveAgentPid: number | undefined;
  t.after(() => {
    doomed.child.kill('SIGKILL');
    alive.child.kill('SIGKILL');
    // The killed CLIs' children have their own process groups and outlive them.
    for (const pid of [orphanPid, aliveAgentPid]) if (pid !== undefined && signalZeroSucceeds(pid)) process.kill(pid, 'SIGKILL');
  });
  await waitFor('both agents to start', () => doomed.stdout.includes('"subtype":"init"') && alive.stdout.includes('ready\n')).catch((err: Error) => {
    throw new Error(`${err.message}: doomed ${JSON.stringify([doomed.child.exitCode, doomed.stdout, doomed.stderr])} alive ${JSON.stringify([alive.child.exitCode, alive.stdout, alive.stderr])}`);
  });
  let lastSeen: Row[] = [];
  const rowsBefore = await waitFor('both child pids in the journal', async () => {
    const rows = (lastSeen = await listJson(store));
    return rows.length === 2 && rows.every((r) => r.status === 'running' && r.child_pid !== null) ? rows : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; last rows: ${JSON.stringify(lastSeen.map((r) => [r.name, r.status, r.child_pid]))}`);
  });
  const doomedRow = rowsBefore.find((r) => r.name === 'doomed')!;
  const aliveRow = rowsBefore.find((r) => r.name === 'alive')!;
  orphanPid = doomedRow.child_pid!;
  aliveAgentPid = aliveRow.child_pid!;

  doomed.child.kill('SIGKILL');
  assert.equal((await doomed.result).signal, 'SIGKILL');
  assert.equal(signalZeroSucceeds(orphanPid), true, 'the agent itself survives its CLI');

  const recovered = await cli(['--store', store, 'recover', '--json']);
  assert.equal(recovered.code, 0, recovered.stderr);
  const { marked, unresolved } = JSON.parse(recovered.stdout) as { marked: Row[]; unresolved: Row[] };
  assert.deepEqual(marked.map((r) => [r.id, r.status]), [[doomedRow.id, 'interrupted']]);
  assert.equal(marked[0].error, `Interrupted: the process that ran it (pid ${doomed.child.pid}) exited.`);
  assert.deepEqual(unresolved.map((r) => r.id), [doomedRow.id]);
  assert.deepEqual(Object.keys(marked[0]), COLUMNS);

  const stillRunning = (await listJson(store)).find((r) => r.id === aliveRow.id)!;
  assert.equal(stillRunning.status, 'running');
  assert.equal(alive.child.exitCode, null, 'the live run is still going');
  assert.equal(signalZeroSucceeds(aliveAgentPid), true, 'its agent too');

  // Only now does the live run end, by itself, with success.
  await fsp.writeFile(release, '');
  const aliveResult = await alive.result;
  assert.equal(aliveResult.code, 0, aliveResult.stderr);
  assert.equal(aliveResult.stdout, 'ready\nreleased\n');
  const after = new Map((await listJson(store)).map((r) => [r.id, r]));
  assert.deepEqual(pick(after.get(aliveRow.id)!), { status: 'success', exit_code: 0, signal: null, error: null });
  assert.equal(after.get(doomedRow.id)!.status, 'interrupted');

  const human = await cli(['--store', store, 'recover']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^No orphaned running tasks\.\n\n1 interrupted task not yet resolved/);
});

// ---------------------------------------------------------------------------------------------
// In-process pieces

test('defaultStoreDir follows VS Code\'s user data folder on each platform', () => {
  assert.equal(defaultStoreDir('linux', {}, '/home/ann'), '/home/ann/.config/Code/User/globalStorage/agenttasks.agent-tasks');
  assert.equal(defaultStoreDir('linux', { XDG_CONFIG_HOME: '/xdg' }, '/home/ann'), '/xdg/Code/User/globalStorage/agenttasks.agent-tasks');
  assert.equal(
    defaultStoreDir('darwin', {}, '/Users/ann'),
    '/Users/ann/Library/Application Support/Code/User/globalStorage/agenttasks.agent-tasks',
  );
  assert.equal(
    defaultStoreDir('win32', { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'C:\\Users\\ann'),
    'C:\\Users\\ann\\AppData\\Roaming\\Code\\User\\globalStorage\\agenttasks.agent-tasks',
  );
  assert.equal(defaultStoreDir('linux', { VSCODE_APPDATA: '/portable' }, '/home/ann'), '/portable/Code/User/globalStorage/agenttasks.agent-tasks');
  assert.equal(resolveStoreDir(undefined, { AGENT_TASKS_STORE: '/from/env' }), '/from/env');
  assert.equal(resolveStoreDir('/from/flag', { AGENT_TASKS_STORE: '/from/env' }), '/from/flag');
});

test('exit codes, format guessing and durations', () => {
  assert.equal(exitCodeFor({ status: 'success', exit_code: 0, signal: null }), 0);
  assert.equal(exitCodeFor({ status: 'failed', exit_code: 3, signal: null }), 3);
  assert.equal(exitCodeFor({ status: 'failed', exit_code: null, signal: 'SIGTERM' }), 143);
  assert.equal(exitCodeFor({ status: 'failed', exit_code: null, signal: null }), 1);
  assert.equal(exitCodeFor({ status: 'failed', exit_code: 0, signal: null }), 1);
  assert.equal(exitCodeFor({ status: 'cancelled', exit_code: null, signal: 'SIGKILL' }, 'SIGINT'), 130);
  assert.equal(guessFormat('/usr/local/bin/claude', ['-p', 'x', '--output-format', 'stream-json', '--verbose']), 'claude-stream-json');
  assert.equal(guessFormat('claude', ['-p', 'x', '--output-format=stream-json']), 'claude-stream-json');
  assert.equal(guessFormat('claude', ['-p', 'x']), 'text');
  assert.equal(guessFormat('codex', ['exec', '--json', 'fix it']), 'codex-json');
  assert.equal(guessFormat('node', ['--output-format', 'stream-json']), 'text');
  assert.equal(formatDuration(59_400), '59s');
  assert.equal(formatDuration(61_000), '1m 01s');
  assert.equal(formatDuration(3_720_000), '1h 02m');
});

test('the argument parser: values, flags, -- and the verbatim command line', () => {
  const run: CommandDef = {
    name: 'run', summary: '', usage: '', positionals: 'command',
    options: [{ name: 'name', value: 'N', description: '' }, { name: 'json', description: '' }],
  };
  const parsed = parseCommandArgs(['--name=a b', '--json', 'claude', '-p', '--name', '--', 'x'], run);
  assert.equal(parsed.options.get('name'), 'a b');
  assert.equal(parsed.options.get('json'), true);
  assert.deepEqual(parsed.commandLine, ['claude', '-p', '--name', '--', 'x']);
  assert.deepEqual(parseCommandArgs(['--name', '-x', '--', '--help'], run).commandLine, ['--help']);
  assert.equal(parseCommandArgs(['--help'], run).help, true);
  assert.throws(() => parseCommandArgs(['-x'], run), (err) => err instanceof UsageError && err.message === 'unknown option -x');
  assert.throws(() => parseCommandArgs(['--name', '--json'], run), /--name needs a value/);
});
