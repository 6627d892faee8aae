import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { TaskRunner, TaskSpecError, type RunningTaskChange, type TaskRunnerOptions, type TaskSpec } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import { processLiveness } from '../../src/core/processIdentity';
import { signalZeroSucceeds } from '../helpers/processes';
import { waitFor as waitForShared } from '../helpers/waitFor';

const waitFor: typeof waitForShared = (what, probe, timeoutMs = 5_000) => waitForShared(what, probe, timeoutMs);

// `gc` without --expose-gc on the command line (the suite runs as plain `node --test`).
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

// out/test/unit → the repository's test/fixtures (plain JS, not compiled).
const FAKE_AGENT = path.resolve(__dirname, '../../../test/fixtures/fakeAgent.js');
const SESSION_ID = '6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e';
const FAKE_REPLY = 'Hello from the fake agent.';

interface Fixture {
  dir: string;
  storeDir: string;
  work: string;
  store: TaskStore;
  runner: TaskRunner;
}

async function setup(t: TestContext, options: TaskRunnerOptions = {}): Promise<Fixture> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-runner-'));
  const storeDir = path.join(dir, 'store');
  const work = path.join(dir, 'work');
  await fsp.mkdir(work);
  const store = await TaskStore.open({ dir: storeDir, rotationGraceMs: 0 });
  const runner = new TaskRunner(store, options);
  t.after(async () => {
    runner.dispose();
    await store.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });
  return { dir, storeDir, work, store, runner };
}

function nodeScript(cwd: string, script: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { name: 'inline script', command: process.execPath, args: ['-e', script], cwd, ...extra };
}

function fakeAgent(cwd: string, args: string[], extra: Partial<TaskSpec> = {}): TaskSpec {
  return { name: 'fake agent', agent: 'claude', command: process.execPath, args: [FAKE_AGENT, ...args], cwd, format: 'claude-stream-json', ...extra };
}

/** Collects what the runner tees to it, so a test can wait for a line. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}


/** Gone means no such pid, or a zombie nobody reaped yet (PID 1 in a container may never reap it). */
async function processIsGone(pid: number): Promise<boolean> {
  return (await processLiveness(pid, null)) === 'dead';
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

test('a successful agent run is journaled at start and finished with its session, tokens, cost and output', async (t) => {
  const { store, runner, work, storeDir } = await setup(t);
  const events: RunningTaskChange[] = [];
  runner.onDidChangeRunning((e) => events.push(e));
  const id = 'a0000000-0000-4000-8000-000000000001';
  // The child proves the row was durable before it was spawned: the id is already in the store's files.
  const checkJournaled = `
    const fs = require('fs'), path = require('path');
    const dir = ${JSON.stringify(storeDir)};
    // A compaction may retire a journal file between readdir and read: skip what vanished.
    const has = (p) => { try { return fs.statSync(p).isFile() && fs.readFileSync(p, 'latin1').includes(${JSON.stringify(id)}); } catch { return false; } };
    const found = fs.readdirSync(dir).some((f) => has(path.join(dir, f)));
    process.stderr.write(found ? 'journaled before spawn\\n' : 'NOT journaled before spawn\\n');
    require(${JSON.stringify(FAKE_AGENT)});`;
  const task = await runner.start({
    ...fakeAgent(work, []),
    id,
    args: ['-e', checkJournaled, '--', FAKE_AGENT, '-p', 'say hello', '--session-id', SESSION_ID, '--output-format', 'stream-json'],
    prompt: 'say hello',
    workspace: work,
  });
  assert.equal(task.id, id);
  assert.equal(task.row.status, 'running');
  assert.equal(runner.get(id), task);
  assert.deepEqual(runner.list(), [task]);

  const row = await task.done;
  const log = await fsp.readFile(store.logPathFor(id));
  assert.equal(row.status, 'success');
  assert.equal(row.exit_code, 0);
  assert.equal(row.signal, null);
  assert.equal(row.error, null);
  assert.equal(row.session_id, SESSION_ID);
  assert.equal(row.input_tokens, 12);
  assert.equal(row.output_tokens, 34);
  assert.equal(row.cache_read_tokens, 56);
  assert.equal(row.cache_creation_tokens, 78);
  assert.equal(row.cost_usd, 0.0123);
  assert.equal(row.prompt, 'say hello');
  assert.equal(row.workspace, work);
  assert.equal(row.format, 'claude-stream-json');
  assert.equal(row.output_bytes, log.length);
  assert.equal(typeof row.child_pid, 'number');
  assert.ok(row.child_pid! > 0);
  assert.equal(typeof row.child_started_at, 'number');
  assert.ok(row.finished_at! >= row.started_at);
  assert.deepEqual(await store.getTask(id), row);

  const text = log.toString('utf8');
  assert.match(text, /^journaled before spawn$/m);
  const events_ = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).type);
  assert.deepEqual(events_, ['system', 'assistant', 'result']);
  assert.equal(text.split('\n').filter((l) => l !== '' && !l.startsWith('{')).length, 1);

  assert.equal(runner.get(id), undefined);
  assert.deepEqual(runner.list(), []);
  assert.equal(task.progress.session_id, SESSION_ID);
  assert.equal(task.progress.cost_usd, 0.0123);
  assert.equal(events[0].kind, 'started');
  assert.equal(events.at(-1)!.kind, 'ended');
  assert.deepEqual(events.at(-1)!.row, row);
  assert.ok(events.slice(1, -1).every((e) => e.kind === 'progress' && e.task === task));
});

