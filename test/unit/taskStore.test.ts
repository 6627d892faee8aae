import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { processStartTicks, processStartTime } from '../../src/core/processIdentity';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/core/schema';
import { newDatabase } from '../../src/core/snapshot';
import { loadSqlJs } from '../../src/core/sqlite';
import { TaskStore, type TaskStoreOptions } from '../../src/core/taskStore';
import { makeTempDir, sampleTask } from '../helpers/tempDir';

const DEAD_PID = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process

async function withStore(fn: (store: TaskStore, dir: string) => Promise<void>, options: Partial<TaskStoreOptions> = {}) {
  const { dir, cleanup } = await makeTempDir();
  const store = await TaskStore.open({ rotationGraceMs: 0, dir, ...options });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await cleanup();
  }
}

/** A store instance that claims to be another process (dead unless told otherwise). */
function openAs(dir: string, owner: { pid?: number; startedAt?: number | null; startTicks?: number | null; host?: string }) {
  return TaskStore.open({ rotationGraceMs: 0, dir, owner: { id: randomUUID(), pid: DEAD_PID, startedAt: null, host: os.hostname(), ...owner } });
}

describe('startTask', () => {
  test('writes a running row with everything known at start', () =>
    withStore(async (store) => {
      const before = Date.now();
      const row = await store.startTask({ ...sampleTask(1), id: 'a1b2', session_id: 'sess-1', parent_id: 'p-0' });
      assert.equal(row.id, 'a1b2');
      const stored = await store.getTask('a1b2');
      assert.deepEqual(stored, row);
      assert.equal(row.status, 'running');
      assert.equal(row.name, 'task 1');
      assert.deepEqual(row.args, ['-p', 'prompt 1', '--output-format', 'stream-json']);
      assert.equal(row.session_id, 'sess-1');
      assert.equal(row.parent_id, 'p-0');
      assert.equal(row.format, 'claude-stream-json');
      assert.equal(row.finished_at, null);
      assert.equal(row.exit_code, null);
      assert.ok(row.started_at >= before && row.started_at <= Date.now());
      assert.equal(row.owner_pid, process.pid);
      assert.equal(row.owner_host, os.hostname());
      assert.equal(row.owner_id, store.owner.id);
      assert.ok(row.owner_started_at === null || row.owner_started_at > 0);
      assert.equal(row.log_path, store.logPathFor('a1b2'));
    }));

  test('generates an id when none is given', () =>
    withStore(async (store) => {
      const a = await store.startTask(sampleTask(1));
      const b = await store.startTask(sampleTask(2));
      assert.match(a.id, /^[0-9a-f-]{36}$/);
      assert.notEqual(a.id, b.id);
    }));

  test('is idempotent: a second start with the same id changes nothing and adds no row', () =>
    withStore(async (store) => {
      const first = await store.startTask({ ...sampleTask(1), id: 'same' });
      const second = await store.startTask({ ...sampleTask(2), id: 'same' });
      assert.deepEqual(second, first);
      assert.equal(await store.countTasks({ includeRunning: true }), 1);
      assert.equal((await store.getTask('same'))?.name, 'task 1');
    }));

  test('rejects ids that could escape the logs folder', () =>
    withStore(async (store) => {
      await assert.rejects(store.startTask({ ...sampleTask(1), id: '../evil' }), /Invalid task id/);
      assert.equal(await store.countTasks({ includeRunning: true }), 0);
    }));

  test('is durable before it resolves: a fresh instance reads the row without any close', async () => {
    const { dir, cleanup } = await makeTempDir();
    const a = await TaskStore.open({ rotationGraceMs: 0, dir });
    await a.startTask({ ...sampleTask(1), id: 'durable' });
    const b = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal((await b.getTask('durable'))?.status, 'running');
    await Promise.all([a.close(), b.close()]);
    await cleanup();
  });
});

