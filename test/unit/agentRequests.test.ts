import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { AppendOnlyJournal } from '../../src/core/appendJournal';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/core/schema';
import { loadSqlJs } from '../../src/core/sqlite';
import { TaskStore } from '../../src/core/taskStore';
import type { PendingRequest, RequestAnswered } from '../../src/core/taskTypes';
import { makeTempDir, sampleTask } from '../helpers/tempDir';

/** Requests (needs_input), answers (first one wins, from any process) and the waiting phase, through the real journal. */

function bashRequest(id: string, command = 'npm test'): PendingRequest {
  return { id, kind: 'permission', tool: 'Bash', summary: command, input: { command }, suggestions: [], asked_at: Date.now() };
}

async function twoStores(fn: (owner: TaskStore, other: TaskStore, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await makeTempDir();
  const owner = await TaskStore.open({ dir, rotationGraceMs: 0 });
  const other = await TaskStore.open({ dir, rotationGraceMs: 0 });
  try {
    await fn(owner, other, dir);
  } finally {
    await owner.close();
    await other.close();
    await cleanup();
  }
}

describe('agent requests in the journal', () => {
  test('a request makes the run needs_input, in every process; the first answer makes it running again, later ones are refused', () =>
    twoStores(async (owner, other) => {
      const row = await owner.startTask({ ...sampleTask(1), id: 'run-1' });
      const relayed: RequestAnswered[] = [];
      owner.onDidAnswer((a) => relayed.push(a));
      await owner.recordRequest(row.id, bashRequest('req-1'));
      const seen = await other.getTask(row.id);
      assert.equal(seen?.status, 'needs_input');
      assert.deepEqual(seen?.pending_requests.map((r) => [r.id, r.tool, r.summary]), [['req-1', 'Bash', 'npm test']]);
      assert.deepEqual((await other.listTasks({ status: 'needs_input' })).map((r) => r.id), ['run-1']);
      assert.equal((await other.readView({ historyLimit: 10 })).running.length, 1, 'a run that asks is live');

      const first = await other.answerRequest(row.id, 'req-1', { behavior: 'allow' });
      assert.equal(first.ok, true);
      assert.equal(first.ok && first.row.status, 'running');
      const second = await owner.answerRequest(row.id, 'req-1', { behavior: 'deny', message: 'no' });
      assert.equal(second.ok, false);
      assert.match(!second.ok ? second.reason : '', /has no open request/);

      await owner.pollAnswers();
      assert.deepEqual(relayed.map((a) => [a.request, a.answer.behavior]), [['req-1', 'allow']], 'the owner relays the first answer, once');
      const after = await owner.getTask(row.id);
      assert.equal(after?.status, 'running');
      assert.deepEqual(after?.pending_requests, []);
    }));

  test('two answers racing from two processes: exactly one is accepted, and it is the one the owner relays', () =>
    twoStores(async (owner, other, dir) => {
      const third = await TaskStore.open({ dir, rotationGraceMs: 0 });
      try {
        await owner.startTask({ ...sampleTask(1), id: 'run-2' });
        await owner.recordRequest('run-2', bashRequest('req-1'));
        const relayed: RequestAnswered[] = [];
        owner.onDidAnswer((a) => relayed.push(a));
        await Promise.all([other.refresh(), third.refresh()]);
        const [a, b] = await Promise.all([
          other.answerRequest('run-2', 'req-1', { behavior: 'allow' }),
          third.answerRequest('run-2', 'req-1', { behavior: 'deny', message: 'not now' }),
        ]);
        assert.equal([a, b].filter((o) => o.ok).length, 1, `one winner: ${JSON.stringify([a, b])}`);
        await owner.pollAnswers();
        assert.equal(relayed.length, 1);
        assert.equal(relayed[0].answer.behavior, a.ok ? 'allow' : 'deny');
      } finally {
        await third.close();
      }
    }));

  test('answers that cannot be taken say why: no such task, a finished task, an unknown request', () =>
    twoStores(async (owner, other) => {
      const none = await other.answerRequest('nope', 'req-1', { behavior: 'allow' });
      assert.match(!none.ok ? none.reason : '', /There is no task nope/);
      await owner.startTask({ ...sampleTask(1), id: 'run-3' });
      await owner.recordRequest('run-3', bashRequest('req-1'));
      const unknown = await other.answerRequest('run-3', 'req-9', { behavior: 'allow' });
      assert.match(!unknown.ok ? unknown.reason : '', /has no open request req-9 .*open: req-1/);
      await owner.finishTask('run-3', { status: 'success', exit_code: 0 });
      const done = await other.answerRequest('run-3', 'req-1', { behavior: 'allow' });
      assert.match(!done.ok ? done.reason : '', /is not running any more \(success\)/);
      assert.deepEqual((await other.getTask('run-3'))?.pending_requests, [], 'a finished run asks nothing');
    }));

  test('two open requests: the run stays needs_input until both are answered or withdrawn', () =>
    twoStores(async (owner, other) => {
      await owner.startTask({ ...sampleTask(1), id: 'run-4' });
      await owner.recordRequest('run-4', bashRequest('req-1', 'ls'));
      await owner.recordRequest('run-4', bashRequest('req-2', 'pwd'));
      assert.equal((await other.answerRequest('run-4', 'req-2', { behavior: 'allow' })).ok, true);
      assert.equal((await other.getTask('run-4'))?.status, 'needs_input');
      await owner.closeRequest('run-4', 'req-1', 'the agent withdrew it');
      const row = await other.getTask('run-4');
      assert.equal(row?.status, 'running');
      assert.deepEqual(row?.pending_requests, []);
    }));

  test('waiting: a usage limit holds the run until resume_at; it is live (recovery and cancel treat it as running)', () =>
    twoStores(async (owner, other) => {
      await owner.startTask({ ...sampleTask(1), id: 'run-5' });
      const at = Date.now() + 60_000;
      await owner.setPhase('run-5', 'waiting', at);
      let row = await other.getTask('run-5');
      assert.equal(row?.status, 'waiting');
      assert.equal(row?.resume_at, at);
      assert.deepEqual((await other.listTasks()).map((r) => r.id), [], 'not in the history');
      await owner.setPhase('run-5', 'running', null);
      row = await other.getTask('run-5');
      assert.equal(row?.status, 'running');
      assert.equal(row?.resume_at, null);
    }));

  test("a supervisor's journal records requests and relays the first answer another process journaled", async () => {
    const { dir, cleanup } = await makeTempDir();
    const viewer = await TaskStore.open({ dir, rotationGraceMs: 0 });
    const journal = await AppendOnlyJournal.open(dir, { rotationGraceMs: 0 });
    try {
      const row = await journal.startTask({ ...sampleTask(1), id: 'sup-1' });
      const relayed: RequestAnswered[] = [];
      journal.onDidAnswer((a) => relayed.push(a));
      await journal.recordRequest(row.id, bashRequest('req-1'));
      assert.equal((await viewer.getTask(row.id))?.status, 'needs_input');
      assert.equal((await viewer.answerRequest(row.id, 'req-1', { behavior: 'deny', message: 'not on main' })).ok, true);
      assert.equal((await viewer.answerRequest(row.id, 'req-1', { behavior: 'allow' })).ok, false);
      await journal.pollAnswers();
      assert.deepEqual(relayed.map((a) => [a.request, a.answer.behavior, a.answer.message]), [['req-1', 'deny', 'not on main']]);
      await journal.pollAnswers();
      assert.equal(relayed.length, 1, 'relayed once');
      await journal.finishTask(row.id, { status: 'success', exit_code: 0 });
      assert.equal((await viewer.getTask(row.id))?.status, 'success');
    } finally {
      await journal.close();
      await viewer.close();
      await cleanup();
    }
  });

  test('a store at schema 4 is rebuilt for the new statuses and keeps every row and column', async () => {
    const { dir, cleanup } = await makeTempDir();
    const SQL = await loadSqlJs();
    const v4 = new SQL.Database();
    for (let v = 0; v < 4; v++) v4.exec(MIGRATIONS[v]);
    v4.exec('PRAGMA user_version = 4');
    v4.exec(`INSERT INTO task_history (id, name, command, args, cwd, status, started_at, finished_at, owner_id, owner_pid, owner_host, permission_denials, permission_denial_count, rate_limit)
             VALUES ('old', 'from v4', 'echo', '["hi"]', '/tmp', 'success', 1700000000000, 1700000001000, 'o', 1, 'h', '[{"tool":"Bash","summary":"rm -rf x"}]', 1, '{"status":"allowed","resetsAt":null,"kind":null,"utilization":null}')`);
    await fsp.writeFile(path.join(dir, 'tasks.db'), v4.export());
    v4.close();
    const store = await TaskStore.open({ dir, rotationGraceMs: 0 });
    try {
      const old = await store.getTask('old');
      assert.deepEqual(old?.args, ['hi']);
      assert.deepEqual(old?.permission_denials, [{ tool: 'Bash', summary: 'rm -rf x' }]);
      assert.equal(old?.rate_limit?.status, 'allowed');
      assert.deepEqual(old?.pending_requests, []);
      assert.equal(old?.resume_at, null);
      await store.startTask({ ...sampleTask(1), id: 'new-1' });
      await store.recordRequest('new-1', bashRequest('r'));
      await store.compact();
      const bytes = await fsp.readFile(path.join(dir, 'tasks.db'));
      assert.equal(bytes.readUInt32BE(60), SCHEMA_VERSION);
      const db = new SQL.Database(bytes);
      assert.deepEqual(db.exec(`SELECT status FROM task_history WHERE id = 'new-1'`)[0].values, [['needs_input']]);
      assert.equal(db.exec(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task_history' AND name LIKE 'task_history_%'`)[0].values[0][0], 2);
      db.close();
    } finally {
      await store.close();
      await cleanup();
    }
  });
});
