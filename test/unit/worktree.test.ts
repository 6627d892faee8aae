/**
 * Opt-in worktree isolation (src/core/worktree.ts), in real temporary git repositories through
 * the real TaskRunner and TaskStore: a run in its own worktree, its changes applied to the main
 * work tree (or refused, naming the conflicting files), and the worktree removed with its branch.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunWorktree } from '../../src/core/gitSnapshot';
import { TaskRunner } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';
import {
  applyRunToWorkspace,
  createRunWorktree,
  defaultWorktreesDir,
  parseApplyConflicts,
  removeRunWorktree,
  repoWorktreesFolder,
  runBranchName,
  slugify,
  unquoteGitPath,
  worktreeFolderFor,
} from '../../src/core/worktree';
import { waitFor } from '../helpers/waitFor';

const GIT_ENV_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR'];

/** git in a test: a fixed identity, no signing, and nothing inherited that points elsewhere. */
function gitSync(cwd: string, args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.com', LC_ALL: 'C' };
  for (const k of GIT_ENV_VARS) delete env[k];
  return execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Fixture {
  dir: string;
  repo: string;
  worktrees: string;
  store: TaskStore;
  runner: TaskRunner;
}

async function setup(t: TestContext, options: { commit?: boolean; git?: boolean } = {}): Promise<Fixture> {
  // Canonical: git reports work trees by their real path (macOS's /tmp is a symlink).
  const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-worktree-')));
  const repo = path.join(dir, 'my repo');
  await fsp.mkdir(path.join(repo, 'sub'), { recursive: true });
  if (options.git !== false) {
    gitSync(repo, ['init', '-q']);
    await fsp.writeFile(path.join(repo, 'a.txt'), 'one\ntwo\nthree\n');
    await fsp.writeFile(path.join(repo, 'gone.txt'), 'to be deleted\n');
    await fsp.writeFile(path.join(repo, 'sub', 'keep.txt'), 'kept\n');
    await fsp.writeFile(path.join(repo, 'image.bin'), Buffer.from([0, 1, 2, 3, 255, 0]));
    if (options.commit !== false) {
      gitSync(repo, ['add', '-A']);
      gitSync(repo, ['commit', '-q', '-m', 'init']);
    }
  }
  const store = await TaskStore.open({ dir: path.join(dir, 'store'), rotationGraceMs: 0 });
  const runner = new TaskRunner(store);
  t.after(async () => {
    runner.dispose();
    await store.close();
    // The worktrees are registered in the repository, which goes with them.
    await fsp.rm(dir, { recursive: true, force: true });
  });
  return { dir, repo, worktrees: path.join(dir, 'worktrees'), store, runner };
}

/** What a run does to its folder, once its start snapshot is recorded. */
interface Edits {
  write?: Record<string, string>;
  latin1?: Record<string, string>;
  bytes?: Record<string, number[]>;
  remove?: string[];
}

/**
 * Waits for the release file, then makes the edits in its cwd. (The start snapshot is taken
 * concurrently with the spawn: edits made before it is recorded would not show as changes.)
 */
const EDITOR_SCRIPT = [
  "const fs = require('node:fs'), path = require('node:path');",
  'const [release, json] = process.argv.slice(1);',
  'const edits = JSON.parse(json);',
  'const timer = setInterval(() => {',
  '  if (!fs.existsSync(release)) return;',
  '  clearInterval(timer);',
  "  const put = (f, data, enc) => { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, data, enc); };",
  "  for (const [f, text] of Object.entries(edits.write ?? {})) put(f, text, 'utf8');",
  "  for (const [f, text] of Object.entries(edits.latin1 ?? {})) put(f, text, 'latin1');",
  '  for (const [f, bytes] of Object.entries(edits.bytes ?? {})) put(f, Buffer.from(bytes));',
  '  for (const f of edits.remove ?? []) fs.rmSync(f);',
  "  process.stdout.write('edited ' + process.cwd() + '\\n');",
  '}, 20);',
].join('\n');

/** A run in a new worktree of `fx.repo` (or of `from`), making `edits`; resolves with its finished row. */
async function runInWorktree(fx: Fixture, edits: Edits, options: { from?: string; name?: string } = {}): Promise<{ row: TaskRow; worktree: RunWorktree; cwd: string }> {
  const id = randomUUID();
  const name = options.name ?? 'Fix the flaky test';
  const created = await createRunWorktree({ cwd: options.from ?? fx.repo, name, taskId: id, worktreesDir: fx.worktrees });
  assert.ok(created.ok, created.ok ? '' : created.reason);
  const release = path.join(fx.dir, `release-${id}`);
  const task = await fx.runner.start({
    id,
    name,
    command: process.execPath,
    args: ['-e', EDITOR_SCRIPT, release, JSON.stringify(edits)],
    cwd: created.cwd,
    workspace: fx.repo,
    worktree: created.worktree,
  });
  await waitFor('the start snapshot', async () => (await fx.store.getTask(id))?.git?.start ?? undefined);
  await fsp.writeFile(release, '');
  const row = await task.done;
  assert.equal(row.status, 'success', row.error ?? '');
  return { row, worktree: created.worktree, cwd: created.cwd };
}

/** The main work tree's files and git's view of it, to show that something left it alone. */
async function mainTreeState(repo: string): Promise<{ status: string; head: string; branch: string; files: Record<string, string> }> {
  const files: Record<string, string> = {};
  for (const e of await fsp.readdir(repo, { withFileTypes: true, recursive: true })) {
    const full = path.join(e.parentPath ?? e.path, e.name);
    if (e.isFile() && !full.includes(`${path.sep}.git${path.sep}`)) files[path.relative(repo, full)] = (await fsp.readFile(full)).toString('base64');
  }
  return {
    status: gitSync(repo, ['status', '--porcelain', '--untracked-files=all']),
    head: gitSync(repo, ['rev-parse', 'HEAD']).trim(),
    branch: gitSync(repo, ['symbolic-ref', '--short', 'HEAD']).trim(),
    files,
  };
}

function branchExists(repo: string, branch: string): boolean {
  try {
    gitSync(repo, ['rev-parse', '--verify', '-q', `refs/heads/${branch}`]);
    return true;
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(() => true, () => false);
}

test('names: a slug of the task name and the first 8 of its id make a valid branch; folders per repository', () => {
  assert.equal(slugify('Fix the flaky test!'), 'fix-the-flaky-test');
  assert.equal(slugify('  --Café: über ÆSIR..lock  '), 'cafe-uber-sir-lock');
  assert.equal(slugify('../../etc/passwd'), 'etc-passwd');
  assert.equal(slugify('日本語'), 'run');
  assert.equal(slugify(''), 'run');
  const long = slugify('a'.repeat(39) + ' b c');
  assert.equal(long, 'a'.repeat(39), 'at most 40 characters, no trailing dash');
  assert.ok(slugify('x'.repeat(100)).length <= 40);
  assert.equal(runBranchName('Fix the flaky test', '6F1C2D3E-4a5b-4c6d-8e7f-901a2b3c4d5e'), 'agent-tasks/fix-the-flaky-test-6f1c2d3e');
  const base = path.join(os.tmpdir(), 'wt');
  const one = repoWorktreesFolder(base, '/home/dev/project');
  assert.match(path.basename(one), /^project-[0-9a-f]{8}$/);
  assert.notEqual(one, repoWorktreesFolder(base, '/home/other/project'), 'two clones with one name do not share a folder');
  assert.equal(defaultWorktreesDir({ AGENT_TASKS_WORKTREES: '/var/wt' }), path.resolve('/var/wt'));
  assert.equal(defaultWorktreesDir({}), path.join(os.homedir(), '.agent-tasks', 'worktrees'));
  const wt: RunWorktree = { path: '/w/t', branch: 'agent-tasks/x-12345678', repo: '/r', base: 'abc' };
  assert.equal(worktreeFolderFor(wt, '/r/packages/web'), path.join('/w/t', 'packages/web'));
  assert.equal(worktreeFolderFor(wt, '/r'), '/w/t');
  assert.equal(worktreeFolderFor(wt, '/elsewhere'), '/w/t');
});

test('conflicts are read from git apply\'s messages, each file once', () => {
  const stderr = [
    "error: the patch applies to 'b.bin' (cfd533bc0dd4437e51ffdb2febf6303b581c0762), which does not match the current contents.",
    'error: b.bin: patch does not apply',
    'error: patch failed: del.txt:1',
    'error: del.txt: patch does not apply',
    'error: patch failed: dir/f: x.txt:12',
    'error: dir/f: x.txt: patch does not apply',
    'error: n e w.txt: already exists in working directory',
    'error: missing.txt: No such file or directory',
    'error: link has type 100644, expected 120000',
    'error: "t\\303\\251st\\tx": already exists in working directory',
    'warning: something else',
    'Checking patch a.txt...',
  ].join('\n');
  assert.deepEqual(parseApplyConflicts(stderr), ['b.bin', 'del.txt', 'dir/f: x.txt', 'n e w.txt', 'missing.txt', 'link', 'tést\tx']);
  assert.deepEqual(parseApplyConflicts('error: corrupt patch at line 3\n'), []);
  assert.equal(unquoteGitPath('plain name'), 'plain name');
  assert.equal(unquoteGitPath('"a\\"b\\\\c"'), 'a"b\\c');
});

test('a run in a new worktree: its branch exists, it works there, the row records it, and the main work tree is untouched', async (t) => {
  const fx = await setup(t);
  const before = await mainTreeState(fx.repo);
  const { row, worktree, cwd } = await runInWorktree(fx, { write: { 'keep.txt': 'changed\n', 'new.txt': 'new\n' }, remove: ['../gone.txt'] }, { from: path.join(fx.repo, 'sub') });

  assert.match(worktree.branch, new RegExp(`^agent-tasks/fix-the-flaky-test-${row.id.slice(0, 8)}$`));
  assert.ok(branchExists(fx.repo, worktree.branch));
  assert.equal(worktree.repo, fx.repo);
  assert.equal(worktree.base, before.head);
  assert.equal(path.dirname(path.dirname(worktree.path)), fx.worktrees);
  assert.match(path.basename(path.dirname(worktree.path)), /^my-repo-[0-9a-f]{8}$/);
  assert.equal(path.basename(worktree.path), `fix-the-flaky-test-${row.id.slice(0, 8)}`);
  if (process.platform !== 'win32') assert.equal((await fsp.stat(path.dirname(worktree.path))).mode & 0o777, 0o700);
  assert.equal(cwd, path.join(worktree.path, 'sub'), 'the run works in the same subfolder, inside the worktree');
  assert.equal(row.cwd, cwd);
  assert.deepEqual(row.git?.worktree, worktree);
  assert.equal(row.git?.root, worktree.path);
  assert.ok(row.git?.start && row.git.end);
  assert.match(gitSync(fx.repo, ['worktree', 'list', '--porcelain']), new RegExp(`branch refs/heads/${worktree.branch}`));

  // The edits (made in sub/) are in the worktree…
  assert.equal(await fsp.readFile(path.join(cwd, 'keep.txt'), 'utf8'), 'changed\n');
  assert.equal(await fsp.readFile(path.join(cwd, 'new.txt'), 'utf8'), 'new\n');
  assert.equal(await exists(path.join(worktree.path, 'gone.txt')), false);
  assert.equal(await fsp.readFile(path.join(worktree.path, 'a.txt'), 'utf8'), 'one\ntwo\nthree\n', 'a checkout of HEAD');
  // …and nowhere in the main work tree: its files, status, HEAD and branch are as they were.
  assert.deepEqual(await mainTreeState(fx.repo), before);
});

test('AGENT_TASKS_WORKTREES chooses where worktrees go when no folder is given', async (t) => {
  const fx = await setup(t);
  const saved = process.env.AGENT_TASKS_WORKTREES;
  process.env.AGENT_TASKS_WORKTREES = path.join(fx.dir, 'from-env');
  t.after(() => {
    if (saved === undefined) delete process.env.AGENT_TASKS_WORKTREES;
    else process.env.AGENT_TASKS_WORKTREES = saved;
  });
  const created = await createRunWorktree({ cwd: fx.repo, name: 'x', taskId: randomUUID() });
  assert.ok(created.ok, created.ok ? '' : created.reason);
  assert.equal(path.dirname(path.dirname(created.worktree.path)), path.join(fx.dir, 'from-env'));
  assert.equal(created.cwd, created.worktree.path);
});

test('Apply brings the run\'s changes into the main work tree (edits, new, deleted, binary and Latin-1 files), not into its index', async (t) => {
  const fx = await setup(t);
  const { row } = await runInWorktree(fx, {
    write: { 'a.txt': 'one\nTWO\nthree\n', 'dir/new file.txt': 'new\n' },
    latin1: { 'latin1.txt': 'caf\u00e9 cr\u00e8me\n' },
    bytes: { 'image.bin': [0, 1, 2, 3, 254, 0, 7] },
    remove: ['gone.txt'],
  });
  const indexBefore = gitSync(fx.repo, ['ls-files', '-s']);
  const applied = await applyRunToWorkspace(row);
  assert.deepEqual(applied, { ok: true, files: ['a.txt', 'dir/new file.txt', 'gone.txt', 'image.bin', 'latin1.txt'] });
  assert.equal(await fsp.readFile(path.join(fx.repo, 'a.txt'), 'utf8'), 'one\nTWO\nthree\n');
  assert.equal(await fsp.readFile(path.join(fx.repo, 'dir/new file.txt'), 'utf8'), 'new\n');
  assert.deepEqual(await fsp.readFile(path.join(fx.repo, 'latin1.txt')), Buffer.from('caf\u00e9 cr\u00e8me\n', 'latin1'), 'the bytes, not their UTF-8 decoding');
  assert.deepEqual([...(await fsp.readFile(path.join(fx.repo, 'image.bin')))], [0, 1, 2, 3, 254, 0, 7]);
  assert.equal(await exists(path.join(fx.repo, 'gone.txt')), false);
  assert.equal(gitSync(fx.repo, ['ls-files', '-s']), indexBefore, 'the index is as the user had it');

  // A run that changed nothing has nothing to apply.
  const idle = await runInWorktree(fx, {});
  assert.deepEqual(await applyRunToWorkspace(idle.row), { ok: true, files: [] });
});

test('Apply is refused, naming the conflicting files, when the main work tree changed them; nothing is written', async (t) => {
  const fx = await setup(t);
  const { row } = await runInWorktree(fx, { write: { 'a.txt': 'one\nTWO\nthree\n', 'clean.txt': 'would be new\n', 'taken.txt': 'mine\n' } });
  await fsp.writeFile(path.join(fx.repo, 'a.txt'), 'one\nZWEI\nthree\n');
  await fsp.writeFile(path.join(fx.repo, 'taken.txt'), 'the user\'s\n');
  const before = await mainTreeState(fx.repo);
  const refused = await applyRunToWorkspace(row);
  assert.equal(refused.ok, false);
  if (refused.ok) return;
  assert.deepEqual(refused.conflicts, ['a.txt', 'taken.txt']);
  assert.match(refused.reason, /2 files conflict: a\.txt, taken\.txt/);
  assert.match(refused.reason, /Nothing was changed\./);
  assert.deepEqual(await mainTreeState(fx.repo), before, 'not even the file without a conflict was added');
});

test('Apply of a run whose end snapshot is missing (interrupted) takes the worktree as it is now; a run without a worktree is refused', async (t) => {
  const fx = await setup(t);
  const { row } = await runInWorktree(fx, { write: { 'a.txt': 'one\nTWO\nthree\n' } });
  // As if its owner died before the end snapshot: the worktree still holds what it did.
  const interrupted: TaskRow = { ...row, status: 'interrupted', git: { ...row.git!, end: null } };
  assert.deepEqual(await applyRunToWorkspace(interrupted), { ok: true, files: ['a.txt'] });
  assert.equal(await fsp.readFile(path.join(fx.repo, 'a.txt'), 'utf8'), 'one\nTWO\nthree\n');

  const plain: TaskRow = { ...row, git: { ...row.git!, worktree: null } };
  const refused = await applyRunToWorkspace(plain);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.reason, /did not work in a worktree/);
});

test('Remove: gone with its branch once its changes are applied; refused while unapplied or unmerged, then forced', async (t) => {
  const fx = await setup(t);

  // Applied, then removed without force.
  const applied = await runInWorktree(fx, { write: { 'a.txt': 'one\nTWO\nthree\n', 'new.txt': 'n\n' }, remove: ['gone.txt'] });
  assert.equal((await applyRunToWorkspace(applied.row)).ok, true);
  assert.deepEqual(await removeRunWorktree(applied.row, { force: false }), { ok: true });
  assert.equal(await exists(applied.worktree.path), false);
  assert.equal(branchExists(fx.repo, applied.worktree.branch), false);
  assert.doesNotMatch(gitSync(fx.repo, ['worktree', 'list']), new RegExp(applied.worktree.branch));

  // Not applied: refused, naming the files.
  const pending = await runInWorktree(fx, { write: { 'b.txt': 'b\n', 'sub/keep.txt': 'changed\n' } });
  const refused = await removeRunWorktree(pending.row, { force: false });
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.unmerged, true);
  assert.match(refused.ok ? '' : refused.reason, /2 files differ from the workspace \(changes not applied\): b\.txt, sub\/keep\.txt/);
  assert.equal(await exists(pending.worktree.path), true, 'nothing was removed');
  assert.ok(branchExists(fx.repo, pending.worktree.branch));

  // A commit on the branch that HEAD does not have: refused too, even with a clean worktree.
  gitSync(pending.worktree.path, ['add', '-A']);
  gitSync(pending.worktree.path, ['commit', '-q', '-m', 'agent work']);
  const unmerged = await removeRunWorktree(pending.row, {});
  assert.equal(unmerged.ok, false);
  assert.equal(!unmerged.ok && unmerged.unmerged, true);
  assert.match(unmerged.ok ? '' : unmerged.reason, new RegExp(`the branch ${pending.worktree.branch} has 1 commit that HEAD of .* does not have`));

  // Forced: gone, branch and all; the main work tree never saw any of it.
  assert.deepEqual(await removeRunWorktree(pending.row, { force: true }), { ok: true });
  assert.equal(await exists(pending.worktree.path), false);
  assert.equal(branchExists(fx.repo, pending.worktree.branch), false);
  assert.equal(await exists(path.join(fx.repo, 'b.txt')), false);
  assert.equal(await exists(path.dirname(pending.worktree.path)), false, 'the repository\'s empty worktrees folder goes too');
});

