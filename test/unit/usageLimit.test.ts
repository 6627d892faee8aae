/**
 * Usage limits (src/core/usageLimit.ts and its use in TaskRunner): a run whose agent stops on a
 * usage limit with a reset time waits (`waiting`, `resume_at`), then resumes its session in the
 * same row. The runner tests use a real TaskStore on disk (and a supervisor's AppendOnlyJournal)
 * and the fake agent's FAKE_AGENT_LIMIT knob.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppendOnlyJournal } from '../../src/core/appendJournal';
import { createOutputParser, emptySummary, type OutputSummary } from '../../src/core/outputParsers';
import { stopOrphanedAgents } from '../../src/core/processControl';
import { launchSupervisor } from '../../src/core/supervisorLaunch';
import { TaskRunner, TaskSpecError, type TaskRunnerOptions, type TaskSpec } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import type { RunJournal, TaskRow } from '../../src/core/taskTypes';
import { LimitWaits, MAX_LIMIT_WAIT_MS, RunUsage, usageLimitOf } from '../../src/core/usageLimit';
import { waitFor } from '../helpers/waitFor';
import { readRow } from '../helpers/storeRows';

// out/test/unit → the repository's test/fixtures (plain JS and recordings, not compiled).
const FAKE_AGENT = path.resolve(__dirname, '../../../test/fixtures/fakeAgent.js');
const REAL_FIXTURES = path.resolve(__dirname, '../../../test/fixtures/agent-output/real');
const SESSION_ID = '7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d';
const LIMIT_TEXT = "You've hit your session limit · resets 4:04pm (UTC)";

function summaryOf(text: string): OutputSummary {
  const parser = createOutputParser('claude-stream-json');
  parser.push(Buffer.from(text));
  parser.end();
  return parser.summary;
}

// ---------------------------------------------------------------------------------------------
// Deciding

test('the real CLI on a rejected unified rate limit (2.1.197): a usage limit that resets at resetsAt', () => {
  const summary = summaryOf(readFileSync(path.join(REAL_FIXTURES, 'claude-rate-limit-rejected.jsonl'), 'utf8'));
  assert.deepEqual(usageLimitOf(summary), { resetAt: 1796217725_000, message: "You've hit your session limit · resets 1:22pm (UTC)" });
  const warned = summaryOf(readFileSync(path.join(REAL_FIXTURES, 'claude-rate-limit-warning.jsonl'), 'utf8'));
  assert.equal(usageLimitOf(warned), null, 'a warning is no limit');
  assert.equal(usageLimitOf(summaryOf(readFileSync(path.join(REAL_FIXTURES, 'claude-http-429.jsonl'), 'utf8'))), null, 'an API-key 429 says no reset time: no limit to wait for');
});

test('the result text of older CLIs, "Claude AI usage limit reached|<seconds>", is a usage limit too', () => {
  const summary = { ...emptySummary(), isError: true, errorMessage: 'Claude AI usage limit reached|1751562000' };
  assert.deepEqual(usageLimitOf(summary), { resetAt: 1751562000_000, message: 'Claude AI usage limit reached|1751562000' });
  assert.equal(usageLimitOf({ ...emptySummary(), isError: true, errorMessage: 'usage limit reached' }), null);
});

test('LimitWaits: waits only for a reset ahead and within 7 days; gives up after maxResumes', () => {
  const now = 1_800_000_000_000;
  const waits = new LimitWaits({ args: ['--resume', 'x'], maxResumes: 1 }, () => now);
  const limited = (resetsAt: number | null): OutputSummary => ({
    ...emptySummary(),
    isError: true,
    errorMessage: LIMIT_TEXT,
    rateLimit: { status: 'rejected', resetsAt, kind: 'five_hour', utilization: null },
  });
  assert.deepEqual(waits.decide(limited(now / 1000 + 3)), { kind: 'wait', resumeAt: now + 3000 });
  assert.deepEqual(waits.decide(limited(null)), { kind: 'none' }, 'no reset time');
  assert.deepEqual(waits.decide(limited(now / 1000 - 1)), { kind: 'none' }, 'a reset in the past');
  assert.deepEqual(waits.decide(limited(now / 1000)), { kind: 'none' }, 'a reset right now');
  assert.deepEqual(waits.decide(limited((now + MAX_LIMIT_WAIT_MS) / 1000 + 1)), { kind: 'none' }, 'a reset more than 7 days ahead');
  assert.deepEqual(waits.decide(limited((now + MAX_LIMIT_WAIT_MS) / 1000)), { kind: 'wait', resumeAt: now + MAX_LIMIT_WAIT_MS }, '7 days is still waited for');
  assert.deepEqual(waits.decide({ ...emptySummary(), isError: true, rateLimit: { status: 'allowed_warning', resetsAt: now / 1000 + 3, kind: null, utilization: 0.9 } }), { kind: 'none' });
  // One resume allowed: after it, the next limit gives up.
  let due = 0;
  waits.wait(now - 1, () => due++);
  return waitFor('the wait to end', () => due === 1).then(() => {
    assert.equal(waits.resumed, 1);
    assert.deepEqual(waits.decide(limited(now / 1000 + 3)), {
      kind: 'give-up',
      error: `Usage limit reached again after 1 automatic resume (the most allowed): ${LIMIT_TEXT}`,
    });
  });
});

test('LimitWaits.cancel drops a pending wait', async () => {
  const waits = new LimitWaits({ args: [] });
  let due = false;
  waits.wait(Date.now() + 100, () => (due = true));
  assert.equal(waits.isWaiting, true);
  assert.equal(waits.cancel(), true);
  assert.equal(waits.cancel(), false, 'nothing left to cancel');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(due, false);
  assert.equal(waits.resumed, 0);
});

test('RunUsage: the row shows the earlier processes plus the current one; nothing changes without a resume', () => {
  const usage = new RunUsage();
  const first = { ...emptySummary(), inputTokens: 10, outputTokens: 5, cacheReadTokens: null, cacheCreationTokens: 1, costUsd: 0.25, permissionDenials: [{ tool: 'Bash', summary: 'ls' }], permissionDenialCount: 1 };
  assert.deepEqual(usage.columns(first), { input_tokens: 10, output_tokens: 5, cache_read_tokens: null, cache_creation_tokens: 1, cost_usd: 0.25 });
  usage.carry(first);
  assert.deepEqual(usage.columns(emptySummary()), { input_tokens: 10, output_tokens: 5, cache_read_tokens: null, cache_creation_tokens: 1, cost_usd: 0.25 }, 'before the next process says anything');
  const second = { ...emptySummary(), inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheCreationTokens: 4, costUsd: 0.5, permissionDenials: [{ tool: 'Edit', summary: 'a.txt' }], permissionDenialCount: 2 };
  assert.deepEqual(usage.columns(second), { input_tokens: 11, output_tokens: 7, cache_read_tokens: 3, cache_creation_tokens: 5, cost_usd: 0.75 });
  assert.deepEqual(usage.denials(second), { permission_denials: [{ tool: 'Bash', summary: 'ls' }, { tool: 'Edit', summary: 'a.txt' }], permission_denial_count: 3 });
});

// ---------------------------------------------------------------------------------------------
// The runner

interface Fixture {
  dir: string;
  storeDir: string;
  work: string;
  store: TaskStore;
  runner: TaskRunner;
  /** The fake agent appends each argv it got here, and each prompt it read. */
  argvFile: string;
  promptFile: string;
}