describe('finishTask', () => {
  test('overwrites the running row in place with the terminal state', () =>
    withStore(async (store) => {
      await store.startTask({ ...sampleTask(1), id: 't1' });
      const done = await store.finishTask('t1', {
        status: 'success',
        exit_code: 0,
        session_id: 'sess-9',
        input_tokens: 10,
        output_tokens: 20,
        cache_read_tokens: 30,
        cache_creation_tokens: 40,
        cost_usd: 0.125,
        output_bytes: 999,
      });
      assert.equal(await store.countTasks({ includeRunning: true }), 1);
      assert.equal(done.status, 'success');
      assert.equal(done.exit_code, 0);
      assert.equal(done.session_id, 'sess-9');
      assert.equal(done.input_tokens, 10);
      assert.equal(done.output_tokens, 20);
      assert.equal(done.cache_read_tokens, 30);
      assert.equal(done.cache_creation_tokens, 40);
      assert.equal(done.cost_usd, 0.125);
      assert.equal(done.output_bytes, 999);
      assert.ok(done.finished_at! >= done.started_at);
      assert.equal(done.name, 'task 1', 'start-time fields are kept');
    }));

  test('denied tool calls and the rate-limit status survive the log, a snapshot and an archive segment', async () => {
    const { dir, cleanup } = await makeTempDir();
    const denials = [
      { tool: 'Bash', summary: 'npm test' },
      { tool: 'Edit', summary: 'src/a.ts' },
    ];
    const rateLimit = { status: 'allowed_warning', resetsAt: 1_790_000_000, kind: 'five_hour', utilization: 0.93 };
    const options = { dir, rotationGraceMs: 0, hotHistory: { max: 5, keep: 1 }, retention: { maxAgeDays: 0, maxRows: 0 } };
    const store = await TaskStore.open(options);
    const t0 = Date.now() - 100_000;
    await store.startTask({ ...sampleTask(1), id: 'denied', started_at: t0 });
    await store.updateRunning('denied', { rate_limit: rateLimit });
    const done = await store.finishTask('denied', { status: 'success', exit_code: 0, permission_denials: denials, permission_denial_count: 7 });
    assert.deepEqual(done.permission_denials, denials);
    assert.equal(done.permission_denial_count, 7, 'the count of all denials, beyond the kept list');
    assert.deepEqual(done.rate_limit, rateLimit);
    await store.startTask({ ...sampleTask(2), id: 'plain', started_at: t0 + 1 });
    const plain = await store.finishTask('plain', { status: 'success', exit_code: 0, permission_denials: [], permission_denial_count: 0 });
    assert.deepEqual([plain.permission_denials, plain.permission_denial_count, plain.rate_limit], [[], 0, null]);
    await store.close();

    const replayed = await TaskStore.open({ ...options, hotHistory: { max: 100, keep: 100 } });
    assert.deepEqual((await replayed.getTask('denied'))?.permission_denials, denials, 'from the log');
    await replayed.compact();
    await replayed.close();
    const fromSnapshot = await TaskStore.open(options);
    const row = await fromSnapshot.getTask('denied');
    assert.deepEqual([row?.permission_denials, row?.permission_denial_count, row?.rate_limit], [denials, 7, rateLimit], 'from the snapshot');
    for (let i = 0; i < 8; i++) {
      await fromSnapshot.startTask({ ...sampleTask(10 + i), id: `later-${i}`, started_at: t0 + 10 + i });
      await fromSnapshot.finishTask(`later-${i}`, { status: 'success', exit_code: 0 });
    }
    await fromSnapshot.compact();
    assert.ok((await fsp.readdir(path.join(dir, 'archive'))).length > 0, 'an archive segment was written');
    const archived = await fromSnapshot.getTask('denied');
    assert.deepEqual([archived?.permission_denials, archived?.permission_denial_count, archived?.rate_limit], [denials, 7, rateLimit], 'from the segment');
    await fromSnapshot.close();
    await cleanup();
  });

  test('a failure records exit code, signal and error', () =>
    withStore(async (store) => {
      await store.startTask({ ...sampleTask(1), id: 't1' });
      const done = await store.finishTask('t1', { status: 'failed', exit_code: null, signal: 'SIGKILL', error: 'Killed by SIGKILL' });
      assert.equal(done.status, 'failed');
      assert.equal(done.signal, 'SIGKILL');
      assert.equal(done.error, 'Killed by SIGKILL');
    }));

  test('a finish for an id the store never saw still records the task', () =>
    withStore(async (store) => {
      const done = await store.finishTask('ghost', { status: 'failed', exit_code: 2, error: 'boom' }, sampleTask(7));
      assert.equal(done.status, 'failed');
      assert.equal(done.name, 'task 7');
      assert.equal(done.exit_code, 2);
      assert.ok(done.started_at > 0 && done.finished_at! > 0);
      assert.equal(await store.countTasks(), 1);
    }));

  test('a finish wins over an interruption recorded by another process', () =>
    withStore(async (store, dir) => {
      const dead = await openAs(dir, {});
      await dead.startTask({ ...sampleTask(1), id: 'x' });
      assert.equal((await store.markRunningAsInterrupted()).length, 1);
      await dead.finishTask('x', { status: 'success', exit_code: 0 });
      await store.refresh();
      assert.equal((await store.getTask('x'))?.status, 'success');
      await dead.close();
    }));
});

