/**
 * `agent-tasks cancel`, `wait` and `logs`, driven as real processes against real runs of
 * `agent-tasks run` (the fake agent). Waits are on events (output, journal rows, process exits),
 * never on fixed sleeps.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { terminalSafe } from '../../src/cli/commands/logs';
import { processLiveness } from '../../src/core/processIdentity';
import { launchSupervisor } from '../../src/core/supervisorLaunch';
import { TaskStore } from '../../src/core/taskStore';
import { signalZeroSucceeds } from '../helpers/processes';
import { sampleTask } from '../helpers/tempDir';
import { waitFor as waitForShared } from '../helpers/waitFor';

const waitFor: typeof waitForShared = (what, probe, timeoutMs = 20_000) => waitForShared(what, probe, timeoutMs);

const CLI = path.resolve(__dirname, '../../src/cli/main.js');
const FAKE_AGENT = path.resolve(__dirname, '../../../test/fixtures/fakeAgent.js');
/** out/test/unit → out/src/cli/supervisorMain.js. */
const SUPERVISOR = path.resolve(__dirname, '../../src/cli/supervisorMain.js');
const SESSION_ID = '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
/** FAKE_AGENT_SLEEP_MS for an agent that only ends when it is killed. */
const UNTIL_KILLED = { FAKE_AGENT_SLEEP_MS: String(2 ** 31 - 1) };

