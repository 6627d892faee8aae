/**
 * Run Agent Task… "in a new worktree", through the extension activated against the fake
 * `vscode` (helpers/fakeVscode.ts) with the fake agent: the prompt box's where-toggle and its
 * default from the profile, the row's worktree, and an interrupted worktree run resumed and restarted in its
 * worktree; Run Again in a new one. Restricted Mode makes none.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extension, restoreRequire, vscode } from './helpers/fakeVscodeRequire';
import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';
import { waitFor } from '../helpers/waitFor';

const ROOT = path.join(__dirname, '../../..');
const FAKE_AGENT = path.join(ROOT, 'test/fixtures/fakeAgent.js');

const { fake } = vscode;

let tmp: string;
let storeDir: string;
let repo: string;
let argvFile: string;
let extensionDir: string;
const savedWorktreesEnv = process.env.AGENT_TASKS_WORKTREES;

function gitSync(cwd: string, args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.com' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k];
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** dist/ with the supervisor and CLI as the tsc output (as in extensionSmoke.test.ts). */
function makeExtensionDir(): string {
  const dir = path.join(tmp, 'extension');
  mkdirSync(path.join(dir, 'dist'), { recursive: true });
  const out = path.join(__dirname, '../../src/cli');
  writeFileSync(path.join(dir, 'dist', 'supervisor.js'), `require(${JSON.stringify(path.join(out, 'supervisorMain.js'))});\n`);
  writeFileSync(path.join(dir, 'dist', 'cli.js'), `require(${JSON.stringify(path.join(out, 'main.js'))}).main(process.argv.slice(2)).then((c) => { process.exitCode = c; });\n`);
  return dir;
}

interface Activation {
  subscriptions: { dispose(): void }[];
  ready: Promise<boolean>;
}

function activate(): Activation {
  const subscriptions: { dispose(): void }[] = [];
  const context = { subscriptions, extensionPath: extensionDir, extensionUri: vscode.Uri.file(extensionDir), globalStorageUri: vscode.Uri.file(storeDir) };
  const api = extension.activate(context as never);
  return { subscriptions, ready: api.ready };
}

async function deactivate(a: Activation): Promise<void> {
  await extension.deactivate();
  for (const d of a.subscriptions.reverse()) d.dispose();
}

function profile(extra: Record<string, unknown> = {}): unknown {
  return {
    command: process.execPath,
    args: [FAKE_AGENT, '-p', '${prompt}', '--session-id', '${sessionId}', '--output-format', 'stream-json'],
    resumeArgs: [FAKE_AGENT, '-p', '${prompt}', '--resume', '${sessionId}', '--output-format', 'stream-json'],
    format: 'claude-stream-json',
    env: { FAKE_AGENT_ARGV_FILE: argvFile },
    ...extra,
  };
}

async function readRow(id: string): Promise<TaskRow | undefined> {
  const store = await TaskStore.open({ dir: storeDir, readOnly: true });
  try {
    return await store.getTask(id);
  } finally {
    await store.close();
  }
}

function finished(id: string): Promise<TaskRow> {
  return waitFor(`task ${id} to finish`, async () => {
    const r = await readRow(id);
    return r && r.status !== 'running' && r.git?.end ? r : undefined;
  }, 20_000);
}

function run(args: Record<string, unknown>): Promise<string | undefined> {
  return vscode.commands.executeCommand('agentTasks.run', { cwd: repo, ...args }) as Promise<string | undefined>;
}

before(() => {
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-ext-worktree-')));
  storeDir = path.join(tmp, 'globalStorage', 'agenttasks.agent-tasks');
  repo = path.join(tmp, 'repo');
  argvFile = path.join(tmp, 'argv.jsonl');
  mkdirSync(repo, { recursive: true });
  gitSync(repo, ['init', '-q']);
  writeFileSync(path.join(repo, 'README.md'), '# repo\n');
  gitSync(repo, ['add', '-A']);
  gitSync(repo, ['commit', '-q', '-m', 'init']);
  extensionDir = makeExtensionDir();
  process.env.AGENT_TASKS_WORKTREES = path.join(tmp, 'worktrees');
});

after(() => {
  restoreRequire();
  if (savedWorktreesEnv === undefined) delete process.env.AGENT_TASKS_WORKTREES;
  else process.env.AGENT_TASKS_WORKTREES = savedWorktreesEnv;
  rmSync(tmp, { recursive: true, force: true });
});

/** Journals an interrupted run of `row`'s agent, session and worktree under `id` (as if its supervisor had died). */
async function recordInterruptedCopy(row: TaskRow, id: string, name: string): Promise<string> {
  const store = await TaskStore.open({ dir: storeDir });
  try {
    await store.finishTask(
      id,
      { status: 'interrupted', error: 'Interrupted: test', exit_code: null, signal: null },
      { id, name, agent: 'iso', command: process.execPath, args: row.args, cwd: row.cwd, workspace: repo, prompt: name, format: 'claude-stream-json', session_id: row.session_id },
    );
    await store.recordGit(id, row.git!);
  } finally {
    await store.close();
  }
  return id;
}