describe('updateRunning and heartbeat', () => {
  test('record what a running task learns, and only while it runs', () =>
    withStore(async (store) => {
      await store.startTask({ ...sampleTask(1), id: 'u' });
      await store.updateRunning('u', { child_pid: 4242, child_started_at: 1_700_000_000_000, session_id: 's', output_tokens: 5 });
      let row = await store.getTask('u');
      assert.equal(row?.child_pid, 4242);
      assert.equal(row?.child_started_at, 1_700_000_000_000);
      assert.equal(row?.session_id, 's');
      assert.equal(row?.output_tokens, 5);
      const hb = row!.heartbeat_at!;
      await new Promise((r) => setTimeout(r, 5));
      await store.heartbeat(['u']);
      row = await store.getTask('u');
      assert.ok(row!.heartbeat_at! > hb);
      await store.finishTask('u', { status: 'success', exit_code: 0 });
      await store.updateRunning('u', { child_pid: 1 });
      assert.equal((await store.getTask('u'))?.child_pid, 4242, 'a finished row is not changed by a late update');
    }));
});

describe('markRunningAsInterrupted', () => {
  test('on an empty store marks nothing', () =>
    withStore(async (store) => {
      assert.deepEqual(await store.markRunningAsInterrupted(), []);
    }));

  test('marks both running rows of a dead owner, with finished_at = now and a reason', () =>
    withStore(async (store, dir) => {
      const dead = await openAs(dir, {});
      await dead.startTask({ ...sampleTask(1), id: 'r1' });
      await dead.startTask({ ...sampleTask(2), id: 'r2' });
      await dead.close();
      const before = Date.now();
      const marked = await store.markRunningAsInterrupted();
      assert.deepEqual(marked.map((r) => r.id).sort(), ['r1', 'r2']);
      for (const r of marked) {
        assert.equal(r.status, 'interrupted');
        assert.ok(r.finished_at! >= before && r.finished_at! <= Date.now());
        assert.match(r.error!, new RegExp(`pid ${DEAD_PID}\\) exited`));
        assert.equal(r.resolved_at, null);
      }
      assert.deepEqual(await store.markRunningAsInterrupted(), [], 'a second scan finds nothing');
    }));

  test('leaves finished rows untouched', () =>
    withStore(async (store, dir) => {
      const dead = await openAs(dir, {});
      await dead.startTask({ ...sampleTask(1), id: 'done' });
      const finished = await dead.finishTask('done', { status: 'failed', exit_code: 1, error: 'x' });
      await dead.startTask({ ...sampleTask(2), id: 'orphan' });
      await dead.close();
      const marked = await store.markRunningAsInterrupted();
      assert.deepEqual(marked.map((r) => r.id), ['orphan']);
      assert.deepEqual(await store.getTask('done'), finished);
    }));

  test("never touches a live owner's rows (another window, a CLI run) nor its own", () =>
    withStore(async (store, dir) => {
      const other = await TaskStore.open({ rotationGraceMs: 0, dir }); // this very process: alive
      await other.startTask({ ...sampleTask(1), id: 'live' });
      await store.startTask({ ...sampleTask(2), id: 'mine' });
      assert.deepEqual(await store.markRunningAsInterrupted(), []);
      assert.equal((await store.getTask('live'))?.status, 'running');
      assert.equal((await store.getTask('mine'))?.status, 'running');
      await other.close();
    }));

  test('detects pid reuse: the pid is alive but started at another time', () =>
    withStore(async (store, dir) => {
      const myStart = await processStartTime(process.pid);
      if (myStart === null) return; // the OS does not report start times: reuse cannot be told here
      const impostor = await openAs(dir, { pid: process.pid, startedAt: myStart - 3_600_000 });
      await impostor.startTask({ ...sampleTask(1), id: 'reused' });
      const marked = await store.markRunningAsInterrupted();
      assert.deepEqual(marked.map((r) => r.id), ['reused']);
      assert.match(marked[0].error!, /now belongs to another process/);
      await impostor.close();
    }));

  test('start times in clock ticks decide: a stepped wall clock does not make a live owner look reused, other ticks do', () =>
    withStore(async (store, dir) => {
      const ticks = await processStartTicks(process.pid);
      const myStart = await processStartTime(process.pid);
      if (ticks === null || myStart === null) return; // not Linux: start ticks are not recorded
      // The wall clock was stepped an hour since this process started: its btime-derived start moved.
      const stepped = await openAs(dir, { pid: process.pid, startedAt: myStart - 3_600_000, startTicks: ticks });
      await stepped.startTask({ ...sampleTask(1), id: 'alive' });
      const impostor = await openAs(dir, { pid: process.pid, startedAt: myStart, startTicks: ticks - 1 });
      await impostor.startTask({ ...sampleTask(2), id: 'reused' });
      const marked = await store.markRunningAsInterrupted();
      assert.deepEqual(marked.map((r) => r.id), ['reused']);
      assert.equal((await store.getTask('alive'))?.status, 'running');
      assert.equal((await store.getTask('alive'))?.owner_start_ticks, ticks);
      await Promise.all([stepped.close(), impostor.close()]);
    }));

  test('a row from another host is orphaned only when its heartbeat is stale', async () => {
    const { dir, cleanup } = await makeTempDir();
    const store = await TaskStore.open({ rotationGraceMs: 0, dir, staleAfterMs: 60_000 });
    const remote = await openAs(dir, { host: 'elsewhere.example', pid: process.pid });
    await remote.startTask({ ...sampleTask(1), id: 'fresh' });
    await remote.startTask({ ...sampleTask(2), id: 'stale', started_at: Date.now() - 3_600_000 });
    await remote.close();
    const marked = await store.markRunningAsInterrupted();
    // Both rows share one owner whose freshest heartbeat is recent: nothing is orphaned.
    assert.deepEqual(marked, []);
    const lonely = await openAs(dir, { host: 'elsewhere.example', pid: process.pid });
    await lonely.startTask({ ...sampleTask(3), id: 'silent', started_at: Date.now() - 3_600_000 });
    await lonely.close();
    // Every heartbeat is now older than 1 ms: all three rows are orphans to a scan that stale-judges at 1 ms.
    const aged = await TaskStore.open({ rotationGraceMs: 0, dir, staleAfterMs: 1 });
    await new Promise((r) => setTimeout(r, 10));
    const marked2 = await aged.markRunningAsInterrupted();
    assert.deepEqual(marked2.map((r) => r.id).sort(), ['fresh', 'silent', 'stale']);
    assert.match(marked2[0].error!, /host elsewhere\.example stopped sending heartbeats/);
    await Promise.all([store.close(), aged.close()]);
    await cleanup();
  });

  test('interruptOwnTasks records a clean shutdown with its reason, durably', () =>
    withStore(async (store, dir) => {
      await store.startTask({ ...sampleTask(1), id: 'own' });
      const marked = await store.interruptOwnTasks(['own'], 'The window closed while the task ran.');
      assert.equal(marked[0].status, 'interrupted');
      const fresh = await TaskStore.open({ rotationGraceMs: 0, dir });
      const row = await fresh.getTask('own');
      assert.equal(row?.status, 'interrupted');
      assert.equal(row?.error, 'The window closed while the task ran.');
      assert.deepEqual((await fresh.listUnresolvedInterruptedTasks()).map((r) => r.id), ['own']);
      await fresh.close();
    }));
});

