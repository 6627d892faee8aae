import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { decodeRecords, encodeRecord, logFileName } from '../../src/core/journalLog';
import { TaskStore } from '../../src/core/taskStore';
import { makeTempDir, sampleTask } from '../helpers/tempDir';

/** A store with 20 finished rows in its snapshot and 5 more in its log, closed. */
async function seededStore(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await makeTempDir();
  const s = await TaskStore.open({ rotationGraceMs: 0, dir: t.dir });
  for (let i = 0; i < 25; i++) {
    await s.startTask({ ...sampleTask(i), id: `row-${i}` });
    await s.finishTask(`row-${i}`, { status: 'success', exit_code: 0, output_bytes: i });
    if (i === 19) await s.compact();
  }
  await s.close();
  return t;
}

async function damagedCopies(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.includes('.damaged-'));
}

async function currentLog(dir: string): Promise<string> {
  const logs = (await fsp.readdir(dir)).filter((n) => n.endsWith('.journal')).sort();
  return path.join(dir, logs[logs.length - 1]);
}

describe('a damaged snapshot never stops the store', () => {
  const cases: [string, (bytes: Buffer) => Buffer, RegExp][] = [
    ['a zero-byte file', () => Buffer.alloc(0), /the file is empty/],
    ['a truncated file', (b) => b.subarray(0, Math.floor(b.length / 2)), /the file is truncated/],
    ['random bytes', (b) => randomBytes(b.length), /not an SQLite database/],
    ['a file that is not SQLite', () => Buffer.from('{"this": "is json, not a database"}\n'), /not an SQLite database/],
  ];
  for (const [what, damage, reason] of cases) {
    test(what, async () => {
      const { dir, cleanup } = await seededStore();
      const file = path.join(dir, 'tasks.db');
      const damagedBytes = damage(await fsp.readFile(file));
      await fsp.writeFile(file, damagedBytes);
      const store = await TaskStore.open({ rotationGraceMs: 0, dir });
      const notice = store.notices.join('\n');
      assert.match(notice, /snapshot .* was damaged/);
      assert.match(notice, reason);
      const [aside] = await damagedCopies(dir);
      assert.ok(aside, 'the damaged file is moved aside');
      assert.match(aside, /^tasks\.db\.damaged-\d{4}-\d{2}-\d{2}T/);
      assert.deepEqual(await fsp.readFile(path.join(dir, aside)), damagedBytes, 'never deleted, never changed');
      // The log after the snapshot is still replayed: the 5 newest rows are always recoverable.
      for (let i = 20; i < 25; i++) assert.equal((await store.getTask(`row-${i}`))?.status, 'success', `row-${i}`);
      // And the store keeps working.
      await store.startTask({ ...sampleTask(99), id: 'after' });
      await store.close();
      const again = await TaskStore.open({ rotationGraceMs: 0, dir });
      assert.deepEqual(again.notices, [], 'the next open is clean');
      assert.equal((await again.getTask('after'))?.status, 'running');
      await again.close();
      await cleanup();
    });
  }

  test('a truncated snapshot keeps the rows that can still be read', async () => {
    const t = await makeTempDir();
    const s = await TaskStore.open({ rotationGraceMs: 0, dir: t.dir });
    for (let i = 0; i < 400; i++) {
      await s.startTask({ ...sampleTask(i), id: `big-${i}`, prompt: 'x'.repeat(500) });
      await s.finishTask(`big-${i}`, { status: 'success', exit_code: 0 });
    }
    await s.compact();
    await s.close();
    const file = path.join(t.dir, 'tasks.db');
    const bytes = await fsp.readFile(file);
    await fsp.writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.75)));
    const store = await TaskStore.open({ rotationGraceMs: 0, dir: t.dir });
    const kept = await store.countTasks();
    assert.ok(kept > 100 && kept < 400, `salvaged ${kept} of 400 rows`);
    assert.match(store.notices.join('\n'), new RegExp(`${kept} rows were recovered`));
    await store.close();
    await t.cleanup();
  });
});

describe('a damaged log never stops the store', () => {
  test('a torn last record: every whole record before it is kept', async () => {
    const { dir, cleanup } = await seededStore();
    const log = await currentLog(dir);
    const torn = encodeRecord({ v: 1, by: 'x', op: 'start', row: { id: 'torn' } }).subarray(0, 20);
    await fsp.appendFile(log, torn);
    const store = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal(await store.countTasks(), 25);
    assert.equal(await store.getTask('torn'), undefined);
    // A later record lands after the torn bytes; both stores read it and skip the damage.
    await store.startTask({ ...sampleTask(1), id: 'later' });
    const other = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal((await other.getTask('later'))?.status, 'running');
    assert.match(other.notices.join('\n'), /damaged bytes; every readable record was kept/);
    // Compaction keeps the damaged log aside instead of deleting it.
    assert.equal(await other.compact(), true);
    const aside = await damagedCopies(dir);
    assert.equal(aside.length, 1);
    assert.ok((await fsp.readFile(path.join(dir, aside[0]))).includes(torn));
    await Promise.all([store.close(), other.close()]);
    await cleanup();
  });

  test('random bytes in the middle of a log: the records around them are kept', async () => {
    const { dir, cleanup } = await seededStore();
    const log = await currentLog(dir);
    const bytes = await fsp.readFile(log);
    const records = decodeRecords(bytes);
    assert.equal(records.records.length, 10);
    // Overwrite the 3rd record's body with noise: that record is lost, the other 9 are not.
    const third = encodeRecord(records.records[0]).length + encodeRecord(records.records[1]).length;
    randomBytes(40).copy(bytes, third + 14);
    await fsp.writeFile(log, bytes);
    const store = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.match(store.notices.join('\n'), new RegExp(`${path.basename(log)} .* had \\d+ damaged bytes`));
    // The 3rd record was row-21's start; its finish (4th record) still records it.
    assert.equal((await store.getTask('row-21'))?.status, 'success');
    assert.equal(await store.countTasks(), 25);
    await store.close();
    await cleanup();
  });

  test('a log file of pure garbage and a zero-byte log', async () => {
    const { dir, cleanup } = await seededStore();
    const log = await currentLog(dir);
    const seq = Number(path.basename(log).split('.')[1]);
    await fsp.writeFile(path.join(dir, logFileName(seq + 1)), Buffer.alloc(0));
    await fsp.writeFile(path.join(dir, logFileName(seq + 2)), randomBytes(5000));
    const store = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal(await store.countTasks(), 25);
    await store.startTask({ ...sampleTask(1), id: 'works' });
    await store.close();
    const again = await TaskStore.open({ rotationGraceMs: 0, dir });
    assert.equal((await again.getTask('works'))?.status, 'running');
    await again.close();
    await cleanup();
  });
});