async function setup(t: TestContext, options: TaskRunnerOptions = {}, journal?: (store: TaskStore, storeDir: string) => Promise<RunJournal & { close(): Promise<void> }>): Promise<Fixture> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-limit-'));
  const storeDir = path.join(dir, 'store');
  const work = path.join(dir, 'work');
  await fsp.mkdir(work);
  const store = await TaskStore.open({ dir: storeDir, rotationGraceMs: 0 });
  const owner = journal ? await journal(store, storeDir) : undefined;
  const runner = new TaskRunner(owner ?? store, options);
  t.after(async () => {
    await Promise.all(runner.list().map((task) => runner.cancel(task.id, { graceMs: 0 })));
    runner.dispose();
    await owner?.close();
    await store.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });
  return { dir, storeDir, work, store, runner, argvFile: path.join(dir, 'argv.jsonl'), promptFile: path.join(dir, 'prompts.jsonl') };
}

/** A Claude-like run of the fake agent that stops on a usage limit resetting at `resetsAt` ("+MS": from now), resumable with `--resume`. */
function limitedRun(f: Fixture, resetsAt: string | null, extra: Partial<TaskSpec> = {}, resumeExtra: string[] = []): TaskSpec {
  const knobs = ['--fake-argv-file', f.argvFile, '--fake-prompt-file', f.promptFile];
  return {
    name: 'limited',
    agent: 'claude',
    command: process.execPath,
    args: [FAKE_AGENT, '-p', '--session-id', SESSION_ID, '--output-format', 'stream-json', ...knobs, '--fake-limit', '1', ...(resetsAt !== null ? ['--fake-limit-resets-at', resetsAt] : [])],
    cwd: f.work,
    format: 'claude-stream-json',
    prompt: 'Do the work',
    stdin: 'Do the work',
    session_id: SESSION_ID,
    resumeAfterLimit: { args: [FAKE_AGENT, '-p', '--resume', SESSION_ID, '--output-format', 'stream-json', ...knobs, ...resumeExtra], stdin: 'Continue.' },
    ...extra,
  };
}

