/**
 * `agent-tasks run --worktree` and a profile's `"worktree": true`, as real CLI processes in a
 * temporary git repository: the run works in a new worktree on its own branch, the row records
 * it, and a refusal (no repository) says why and journals nothing.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cliProcess';
import { waitFor } from '../helpers/waitFor';

interface Row {
  [column: string]: unknown;
  id: string;
  status: string;
  cwd: string;
  workspace: string | null;
  git: { root: string | null; worktree: { path: string; branch: string; repo: string; base: string } | null } | null;
}

function gitSync(cwd: string, args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.com' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k];
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Fixture {
  dir: string;
  repo: string;
  store: string;
  env: NodeJS.ProcessEnv;
  /** Where the probe script writes what it saw (its cwd, its AGENT_TASKS_WORKSPACE_FOLDER). */
  probeFile: string;
}

/** Writes {cwd, workspaceFolder} to the file named by its first argument, and a file in its cwd. */
const PROBE = "const fs = require('node:fs'); fs.writeFileSync('made-by-run.txt', 'x'); fs.writeFileSync(process.argv[1], JSON.stringify({ cwd: process.cwd(), workspaceFolder: process.env.AGENT_TASKS_WORKSPACE_FOLDER ?? null }));";

async function setup(t: TestContext, profile: Record<string, unknown> = {}): Promise<Fixture> {
  const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-cli-worktree-')));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const repo = path.join(dir, 'repo');
  await fsp.mkdir(path.join(repo, 'pkg'), { recursive: true });
  gitSync(repo, ['init', '-q']);
  await fsp.writeFile(path.join(repo, 'pkg', 'index.js'), '// code\n');
  gitSync(repo, ['add', '-A']);
  gitSync(repo, ['commit', '-q', '-m', 'init']);
  const probeFile = path.join(dir, 'probe.json');
  const settings = path.join(dir, 'settings.json');
  await fsp.writeFile(
    settings,
    JSON.stringify({
      'agentTasks.agents': {
        probe: { command: process.execPath, args: ['-e', PROBE, probeFile], promptInput: 'stdin', ...profile },
      },
    }),
  );
  const env = { AGENT_TASKS_WORKTREES: path.join(dir, 'worktrees'), AGENT_TASKS_SETTINGS: settings };
  return { dir, repo, store: path.join(dir, 'store'), env, probeFile };
}

async function rows(fx: Fixture): Promise<Row[]> {
  const r = await runCli(['--store', fx.store, 'list', '--json', '--limit', '10'], fx.env, fx.dir);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Row[];
}

async function probe(fx: Fixture): Promise<{ cwd: string; workspaceFolder: string | null }> {
  return JSON.parse(await fsp.readFile(fx.probeFile, 'utf8')) as { cwd: string; workspaceFolder: string | null };
}

