/**
 * What an adversarial pass broke once: short-lived processes that never finished a compaction,
 * orphaned archive segments, read-only mounts, a full disk, links planted in the store,
 * simultaneous recoveries, and the view's first load parsing the archive.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { listSegmentFiles } from '../../src/core/historyArchive';
import { loadSqlJs } from '../../src/core/sqlite';
import { loadJournalState } from '../../src/core/storeOpen';
import { TaskRunner } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import { runCli } from '../helpers/cliProcess';
import { makeTempDir, sampleTask } from '../helpers/tempDir';
import { waitFor } from '../helpers/waitFor';

const DEAD_PID = 2 ** 22 - 7;
const isRoot = process.getuid?.() === 0 && process.platform === 'linux';


async function journals(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.endsWith('.journal'));
}

/** Mounts a small tmpfs (root only); returns its path and an unmount. */
async function tmpfs(sizeKb: number): Promise<{ dir: string; unmount: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  return {
    dir,
    unmount: async () => {
      execFileSync('umount', ['-l', dir]);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

describe('short processes and compaction', () => {
  test('many short CLI runs leave a snapshot and only a few logs (a writer hands its compaction over)', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      // 64 KiB of output records per run push the logs past the compaction threshold quickly.
      const payload = 'x'.repeat(8_000);
      const script = `for (let i = 0; i < 8; i++) console.log(JSON.stringify({type:'assistant',message:{id:'m'+i,content:[{type:'text',text:${JSON.stringify(payload)}}]}}))`;
      for (let i = 0; i < 30; i++) {
        const r = await runCli(['run', '--store', dir, '--', process.execPath, '-e', script], { AGENT_TASKS_COMPACT_AFTER_BYTES: '20000' });
        assert.equal(r.code, 0, r.stderr);
      }
      // The handed-over compactor waits out the 10 s rotation grace, then writes the snapshot.
      await waitFor('a snapshot', async () => (await fsp.stat(path.join(dir, 'tasks.db')).catch(() => null)) !== null, 30_000);
      // Later runs may hand over more compactions (each waits out the grace): wait for them all,
      // not for a time. Without hand-over, 30 runs leave about 30 logs and this times out.
      let logs: string[] = [];
      await waitFor(
        'at most 3 logs and no compaction under way',
        async () => (logs = await journals(dir)).length <= 3 && (await fsp.stat(path.join(dir, 'compact.lock')).catch(() => null)) === null,
        60_000,
      ).catch((err: unknown) => assert.fail(`${String(err)}; logs left: ${logs.join(', ')}`));
      const list = await runCli(['list', '--json', '--limit', '100', '--store', dir]);
      assert.equal((JSON.parse(list.stdout) as unknown[]).length, 30, `${list.stderr} files: ${(await fsp.readdir(dir)).join(' ')}`);
    } finally {
      await cleanup();
    }
  });

  test('list and show never start a compaction, and never create a log', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const store = await TaskStore.open({ dir, rotationGraceMs: 0, compactInBackground: false });
      await store.startTask({ ...sampleTask(1), id: 'one' });
      await store.close();
      const before = (await fsp.readdir(dir)).sort();
      assert.equal((await runCli(['list', '--store', dir])).code, 0);
      assert.equal((await runCli(['show', 'one', '--store', dir])).code, 0);
      assert.deepEqual((await fsp.readdir(dir)).sort(), before);
    } finally {
      await cleanup();
    }
  });

  test('a stale lock of a dead process is taken over at once', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const store = await TaskStore.open({ dir, rotationGraceMs: 0, compactInBackground: false });
      await fsp.writeFile(path.join(dir, 'compact.lock'), JSON.stringify({ pid: DEAD_PID, host: os.hostname(), started_at: null, at: Date.now() }));
      assert.equal(await store.compact(), true);
      await store.close();
    } finally {
      await cleanup();
    }
  });

  test('an archive segment orphaned by a kill between writing it and journaling it is listed again, once', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const store = await TaskStore.open({ dir, rotationGraceMs: 0, hotHistory: { max: 10, keep: 5 }, compactInBackground: false });
      for (let i = 0; i < 30; i++) {
        await store.startTask({ ...sampleTask(i), id: `r${i}` });
        await store.finishTask(`r${i}`, { status: 'success', exit_code: 0 });
      }
      await store.compact();
      await store.close();
      // Simulate the kill: the newest segment's archive record never landed (drop the listing of it).
      const [seg] = (await listSegmentFiles(dir)).sort().slice(-1);
      const SQL = await (await import('../../src/core/sqlite')).loadSqlJs();
      const snap = new SQL.Database(await fsp.readFile(path.join(dir, 'tasks.db')));
      snap.run('DELETE FROM archive_segments WHERE name = ?', [seg]);
      await fsp.writeFile(path.join(dir, 'tasks.db'), snap.export());
      snap.close();
      const again = await TaskStore.open({ dir, rotationGraceMs: 0 });
      assert.equal(await again.countTasks(), 30);
      assert.equal((await again.listTasks({ limit: 100 })).length, 30);
      await again.close();
    } finally {
      await cleanup();
    }
  });
});

