import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { decodeRecords, encodeRecord, listLogSeqs, logFileName } from '../../src/core/journalLog';
import { applyRecord, classifyRecord, JournalStatements, RECORD_VERSION } from '../../src/core/journalOps';
import { processStartTicks, processStartTime } from '../../src/core/processIdentity';
import { cancelRun, runEndOf } from '../../src/core/runControl';
import { newDatabase } from '../../src/core/snapshot';
import { loadSqlJs } from '../../src/core/sqlite';
import { replay } from '../../src/core/storeOpen';
import { TaskRunner } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import type { CancelRequest, TaskRow } from '../../src/core/taskTypes';
import { signalZeroSucceeds } from '../helpers/processes';
import { makeTempDir, sampleTask } from '../helpers/tempDir';
import { waitFor } from '../helpers/waitFor';

const FAKE_AGENT = path.resolve(__dirname, '../../../test/fixtures/fakeAgent.js');

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await makeTempDir('agent-tasks-cancel-');
  try {
    await fn(dir);
  } finally {
    await cleanup();
  }
}

function open(dir: string): Promise<TaskStore> {
  return TaskStore.open({ dir, rotationGraceMs: 0 });
}

/** Every record in the store's logs, in order. */
async function allRecords(dir: string): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  for (const seq of await listLogSeqs(dir)) records.push(...(decodeRecords(await fsp.readFile(path.join(dir, logFileName(seq)))).records as Record<string, unknown>[]));
  return records;
}

test('requestCancel: the owning instance is told on its next catch-up, nobody else; a finished row asks for nothing', () =>
  withDir(async (dir) => {
    const owner = await open(dir);
    const other = await open(dir);
    try {
      const seenByOwner: CancelRequest[] = [];
      const seenByOther: CancelRequest[] = [];
      owner.onDidRequestCancel((r) => seenByOwner.push(r));
      other.onDidRequestCancel((r) => seenByOther.push(r));
      const row = await owner.startTask({ ...sampleTask(1), id: 'cancel-me' });
      await other.refresh();

      const before = Date.now();
      await other.requestCancel(row.id);
      assert.equal(seenByOwner.length, 0, 'not before the owner catches up');
      await owner.refresh();
      assert.equal(seenByOwner.length, 1);
      assert.equal(seenByOwner[0].id, row.id);
      assert.equal(seenByOwner[0].by, other.owner.id);
      assert.ok(seenByOwner[0].at >= before);
      await owner.refresh();
      assert.equal(seenByOwner.length, 1, 'a record is told once');

      // The owner's own request is told before requestCancel resolves.
      await owner.requestCancel(row.id);
      assert.equal(seenByOwner.length, 2);
      assert.equal(seenByOwner[1].by, owner.owner.id);

      // The request changes no row.
      assert.equal((await owner.getTask(row.id))!.status, 'running');
      assert.equal((await other.getTask(row.id))!.status, 'running');

      await owner.finishTask(row.id, { status: 'success', exit_code: 0 });
      await other.requestCancel(row.id);
      await owner.refresh();
      assert.equal(seenByOwner.length, 2, 'a request after the finish asks for nothing');
      assert.deepEqual(seenByOther, []);

      const requests = (await allRecords(dir)).filter((r) => r.op === 'cancelRequest');
      assert.equal(requests.length, 3);
      for (const r of requests) {
        assert.equal(r.v, 1, 'written as version 1: older versions skip it instead of going read-only');
        assert.deepEqual(Object.keys(r).sort(), ['at', 'by', 'id', 'op', 'v']);
      }
    } finally {
      await Promise.all([owner.close(), other.close()]);
    }
  }));