describe('queries', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: TaskStore;
  const t0 = Date.now() - 10_000;

  before(async () => {
    ({ dir, cleanup } = await makeTempDir());
    store = await TaskStore.open({ rotationGraceMs: 0, dir });
    const dead = await openAs(dir, {});
    await dead.startTask({ ...sampleTask(0), id: 'int-1', started_at: t0 });
    await dead.startTask({ ...sampleTask(1), id: 'int-2', started_at: t0 + 1 });
    await dead.close();
    await store.markRunningAsInterrupted();
    await store.startTask({ ...sampleTask(2), id: 'run-1', started_at: t0 + 2, session_id: 'S-RUN' });
    for (let i = 3; i < 8; i++) {
      await store.startTask({ ...sampleTask(i), id: `h-${i}`, started_at: t0 + i, workspace: i % 2 ? '/w/odd' : '/w/even' });
      await store.finishTask(`h-${i}`, { status: i === 5 ? 'failed' : 'success', exit_code: i === 5 ? 1 : 0, output_bytes: i === 6 ? 0 : 10 });
    }
  });
  after(async () => {
    await store.close();
    await cleanup();
  });

  test('history lists leave running rows out unless asked', async () => {
    const history = await store.listTasks();
    assert.ok(!history.some((r) => r.status === 'running'));
    assert.deepEqual(history.map((r) => r.id), ['h-7', 'h-6', 'h-5', 'h-4', 'h-3', 'int-2', 'int-1']);
    const all = await store.listTasks({ includeRunning: true });
    assert.equal(all.length, 8);
    assert.deepEqual((await store.listTasks({ status: 'running' })).map((r) => r.id), ['run-1']);
  });

  test('filters by status, workspace; pages with limit and before', async () => {
    assert.deepEqual((await store.listTasks({ status: ['failed'] })).map((r) => r.id), ['h-5']);
    assert.deepEqual((await store.listTasks({ workspace: '/w/odd' })).map((r) => r.id), ['h-7', 'h-5', 'h-3']);
    const page1 = await store.listTasks({ limit: 3 });
    const page2 = await store.listTasks({ limit: 3, before: page1[2].started_at });
    assert.deepEqual(page1.map((r) => r.id), ['h-7', 'h-6', 'h-5']);
    assert.deepEqual(page2.map((r) => r.id), ['h-4', 'h-3', 'int-2']);
    assert.equal(await store.countTasks(), 7);
    assert.equal(await store.countTasks({ includeRunning: true }), 8);
  });

  test('unresolved interrupted tasks, and resolving them', async () => {
    assert.deepEqual((await store.listUnresolvedInterruptedTasks()).map((r) => r.id), ['int-2', 'int-1']);
    const resolved = await store.resolveInterrupted('int-1', 'dismissed');
    assert.equal(resolved?.resolution, 'dismissed');
    assert.ok(resolved!.resolved_at! > 0);
    assert.deepEqual((await store.listUnresolvedInterruptedTasks()).map((r) => r.id), ['int-2']);
    const again = await store.resolveInterrupted('int-1', 'resumed');
    assert.equal(again?.resolution, 'dismissed', 'resolving twice keeps the first resolution');
    const notInterrupted = await store.resolveInterrupted('h-3', 'dismissed');
    assert.equal(notInterrupted?.resolved_at, null);
  });

  test('zero-output successes and in-flight checks', async () => {
    assert.deepEqual((await store.listZeroOutputSuccesses()).map((r) => r.id), ['h-6']);
    assert.equal(await store.hasInFlightTask({ sessionId: 'S-RUN' }), true);
    assert.equal(await store.hasInFlightTask({ sessionId: 'nope' }), false);
    assert.equal(await store.hasInFlightTask({ workspace: '/home/dev/project' }), true);
    assert.equal(await store.hasInFlightTask({ workspace: '/w/odd' }), false);
  });

  test('no timestamp is ever 0 or the epoch', async () => {
    for (const r of await store.listTasks({ includeRunning: true, limit: 100 })) {
      assert.ok(r.started_at > 1_600_000_000_000, `${r.id} started_at`);
      if (r.status !== 'running') assert.ok(r.finished_at! > 1_600_000_000_000, `${r.id} finished_at`);
      else assert.equal(r.finished_at, null);
      assert.ok(r.heartbeat_at === null || r.heartbeat_at > 1_600_000_000_000);
    }
  });
});