test('Run Agent Task…: the prompt box says where, the profile\'s "worktree" first, and its button switches; a worktree run works there and is resumed, restarted and run again as such', async () => {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(repo), name: 'repo', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { iso: profile({ worktree: true }), plain: profile() } };
  const shown: { prompt: string | undefined; toggle: string | undefined }[] = [];
  let pressToggle = false;
  // The user types the prompt (after pressing the where-button, when told to) and presses Enter.
  fake.inputBox = (box) => {
    shown.push({ prompt: box.prompt, toggle: box.buttons[0]?.tooltip });
    if (pressToggle) {
      box.press(0);
      shown.push({ prompt: box.prompt, toggle: box.buttons[0]?.tooltip });
    }
    box.type('Tidy the README');
    box.accept();
  };
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    const id = await run({ agent: 'iso' });
    assert.ok(id, fake.messages.map((m) => m.text).join('\n'));
    assert.deepEqual(shown, [{ prompt: `What should iso do? It runs in a new worktree of ${repo}, on a new branch agent-tasks/…`, toggle: `Run in ${repo} itself` }]);
    const row = await finished(id);
    assert.equal(row.status, 'success', row.error ?? '');
    const wt = row.git?.worktree;
    assert.ok(wt, JSON.stringify(row.git));
    assert.match(wt.branch, new RegExp(`^agent-tasks/tidy-the-readme-${id.slice(0, 8)}$`));
    assert.equal(wt.repo, repo);
    assert.equal(row.cwd, wt.path);
    assert.equal(row.workspace, repo, 'it belongs with the workspace folder it was started from');
    assert.equal(row.git?.root, wt.path);
    assert.equal(gitSync(repo, ['status', '--porcelain']), '');

    // A profile without "worktree": the folder, unless the user presses the button.
    const plainId = await run({ agent: 'plain', prompt: 'Stay' });
    const plain = await finished(plainId!);
    assert.equal(plain.cwd, repo);
    assert.equal(plain.git?.worktree, null);
    pressToggle = true;
    const switchedId = await run({ agent: 'plain' });
    assert.deepEqual(shown.slice(1), [
      { prompt: `What should plain do? It runs in ${repo}.`, toggle: 'Run in a new worktree (a branch and folder of its own)' },
      { prompt: `What should plain do? It runs in a new worktree of ${repo}, on a new branch agent-tasks/…`, toggle: `Run in ${repo} itself` },
    ]);
    const switched = await finished(switchedId!);
    assert.ok(switched.git?.worktree, 'the button made it a worktree run');
    assert.equal(switched.cwd, switched.git.worktree.path);
    // Scripted: the argument decides.
    const scripted = await run({ agent: 'iso', prompt: 'Here', worktree: false });
    assert.equal((await finished(scripted!)).cwd, repo);

    // The run as if interrupted (its supervisor died): Resume and Restart continue in its worktree.
    const interruptedId = await recordInterruptedCopy(row, 'c0000000-0000-4000-8000-00000000000b', 'Tidy the README');
    const resumedId = (await vscode.commands.executeCommand('agentTasks.recover', { taskId: interruptedId, action: 'resume', stopAgent: true })) as string;
    assert.ok(resumedId, fake.messages.map((m) => m.text).join('\n'));
    const resumed = await finished(resumedId);
    assert.equal(resumed.status, 'success', resumed.error ?? '');
    assert.equal(resumed.cwd, row.cwd, 'resumed in its worktree');
    assert.deepEqual(resumed.git?.worktree, wt, 'and the new row knows it');
    const lastArgv = JSON.parse(readFileSync(argvFile, 'utf8').trim().split('\n').pop()!) as string[];
    assert.deepEqual(lastArgv.slice(-4), ['--resume', row.session_id, '--output-format', 'stream-json']);

    const interrupted2 = await recordInterruptedCopy(row, 'c0000000-0000-4000-8000-00000000000c', 'Tidy again');
    const restartedId = (await vscode.commands.executeCommand('agentTasks.recover', { taskId: interrupted2, action: 'restart', stopAgent: true })) as string;
    const restarted = await finished(restartedId);
    assert.equal(restarted.cwd, row.cwd, 'restarted in its worktree');
    assert.deepEqual(restarted.git?.worktree, wt);

    // Run Again: a new worktree from the same place in the main work tree, on a new branch.
    const againId = (await vscode.commands.executeCommand('agentTasks.rerun', id)) as string;
    const again = await finished(againId);
    const wt2 = again.git?.worktree;
    assert.ok(wt2);
    assert.notEqual(wt2.path, wt.path);
    assert.match(wt2.branch, new RegExp(`-${againId.slice(0, 8)}$`));
    assert.equal(again.cwd, wt2.path);
    assert.equal(again.parent_id, id);
  } finally {
      await deactivate(a);
  }
});

test('Restricted Mode: no worktree (no git), and a profile that wants one says why instead of running in the folder', async () => {
  fake.reset();
  fake.trusted = false;
  fake.workspaceFolders = [{ uri: vscode.Uri.file(repo), name: 'repo', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { iso: profile({ worktree: true }), plain: profile() } };
  const branchesBefore = gitSync(repo, ['branch', '--list', 'agent-tasks/*']);
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    assert.equal(await run({ agent: 'iso', prompt: 'p' }), undefined);
    const error = await waitFor('the explanation', () => fake.messages.find((m) => m.kind === 'error'));
    assert.match(error.text, /^The agent profile "iso" runs in a new worktree \("worktree": true\)\. Running in a new worktree needs git, and git does not run in Restricted Mode/);
    const id = await run({ agent: 'plain', prompt: 'p' });
    assert.ok(id);
    const row = await waitFor('the run to end', async () => {
      const r = await readRow(id);
      return r && r.status !== 'running' ? r : undefined;
    }, 20_000);
    assert.equal(row.cwd, repo);
    assert.equal(row.git?.worktree ?? null, null);
    assert.equal(gitSync(repo, ['branch', '--list', 'agent-tasks/*']), branchesBefore, 'no branch was made');
  } finally {
      await deactivate(a);
  }
});