test('a non-zero exit fails the task with its code', async (t) => {
  const { runner, work } = await setup(t);
  const task = await runner.start(nodeScript(work, 'process.stdout.write("partial\\n"); process.exit(3)'));
  const row = await task.done;
  assert.equal(row.status, 'failed');
  assert.equal(row.exit_code, 3);
  assert.equal(row.signal, null);
  assert.equal(row.error, 'Exited with code 3');
  assert.equal(row.output_bytes, 8);
});

test("an agent that refuses to start says why on stderr: its last line is the row's error, cleaned", async (t) => {
  const { runner, work } = await setup(t);
  const script = [
    'process.stderr.write("x".repeat(10000) + "\\n");',
    'process.stderr.write("\\u001b[31mNot inside a trusted directory and --skip-git-repo-check was not specified.\\u001b[0m\\u202e\\n\\n");',
    'process.exit(1)',
  ].join('');
  const row = await (await runner.start(nodeScript(work, script))).done;
  assert.equal(row.status, 'failed');
  assert.equal(row.error, 'Exited with code 1: Not inside a trusted directory and --skip-git-repo-check was not specified.');
  const killed = await (await runner.start(nodeScript(work, 'process.stderr.write("fatal: out of memory\\n"); process.kill(process.pid, "SIGKILL")'))).done;
  assert.equal(killed.error, 'Killed by SIGKILL: fatal: out of memory');
  const quiet = await (await runner.start(nodeScript(work, 'process.exit(4)'))).done;
  assert.equal(quiet.error, 'Exited with code 4', 'nothing on stderr: the code alone');
  // Codex (Rust) puts a backtrace after its error: the reason is the line above it (seen with a prompt over its 1 MiB limit).
  const rust = [
    'process.stderr.write("Error: turn/start failed: Input exceeds the maximum length of 1048576 characters.\\n\\nStack backtrace:\\n   0: <unknown>\\n   9: <unknown>\\n");',
    'process.exit(1)',
  ].join('');
  const backtrace = await (await runner.start(nodeScript(work, rust))).done;
  assert.equal(backtrace.error, 'Exited with code 1: Error: turn/start failed: Input exceeds the maximum length of 1048576 characters.');
});