describe('several instances on one store', () => {
  test('each sees the others rows on its next read, with a change event', async () => {
    const { dir, cleanup } = await makeTempDir();
    const a = await TaskStore.open({ rotationGraceMs: 0, dir });
    const b = await TaskStore.open({ rotationGraceMs: 0, dir });
    const events: string[][] = [];
    b.onDidChangeTasks((e) => e.external && events.push([...e.ids]));
    await a.startTask({ ...sampleTask(1), id: 'from-a' });
    assert.equal((await b.getTask('from-a'))?.status, 'running');
    assert.deepEqual(events, [['from-a']]);
    await a.finishTask('from-a', { status: 'success', exit_code: 0 });
    await b.refresh();
    assert.equal((await b.getTask('from-a'))?.status, 'success');
    await Promise.all([a.close(), b.close()]);
    await cleanup();
  });

  test('rows survive compactions made by either instance, and the covered logs are retired', async () => {
    const { dir, cleanup } = await makeTempDir();
    const a = await TaskStore.open({ rotationGraceMs: 0, dir, compactAfterBytes: 4096 });
    const b = await TaskStore.open({ rotationGraceMs: 0, dir, compactAfterBytes: 4096 });
    for (let i = 0; i < 60; i++) {
      const s = i % 2 ? a : b;
      await s.startTask({ ...sampleTask(i), id: `c-${i}` });
      await s.finishTask(`c-${i}`, { status: 'success', exit_code: 0, output_bytes: i });
      if (i % 7 === 0) await (i % 2 ? b : a).compact();
    }
    assert.equal(await a.countTasks(), 60);
    assert.equal(await b.countTasks(), 60);
    await Promise.all([a.close(), b.close()]);
    const names = await fsp.readdir(dir);
    assert.ok(names.filter((n) => n.endsWith('.journal')).length <= 3, `logs left: ${names.join(' ')}`);
    const c = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal(await c.countTasks(), 60);
    assert.equal((await c.getTask('c-59'))?.output_bytes, 59);
    await c.close();
    await cleanup();
  });
});