describe('the view', () => {
  test("the view's first load (open, recovery scan, readView) parses no archive segment at 10k rows", async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const store = await TaskStore.open({ dir, rotationGraceMs: 0, compactInBackground: false });
      for (let i = 0; i < 10_000; i++) {
        await store.startTask({ ...sampleTask(i), id: `v${i}`, started_at: 1_700_000_000_000 + i });
        await store.finishTask(`v${i}`, { status: i % 10 === 0 ? 'failed' : 'success', exit_code: 0 }, undefined);
        if (i % 2_500 === 2_499) await store.compact();
      }
      await store.compact();
      await store.close();
      assert.ok((await listSegmentFiles(dir)).length >= 2, 'the history is archived');
      const view = await TaskStore.open({ dir });
      await view.markRunningAsInterrupted();
      const shown = await view.readView({ historyLimit: 50 });
      assert.equal(shown.historyTotal, 10_000);
      assert.equal(shown.history.length, 50);
      assert.equal(await view.countTasks({ status: 'failed' }), 1_000);
      assert.equal(view.segmentsParsed, 0);
      await view.close();
    } finally {
      await cleanup();
    }
  });
});

describe('recovery', () => {
  test('six simultaneous recoveries report each orphaned row once', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const dead = await TaskStore.open({ dir, rotationGraceMs: 0, owner: { id: randomUUID(), pid: DEAD_PID, startedAt: null, host: os.hostname() } });
      for (let i = 0; i < 20; i++) await dead.startTask({ ...sampleTask(i), id: `o${i}` });
      await dead.close();
      const runs = await Promise.all(Array.from({ length: 6 }, () => runCli(['recover', '--json', '--store', dir])));
      const reported: string[] = [];
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        reported.push(...(JSON.parse(r.stdout) as { marked: { id: string }[] }).marked.map((m) => m.id));
      }
      assert.equal(reported.length, 20, `reported: ${reported.length}`);
      assert.equal(new Set(reported).size, 20);
    } finally {
      await cleanup();
    }
  });

  test('two processes starting one session exclusively: only the first start wins', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const a = await TaskStore.open({ dir, rotationGraceMs: 0 });
      const b = await TaskStore.open({ dir, rotationGraceMs: 0 });
      const session = randomUUID();
      const results = await Promise.allSettled([
        a.startTask({ ...sampleTask(1), session_id: session }, { exclusiveSession: true }),
        b.startTask({ ...sampleTask(2), session_id: session }, { exclusiveSession: true }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
      await a.refresh();
      assert.equal((await a.listTasks({ status: 'running' })).length, 1);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await cleanup();
    }
  });
});

describe('links planted in the store are not followed', () => {
  test('a logs/<id>.log link and a logs folder link', async () => {
    const { dir, cleanup } = await makeTempDir();
    const outside = await makeTempDir();
    try {
      const victim = path.join(outside.dir, 'victim.txt');
      await fsp.writeFile(victim, 'precious');
      await fsp.chmod(outside.dir, 0o755);
      await fsp.mkdir(dir, { recursive: true });
      await fsp.symlink(outside.dir, path.join(dir, 'logs'));
      const r = await runCli(['run', '--store', dir, '--', process.execPath, '-e', 'console.log("output")']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /logs folder .* symbolic link/);
      assert.equal((await fsp.stat(outside.dir)).mode & 0o777, 0o755, 'the link target was not chmod-ed');
      assert.deepEqual(await fsp.readdir(outside.dir), ['victim.txt'], 'nothing was written through the link');
      assert.ok((await fsp.lstat(path.join(dir, 'logs'))).isDirectory());
      // A link where the next task's log will be.
      const id = randomUUID();
      await fsp.symlink(victim, path.join(dir, 'logs', `${id}.log`));
      const store = await TaskStore.open({ dir });
      const runner = new TaskRunner(store);
      const task = await runner.start({ id, name: 'x', command: process.execPath, args: ['-e', 'console.log("leak")'], cwd: dir });
      assert.equal((await task.done).status, 'success');
      runner.dispose();
      await store.close();
      assert.ok((await fsp.lstat(path.join(dir, 'logs', `${id}.log`))).isFile(), 'a real log file took its place');
      assert.match(await fsp.readFile(path.join(dir, 'logs', `${id}.log`), 'utf8'), /leak/);
      assert.equal(await fsp.readFile(victim, 'utf8'), 'precious');
    } finally {
      await cleanup();
      await outside.cleanup();
    }
  });

  test('a tasks.db link is treated as damage: moved aside, never read through', async () => {
    const { dir, cleanup } = await makeTempDir();
    const outside = await makeTempDir();
    try {
      const store = await TaskStore.open({ dir, rotationGraceMs: 0 });
      await store.startTask({ ...sampleTask(1), id: 'kept' });
      await store.close();
      await fsp.writeFile(path.join(outside.dir, 'other.db'), 'not ours');
      await fsp.symlink(path.join(outside.dir, 'other.db'), path.join(dir, 'tasks.db'));
      const again = await TaskStore.open({ dir, rotationGraceMs: 0 });
      assert.match(again.notices.join('\n'), /symbolic link/);
      assert.equal((await again.getTask('kept'))?.status, 'running');
      await again.close();
      assert.equal(await fsp.readFile(path.join(outside.dir, 'other.db'), 'utf8'), 'not ours');
    } finally {
      await cleanup();
      await outside.cleanup();
    }
  });
});