function branches(repo: string): string[] {
  return gitSync(repo, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/agent-tasks/']).split('\n').filter(Boolean);
}

test('run --worktree: a command line works in a new worktree, in the same subfolder, and the row records its branch', async (t) => {
  const fx = await setup(t);
  const r = await runCli(['--store', fx.store, 'run', '--worktree', '--name', 'Probe the tree', '--cwd', path.join(fx.repo, 'pkg'), '--', process.execPath, '-e', PROBE, fx.probeFile], fx.env, fx.dir);
  assert.equal(r.code, 0, r.stderr);
  const [row] = await rows(fx);
  const wt = row.git?.worktree;
  assert.ok(wt, JSON.stringify(row.git));
  assert.match(wt.branch, new RegExp(`^agent-tasks/probe-the-tree-${row.id.slice(0, 8)}$`));
  assert.deepEqual(branches(fx.repo), [wt.branch]);
  assert.equal(wt.repo, fx.repo);
  assert.equal(path.dirname(path.dirname(wt.path)), path.join(fx.dir, 'worktrees'), 'under $AGENT_TASKS_WORKTREES');
  assert.equal(row.cwd, path.join(wt.path, 'pkg'));
  assert.equal(row.workspace, path.join(fx.repo, 'pkg'), 'the folder it was started from');
  assert.match(r.stderr, new RegExp(`working in .*, a new worktree on branch ${wt.branch}`));
  assert.equal((await probe(fx)).cwd, path.join(wt.path, 'pkg'));
  assert.equal(await fsp.readFile(path.join(wt.path, 'pkg', 'made-by-run.txt'), 'utf8'), 'x');
  assert.equal(gitSync(fx.repo, ['status', '--porcelain']), '', 'the main work tree is untouched');
});

test('run --agent NAME: a profile with "worktree": true runs in a new worktree (its ${workspaceFolder} there too); --no-worktree runs in the folder', async (t) => {
  const fx = await setup(t, { worktree: true });
  const r = await runCli(['--store', fx.store, 'run', '--agent', 'probe', '--cwd', fx.repo, 'look around'], fx.env, fx.dir);
  assert.equal(r.code, 0, r.stderr);
  const [row] = await rows(fx);
  const wt = row.git?.worktree;
  assert.ok(wt, JSON.stringify(row.git));
  assert.match(wt.branch, /^agent-tasks\/look-around-[0-9a-f]{8}$/);
  assert.equal(row.cwd, wt.path);
  assert.deepEqual(await probe(fx), { cwd: wt.path, workspaceFolder: wt.path });
  assert.equal(gitSync(fx.repo, ['status', '--porcelain']), '');

  const plain = await runCli(['--store', fx.store, 'run', '--agent', 'probe', '--no-worktree', '--cwd', fx.repo, 'stay here'], fx.env, fx.dir);
  assert.equal(plain.code, 0, plain.stderr);
  const latest = (await rows(fx)).find((x) => x.id !== row.id)!;
  assert.equal(latest.cwd, fx.repo);
  assert.equal(latest.git?.worktree ?? null, null);
  assert.deepEqual(await probe(fx), { cwd: fx.repo, workspaceFolder: fx.repo });
  assert.deepEqual(branches(fx.repo), [wt.branch], 'no second branch');
});

test('run --detach --worktree: the supervisor runs it in the worktree', async (t) => {
  const fx = await setup(t);
  const r = await runCli(['--store', fx.store, 'run', '--detach', '--worktree', '--cwd', fx.repo, '--', process.execPath, '-e', PROBE, fx.probeFile], fx.env, fx.dir);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim().split('\n').pop()!;
  const row = await waitFor('the detached run to finish', async () => (await rows(fx)).find((x) => x.id === id && x.status !== 'running'), 20_000);
  assert.equal(row.status, 'success');
  assert.ok(row.git?.worktree);
  assert.equal(row.cwd, row.git.worktree.path);
  assert.equal((await probe(fx)).cwd, row.git.worktree.path);
});

test('run --worktree outside a git repository: exit 1 with the reason, nothing journaled; contradicting flags are a usage error', async (t) => {
  const fx = await setup(t, { worktree: true });
  const plain = path.join(fx.dir, 'plain');
  await fsp.mkdir(plain);
  const r = await runCli(['--store', fx.store, 'run', '--worktree', '--cwd', plain, '--', process.execPath, '-e', '0'], fx.env, fx.dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `agent-tasks: cannot run in a new worktree: ${plain} is not in a git repository, so the run cannot get a worktree of its own\n`);
  const viaProfile = await runCli(['--store', fx.store, 'run', '--agent', 'probe', '--cwd', plain, 'hi'], fx.env, fx.dir);
  assert.equal(viaProfile.code, 1);
  assert.match(viaProfile.stderr, /cannot run in a new worktree: .* is not in a git repository/);
  assert.deepEqual(await rows(fx), []);

  const both = await runCli(['--store', fx.store, 'run', '--worktree', '--no-worktree', '--', process.execPath, '-e', '0'], fx.env, fx.dir);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--worktree and --no-worktree contradict each other/);
  const noWithCommand = await runCli(['--store', fx.store, 'run', '--no-worktree', '--', process.execPath, '-e', '0'], fx.env, fx.dir);
  assert.equal(noWithCommand.code, 2);
});

test('a run that cannot start leaves no worktree behind', async (t) => {
  const fx = await setup(t);
  // A store folder that is a file: the store cannot be opened for writing.
  await fsp.writeFile(fx.store, 'not a folder');
  const r = await runCli(['--store', fx.store, 'run', '--worktree', '--cwd', fx.repo, '--', process.execPath, '-e', '0'], fx.env, fx.dir);
  assert.notEqual(r.code, 0);
  assert.deepEqual(branches(fx.repo), [], r.stderr);
  assert.equal(gitSync(fx.repo, ['worktree', 'list', '--porcelain']).split('\n').filter((l) => l.startsWith('worktree ')).length, 1, 'only the main work tree');
  assert.match(r.stderr, /a new worktree on branch agent-tasks\//, 'it was made, then dropped');
});