async function lines(file: string): Promise<unknown[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
}

/** The statuses a row went through, as the owner's store saw them. */
function watchStatuses(store: TaskStore, id: string): string[] {
  const seen: string[] = [];
  const note = async (): Promise<void> => {
    const row = await store.getTask(id);
    if (row && seen.at(-1) !== row.status) seen.push(row.status);
  };
  store.onDidChangeTasks((e) => {
    if (e.ids.length === 0 || e.ids.includes(id)) void note();
  });
  return seen;
}

test('a usage limit with a reset time: the run is waiting with resume_at (heartbeats go on), then resumes its session with the resume argv in the same row and succeeds', async (t) => {
  const f = await setup(t, { heartbeatMs: 50 });
  const spec = limitedRun(f, '+1500', { id: 'b0000000-0000-4000-8000-000000000001' });
  const statuses = watchStatuses(f.store, spec.id!);
  const started = Date.now();
  const task = await f.runner.start(spec);
  const waiting = await waitFor('the run to wait', async () => {
    const row = await f.store.getTask(task.id);
    return row?.status === 'waiting' ? row : undefined;
  });
  const [argvWhileWaiting] = await lines(f.argvFile);
  const resetsAt = Math.ceil((started + 1500) / 1000) * 1000;
  assert.ok(waiting.resume_at !== null && waiting.resume_at >= started + 1500 && waiting.resume_at <= resetsAt + 2000, `resume_at ${waiting.resume_at}`);
  assert.equal(waiting.resume_at % 1000, 0, 'the reset the agent reported, in ms');
  assert.equal(waiting.rate_limit?.status, 'rejected');
  assert.equal(waiting.input_tokens, 12, 'what the limited process used is saved');
  assert.ok(argvWhileWaiting, 'the agent ran once');
  assert.equal((await lines(f.argvFile)).length, 1, 'nothing runs while waiting');
  // Another process sees it waiting (the phase record is durable).
  const viewer = await TaskStore.open({ dir: f.storeDir, rotationGraceMs: 0 });
  try {
    const seen = await viewer.getTask(task.id);
    assert.equal(seen?.status, 'waiting');
    assert.equal(seen?.resume_at, waiting.resume_at);
  } finally {
    await viewer.close();
  }
  // The row must not look orphaned: heartbeats go on while no process runs.
  const beat = waiting.heartbeat_at ?? 0;
  await waitFor('a heartbeat while waiting', async () => {
    const row = await f.store.getTask(task.id);
    return row?.status === 'waiting' && (row.heartbeat_at ?? 0) > beat;
  });

  const row = await task.done;
  assert.ok(Date.now() >= waiting.resume_at, 'not resumed before resume_at');
  assert.equal(row.status, 'success', row.error ?? '');
  assert.equal(row.id, task.id);
  assert.equal(row.session_id, SESSION_ID);
  assert.equal(row.resume_at, null);
  assert.equal(row.error, null);
  assert.equal(row.exit_code, 0, 'the resumed process is the run\'s finish');
  assert.deepEqual(row.args, spec.args, 'the row keeps the argv it started with');
  const argvs = (await lines(f.argvFile)) as string[][];
  assert.equal(argvs.length, 2);
  assert.deepEqual(argvs[1], spec.resumeAfterLimit!.args.slice(1), 'the resume argv, as given');
  assert.deepEqual(await lines(f.promptFile), [{ prompt: 'Do the work', from: 'stdin' }, { prompt: 'Continue.', from: 'stdin' }]);
  // Tokens and cost add up over the two processes (each reports its own).
  assert.deepEqual([row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_creation_tokens], [24, 68, 112, 156]);
  assert.equal(row.cost_usd, 0.0246);
  // One log, both processes.
  const log = await fsp.readFile(f.store.logPathFor(task.id), 'utf8');
  assert.equal((log.match(/"subtype":"init"/g) ?? []).length, 2);
  assert.match(log, /"type":"rate_limit_event"/);
  assert.match(log, /Hello from the fake agent\./);
  assert.equal(row.output_bytes, Buffer.byteLength(log));
  assert.deepEqual(statuses, ['running', 'waiting', 'running', 'success']);
});