describe('read-only and full disks (root: real mounts)', { skip: !isRoot && 'needs root to mount' }, () => {
  test('a read-only mount lists, shows and recovers (read-only); run fails with a clear message', async () => {
    const fs = await tmpfs(8_192);
    try {
      const dir = path.join(fs.dir, 'store');
      const store = await TaskStore.open({ dir, rotationGraceMs: 0 });
      await store.startTask({ ...sampleTask(1), id: 'r1' });
      await store.finishTask('r1', { status: 'success', exit_code: 0 });
      await store.close();
      execFileSync('mount', ['-o', 'remount,ro', fs.dir]);
      const list = await runCli(['list', '--json', '--store', dir]);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual((JSON.parse(list.stdout) as { id: string }[]).map((r) => r.id), ['r1']);
      const recover = await runCli(['recover', '--store', dir]);
      assert.equal(recover.code, 0, recover.stderr);
      assert.match(recover.stderr, /read-only file system/);
      const run = await runCli(['run', '--store', dir, '--', process.execPath, '-e', '']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /read-only/);
    } finally {
      await fs.unmount();
    }
  });

  test('a full disk keeps the finish: the record waits for space and lands', async () => {
    const fs = await tmpfs(2_048);
    try {
      const dir = path.join(fs.dir, 'store');
      const store = await TaskStore.open({ dir, rotationGraceMs: 0, compactInBackground: false, noSpaceRetryMs: 100 });
      const row = await store.startTask({ ...sampleTask(1), id: 'full' });
      // Fill the disk to the last byte.
      const ballast = path.join(fs.dir, 'ballast');
      await fsp.writeFile(ballast, Buffer.alloc(0));
      const h = await fsp.open(ballast, 'a');
      try {
        for (;;) await h.write(Buffer.alloc(64 * 1024));
      } catch {
        for (;;) {
          try {
            await h.write(Buffer.alloc(1));
          } catch {
            break;
          }
        }
      } finally {
        await h.close();
      }
      const notices: string[] = [];
      store.onDidAddNotice((n) => notices.push(n));
      // Bigger than what is left of the log's last page (tmpfs allocates whole pages).
      const error = 'the agent said: ' + 'x'.repeat(12_000);
      const finished = store.finishTask(row.id, { status: 'failed', exit_code: 1, error });
      await waitFor('the full-disk notice', () => notices.some((n) => /is full/.test(n)), 10_000);
      await fsp.unlink(ballast);
      assert.equal((await finished).status, 'failed');
      await store.close();
      const again = await TaskStore.open({ dir, readOnly: true });
      const kept = await again.getTask('full');
      assert.equal(kept?.status, 'failed');
      assert.equal(kept?.error, error);
      await again.close();
    } finally {
      await fs.unmount();
    }
  });
});

describe('opening while another process compacts', () => {
  test("the store's first compaction, between an opener's snapshot read and its log listing: the opener reads again and loses no row", async () => {
    const { dir, cleanup } = await makeTempDir();
    const rival = await TaskStore.open({ dir, rotationGraceMs: 0, compactInBackground: false });
    try {
      for (const id of ['first', 'second']) {
        await rival.startTask({ ...sampleTask(1), id });
        await rival.finishTask(id, { status: 'success', exit_code: 0 });
      }
      let compacted = false;
      const SQL = await loadSqlJs();
      const state = await loadJournalState(SQL, dir, {
        readOnly: true,
        notices: [],
        // No snapshot was read (there is none yet); now the rival writes one and retires log 1.
        afterSnapshotRead: async () => {
          if (compacted) return;
          compacted = true;
          assert.equal(await rival.compact(), true);
          assert.deepEqual(await journals(dir), ['tasks.00000002.journal'], 'log 1 is retired, its rows are in the snapshot');
        },
      });
      try {
        assert.equal(compacted, true);
        const rows = state.db.exec('SELECT id FROM task_history ORDER BY id')[0]?.values.flat() ?? [];
        assert.deepEqual(rows, ['first', 'second'], 'the rows of the retired log come from the new snapshot');
      } finally {
        state.db.close();
        await state.reader.close();
      }
    } finally {
      await rival.close();
      await cleanup();
    }
  });
});