test('replay with cancel requests is idempotent, and a version that does not know the op skips it and stays writable', async () => {
  await withDir(async (dir) => {
    const a = await open(dir);
    const b = await open(dir);
    const r1 = await a.startTask({ ...sampleTask(1), id: 'r1' });
    await b.requestCancel(r1.id);
    await a.updateRunning(r1.id, { output_bytes: 10 });
    await a.finishTask(r1.id, { status: 'cancelled', signal: 'SIGTERM' });
    await b.requestCancel(r1.id);
    const r2 = await a.startTask({ ...sampleTask(2), id: 'r2' });
    await b.requestCancel(r2.id);
    await Promise.all([a.close(), b.close()]);

    const records = await allRecords(dir);
    assert.equal(records.filter((r) => r.op === 'cancelRequest').length, 3);
    assert.equal(typeof classifyRecord(records.find((r) => r.op === 'cancelRequest')), 'object');

    // Replayed once, twice, or without the requests at all: the same rows.
    const SQL = await loadSqlJs();
    const rowsAfter = (recs: unknown[], times: number): TaskRow[] => {
      const db = newDatabase(SQL);
      const stmts = new JournalStatements(db);
      for (let i = 0; i < times; i++) replay(stmts, recs, undefined);
      const rows = stmts.all('SELECT * FROM task_history ORDER BY id');
      stmts.free();
      db.close();
      return rows;
    };
    const withRequests = rowsAfter(records, 1);
    assert.deepEqual(rowsAfter(records, 2), withRequests);
    assert.deepEqual(rowsAfter(records.filter((r) => r.op !== 'cancelRequest'), 1), withRequests);
    assert.deepEqual(withRequests.map((r) => [r.id, r.status]), [['r1', 'cancelled'], ['r2', 'running']]);
    const db = newDatabase(SQL);
    const stmts = new JournalStatements(db);
    assert.deepEqual(applyRecord(stmts, { v: RECORD_VERSION, by: 'x', op: 'cancelRequest', id: 'r2', at: 1 }), []);
    stmts.free();
    db.close();
  });

  // An older version reads `cancelRequest` as a v1 record of an op it does not know: the same as
  // this version reading an op of a later one. Such a record is 'invalid' (skipped), never 'newer'.
  assert.equal(classifyRecord({ v: 1, by: 'x', op: 'opOfALaterVersion', id: 'r1', at: 1 }), 'invalid');
  assert.equal(classifyRecord({ v: RECORD_VERSION + 1, by: 'x', op: 'start' }), 'newer');
  await withDir(async (dir) => {
    const a = await open(dir);
    await a.startTask({ ...sampleTask(1), id: 'r1' });
    await a.close();
    const seq = (await listLogSeqs(dir)).at(-1)!;
    await fsp.appendFile(path.join(dir, logFileName(seq)), encodeRecord({ v: 1, by: 'later', op: 'opOfALaterVersion', id: 'r1', at: Date.now() }));
    const reopened = await open(dir);
    try {
      assert.equal(reopened.readOnly, false, 'an unknown v1 op does not make the store read-only');
      assert.deepEqual(reopened.notices, []);
      assert.equal((await reopened.getTask('r1'))!.status, 'running');
      await reopened.finishTask('r1', { status: 'success', exit_code: 0 });
      assert.equal((await reopened.getTask('r1'))!.status, 'success');
    } finally {
      await reopened.close();
    }
  });
});

test('a TaskRunner cancels its own run when another instance asks through the journal', () =>
  withDir(async (dir) => {
    const owner = await open(dir);
    const other = await open(dir);
    const runner = new TaskRunner(owner, { killGraceMs: 5_000 });
    try {
      const task = await runner.start({
        name: 'sleeper',
        command: process.execPath,
        args: [FAKE_AGENT, '-p', 'hi', '--fake-sleep-ms', String(2 ** 31 - 1)],
        cwd: dir,
        format: 'claude-stream-json',
      });
      await waitFor('the child pid', () => task.progress.child_pid !== undefined);
      const pid = task.progress.child_pid!;
      await other.requestCancel(task.id);
      await owner.refresh();
      const row = await task.done;
      assert.equal(row.status, 'cancelled');
      assert.equal(row.signal, 'SIGTERM');
      assert.equal(signalZeroSucceeds(pid), false);
      await other.refresh();
      assert.equal((await other.getTask(task.id))!.status, 'cancelled');
    } finally {
      runner.dispose();
      await Promise.all([owner.close(), other.close()]);
    }
  }));