test('cancel while waiting: no process runs, the wait is dropped and the run is cancelled (asked from another store)', async (t) => {
  const f = await setup(t);
  const task = await f.runner.start(limitedRun(f, '+1500'));
  const waiting = await waitFor('the run to wait', async () => {
    const row = await f.store.getTask(task.id);
    return row?.status === 'waiting' ? row : undefined;
  });
  // As `agent-tasks cancel` does: a cancel request in the journal, read by the owner's store.
  const other = await TaskStore.open({ dir: f.storeDir, rotationGraceMs: 0 });
  try {
    await other.requestCancel(task.id);
  } finally {
    await other.close();
  }
  await f.store.refresh();
  const row = await task.done;
  assert.equal(row.status, 'cancelled');
  assert.equal(row.resume_at, null);
  assert.equal(row.error, null);
  assert.equal(f.runner.get(task.id), undefined);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, waiting.resume_at! - Date.now()) + 300));
  assert.equal((await lines(f.argvFile)).length, 1, 'the agent was not resumed');
  assert.equal((await f.store.getTask(task.id))?.status, 'cancelled');
});

test('stopAll while waiting: the run is interrupted with the reason, and never resumed', async (t) => {
  const f = await setup(t);
  const task = await f.runner.start(limitedRun(f, '+1500'));
  await waitFor('the run to wait', async () => (await f.store.getTask(task.id))?.status === 'waiting');
  const marked = await f.runner.stopAll('The editor closed');
  assert.deepEqual(marked.map((r) => r.status), ['interrupted']);
  const row = await task.done;
  assert.equal(row.status, 'interrupted');
  assert.equal(row.error, 'The editor closed');
  assert.equal(row.resume_at, null);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal((await lines(f.argvFile)).length, 1);
});