describe('retention', () => {
  test('bounds finished history by count and age; never prunes running or unresolved interrupted rows; removes their logs', async () => {
    const { dir, cleanup } = await makeTempDir();
    const now = Date.now();
    const store = await TaskStore.open({ rotationGraceMs: 0, dir, retention: { maxAgeDays: 30, maxRows: 5 } });
    const dead = await openAs(dir, {});
    await dead.startTask({ ...sampleTask(0), id: 'old-int', started_at: now - 400 * 86_400_000 });
    await dead.close();
    await store.markRunningAsInterrupted();
    await store.startTask({ ...sampleTask(1), id: 'old-run', started_at: now - 400 * 86_400_000 });
    for (let i = 0; i < 10; i++) {
      const id = `f-${i}`;
      await store.startTask({ ...sampleTask(i), id, started_at: now - (10 - i) * 1000 });
      await fsp.writeFile(store.logPathFor(id), 'output');
      await store.finishTask(id, { status: 'success', exit_code: 0, finished_at: i === 9 ? now - 40 * 86_400_000 : now - (10 - i) * 1000 });
    }
    const pruned = await store.prune(now);
    const left = (await store.listTasks({ includeRunning: true, limit: 100 })).map((r) => r.id).sort();
    // f-9 finished 40 days ago (age), f-0..f-4 are beyond the newest 5 finished rows (count).
    assert.deepEqual(left, ['f-5', 'f-6', 'f-7', 'f-8', 'old-int', 'old-run']);
    assert.equal(pruned, 6);
    await assert.rejects(fsp.access(store.logPathFor('f-0')));
    await fsp.access(store.logPathFor('f-5'));
    await store.close();
    const reopened = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal(await reopened.countTasks({ includeRunning: true }), 6);
    await reopened.close();
    await cleanup();
  });
});

describe('clearHistory', () => {
  test('removes every finished task, hot and archived, with its log; keeps running and unresolved interrupted ones', async () => {
    const { dir, cleanup } = await makeTempDir();
    const store = await TaskStore.open({ dir, rotationGraceMs: 0, hotHistory: { max: 6, keep: 3 } });
    const dead = await openAs(dir, {});
    await dead.startTask({ ...sampleTask(0), id: 'int' });
    await dead.close();
    await store.markRunningAsInterrupted();
    await store.startTask({ ...sampleTask(1), id: 'run' });
    for (let i = 0; i < 12; i++) {
      await store.startTask({ ...sampleTask(i), id: `done-${i}` });
      await fsp.writeFile(store.logPathFor(`done-${i}`), 'x');
      await store.finishTask(`done-${i}`, { status: i % 3 ? 'success' : 'failed', exit_code: i % 3 ? 0 : 1 });
      if (i === 8) await store.compact();
    }
    assert.ok((await fsp.readdir(path.join(dir, 'archive'))).length > 0, 'some history was archived');
    assert.equal(await store.clearHistory(), 12);
    assert.deepEqual((await store.listTasks({ includeRunning: true })).map((r) => r.id).sort(), ['int', 'run']);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'archive')), []);
    for (let i = 0; i < 12; i++) await assert.rejects(fsp.access(store.logPathFor(`done-${i}`)));
    await store.close();
    await cleanup();
  });
});