test('cancelRun: an owner that lives but ignores cancel requests (an older version) has its agent stopped directly', () =>
  withDir(async (dir) => {
    // This test is that owner: it journals a run, spawns the agent itself, and reads no requests.
    const owner = await open(dir);
    const canceller = await open(dir);
    const agent = spawn(process.execPath, [FAKE_AGENT, '-p', 'hi', '--fake-sleep-ms', String(2 ** 31 - 1)], { detached: true, stdio: 'ignore' });
    try {
      const exited = new Promise<NodeJS.Signals | null>((resolve) => agent.once('exit', (_code, signal) => resolve(signal)));
      const row = await owner.startTask({ ...sampleTask(1), id: `old-owner-${randomUUID().slice(0, 8)}` });
      const pid = agent.pid!;
      const [startedAt, startTicks] = await Promise.all([processStartTime(pid), processStartTicks(pid)]);
      await owner.updateRunning(row.id, { child_pid: pid, child_started_at: startedAt, child_start_ticks: startTicks });
      // When the agent dies, the owner records what it saw, as an old version would: failed, by a signal.
      void exited.then((signal) => owner.finishTask(row.id, { status: 'failed', exit_code: null, signal, error: `Killed by ${signal}` }));

      const steps: string[] = [];
      const result = await cancelRun(canceller, row.id, { ownerTimeoutMs: 1_000, graceMs: 5_000, pollMs: 50, onStep: (s) => steps.push(s.kind) });
      assert.deepEqual(steps, ['requested', 'owner-silent']);
      assert.equal(result.how, 'direct');
      assert.equal(result.agent, 'stopped');
      assert.equal(result.row.status, 'failed');
      assert.equal(result.row.signal, 'SIGTERM');
      assert.equal(await exited, 'SIGTERM');
    } finally {
      if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
      await Promise.all([owner.close(), canceller.close()]);
    }
  }));

test('cancelRun of a row that is not running asks nothing', () =>
  withDir(async (dir) => {
    const store = await open(dir);
    try {
      await store.startTask({ ...sampleTask(1), id: 'done-1' });
      await store.finishTask('done-1', { status: 'success', exit_code: 0 });
      const result = await cancelRun(store, 'done-1');
      assert.equal(result.how, 'not-running');
      assert.equal(result.row.status, 'success');
      assert.equal((await allRecords(dir)).filter((r) => r.op === 'cancelRequest').length, 0);
      await assert.rejects(cancelRun(store, 'no-such-task'), /task no-such-task does not exist/);
    } finally {
      await store.close();
    }
  }));

test('runEndOf: an owner that died right after recording the finish is not taken for one that left its run behind', () =>
  withDir(async (dir) => {
    // The owner claims a pid that is never alive: its verdict is always "dead".
    const owner = await TaskStore.open({ dir, rotationGraceMs: 0, owner: { id: randomUUID(), pid: 2 ** 22 + 12345, startedAt: null } });
    const watcher = await open(dir);
    try {
      await owner.startTask({ ...sampleTask(1), id: 'racy' });
      const seenRunning = (await watcher.getTask('racy'))!;
      assert.equal(seenRunning.status, 'running');
      // The finish lands after the watcher's catch-up, before its verdict on the owner.
      await owner.finishTask('racy', { status: 'success', exit_code: 0 });
      const end = await runEndOf(watcher, seenRunning);
      assert.equal(end?.ownerGone, undefined);
      assert.equal(end?.row.status, 'success');

      await owner.startTask({ ...sampleTask(2), id: 'left-behind' });
      const orphan = await runEndOf(watcher, (await watcher.getTask('left-behind'))!);
      assert.equal(orphan?.row.status, 'running');
      assert.match(orphan?.ownerGone ?? '', /^the process that ran it \(pid \d+\) exited$/);
    } finally {
      await Promise.all([owner.close(), watcher.close()]);
    }
  }));