test('a child killed by a signal fails the task with the signal and no exit code', async (t) => {
  const { runner, work } = await setup(t);
  const task = await runner.start(nodeScript(work, 'process.kill(process.pid, "SIGKILL")'));
  const row = await task.done;
  assert.equal(row.status, 'failed');
  assert.equal(row.exit_code, null);
  assert.equal(row.signal, 'SIGKILL');
  assert.equal(row.error, 'Killed by SIGKILL');
});

test('an agent that reports an error fails the task even when it exits 0', async (t) => {
  const { runner, work } = await setup(t);
  const task = await runner.start(fakeAgent(work, ['-p', 'x'], { env: { FAKE_AGENT_IS_ERROR: '1' } }));
  const row = await task.done;
  assert.equal(row.status, 'failed');
  assert.equal(row.exit_code, 0);
  assert.equal(row.error, 'The fake agent failed on purpose.');
  assert.equal(row.cost_usd, 0.0123);
});

test('cancel stops a cooperative child with SIGTERM and records it cancelled', async (t) => {
  const { runner, work, store } = await setup(t, { killGraceMs: 5_000 });
  const out = new Capture();
  const task = await runner.start(nodeScript(work, 'console.log("ready"); setInterval(() => {}, 1000)'), { tee: { stdout: out } });
  await waitFor('the child to be ready', () => out.text.includes('ready'));
  const pid = task.progress.child_pid!;
  const started = Date.now();
  const row = await runner.cancel(task.id);
  assert.ok(Date.now() - started < 4_000, 'SIGTERM alone should have ended it');
  assert.equal(row?.status, 'cancelled');
  assert.equal(row?.signal, 'SIGTERM');
  assert.equal(row?.exit_code, null);
  assert.equal(row?.error, null);
  assert.equal((await store.getTask(task.id))?.status, 'cancelled');
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  assert.equal(await runner.cancel(task.id), undefined);
});

test('cancel SIGKILLs the whole process group after the grace period when SIGTERM is ignored', async (t) => {
  const { runner, work } = await setup(t, { killGraceMs: 400 });
  const out = new Capture();
  const grandchild = `process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)`;
  const child = `
    process.on("SIGTERM", () => {});
    const g = require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { stdio: "ignore" });
    console.log("pids " + process.pid + " " + g.pid);
    setInterval(() => {}, 1000);`;
  const task = await runner.start(nodeScript(work, child), { tee: { stdout: out } });
  const [, childPid, grandchildPid] = (await waitFor('the pids', () => /pids (\d+) (\d+)/.exec(out.text) ?? undefined)).map(Number);
  assert.equal(task.progress.child_pid, childPid);
  await new Promise((resolve) => setTimeout(resolve, 100)); // let both install their SIGTERM handlers
  const started = Date.now();
  const row = await runner.cancel(task.id);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 380, `SIGKILL came after ${elapsed} ms, before the grace period`);
  assert.equal(row?.status, 'cancelled');
  assert.equal(row?.signal, 'SIGKILL');
  assert.equal(row?.exit_code, null);
  assert.throws(() => process.kill(childPid, 0), { code: 'ESRCH' });
  await waitFor('the grandchild to be gone', () => processIsGone(grandchildPid), 3_000);
});

test('a missing executable is journaled as a failed run with a clear error', async (t) => {
  const { runner, work, store } = await setup(t);
  const task = await runner.start({ name: 'missing', command: 'agent-tasks-no-such-command-xyz', args: ['-p', 'hi'], cwd: work });
  const row = await task.done;
  assert.equal(row.status, 'failed');
  assert.equal(row.error, 'Command not found: "agent-tasks-no-such-command-xyz" (is it installed and on PATH?)');
  assert.equal(row.exit_code, null);
  assert.equal(row.signal, null);
  assert.equal(row.child_pid, null);
  assert.deepEqual(await store.getTask(task.id), row);
});

