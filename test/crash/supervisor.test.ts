import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { isProcessAlive, stopOrphanedAgents } from '../../src/core/processControl';
import { launchSupervisor, SupervisorLaunchError } from '../../src/core/supervisorLaunch';
import type { TaskSpec } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';
import { runCli } from '../helpers/cliProcess';
import { signalZeroSucceeds } from '../helpers/processes';
import { makeTempDir } from '../helpers/tempDir';
import { waitFor } from '../helpers/waitFor';
import { readRow } from '../helpers/storeRows';

/**
 * A run's supervisor (src/core/supervisor.ts, started by supervisorLaunch.ts) owns the run: the
 * process that launched it may die at any moment without the run noticing, and the run ends
 * interrupted only when the supervisor itself dies.
 */

/** out/test/crash → out/src/cli/supervisorMain.js (tsc output; the package ships it bundled as dist/supervisor.js). */
const SUPERVISOR = path.resolve(__dirname, '../../src/cli/supervisorMain.js');
/** A script launching one supervised run, printing the ack as JSON, then waiting to be killed. */
const LAUNCHER = `
const { launchSupervisor } = require(${JSON.stringify(path.resolve(__dirname, '../../src/core/supervisorLaunch.js'))});
const request = JSON.parse(process.argv[1]);
launchSupervisor({ node: process.execPath, script: ${JSON.stringify(SUPERVISOR)}, request }).then(
  (r) => { process.stdout.write(JSON.stringify(r) + '\\n'); setInterval(() => {}, 1000); },
  (e) => { process.stdout.write(JSON.stringify({ error: e.message }) + '\\n'); process.exit(3); });
`;

async function newStore(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const temp = await makeTempDir();
  // A store is created by the editor or the CLI; a supervisor only appends to it.
  await (await TaskStore.open({ dir: temp.dir, rotationGraceMs: 0 })).close();
  return temp;
}

function waitForEnd(dir: string, id: string, timeoutMs = 30_000): Promise<TaskRow> {
  return waitFor(`task ${id} to end`, async () => {
    const row = await readRow(dir, id);
    return row && row.status !== 'running' ? row : undefined;
  }, timeoutMs, 100);
}

const nodeSpec = (dir: string, script: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({
  name: 'supervised',
  command: process.execPath,
  args: ['-e', script],
  cwd: dir,
  ...extra,
});

/** Launches a supervised run from a separate launcher process; returns the ack and the launcher. */
async function launchFromChild(dir: string, spec: TaskSpec) {
  const launcher = spawn(process.execPath, ['-e', LAUNCHER, JSON.stringify({ storeDir: dir, spec })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ack = await new Promise<{ row: TaskRow; pid: number }>((resolve, reject) => {
    launcher.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      const answer = JSON.parse(out.slice(0, nl)) as { row: TaskRow; pid: number; error?: string };
      if (answer.error) reject(new Error(answer.error));
      else resolve(answer);
    });
    launcher.on('error', reject);
  });
  return { ack, launcher };
}

test('the run outlives the process that launched it (SIGKILLed right after the start): success, every line in the log, in order', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const lines = 40;
    const script = `let i = 0; const t = setInterval(() => { console.log('line ' + i); if (++i === ${lines}) clearInterval(t); }, 25);`;
    const { ack, launcher } = await launchFromChild(dir, nodeSpec(dir, script));
    launcher.kill('SIGKILL');
    assert.equal(ack.row.status, 'running');
    assert.equal(ack.row.owner_pid, ack.pid, 'the supervisor owns the row');
    assert.notEqual(ack.pid, launcher.pid);
    const row = await waitForEnd(dir, ack.row.id);
    assert.equal(row.status, 'success', row.error ?? '');
    const log = await fsp.readFile(row.log_path!, 'utf8');
    assert.equal(log, Array.from({ length: lines }, (_, i) => `line ${i}\n`).join(''));
    await waitFor('the supervisor to exit', () => !signalZeroSucceeds(ack.pid), 10_000);
  } finally {
    await cleanup();
  }
});

