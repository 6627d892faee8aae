import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NOT_A_REPOSITORY, snapshotRef } from '../../src/core/gitSnapshot';
import { changeRange, diffPatch, listChanges, readBlob, revertFile, type ChangedFile } from '../../src/core/runChanges';
import { dropSnapshotsOf } from '../../src/core/runSnapshots';
import { TaskRunner, type TaskSpec } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';
import { changeScript, gitSync, makeRepo, writeFiles } from '../helpers/gitRepo';
import { makeTempDir } from '../helpers/tempDir';
import { waitFor } from '../helpers/waitFor';

/**
 * A run's git snapshots (runSnapshots.ts) through the real runner and store, in real temporary
 * repositories: what it changed, exactly; the user's index, stash and HEAD untouched.
 */

interface Fixture {
  dir: string;
  store: TaskStore;
  runner: TaskRunner;
}

async function setup(t: TestContext): Promise<Fixture> {
  const { dir, cleanup } = await makeTempDir('agent-tasks-snapshots-');
  const store = await TaskStore.open({ dir: path.join(dir, 'store'), rotationGraceMs: 0 });
  const runner = new TaskRunner(store, {});
  t.after(async () => {
    runner.dispose();
    await store.close();
    await cleanup();
  });
  return { dir, store, runner };
}

/** Runs `body` (see changeScript) in `repo` as a task and returns its finished row. */
async function runChange(f: Fixture, repo: string, body: string, extra: Partial<TaskSpec> = {}): Promise<TaskRow> {
  const id = randomUUID();
  const task = await f.runner.start({ id, name: 'change files', command: process.execPath, args: ['-e', changeScript(repo, id, body)], cwd: repo, ...extra });
  const row = await task.done;
  assert.equal(row.status, 'success', row.error ?? '');
  return row;
}

async function changesOf(row: TaskRow): Promise<ChangedFile[]> {
  const range = await changeRange(row.git, { allowSnapshotNow: false });
  assert.ok(range.ok, range.ok ? '' : range.reason);
  return listChanges(range.root, range.from.tree, range.to.tree);
}

const brief = (files: ChangedFile[]) => files.map((f) => ({ path: f.path, status: f.status, insertions: f.insertions, deletions: f.deletions, old_path: f.old_path }));

const LONG = Array.from({ length: 30 }, (_, i) => `line ${i} of a file long enough for rename detection`).join('\n') + '\n';

test('a run that modifies, adds, deletes and renames files lists exactly those, with their counts; the user index, stash and HEAD are untouched', async (t) => {
  const f = await setup(t);
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'a.txt': 'one\ntwo\nthree\n', 'c.txt': LONG, 'd.txt': 'x\ny\n', 'e.txt': 'staged before\n', 'f.txt': 'stashed before\n' });
  // The user's own work in progress: a stash entry and a staged change.
  await fsp.writeFile(path.join(repo, 'f.txt'), 'stashed change\n');
  gitSync(repo, 'stash', '-q');
  await fsp.writeFile(path.join(repo, 'e.txt'), 'staged change\n');
  gitSync(repo, 'add', 'e.txt');
  const before = { log: gitSync(repo, 'log', '--all', '--format=%H'), cached: gitSync(repo, 'diff', '--cached'), stash: gitSync(repo, 'stash', 'list'), head: gitSync(repo, 'rev-parse', 'HEAD'), index: await fsp.readFile(path.join(repo, '.git', 'index')) };

  const row = await runChange(
    f,
    repo,
    `fs.writeFileSync('a.txt', 'one\\nTWO\\nthree\\nfour\\n');
     fs.writeFileSync('new.txt', 'n1\\nn2\\n');
     fs.unlinkSync('d.txt');
     fs.renameSync('c.txt', 'c2.txt');`,
  );
  assert.equal(row.git?.unavailable, null);
  assert.equal(row.git?.root, await fsp.realpath(repo));
  assert.equal(row.git?.start?.head, before.head);
  assert.equal(row.git?.end?.head, before.head);
  assert.deepEqual(brief(await changesOf(row)), [
    { path: 'a.txt', status: 'modified', insertions: 2, deletions: 1, old_path: null },
    { path: 'c2.txt', status: 'renamed', insertions: 0, deletions: 0, old_path: 'c.txt' },
    { path: 'd.txt', status: 'deleted', insertions: 0, deletions: 2, old_path: null },
    { path: 'new.txt', status: 'added', insertions: 2, deletions: 0, old_path: null },
  ]);
  // The user's staged change is in both snapshots, so it is not the run's.
  assert.equal(gitSync(repo, 'diff', '--cached'), before.cached);
  assert.equal(gitSync(repo, 'stash', 'list'), before.stash);
  assert.equal(gitSync(repo, 'rev-parse', 'HEAD'), before.head);
  assert.deepEqual(await fsp.readFile(path.join(repo, '.git', 'index')), before.index, 'the index file is not even rewritten');
  // Refs keep both trees; they are trees, so `git log --all` does not list them.
  assert.equal(gitSync(repo, 'rev-parse', snapshotRef(row.id, 'start')), row.git?.start?.tree);
  assert.equal(gitSync(repo, 'rev-parse', snapshotRef(row.id, 'end')), row.git?.end?.tree);
  assert.equal(gitSync(repo, 'log', '--all', '--format=%H'), before.log);
  // The diff of one path, and the content at either end.
  const patch = (await diffPatch(row.git!.root!, row.git!.start!.tree, row.git!.end!.tree, ['a.txt'])).toString('utf8');
  assert.match(patch, /^-two\n\+TWO\n three\n\+four$/m);
  assert.doesNotMatch(patch, /new\.txt/);
  assert.equal(String(await readBlob(row.git!.root!, row.git!.start!.tree, 'a.txt')), 'one\ntwo\nthree\n');
  assert.equal(await readBlob(row.git!.root!, row.git!.start!.tree, 'new.txt'), 'absent');
  // And the row as the journal holds it (another process reading the store).
  const reread = await TaskStore.open({ dir: path.join(f.dir, 'store'), rotationGraceMs: 0 });
  t.after(() => reread.close());
  assert.deepEqual((await reread.getTask(row.id))?.git, row.git);
});