test('a missing or non-folder working folder is journaled as a failed run', async (t) => {
  const { runner, work, dir } = await setup(t);
  const missing = path.join(dir, 'no', 'such', 'folder');
  const row1 = await (await runner.start(nodeScript(missing, 'console.log(1)'))).done;
  assert.equal(row1.status, 'failed');
  assert.equal(row1.error, `Working folder does not exist: ${missing}`);
  assert.equal(row1.cwd, missing);

  const file = path.join(work, 'a-file');
  await fsp.writeFile(file, 'x');
  const row2 = await (await runner.start(nodeScript(file, 'console.log(1)'))).done;
  assert.equal(row2.status, 'failed');
  assert.equal(row2.error, `Working folder is not a folder: ${file}`);
});

test('a file that is not executable fails with a permission error', async (t) => {
  const { runner, work } = await setup(t);
  const file = path.join(work, 'not-executable.sh');
  await fsp.writeFile(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
  const row = await (await runner.start({ name: 'noexec', command: file, args: [], cwd: work })).done;
  assert.equal(row.status, 'failed');
  assert.equal(row.error, `Command cannot be run: "${file}" (permission denied, or it is not an executable file)`);
});

test('a prompt full of shell metacharacters reaches the child byte for byte', async (t) => {
  const { runner, work, store, dir } = await setup(t);
  const prompt = `; $(rm -rf /) \`x\` "q" 'q' | & > < * ? ~ \\ \n newline, unicode: é 日本語 🚀 $HOME %PATH% !! #`;
  const argvFile = path.join(dir, 'argv.jsonl');
  const args = ['-p', prompt, '--session-id', SESSION_ID];
  const task = await runner.start(fakeAgent(work, args, { prompt, env: { FAKE_AGENT_ARGV_FILE: argvFile } }));
  const row = await task.done;
  assert.equal(row.status, 'success');
  const lines = (await fsp.readFile(argvFile, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), args);
  assert.deepEqual(row.args, [FAKE_AGENT, ...args]);
  assert.equal(row.prompt, prompt);
  assert.deepEqual((await store.getTask(task.id))?.args, [FAKE_AGENT, ...args]);
});

test('a prompt on stdin reaches the child byte for byte, then stdin is closed; it is in the row, never in the argv', async (t) => {
  const { runner, work, store } = await setup(t);
  // A Markdown list (an unknown option as an argument), unicode, and over the 128 KB limit of one argv element.
  const line = '- fix "the bug"; $(rm -rf /) é 日本語 🚀 \\ %PATH%\n';
  const prompt = line.repeat(Math.ceil((300 * 1024) / Buffer.byteLength(line)));
  // The child echoes its stdin and exits at its end: it ends only if stdin is closed.
  const task = await runner.start(nodeScript(work, 'process.stdin.pipe(process.stdout)', { prompt, stdin: prompt }));
  const row = await task.done;
  assert.equal(row.status, 'success', row.error ?? '');
  assert.equal(await fsp.readFile(store.logPathFor(task.id), 'utf8'), prompt);
  assert.equal(row.output_bytes, Buffer.byteLength(prompt));
  assert.equal(row.prompt, prompt, 'the row keeps the prompt');
  assert.deepEqual(row.args, ['-e', 'process.stdin.pipe(process.stdout)'], 'the argv does not');
  assert.equal('stdin' in (await store.getTask(task.id))!, false, 'stdin itself is not a column');
});

test('without stdin in the spec the child reads /dev/null, as before', async (t) => {
  const { runner, work, store } = await setup(t);
  const script = 'const fs = require("fs"); process.stdout.write(`${fs.fstatSync(0).isCharacterDevice()} ${fs.readFileSync(0).length}`)';
  const task = await runner.start(nodeScript(work, script));
  assert.equal((await task.done).status, 'success');
  assert.equal(await fsp.readFile(store.logPathFor(task.id), 'utf8'), 'true 0');
});

test('the fake agent reads its prompt from stdin when -p has no value, as claude -p does', async (t) => {
  const { runner, work, dir } = await setup(t);
  const promptFile = path.join(dir, 'prompt.jsonl');
  const prompt = '- first item\n- second item';
  const task = await runner.start(fakeAgent(work, ['-p', '--session-id', SESSION_ID, '--output-format', 'stream-json'], { prompt, stdin: prompt, env: { FAKE_AGENT_PROMPT_FILE: promptFile } }));
  const row = await task.done;
  assert.equal(row.status, 'success', row.error ?? '');
  assert.equal(row.session_id, SESSION_ID);
  assert.deepEqual(JSON.parse(await fsp.readFile(promptFile, 'utf8')), { prompt, from: 'stdin' });
});

test('a child that exits without reading a 1 MB stdin: the run ends on its exit code alone, no unhandled error', async (t) => {
  const messages: string[] = [];
  const { runner, work } = await setup(t, { log: (m) => messages.push(m) });
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  t.after(() => void process.off('uncaughtException', onUncaught));
  const big = 'x'.repeat(1024 * 1024);
  const ok = await (await runner.start(nodeScript(work, 'process.exit(0)', { prompt: 'p', stdin: big }))).done;
  assert.equal(ok.status, 'success', ok.error ?? '');
  assert.equal(ok.error, null);
  const failed = await (await runner.start(nodeScript(work, 'process.stdin.destroy(); setTimeout(() => process.exit(3), 50)', { prompt: 'p', stdin: big }))).done;
  assert.equal(failed.status, 'failed');
  assert.equal(failed.exit_code, 3);
  assert.equal(failed.error, 'Exited with code 3', 'the reason is its exit, not the unread stdin');
  // Let any late EPIPE surface.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(uncaught, []);
  assert.ok(messages.every((m) => /standard input closed before all of it was written/.test(m)), messages.join('\n'));
});

test('cancel stops a child that never reads its stdin', async (t) => {
  const { runner, work } = await setup(t, { killGraceMs: 2000 });
  const task = await runner.start(nodeScript(work, 'process.stdout.write("up\\n"); setInterval(() => undefined, 1000)', { prompt: 'p', stdin: 'y'.repeat(1024 * 1024) }));
  await waitFor('the child to run', () => task.progress.output_bytes! > 0);
  const row = await runner.cancel(task.id);
  assert.equal(row?.status, 'cancelled');
});

test('100 MB of output streams to the log while the runner stays flat in memory', async (t) => {
  const { runner, work, store } = await setup(t);
  const total = 100 * 1024 * 1024;
  // Pipe chunks are garbage as soon as they are written, but V8 frees Buffer memory lazily (tens of
  // MB of garbage is normal): collect before each sample so RSS shows what the runner retains.
  const retainedRss = (): number => {
    collectGarbage();
    return process.memoryUsage().rss;
  };
  const before = retainedRss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, retainedRss())), 25);
  t.after(() => clearInterval(sampler));
  const task = await runner.start(
    fakeAgent(work, ['-p', 'big', '--output-format', 'text'], { format: 'text', env: { FAKE_AGENT_PRINT_BYTES: String(total) } }),
  );
  const row = await task.done;
  clearInterval(sampler);
  peak = Math.max(peak, retainedRss());
  const expected = total + Buffer.byteLength(FAKE_REPLY + '\n');
  assert.equal(row.status, 'success');
  assert.equal(row.output_bytes, expected);
  assert.equal((await fsp.stat(store.logPathFor(task.id))).size, expected);
  const growthMb = (peak - before) / (1024 * 1024);
  // Holding the output would need 100+ MB; pipe chunks and the log's 1 MiB buffer need a few MB.
  assert.ok(growthMb < 40, `RSS grew by ${growthMb.toFixed(1)} MB`);
});