describe('files and versions', () => {
  test('files are readable by the user alone (0600) and folders 0700', async () => {
    if (process.platform === 'win32') return;
    await withStore(async (store, dir) => {
      await store.startTask({ ...sampleTask(1), id: 'perm' });
      await store.compact();
      assert.equal((await fsp.stat(dir)).mode & 0o777, 0o700);
      assert.equal((await fsp.stat(path.join(dir, 'logs'))).mode & 0o777, 0o700);
      for (const name of await fsp.readdir(dir)) {
        const st = await fsp.stat(path.join(dir, name));
        if (st.isFile()) assert.equal(st.mode & 0o777, 0o600, name);
      }
    });
  });

  test('schema version is recorded in PRAGMA user_version', () =>
    withStore(async (store, dir) => {
      await store.compact();
      const bytes = await fsp.readFile(path.join(dir, 'tasks.db'));
      assert.equal(bytes.readUInt32BE(60), SCHEMA_VERSION, 'user_version lives at offset 60 of the SQLite header');
    }));

  test('a store written by a newer version opens read-only with a clear message and is never rewritten', async () => {
    const { dir, cleanup } = await makeTempDir();
    const s = await TaskStore.open({ rotationGraceMs: 0, dir });
    await s.startTask({ ...sampleTask(1), id: 'keep' });
    await s.compact();
    await s.close();
    const file = path.join(dir, 'tasks.db');
    const bytes = await fsp.readFile(file);
    bytes.writeUInt32BE(99, 60); // user_version = 99
    await fsp.writeFile(file, bytes);
    const before = await fsp.readdir(dir);
    const stat = await fsp.stat(file);
    const ro = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal(ro.readOnly, true);
    assert.match(ro.notices.join('\n'), new RegExp(`newer version of Agent Tasks \\(schema 99; this version knows up to ${SCHEMA_VERSION}\\)`));
    assert.equal((await ro.getTask('keep'))?.status, 'running');
    await assert.rejects(ro.startTask(sampleTask(2)), /newer version/);
    assert.deepEqual(await ro.markRunningAsInterrupted(), []);
    assert.equal(await ro.compact(), false);
    await ro.close();
    assert.deepEqual(await fsp.readFile(file), bytes);
    assert.equal((await fsp.stat(file)).mtimeMs, stat.mtimeMs);
    assert.deepEqual(await fsp.readdir(dir), before);
    await cleanup();
  });

  test('a closed store rejects further calls clearly', () =>
    withStore(async (store) => {
      await store.close();
      await assert.rejects(store.listTasks(), /closed/);
    }));
});

describe('migrations', () => {
  test('a store at schema 1 is migrated at open, in order, and keeps its rows', async () => {
    const { dir, cleanup } = await makeTempDir();
    const SQL = await loadSqlJs();
    const v1 = new SQL.Database();
    v1.exec(MIGRATIONS[0]);
    v1.exec('PRAGMA user_version = 1');
    v1.exec(`INSERT INTO task_history (id, name, command, args, cwd, status, started_at, finished_at, owner_id, owner_pid, owner_host)
             VALUES ('old', 'from v1', 'echo', '["hi"]', '/tmp', 'success', 1700000000000, 1700000001000, 'o', 1, 'h')`);
    await fsp.writeFile(path.join(dir, 'tasks.db'), v1.export());
    v1.close();
    const store = await TaskStore.open({ dir, rotationGraceMs: 0 });
    assert.deepEqual((await store.getTask('old'))?.args, ['hi']);
    await store.compact();
    await store.close();
    const bytes = await fsp.readFile(path.join(dir, 'tasks.db'));
    assert.equal(bytes.readUInt32BE(60), SCHEMA_VERSION);
    const db = new SQL.Database(bytes);
    assert.deepEqual(db.exec(`SELECT name FROM sqlite_master WHERE name = 'archive_segments'`)[0].values, [['archive_segments']]);
    db.close();
    await cleanup();
  });

  test('each migration runs in one transaction: a failing one leaves the database as it was', async () => {
    const SQL = await loadSqlJs();
    const db = newDatabase(SQL);
    db.exec('PRAGMA user_version = 1; DROP TABLE archive_segments; CREATE TABLE archive_segments (x)');
    const { migrate } = await import('../../src/core/schema');
    assert.throws(() => migrate(db), /migration 2 failed/);
    assert.equal(db.exec('PRAGMA user_version')[0].values[0][0], 1);
    db.close();
  });
});