test('no wait without a usable reset time (none, past, more than 7 days ahead), nor without resumeAfterLimit: the run fails as before', async (t) => {
  const f = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  const cases: { what: string; spec: TaskSpec }[] = [
    { what: 'no reset time', spec: limitedRun(f, null) },
    { what: 'a reset in the past', spec: limitedRun(f, String(now - 60)) },
    { what: 'a reset 8 days ahead', spec: limitedRun(f, String(now + 8 * 24 * 3600)) },
    { what: 'the feature off', spec: { ...limitedRun(f, '+1500'), resumeAfterLimit: undefined } },
  ];
  for (const c of cases) {
    const statuses: string[] = [];
    const task = await f.runner.start(c.spec);
    const sub = f.store.onDidChangeTasks(async () => {
      const r = await f.store.getTask(task.id);
      if (r) statuses.push(r.status);
    });
    const row: TaskRow = await task.done;
    sub.dispose();
    assert.equal(row.status, 'failed', c.what);
    assert.equal(row.exit_code, 1, c.what);
    assert.equal(row.error, LIMIT_TEXT, c.what);
    assert.equal(row.rate_limit?.status, 'rejected', c.what);
    assert.ok(!statuses.includes('waiting'), `${c.what}: never waiting (${statuses.join(', ')})`);
  }
  assert.equal((await lines(f.argvFile)).length, cases.length, 'one process per run: none was resumed');
});

test('the resume cap: a limit that comes back after maxResumes resumes ends the run failed, saying so', async (t) => {
  const f = await setup(t);
  const spec = limitedRun(f, '+400', {}, ['--fake-limit', '1', '--fake-limit-resets-at', '+400']);
  const task = await f.runner.start({ ...spec, resumeAfterLimit: { ...spec.resumeAfterLimit!, maxResumes: 2 } });
  const row = await task.done;
  assert.equal(row.status, 'failed');
  assert.equal(row.error, `Usage limit reached again after 2 automatic resumes (the most allowed): ${LIMIT_TEXT}`);
  assert.equal(row.resume_at, null);
  const argvs = (await lines(f.argvFile)) as string[][];
  assert.equal(argvs.length, 3, 'the start and two resumes');
  assert.ok(argvs.slice(1).every((a) => a.includes('--resume')));
  assert.equal(row.input_tokens, 36, 'three processes of usage');
});

test('a supervisor\'s AppendOnlyJournal journals the wait and the resume as well (another store sees running → waiting → running → success)', async (t) => {
  const f = await setup(t, {}, (_store, storeDir) => AppendOnlyJournal.open(storeDir, { rotationGraceMs: 0 }));
  const task = await f.runner.start(limitedRun(f, '+1200'));
  const seen: string[] = [];
  const poll = async (): Promise<TaskRow | undefined> => {
    await f.store.refresh();
    const row = await f.store.getTask(task.id);
    if (row && seen.at(-1) !== row.status) seen.push(row.status);
    return row;
  };
  const waiting = await waitFor('the run to wait', async () => ((await poll())?.status === 'waiting' ? (await f.store.getTask(task.id))! : undefined));
  assert.ok(waiting.resume_at !== null && waiting.resume_at > Date.now() - 2000);
  await waitFor('the run to end', async () => {
    const row = await poll();
    return row !== undefined && row.status !== 'waiting' && row.status !== 'running';
  });
  const row = await task.done;
  assert.equal(row.status, 'success');
  assert.equal(seen[0], 'running');
  assert.deepEqual(seen.slice(-1), ['success']);
  assert.ok(seen.includes('waiting'));
  assert.equal((await lines(f.argvFile)).length, 2);
});

test('resumeAfterLimit is checked with the spec', async (t) => {
  const f = await setup(t);
  const spec = limitedRun(f, '+1000');
  await assert.rejects(f.runner.start({ ...spec, resumeAfterLimit: { args: 'nope' } as never }), (err) => err instanceof TaskSpecError && /resumeAfterLimit\.args must be an array/.test(err.message));
  await assert.rejects(f.runner.start({ ...spec, resumeAfterLimit: { args: ['a\0b'] } }), /resumeAfterLimit\.args\[0\] contains a NUL/);
  await assert.rejects(f.runner.start({ ...spec, resumeAfterLimit: { args: [], maxResumes: -1 } }), /maxResumes must be an integer/);
  await assert.rejects(
    f.runner.start({ ...spec, interactive: true, resumeAfterLimit: { args: ['--resume', SESSION_ID] } }),
    /resumeAfterLimit\.stdin is required for an interactive agent/,
  );
  assert.deepEqual(await f.store.listTasks({ includeRunning: true }), [], 'nothing was journaled');
});