test('binary output is logged unchanged', async (t) => {
  const { runner, work, store } = await setup(t);
  const script = 'const b = Buffer.alloc(256 * 1000); for (let i = 0; i < b.length; i++) b[i] = i % 256; process.stdout.write(b);';
  const task = await runner.start(nodeScript(work, script));
  const row = await task.done;
  const expected = Buffer.alloc(256 * 1000);
  for (let i = 0; i < expected.length; i++) expected[i] = i % 256;
  assert.equal(row.status, 'success');
  assert.equal(row.output_bytes, expected.length);
  assert.ok((await fsp.readFile(store.logPathFor(task.id))).equals(expected));
});

test('stderr goes to the log (not the parser) and to its own tee', async (t) => {
  const { runner, work, store } = await setup(t);
  const out = new Capture();
  const err = new Capture();
  const task = await runner.start(
    fakeAgent(work, ['-p', 'x', '--session-id', SESSION_ID], { env: { FAKE_AGENT_STDERR: '{"type":"result","is_error":true,"result":"fake"}\n' } }),
    { tee: { stdout: out, stderr: err } },
  );
  const row = await task.done;
  assert.equal(row.status, 'success', 'a result-looking line on stderr must not reach the parser');
  assert.equal(err.text, '{"type":"result","is_error":true,"result":"fake"}\n');
  assert.equal(out.text.split('\n').filter((l) => l !== '').length, 3);
  const log = await fsp.readFile(store.logPathFor(task.id), 'utf8');
  assert.equal(log.length, out.text.length + err.text.length);
  assert.equal(row.output_bytes, log.length);
});