test('SIGTERM to the supervisor cancels the run: cancelled, its agent gone (SIGKILL after the grace when it ignores SIGTERM)', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const stubborn = `process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);`;
    const { row: started, pid } = await launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { storeDir: dir, spec: nodeSpec(dir, stubborn) } });
    const running = await waitFor('the child pid', async () => {
      const row = await readRow(dir, started.id);
      return row?.child_pid ? row : undefined;
    });
    await waitFor('the agent to print', async () => (await fsp.readFile(started.log_path!, 'utf8').catch(() => '')).includes('ready'));
    process.kill(pid, 'SIGTERM');
    const row = await waitForEnd(dir, started.id, 20_000);
    assert.equal(row.status, 'cancelled');
    assert.equal(await isProcessAlive({ pid: running.child_pid!, startedAt: running.child_started_at, startTicks: running.child_start_ticks }), false);
  } finally {
    await cleanup();
  }
});

test('SIGKILL of the supervisor: the next recovery scan marks the run interrupted, and its surviving agent is stopped', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const { row: started, pid } = await launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { storeDir: dir, spec: nodeSpec(dir, 'setInterval(() => {}, 1000)') } });
    await waitFor('the child pid', async () => (await readRow(dir, started.id))?.child_pid ?? undefined);
    const alive = await TaskStore.open({ dir, rotationGraceMs: 0 });
    assert.deepEqual(await alive.markRunningAsInterrupted(), [], 'nothing is interrupted while its supervisor lives');
    await alive.close();
    process.kill(pid, 'SIGKILL');
    await waitFor('the supervisor to die', () => !signalZeroSucceeds(pid));
    const store = await TaskStore.open({ dir, rotationGraceMs: 0 });
    const marked = await store.markRunningAsInterrupted();
    await store.close();
    assert.deepEqual(marked.map((r) => r.id), [started.id]);
    // Its agent outlived it, cut off from its log: the recovery stops it (pid and start checked).
    const agent = { pid: marked[0].child_pid!, startedAt: marked[0].child_started_at, startTicks: marked[0].child_start_ticks };
    assert.equal(await isProcessAlive(agent), true, 'the agent outlived its supervisor');
    assert.deepEqual((await stopOrphanedAgents(marked)).map((s) => s.outcome), ['stopped']);
    assert.equal(await isProcessAlive(agent), false, 'no orphaned agent');
  } finally {
    await cleanup();
  }
});

test('a supervisor that cannot start fails the launch with a clear message, and never hangs', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const spec = nodeSpec(dir, '0');
    await assert.rejects(
      launchSupervisor({ node: path.join(dir, 'no-such-node'), script: SUPERVISOR, request: { storeDir: dir, spec } }),
      (err: Error) => err instanceof SupervisorLaunchError && /Could not start the task's supervisor .*no-such-node.*ENOENT/.test(err.message),
    );
    const empty = await makeTempDir();
    await assert.rejects(
      launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { storeDir: empty.dir, spec } }),
      (err: Error) => /The task journal in .* cannot be written: it has no journal log yet/.test(err.message),
    );
    await empty.cleanup();
    await assert.rejects(
      launchSupervisor({ node: process.execPath, script: path.join(dir, 'missing.js'), request: { storeDir: dir, spec } }),
      (err: Error) => /exited before the task started \(exit code 1\): Error: Cannot find module/.test(err.message),
    );
    await assert.rejects(
      launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { storeDir: dir, spec }, env: { ...process.env, NODE_OPTIONS: '--require /nonexistent-preload.js' } }),
      SupervisorLaunchError,
    );
  } finally {
    await cleanup();
  }
});

test('a bad command or folder: the launch succeeds and the run fails with the reason in its row', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const missing = await launchSupervisor({
      node: process.execPath,
      script: SUPERVISOR,
      request: { storeDir: dir, spec: { name: 'missing', command: 'no-such-agent-xyz', args: [], cwd: dir } },
    });
    const failed = await waitForEnd(dir, missing.row.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /no-such-agent-xyz/);
    const badCwd = await launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { storeDir: dir, spec: nodeSpec(path.join(dir, 'nope'), '0') } });
    const row = await waitForEnd(dir, badCwd.row.id);
    assert.equal(row.status, 'failed');
    assert.match(row.error ?? '', /nope/);
  } finally {
    await cleanup();
  }
});