test('Remove: a branch merged into HEAD is not "unmerged"; a worktree deleted by hand is pruned; a live run is refused', async (t) => {
  const fx = await setup(t);
  const merged = await runInWorktree(fx, { write: { 'm.txt': 'm\n' } });
  gitSync(merged.worktree.path, ['add', '-A']);
  gitSync(merged.worktree.path, ['commit', '-q', '-m', 'agent work']);
  gitSync(fx.repo, ['merge', '-q', '--ff-only', merged.worktree.branch]);
  assert.deepEqual(await removeRunWorktree(merged.row, {}), { ok: true });
  assert.equal(branchExists(fx.repo, merged.worktree.branch), false);

  const byHand = await runInWorktree(fx, { write: { 'h.txt': 'h\n' } });
  await fsp.rm(byHand.worktree.path, { recursive: true, force: true });
  assert.deepEqual(await removeRunWorktree(byHand.row, {}), { ok: true });
  assert.equal(branchExists(fx.repo, byHand.worktree.branch), false);
  assert.doesNotMatch(gitSync(fx.repo, ['worktree', 'list']), new RegExp(byHand.worktree.branch), 'pruned from git\'s list');
  assert.deepEqual(await removeRunWorktree(byHand.row, {}), { ok: true }, 'removing again is fine');

  const live = await runInWorktree(fx, {});
  const refused = await removeRunWorktree({ ...live.row, status: 'running' }, { force: true });
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.reason, /still running/);
  assert.equal(await exists(live.worktree.path), true);
});

test('no worktree in a repository without a commit, nor outside any repository; each says why', async (t) => {
  const fresh = await setup(t, { commit: false });
  const noCommit = await createRunWorktree({ cwd: fresh.repo, name: 'x', taskId: randomUUID(), worktreesDir: fresh.worktrees });
  assert.equal(noCommit.ok, false);
  assert.match(noCommit.ok ? '' : noCommit.reason, /has no commit yet: a worktree starts from HEAD's commit, so commit something first/);
  assert.equal(await exists(fresh.worktrees), false, 'nothing was created');

  const plain = await setup(t, { git: false });
  const notRepo = await createRunWorktree({ cwd: plain.repo, name: 'x', taskId: randomUUID(), worktreesDir: plain.worktrees });
  assert.equal(notRepo.ok, false);
  assert.equal(notRepo.ok ? '' : notRepo.reason, `${plain.repo} is not in a git repository, so the run cannot get a worktree of its own`);

  const missing = await createRunWorktree({ cwd: path.join(plain.dir, 'nope'), name: 'x', taskId: randomUUID(), worktreesDir: plain.worktrees });
  assert.equal(missing.ok, false);
  assert.match(missing.ok ? '' : missing.reason, /does not exist/);
});