test('the child pid and the session id are recorded while the task runs; heartbeats update heartbeat_at', async (t) => {
  const { runner, work, store } = await setup(t, { heartbeatMs: 100 });
  const task = await runner.start(fakeAgent(work, ['-p', 'slow', '--session-id', SESSION_ID], { session_id: null, env: { FAKE_AGENT_SLEEP_MS: '1500' } }));
  assert.equal(task.row.session_id, null);
  const running = await waitFor('the session id in the store', async () => {
    const r = await store.getTask(task.id);
    return r?.session_id === SESSION_ID && r.child_pid !== null ? r : undefined;
  });
  assert.equal(running.status, 'running');
  assert.equal(running.child_pid, task.progress.child_pid);
  assert.equal(typeof running.child_started_at, 'number');
  const firstBeat = running.heartbeat_at!;
  const later = await waitFor('a later heartbeat', async () => {
    const r = await store.getTask(task.id);
    return r && r.heartbeat_at! > firstBeat ? r : undefined;
  });
  assert.equal(later.status, 'running');
  assert.ok(later.heartbeat_at! <= Date.now());
  const row = await task.done;
  assert.equal(row.status, 'success');
});

test('env values reach the child but never the store folder', async (t) => {
  const { runner, work, store, storeDir } = await setup(t, { heartbeatMs: 50 });
  const secret = `sekrit-${Math.random().toString(36).slice(2)}-value`;
  const task = await runner.start(
    fakeAgent(work, ['-p', 'x'], { env: { AGENT_TASKS_TEST_SECRET: secret, FAKE_AGENT_ECHO_ENV: 'AGENT_TASKS_TEST_SECRET', FAKE_AGENT_SLEEP_MS: '200' } }),
  );
  const row = await task.done;
  assert.equal(row.status, 'success');
  assert.match(await fsp.readFile(store.logPathFor(task.id), 'utf8'), /^ENV AGENT_TASKS_TEST_SECRET=set$/m);
  assert.ok(!JSON.stringify(row).includes(secret));
  await store.compact();
  const files = await filesUnder(storeDir);
  assert.ok(files.length >= 2, `expected the journal and a log, found ${files.join(', ')}`);
  for (const file of files) {
    const bytes = await fsp.readFile(file);
    assert.ok(!bytes.includes(secret), `${file} contains the env value`);
    assert.ok(!bytes.includes(Buffer.from(secret, 'utf16le')), `${file} contains the env value (UTF-16)`);
  }
});