test('binary files, names with spaces and non-ASCII letters, and a file over 50 MB (listed, its diff not loaded)', async (t) => {
  const f = await setup(t);
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'image.bin': Buffer.from([0, 1, 2, 3, 0, 255]), 'keep.txt': 'k\n' });
  const row = await runChange(
    f,
    repo,
    `fs.writeFileSync('image.bin', Buffer.from([0, 1, 2, 4, 0, 254, 0]));
     fs.writeFileSync('file with spaces.txt', 'a\\n');
     fs.mkdirSync('dossier été');
     fs.writeFileSync(path.join('dossier été', 'ünïcödé ✓.txt'), 'b\\nc\\n');
     fs.writeFileSync('huge.log', Buffer.alloc(51 * 1024 * 1024, 'x\\n'));`,
  );
  const files = await changesOf(row);
  assert.deepEqual(brief(files), [
    { path: 'dossier été/ünïcödé ✓.txt', status: 'added', insertions: 2, deletions: 0, old_path: null },
    { path: 'file with spaces.txt', status: 'added', insertions: 1, deletions: 0, old_path: null },
    { path: 'huge.log', status: 'added', insertions: null, deletions: null, old_path: null },
    { path: 'image.bin', status: 'modified', insertions: null, deletions: null, old_path: null },
  ]);
  assert.deepEqual(files.filter((c) => c.binary).map((c) => c.path), ['huge.log', 'image.bin']);
  assert.equal(await readBlob(row.git!.root!, row.git!.end!.tree, 'huge.log'), 'too-large');
});

test('a repository with no commit yet: the snapshots still hold the run\'s changes (HEAD null)', async (t) => {
  const f = await setup(t);
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'draft.txt': 'untracked\n' }, { commit: false });
  const row = await runChange(f, repo, `fs.writeFileSync('made.txt', 'm\\n'); fs.appendFileSync('draft.txt', 'more\\n');`);
  assert.equal(row.git?.start?.head, null);
  assert.deepEqual(brief(await changesOf(row)), [
    { path: 'draft.txt', status: 'modified', insertions: 1, deletions: 0, old_path: null },
    { path: 'made.txt', status: 'added', insertions: 1, deletions: 0, old_path: null },
  ]);
});

test('a submodule the run moved to a new commit is listed as modified; files of the superproject as usual', async (t) => {
  const f = await setup(t);
  const lib = await makeRepo(path.join(f.dir, 'lib'), { 'lib.txt': 'v1\n' });
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'app.txt': 'app\n' });
  gitSync(repo, '-c', 'protocol.file.allow=always', 'submodule', '-q', 'add', lib, 'lib');
  gitSync(repo, 'commit', '-q', '-m', 'add lib');
  const row = await runChange(
    f,
    repo,
    `fs.writeFileSync(path.join('lib', 'lib.txt'), 'v2\\n');
     cp.execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@e', 'commit', '-qam', 'v2'], { cwd: 'lib' });
     fs.writeFileSync('app.txt', 'app 2\\n');`,
  );
  const files = await changesOf(row);
  assert.deepEqual(files.map((c) => [c.path, c.status]), [['app.txt', 'modified'], ['lib', 'modified']]);
});

