import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadSnapshot, SNAPSHOT_NAME, SNAPSHOT_SUM_NAME } from '../../src/core/snapshot';
import { loadSqlJs } from '../../src/core/sqlite';
import { TaskStore } from '../../src/core/taskStore';
import { makeTempDir, sampleTask } from '../helpers/tempDir';

/** A store with a compacted snapshot of `n` finished rows. */
async function compactedStore(n: number): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const temp = await makeTempDir();
  const store = await TaskStore.open({ dir: temp.dir, rotationGraceMs: 0 });
  for (let i = 0; i < n; i++) {
    await store.startTask({ ...sampleTask(i), id: `t-${i}` });
    await store.finishTask(`t-${i}`, { status: 'success', exit_code: 0 });
  }
  await store.compact();
  await store.close();
  return temp;
}

async function countRows(dir: string): Promise<number> {
  const store = await TaskStore.open({ dir, readOnly: true });
  try {
    return await store.countTasks({ includeRunning: true });
  } finally {
    await store.close();
  }
}

test("a compaction writes the snapshot's sum; an open that finds it matching skips SQLite's check", async () => {
  const { dir, cleanup } = await compactedStore(20);
  try {
    const sum = JSON.parse(await fsp.readFile(path.join(dir, SNAPSHOT_SUM_NAME), 'utf8'));
    assert.equal(sum.v, 1);
    assert.equal(sum.size, (await fsp.stat(path.join(dir, SNAPSHOT_NAME))).size);
    assert.equal(((await fsp.stat(path.join(dir, SNAPSHOT_SUM_NAME))).mode & 0o777).toString(8), '600');
    const snap = await loadSnapshot(await loadSqlJs(), dir, { readOnly: true });
    assert.equal(snap.verifiedBy, 'sum');
    snap.db.close();
  } finally {
    await cleanup();
  }
});

for (const [name, damage] of [
  ['missing', (file: string) => fsp.rm(file)],
  ['empty', (file: string) => fsp.writeFile(file, '')],
  ['random bytes', (file: string) => fsp.writeFile(file, Buffer.from([0xff, 0x00, 0x7b, 0x22]))],
  ['stale (another size and checksum)', (file: string) => fsp.writeFile(file, JSON.stringify({ v: 1, size: 4096, crc32: 1 }))],
  ['a symbolic link', async (file: string) => (await fsp.rm(file), fsp.symlink('/etc/hostname', file))],
] as const) {
  test(`a sum file that is ${name} only means the check runs: every row, no notice`, async () => {
    const { dir, cleanup } = await compactedStore(12);
    try {
      await damage(path.join(dir, SNAPSHOT_SUM_NAME));
      const snap = await loadSnapshot(await loadSqlJs(), dir, { readOnly: true });
      assert.equal(snap.verifiedBy, 'quick_check');
      assert.equal(snap.damage, undefined);
      snap.db.close();
      assert.equal(await countRows(dir), 12);
    } finally {
      await cleanup();
    }
  });
}

test('a snapshot damaged after its sum was written is found damaged (the sum no longer matches)', async () => {
  const { dir, cleanup } = await compactedStore(30);
  try {
    const file = path.join(dir, SNAPSHOT_NAME);
    const bytes = await fsp.readFile(file);
    const mid = Math.floor(bytes.length / 2);
    for (let i = 0; i < 8; i++) bytes[mid + i] ^= 0xff;
    await fsp.writeFile(file, bytes);
    const snap = await loadSnapshot(await loadSqlJs(), dir, { readOnly: true });
    assert.notEqual(snap.verifiedBy, 'sum');
    snap.db.close();
  } finally {
    await cleanup();
  }
});