test('environment values reach the agent and never the journal', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const secret = 'sk-supervisor-secret-value';
    const { row: started } = await launchSupervisor({
      node: process.execPath,
      script: SUPERVISOR,
      request: { storeDir: dir, spec: nodeSpec(dir, `console.log('token of ' + (process.env.TOKEN ?? '').length); console.log('electron:' + (process.env.ELECTRON_RUN_AS_NODE ?? 'unset'))`, { env: { TOKEN: secret } }) },
    });
    const row = await waitForEnd(dir, started.id);
    assert.equal(await fsp.readFile(row.log_path!, 'utf8'), `token of ${secret.length}\nelectron:unset\n`);
    for (const name of await fsp.readdir(dir)) {
      if (name.endsWith('.journal')) assert.ok(!(await fsp.readFile(path.join(dir, name), 'utf8')).includes(secret), name);
    }
  } finally {
    await cleanup();
  }
});

test('onWindowClose "stop": a closed window (SIGUSR2) stops its run after the grace; a window that shows it again (SIGUSR1) keeps it', async () => {
  const { dir, cleanup } = await newStore();
  try {
    const spec = nodeSpec(dir, "console.log('up'); setInterval(() => {}, 1000)");
    const request = { storeDir: dir, spec, stopAfterWindowCloseMs: 1500 };
    const kept = await launchSupervisor({ node: process.execPath, script: SUPERVISOR, request });
    const stopped = await launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { ...request, spec: { ...spec, name: 'closed' } } });
    await waitFor('both agents up', async () => (await readRow(dir, kept.row.id))?.child_pid && (await readRow(dir, stopped.row.id))?.child_pid);
    process.kill(kept.pid, 'SIGUSR2');
    process.kill(stopped.pid, 'SIGUSR2');
    // The reloaded window, a moment later (two pending signals are delivered lowest number first).
    await new Promise((r) => setTimeout(r, 300));
    process.kill(kept.pid, 'SIGUSR1');
    const row = await waitForEnd(dir, stopped.row.id, 15_000);
    assert.equal(row.status, 'cancelled');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await readRow(dir, kept.row.id))?.status, 'running', 'shown again: it goes on');
    process.kill(kept.pid, 'SIGTERM');
    assert.equal((await waitForEnd(dir, kept.row.id)).status, 'cancelled');
  } finally {
    await cleanup();
  }
});

test('agent-tasks run --detach returns at once with the id; a supervisor runs the task to its end, every line logged; --json prints the running row', async () => {
  const temp = await makeTempDir();
  try {
    const dir = path.join(temp.dir, 'store');
    const lines = 20;
    const script = `let i = 0; const t = setInterval(() => { console.log('line ' + i); if (++i === ${lines}) clearInterval(t); }, 50);`;
    const out = await runCli(['run', '--detach', '--store', dir, '--', process.execPath, '-e', script]);
    assert.equal(out.code, 0, out.stderr);
    const id = out.stdout.trim().split('\n').pop()!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const running = await readRow(dir, id);
    assert.ok(running, 'journaled before the CLI returned');
    assert.match(running!.owner_id, /^supervisor:/, 'owned by a supervisor, not by the CLI process');
    const row = await waitForEnd(dir, id);
    assert.equal(row.status, 'success');
    assert.equal(await fsp.readFile(row.log_path!, 'utf8'), Array.from({ length: lines }, (_, i) => `line ${i}\n`).join(''));
    const json = await runCli(['run', '--detach', '--json', '--store', dir, '--', process.execPath, '-e', '0']);
    const jsonRow = JSON.parse(json.stdout) as TaskRow;
    assert.equal(jsonRow.status, 'running');
    assert.equal((await waitForEnd(dir, jsonRow.id)).status, 'success');
  } finally {
    await temp.cleanup();
  }
});