// ---------------------------------------------------------------------------------------------
// Under a supervisor (its own process, as the editor's runs are)

/** out/test/unit → out/src/cli/supervisorMain.js (tsc output; the package ships it bundled as dist/supervisor.js). */
const SUPERVISOR = path.resolve(__dirname, '../../src/cli/supervisorMain.js');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function superviseLimited(t: TestContext, resetsAt: string): Promise<{ f: Fixture; id: string; pid: number; waiting: TaskRow }> {
  const f = await setup(t);
  const { row, pid } = await launchSupervisor({ node: process.execPath, script: SUPERVISOR, request: { storeDir: f.storeDir, spec: limitedRun(f, resetsAt), heartbeatMs: 100 } });
  t.after(() => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  const waiting = await waitFor('the supervised run to wait', async () => {
    const r = await readRow(f.storeDir, row.id);
    return r?.status === 'waiting' ? r : undefined;
  }, 10_000, 50);
  return { f, id: row.id, pid, waiting };
}

test('supervised: the supervisor stays alive through the wait (heartbeats go on), resumes the session and exits once the run succeeds', async (t) => {
  const { f, id, pid, waiting } = await superviseLimited(t, '+1500');
  assert.equal(isAlive(pid), true, 'waiting, with no agent process: the supervisor lives on');
  await waitFor('a heartbeat while waiting', async () => {
    const r = await readRow(f.storeDir, id);
    return r?.status === 'waiting' && (r.heartbeat_at ?? 0) > (waiting.heartbeat_at ?? 0);
  }, 5_000, 50);
  const row = await waitFor('the end', async () => {
    const r = await readRow(f.storeDir, id);
    return r && r.status !== 'waiting' && r.status !== 'running' ? r : undefined;
  }, 15_000, 100);
  assert.equal(row.status, 'success', row.error ?? '');
  assert.equal(row.session_id, SESSION_ID);
  assert.equal((await lines(f.argvFile)).length, 2);
  await waitFor('the supervisor to exit', () => !isAlive(pid), 10_000);
});

test('supervised: SIGTERM (cancel) while waiting ends the run cancelled; SIGKILL while waiting leaves it to recovery (interrupted)', async (t) => {
  const cancelled = await superviseLimited(t, '+30000');
  process.kill(cancelled.pid, 'SIGTERM');
  const row = await waitFor('the cancel', async () => {
    const r = await readRow(cancelled.f.storeDir, cancelled.id);
    return r?.status === 'cancelled' ? r : undefined;
  }, 10_000, 50);
  assert.equal(row.resume_at, null);
  await waitFor('the supervisor to exit', () => !isAlive(cancelled.pid), 10_000);

  const killed = await superviseLimited(t, '+30000');
  const alive = await TaskStore.open({ dir: killed.f.storeDir, rotationGraceMs: 0 });
  try {
    assert.deepEqual(await alive.markRunningAsInterrupted(), [], 'a waiting run whose supervisor lives is not orphaned');
  } finally {
    await alive.close();
  }
  process.kill(killed.pid, 'SIGKILL');
  await waitFor('the supervisor to die', () => !isAlive(killed.pid), 10_000);
  const store = await TaskStore.open({ dir: killed.f.storeDir, rotationGraceMs: 0 });
  try {
    const marked = await store.markRunningAsInterrupted();
    assert.deepEqual(marked.map((r) => [r.id, r.status, r.resume_at]), [[killed.id, 'interrupted', null]]);
    assert.deepEqual((await stopOrphanedAgents(marked)).map((s) => s.outcome), ['already-gone'], 'its agent had exited before the wait');
  } finally {
    await store.close();
  }
  assert.equal((await lines(killed.f.argvFile)).length, 1, 'never resumed');
});
