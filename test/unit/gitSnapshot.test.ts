import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { findWorkTree, takeSnapshot } from '../../src/core/gitSnapshot';
import { readBlob } from '../../src/core/runChanges';
import { gitSync, makeRepo } from '../helpers/gitRepo';
import { makeTempDir } from '../helpers/tempDir';

/** takeSnapshot on its own, in real temporary repositories: what it reads from the user's index. */

test('a file changed in the same clock tick as the index was written (racily clean) is in the snapshot as `git status` shows it', async (t) => {
  const { dir, cleanup } = await makeTempDir('agent-tasks-racy-');
  t.after(cleanup);
  const repo = await makeRepo(path.join(dir, 'repo'), { 'a.txt': 'aaaa\n' });
  // A ctime cannot be set from here; without this, whether git sees the edit below through the
  // ctime would depend on the clock tick the test happens to run in.
  gitSync(repo, 'config', 'core.trustctime', 'false');
  const index = path.join(repo, '.git', 'index');
  // One second, whole (exact through utimes): the file's recorded mtime, the index's own mtime,
  // and the mtime of the file after its same-size edit, as when all three happen within one tick.
  const tick = Math.floor(Date.now() / 1000) - 100;
  await fsp.utimes(path.join(repo, 'a.txt'), tick, tick);
  gitSync(repo, 'update-index', '--refresh');
  await fsp.utimes(index, tick, tick);
  await fsp.writeFile(path.join(repo, 'a.txt'), 'bbbb\n');
  await fsp.utimes(path.join(repo, 'a.txt'), tick, tick);
  const indexBefore = await fsp.readFile(index);
  assert.equal(gitSync(repo, '--no-optional-locks', 'status', '--porcelain'), 'M a.txt', 'git re-reads the racily clean entry');

  const work = await findWorkTree(repo);
  assert.ok(!('unavailable' in work));
  const snapshot = await takeSnapshot(work);
  assert.equal(String(await readBlob(work.root, snapshot.tree, 'a.txt')), 'bbbb\n');
  assert.deepEqual(await fsp.readFile(index), indexBefore, "the user's index is not rewritten");
  assert.equal((await fsp.stat(index)).mtimeMs, tick * 1000);
});