interface Row {
  [column: string]: unknown;
  id: string;
  name: string;
  status: string;
  child_pid: number | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
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
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-verbs-'));
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

const fakeRun = (store: string, name: string, ...runOptions: string[]): string[] => [
  '--store', store, 'run', '--name', name, ...runOptions, '--', process.execPath, FAKE_AGENT, '-p', 'hello', '--session-id', SESSION_ID,
];

/** A run of `script` (node -e) under `agent-tasks run`. */
const scriptRun = (store: string, name: string, script: string, ...scriptArgs: string[]): string[] => [
  '--store', store, 'run', '--name', name, '--', process.execPath, '-e', script, '--', ...scriptArgs,
];

/** Starts a run whose agent runs until killed; resolves once its row has the agent's pid. */
async function startLongRun(t: TestContext, store: string, work: string, name: string, env: Record<string, string> = {}): Promise<{ run: CliProcess; row: Row }> {
  const run = startCli(fakeRun(store, name, '--format', 'claude-stream-json'), { ...UNTIL_KILLED, ...env }, work);
  let agentPid: number | undefined;
  t.after(() => {
    run.child.kill('SIGKILL');
    if (agentPid !== undefined && signalZeroSucceeds(agentPid)) process.kill(agentPid, 'SIGKILL');
  });
  // The init line comes after the agent set up its signal handlers (FAKE_AGENT_IGNORE_SIGTERM).
  await waitFor(`${name} to start`, () => run.stdout.includes('"subtype":"init"') || run.child.exitCode !== null);
  assert.equal(run.child.exitCode, null, run.stderr);
  const row = await waitFor(`${name}'s agent pid in the journal`, async () => (await listJson(store)).find((r) => r.name === name && r.child_pid !== null));
  agentPid = row.child_pid!;
  return { run, row };
}

function rowOf(stdout: string): Row {
  return JSON.parse(stdout) as Row;
}

// ---------------------------------------------------------------------------------------------
// cancel

test('cancel from another process stops a run started by `agent-tasks run`: row cancelled, agent gone; run and wait exit 130', async (t) => {
  const { store, work } = await setup(t);
  const { run, row } = await startLongRun(t, store, work, 'to-cancel');
  const waiting = startCli(['--store', store, 'wait', row.id.slice(0, 8)]);
  const cancelled = await cli(['--store', store, 'cancel', row.id.slice(0, 6), '--json']);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const final = rowOf(cancelled.stdout);
  assert.equal(final.id, row.id);
  assert.equal(final.status, 'cancelled');
  assert.equal(final.signal, 'SIGTERM');
  assert.equal(final.error, null);
  assert.equal(signalZeroSucceeds(row.child_pid!), false, 'the agent is gone');
  const runResult = await run.result;
  assert.equal(runResult.code, 130, runResult.stderr);
  assert.match(runResult.stderr, /cancelling it, as another process asked/);
  const waited = await waiting.result;
  assert.equal(waited.code, 130, waited.stderr);
  assert.equal((await listJson(store))[0].status, 'cancelled');

  const again = await cli(['--store', store, 'cancel', row.id]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `agent-tasks: task ${row.id.slice(0, 8)} is not running (status cancelled)\n`);
  const human = await cli(['--store', store, 'wait', row.id]);
  assert.equal(human.code, 130, 'an ended run answers at once');
});

test('cancel of a run whose owner was SIGKILLed stops the agent itself and records the row cancelled', async (t) => {
  const { store, work } = await setup(t);
  const { run, row } = await startLongRun(t, store, work, 'orphaned');
  run.child.kill('SIGKILL');
  assert.equal((await run.result).signal, 'SIGKILL');
  assert.equal(signalZeroSucceeds(row.child_pid!), true, 'the agent outlives its CLI');

  const cancelled = await cli(['--store', store, 'cancel', row.id, '--json']);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.equal(
    cancelled.stderr,
    `agent-tasks: task ${row.id.slice(0, 8)}: the process that ran it (pid ${run.child.pid}) exited; stopping its agent (pid ${row.child_pid}) from here\n`,
  );
  const final = rowOf(cancelled.stdout);
  assert.equal(final.status, 'cancelled');
  assert.equal(final.error, `Cancelled after the process that ran it (pid ${run.child.pid}) exited: its agent (pid ${row.child_pid}) was stopped.`);
  // An orphan is reaped by init in its own time: a zombie is gone too.
  assert.equal(await processLiveness(row.child_pid!, null), 'dead', 'the agent is gone');
  assert.equal((await listJson(store))[0].status, 'cancelled');
});

test('cancel of an agent that ignores SIGTERM: the owner sends SIGKILL after the 5 s grace', async (t) => {
  const { store, work } = await setup(t);
  const { run, row } = await startLongRun(t, store, work, 'stubborn', { FAKE_AGENT_IGNORE_SIGTERM: '1' });
  const started = Date.now();
  const cancelled = await cli(['--store', store, 'cancel', row.id, '--json']);
  const elapsed = Date.now() - started;
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const final = rowOf(cancelled.stdout);
  assert.equal(final.status, 'cancelled');
  assert.equal(final.signal, 'SIGKILL');
  assert.ok(elapsed >= 4_500, `SIGKILL only after the grace (took ${elapsed} ms)`);
  assert.equal(signalZeroSucceeds(row.child_pid!), false);
  assert.equal((await run.result).code, 130);
});

test('cancel of a run a supervisor owns: the supervisor is asked too (it reads no journal) and records it cancelled', async (t) => {
  const { store, work } = await setup(t);
  await (await TaskStore.open({ dir: store, rotationGraceMs: 0 })).close();
  const { row: started, pid } = await launchSupervisor({
    node: process.execPath,
    script: SUPERVISOR,
    request: { storeDir: store, spec: { name: 'supervised', command: process.execPath, args: [FAKE_AGENT, '-p', 'hi'], cwd: work, env: UNTIL_KILLED } },
  });
  t.after(() => {
    if (signalZeroSucceeds(pid)) process.kill(pid, 'SIGKILL');
  });
  const row = await waitFor('the agent pid', async () => (await listJson(store)).find((r) => r.id === started.id && r.child_pid !== null));
  t.after(() => {
    if (signalZeroSucceeds(row.child_pid!)) process.kill(row.child_pid!, 'SIGKILL');
  });
  const cancelled = await cli(['--store', store, 'cancel', row.id.slice(0, 8), '--json']);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.equal(cancelled.stderr, '');
  assert.equal(rowOf(cancelled.stdout).status, 'cancelled');
  assert.equal(await processLiveness(row.child_pid!, null), 'dead', 'the agent is gone');
  await waitFor('the supervisor to exit', async () => (await processLiveness(pid, null)) === 'dead');
});

test('cancel: an unknown or ambiguous id exits 2; a missing store too', async (t) => {
  const { store } = await setup(t);
  const noStore = await cli(['--store', store, 'cancel', 'abc']);
  assert.equal(noStore.code, 2);
  assert.match(noStore.stderr, /^agent-tasks: no task with id "abc" \(there is no task store at /);
  await seedRows(store, ['abcd0001', 'abcd0002']);
  const unknown = await cli(['--store', store, 'cancel', 'zzz']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'agent-tasks: no task with id "zzz"\n');
  const ambiguous = await cli(['--store', store, 'cancel', 'abcd']);
  assert.equal(ambiguous.code, 2);
  assert.match(ambiguous.stderr, /^agent-tasks: "abcd" matches 2 tasks; give more of the id:\nID /);
  const empty = await cli(['--store', store, 'cancel', '']);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /^agent-tasks: the task ID must not be empty\nSee `agent-tasks cancel --help`/);
  const notRunning = await cli(['--store', store, 'cancel', 'abcd0001']);
  assert.equal(notRunning.code, 1);
  assert.equal(notRunning.stderr, 'agent-tasks: task abcd0001 is not running (status success)\n');
});

/** Finished rows with the given ids (and no log files), written as another process would. */
async function seedRows(store: string, ids: string[], status: 'success' | 'cancelled' | 'interrupted' = 'success'): Promise<void> {
  const s = await TaskStore.open({ dir: store, rotationGraceMs: 0 });
  try {
    for (const id of ids) {
      await s.startTask({ ...sampleTask(1), id, name: `seeded ${id}` });
      if (status === 'interrupted') await s.interruptOwnTasks([id], 'Interrupted: VS Code closed.');
      else await s.finishTask(id, { status, exit_code: status === 'success' ? 0 : null });
    }
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// wait

test('wait exits with the run\'s code: 0, N, 128+N, 1 for failed without one, 130 cancelled, 1 interrupted', async (t) => {
  const { store, work } = await setup(t);
  const runs: [string, Record<string, string>, string[]][] = [
    ['ok', {}, []],
    ['three', { FAKE_AGENT_EXIT_CODE: '3' }, []],
    ['killed', { FAKE_AGENT_KILL_SIGNAL: 'SIGKILL' }, []],
    ['agent-error', { FAKE_AGENT_IS_ERROR: '1' }, ['--format', 'claude-stream-json']],
  ];
  for (const [name, env, options] of runs) await cli(fakeRun(store, name, ...options), env, work);
  await cli(['--store', store, 'run', '--name', 'missing', '--', 'agent-tasks-no-such-command-xyz'], {}, work);
  await seedRows(store, ['cccc0001'], 'cancelled');
  await seedRows(store, ['iiii0001'], 'interrupted');
  const byName = new Map((await listJson(store)).map((r) => [r.name, r]));
  const expected: [string, number, RegExp | string][] = [
    ['ok', 0, ''],
    ['three', 3, /^agent-tasks: task \w{8} failed: Exited with code 3\n$/],
    ['killed', 128 + os.constants.signals.SIGKILL, /failed: Killed by SIGKILL\n$/],
    ['agent-error', 1, /failed: The fake agent failed on purpose\.\n$/],
    ['missing', 1, /failed: Command not found/],
    ['seeded cccc0001', 130, ''],
    ['seeded iiii0001', 1, 'agent-tasks: task iiii0001 was interrupted: VS Code closed.\n'],
  ];
  for (const [name, code, stderr] of expected) {
    const row = byName.get(name)!;
    const r = await cli(['--store', store, 'wait', row.id, '--json']);
    assert.equal(r.code, code, `${name}: ${r.stderr}`);
    assert.equal(rowOf(r.stdout).status, row.status);
    if (typeof stderr === 'string') assert.equal(r.stderr, stderr, name);
    else assert.match(r.stderr, stderr, name);
  }
  const unknown = await cli(['--store', store, 'wait', 'zzzz']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'agent-tasks: no task with id "zzzz"\n');
});

test('wait blocks until a live run ends; a run whose owner died ends the wait with 1', async (t) => {
  const { store, work } = await setup(t);
  const release = path.join(work, 'release');
  const script = [
    "const fs = require('node:fs');",
    "process.stdout.write('ready\\n');",
    'const timer = setInterval(() => { if (fs.existsSync(process.argv[1])) { clearInterval(timer); process.exitCode = 4; } }, 20);',
  ].join('\n');
  const run = startCli(scriptRun(store, 'released', script, release), {}, work);
  t.after(() => run.child.kill('SIGKILL'));
  await waitFor('the run to start', () => run.stdout.includes('ready\n'));
  const [row] = await listJson(store);
  const waiting = startCli(['--store', store, 'wait', row.id.slice(0, 5)]);
  // wait has opened the store and found the running row once its first catch-up is done; it must still be waiting.
  const seen = await listJson(store);
  assert.equal(seen[0].status, 'running');
  assert.equal(waiting.child.exitCode, null);
  await fsp.writeFile(release, '');
  const waited = await waiting.result;
  assert.equal(waited.code, 4, waited.stderr);
  assert.equal((await run.result).code, 4);

  const { run: doomed, row: doomedRow } = await startLongRun(t, store, work, 'doomed');
  const waitDoomed = startCli(['--store', store, 'wait', doomedRow.id]);
  doomed.child.kill('SIGKILL');
  const r = await waitDoomed.result;
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `agent-tasks: task ${doomedRow.id.slice(0, 8)} was interrupted: the process that ran it (pid ${doomed.child.pid}) exited (\`agent-tasks recover\` records it)\n`,
  );
  process.kill(doomedRow.child_pid!, 'SIGKILL');
});

// ---------------------------------------------------------------------------------------------
// logs

test('logs --follow prints every line in order and ends when the run ends', async (t) => {
  const { store, work } = await setup(t);
  const lines = 300;
  const script = [
    `let i = 0; const n = ${lines};`,
    "const timer = setInterval(() => { process.stdout.write(`line ${++i}\\n`); if (i === n) clearInterval(timer); }, 5);",
  ].join('\n');
  const run = startCli(scriptRun(store, 'printer', script), {}, work);
  t.after(() => run.child.kill('SIGKILL'));
  await waitFor('the first line', () => run.stdout.includes('line 1\n'));
  const [row] = await listJson(store);
  const follow = startCli(['--store', store, 'logs', row.id.slice(0, 8), '--follow']);
  const followRaw = startCli(['--store', store, 'logs', row.id, '--follow', '--raw']);
  const [followed, followedRaw, ran] = await Promise.all([follow.result, followRaw.result, run.result]);
  assert.equal(ran.code, 0);
  const expected = Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join('');
  assert.equal(followed.code, 0, followed.stderr);
  assert.equal(followed.stdout, expected);
  assert.equal(followedRaw.code, 0, followedRaw.stderr);
  assert.equal(followRaw.stdout, expected);
  assert.equal((await listJson(store))[0].status, 'success');
});

test('logs renders the agent\'s stream-json as text; --raw is the file; escapes are removed from the rendered text only', async (t) => {
  const { store, work } = await setup(t);
  assert.equal((await cli(fakeRun(store, 'claude', '--format', 'claude-stream-json'), {}, work)).code, 0);
  const escapes = "process.stdout.write('\\x1b]0;pwned\\x07plain \\x1b[31mred\\x1b[0m\\n50%\\r100%\\n\\x1b]52;c;ZXZpbA==\\x07bell\\x07 tab\\tend\\n\\u202eevil')";
  assert.equal((await cli(scriptRun(store, 'escapes', escapes), {}, work)).code, 0);
  const byName = new Map((await listJson(store)).map((r) => [r.name, r]));

  const claude = await cli(['--store', store, 'logs', byName.get('claude')!.id]);
  assert.equal(claude.code, 0, claude.stderr);
  assert.match(claude.stdout, new RegExp(`^⏺ Session ${SESSION_ID}`));
  assert.match(claude.stdout, /Hello from the fake agent\./);
  const raw = await cli(['--store', store, 'logs', byName.get('claude')!.id, '--raw']);
  assert.equal(raw.stdout, await fsp.readFile(byName.get('claude')!.log_path as string, 'utf8'));

  const cleaned = await cli(['--store', store, 'logs', byName.get('escapes')!.id]);
  assert.equal(cleaned.code, 0, cleaned.stderr);
  assert.equal(cleaned.stdout, 'plain red\n100%\nbell tab\tend\nevil\n');
  const rawEscapes = await cli(['--store', store, 'logs', byName.get('escapes')!.id, '--raw']);
  assert.equal(rawEscapes.stdout, '\x1b]0;pwned\x07plain \x1b[31mred\x1b[0m\n50%\r100%\n\x1b]52;c;ZXZpbA==\x07bell\x07 tab\tend\n\u202eevil');
});

test('logs of an unknown id, an ambiguous prefix, a task without a log file', async (t) => {
  const { store } = await setup(t);
  await seedRows(store, ['abcd0001', 'abcd0002']);
  const unknown = await cli(['--store', store, 'logs', 'zzzz']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'agent-tasks: no task with id "zzzz"\n');
  const ambiguous = await cli(['--store', store, 'logs', 'abcd', '--follow']);
  assert.equal(ambiguous.code, 2);
  assert.match(ambiguous.stderr, /^agent-tasks: "abcd" matches 2 tasks; give more of the id:\nID {8}STATUS/);
  assert.match(ambiguous.stderr, /abcd0001 +success/);
  const noLog = await cli(['--store', store, 'logs', 'abcd0001']);
  assert.equal(noLog.code, 1);
  assert.equal(noLog.stderr, `agent-tasks: task abcd0001 has no output log: ${path.join(store, 'logs', 'abcd0001.log')} does not exist\n`);
  assert.equal(noLog.stdout, '');
  const noLogFollow = await cli(['--store', store, 'logs', 'abcd0002', '--follow']);
  assert.equal(noLogFollow.code, 1, 'a finished task without a log ends the follow at once');
});

test('logs streams a large log whole, rendered and raw', async (t) => {
  const { store, work } = await setup(t);
  const bytes = 24 * 1024 * 1024;
  assert.equal((await cli(fakeRun(store, 'big', '--format', 'claude-stream-json'), { FAKE_AGENT_PRINT_BYTES: String(bytes) }, work)).code, 0);
  const [row] = await listJson(store);
  const raw = await cli(['--store', store, 'logs', row.id, '--raw']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(Buffer.byteLength(raw.stdout), row.output_bytes);
  const rendered = await cli(['--store', store, 'logs', row.id]);
  assert.equal(rendered.code, 0, rendered.stderr);
  // Filler lines of 1023 "x" are not JSON events: they pass through as they are.
  assert.equal(rendered.stdout.split('\n').filter((l) => /^x{1023}$/.test(l)).length, bytes / 1024);
  assert.match(rendered.stdout, /Hello from the fake agent\./);
});

test('terminalSafe removes escapes, controls and bidi overrides, keeps tabs and newlines', () => {
  assert.equal(terminalSafe('plain text\n'), 'plain text\n');
  assert.equal(terminalSafe('a\x1b[1;31mb\x1b[0m\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n'), 'ablink\n');
  assert.equal(terminalSafe('\x1bP1$r\x1b\\x\x9b2Jy\x00z\x7f\n'), 'xyz\n');
  assert.equal(terminalSafe('10%\r20%\r\n'), '20%\n');
  assert.equal(terminalSafe('a\tb\u202e\u2066c'), 'a\tbc');
  assert.equal(terminalSafe('lone \x1b escape'), 'lone  escape');
});