test('stopAll records running tasks interrupted at once and SIGTERMs them', async (t) => {
  const { runner, work, store } = await setup(t, { killGraceMs: 5_000 });
  const out = new Capture();
  const task = await runner.start(nodeScript(work, 'console.log("ready"); setInterval(() => {}, 1000)'), { tee: { stdout: out } });
  await waitFor('the child to be ready', () => out.text.includes('ready'));
  const marked = await runner.stopAll('VS Code was closed');
  assert.deepEqual(marked.map((r) => [r.id, r.status, r.error]), [[task.id, 'interrupted', 'VS Code was closed']]);
  assert.equal((await store.getTask(task.id))?.status, 'interrupted');
  const row = await task.done;
  assert.equal(row.status, 'interrupted');
  assert.equal(row.error, 'VS Code was closed');
  assert.equal(row.signal, 'SIGTERM');
  await assert.rejects(runner.start(nodeScript(work, '1')), /stopped/);
});

test('invalid specs are rejected before anything is journaled', async (t) => {
  const { runner, work, store } = await setup(t);
  await assert.rejects(runner.start(nodeScript(work, 'x', { args: ['-e', 'a\0b'] })), TaskSpecError);
  await assert.rejects(runner.start(nodeScript(work, 'x', { name: ' ' })), TaskSpecError);
  await assert.rejects(runner.start(nodeScript(work, 'x', { format: 'xml' as never })), TaskSpecError);
  await assert.rejects(runner.start(nodeScript(work, 'x', { env: { 'A=B': 'x' } })), TaskSpecError);
  await assert.rejects(runner.start(nodeScript(work, 'x', { stdin: 42 as never })), /stdin must be a string/);
  await assert.rejects(
    runner.start({ name: 'sh', command: 'echo', args: ['hi; rm -rf /'], prompt: 'hi; rm -rf /', cwd: work, shell: true }),
    /cannot be part of a shell command line/,
  );
  await assert.rejects(
    runner.start({ name: 'sh', command: 'claude', args: ['-p', 'fix it'], prompt: 'fix it', cwd: work, shell: true }),
    /cannot be part of a shell command line/,
  );
  assert.equal(await store.countTasks({ includeRunning: true }), 0);
});

test('a shell profile that takes its prompt from the environment runs', async (t) => {
  const { runner, work, store } = await setup(t);
  const prompt = 'fix "it"; $(whoami)';
  const task = await runner.start({
    name: 'sh', command: 'printf', args: ["'%s\\n'", '"$AGENT_TASKS_PROMPT"', 'fix'], prompt, cwd: work, shell: true,
    env: { AGENT_TASKS_PROMPT: prompt },
  });
  const row = await task.done;
  assert.equal(row.status, 'success', row.error ?? '');
  assert.equal(await fsp.readFile(store.logPathFor(task.id), 'utf8'), `${prompt}\nfix\n`);
});

test('a grandchild holding the pipes open does not keep a finished task running', async (t) => {
  const { runner, work } = await setup(t);
  const out = new Capture();
  // The grandchild inherits stdout/stderr and outlives the child by far.
  const child = `
    const g = require("child_process").spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "inherit" });
    console.log("grandchild " + g.pid);
    g.unref();`;
  const task = await runner.start(nodeScript(work, child), { tee: { stdout: out } });
  const grandchildPid = Number((await waitFor('the grandchild pid', () => /grandchild (\d+)/.exec(out.text) ?? undefined))[1]);
  t.after(() => {
    if (signalZeroSucceeds(grandchildPid)) process.kill(grandchildPid, 'SIGKILL');
  });
  const started = Date.now();
  const row = await task.done;
  assert.equal(row.status, 'success');
  assert.ok(Date.now() - started < 4_000, `finished after ${Date.now() - started} ms`);
  assert.equal(signalZeroSucceeds(grandchildPid), true, 'a normal exit leaves background processes alone');
});

test('the same id cannot run twice at once', async (t) => {
  const { runner, work } = await setup(t);
  const id = 'a0000000-0000-4000-8000-000000000002';
  const first = await runner.start(nodeScript(work, 'setTimeout(() => {}, 300)', { id }));
  await assert.rejects(runner.start(nodeScript(work, '1', { id })), /already running/);
  assert.equal((await first.done).status, 'success');
  await assert.rejects(runner.start(nodeScript(work, '1', { id })), /already exists \(success\)/);
});