test('no snapshots outside a git repository, nor when the caller forbids git (Restricted Mode): the row says why', async (t) => {
  const f = await setup(t);
  const plain = path.join(f.dir, 'plain');
  await fsp.mkdir(plain);
  const outside = await (await f.runner.start({ name: 'no repo', command: process.execPath, args: ['-e', ''], cwd: plain })).done;
  assert.deepEqual(outside.git, { root: null, start: null, end: null, unavailable: NOT_A_REPOSITORY, worktree: null });
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'a.txt': 'a\n' });
  const restricted = await (await f.runner.start({ name: 'restricted', command: process.execPath, args: ['-e', ''], cwd: repo, snapshots: { take: false, reason: 'git is not run in Restricted Mode' } })).done;
  assert.equal(restricted.git?.unavailable, 'git is not run in Restricted Mode');
  assert.equal(gitSync(repo, 'for-each-ref', 'refs/agent-tasks'), '', 'git never ran for it');
  const range = await changeRange(restricted.git, { allowSnapshotNow: true });
  assert.deepEqual(range, { ok: false, reason: 'git is not run in Restricted Mode' });
});

test('a live run shows its changes so far, from a snapshot taken on demand', async (t) => {
  const f = await setup(t);
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'a.txt': 'a\n' });
  const id = randomUUID();
  const task = await f.runner.start({ id, name: 'slow', command: process.execPath, args: ['-e', changeScript(repo, id, `fs.writeFileSync('a.txt', 'b\\n'); fs.writeFileSync('written', ''); setTimeout(() => {}, 60000)`)], cwd: repo });
  await waitFor('the first write', () => fsp.access(path.join(repo, 'written')).then(() => true, () => false));
  const row = await waitFor('the start snapshot in the row', async () => ((await f.store.getTask(id))?.git?.start ? f.store.getTask(id) : undefined));
  assert.equal(row?.status, 'running');
  assert.deepEqual(await changeRange(row!.git, { allowSnapshotNow: false }), { ok: false, reason: 'no end snapshot, and git may not run here (Restricted Mode)' });
  const range = await changeRange(row!.git, { allowSnapshotNow: true });
  assert.ok(range.ok && range.live);
  assert.deepEqual((await listChanges(range.root, range.from.tree, range.to.tree)).map((c) => c.path), ['a.txt', 'written']);
  await f.runner.cancel(task.id, { graceMs: 0 });
  const ended = await task.done;
  assert.equal(ended.status, 'cancelled');
  assert.ok(ended.git?.end, 'a cancelled run gets its end snapshot too');
});

test('Revert File puts the start version back only while the file is still what the run left', async (t) => {
  const f = await setup(t);
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'a.txt': 'a\n', 'b.txt': 'b\n', 'gone.txt': 'g\n' });
  const row = await runChange(f, repo, `fs.writeFileSync('a.txt', 'A\\n'); fs.writeFileSync('b.txt', 'B\\n'); fs.writeFileSync('added.txt', 'new\\n'); fs.unlinkSync('gone.txt');`);
  const { root, start, end } = row.git!;
  assert.deepEqual(await revertFile(root!, start!.tree, end!.tree, 'a.txt'), { ok: true, action: 'restored' });
  assert.equal(await fsp.readFile(path.join(repo, 'a.txt'), 'utf8'), 'a\n');
  assert.deepEqual(await revertFile(root!, start!.tree, end!.tree, 'added.txt'), { ok: true, action: 'deleted' });
  assert.deepEqual(await revertFile(root!, start!.tree, end!.tree, 'gone.txt'), { ok: true, action: 'restored' });
  assert.equal(await fsp.readFile(path.join(repo, 'gone.txt'), 'utf8'), 'g\n');
  // Edited after the run: refused, and the edit is kept.
  await writeFiles(repo, { 'b.txt': 'B and my edit\n' });
  const refused = await revertFile(root!, start!.tree, end!.tree, 'b.txt');
  assert.deepEqual(refused, { ok: false, reason: 'b.txt was changed after the run ended' });
  assert.equal(await fsp.readFile(path.join(repo, 'b.txt'), 'utf8'), 'B and my edit\n');
  assert.equal((await revertFile(root!, start!.tree, end!.tree, '../outside')).ok, false);
});

test('clearing the history removes the refs that kept its snapshots', async (t) => {
  const f = await setup(t);
  const repo = await makeRepo(path.join(f.dir, 'repo'), { 'a.txt': 'a\n' });
  const row = await runChange(f, repo, `fs.writeFileSync('a.txt', 'b\\n')`);
  assert.notEqual(gitSync(repo, 'for-each-ref', 'refs/agent-tasks'), '');
  const removed = new Promise<readonly { id: string; snapshotRoot: string | null }[]>((resolve) => f.store.onDidRemoveSnapshots(resolve));
  await f.store.clearHistory();
  const gone = await removed;
  assert.deepEqual(gone.map((r) => r.id), [row.id]);
  await dropSnapshotsOf(gone, (m) => assert.fail(m));
  assert.equal(gitSync(repo, 'for-each-ref', 'refs/agent-tasks'), '');
});