describe('history archive', () => {
  async function archivedStore(dir: string) {
    const store = await TaskStore.open({ dir, rotationGraceMs: 0, hotHistory: { max: 20, keep: 10 }, retention: { maxAgeDays: 0, maxRows: 0 } });
    const t0 = Date.now() - 1_000_000;
    for (let i = 0; i < 50; i++) {
      await store.startTask({ ...sampleTask(i), id: `a-${String(i).padStart(2, '0')}`, started_at: t0 + i * 1000 });
      await fsp.writeFile(store.logPathFor(`a-${String(i).padStart(2, '0')}`), 'log');
      await store.finishTask(`a-${String(i).padStart(2, '0')}`, { status: 'success', exit_code: 0, output_bytes: i });
      if (i % 15 === 14) await store.compact();
    }
    await store.startTask({ ...sampleTask(99), id: 'still-running', started_at: t0 });
    return store;
  }

  test('compaction moves old finished rows to segments; queries read through them', async () => {
    const { dir, cleanup } = await makeTempDir();
    const store = await archivedStore(dir);
    const segments = await fsp.readdir(path.join(dir, 'archive'));
    assert.ok(segments.length >= 2, `segments: ${segments}`);
    assert.ok(segments.every((n) => /^history\.\d{8}\.db$/.test(n)));
    const expected = Array.from({ length: 50 }, (_, i) => `a-${String(49 - i).padStart(2, '0')}`);
    assert.deepEqual((await store.listTasks({ limit: 100 })).map((r) => r.id), expected);
    const page1 = await store.listTasks({ limit: 30 });
    const page2 = await store.listTasks({ limit: 30, before: page1[29].started_at });
    assert.deepEqual([...page1, ...page2].map((r) => r.id), expected);
    assert.equal(await store.countTasks(), 50);
    assert.equal(await store.countTasks({ includeRunning: true }), 51);
    assert.equal((await store.getTask('a-00'))?.output_bytes, 0);
    assert.deepEqual((await store.listTasks({ status: 'running' })).map((r) => r.id), ['still-running']);
    await store.close();
    const again = await TaskStore.open({ dir, rotationGraceMs: 0 });
    assert.equal(await again.countTasks(), 50);
    assert.equal((await again.getTask('a-03'))?.status, 'success');
    await again.close();
    await cleanup();
  });

  test('retention drops whole segments with their logs; a missing or damaged segment is left out with a notice', async () => {
    const { dir, cleanup } = await makeTempDir();
    const store = await archivedStore(dir);
    await store.close();
    const segments = (await fsp.readdir(path.join(dir, 'archive'))).sort();
    await fsp.writeFile(path.join(dir, 'archive', segments[segments.length - 1]), 'garbage');
    const bounded = await TaskStore.open({ dir, rotationGraceMs: 0, retention: { maxAgeDays: 0, maxRows: 25 } });
    // Counts come from the listing: nothing is parsed, so the damage is not known yet.
    assert.equal(await bounded.countTasks(), 50);
    assert.equal(bounded.segmentsParsed, 0);
    const listed = await bounded.listTasks({ limit: 100 });
    assert.ok(listed.length < 50, `the damaged segment's rows are left out (${listed.length})`);
    assert.match(bounded.notices.join('\n'), /archive segment .* was damaged .*moved aside/);
    assert.equal(await bounded.countTasks(), listed.length, 'the damaged segment is unlisted once found');
    await bounded.prune();
    const left = await bounded.countTasks();
    assert.ok(left <= 25 && left > 0, `kept ${left}`);
    assert.equal((await bounded.getTask('a-00')), undefined);
    await assert.rejects(fsp.access(bounded.logPathFor('a-00')));
    await fsp.access(bounded.logPathFor('a-49'));
    await bounded.close();
    await cleanup();
  });
});
