/**
 * What a run changed, in the tree and through the commands, with the extension activated
 * against the fake `vscode` (helpers/fakeVscode.ts): real git repositories, runs made by the
 * real TaskRunner into a real TaskStore (their scripts edit files once their start snapshot
 * exists), then the view's children of each task, the diffs' documents, Copy as Patch, Open
 * Changes, Revert, Restricted Mode, the worktree commands, a live run, and the menus.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extension, restoreRequire, vscode } from './helpers/fakeVscodeRequire';
import { TaskRunner, type TaskSpec } from '../../src/core/taskRunner';
import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';
import { createRunWorktree } from '../../src/core/worktree';
import { taskContextValue } from '../../src/extension/model/taskPresentation';
import { changeScript, gitSync, GIT_TEST_ENV, makeRepo } from '../helpers/gitRepo';
import { taskRow } from './helpers/taskRows';
import { waitFor } from '../helpers/waitFor';

const ROOT = path.join(__dirname, '../../..');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const changesView = require('../../src/extension/changesView') as typeof import('../../src/extension/changesView');
const { fake } = vscode;
type Item = InstanceType<typeof vscode.TreeItem>;
type Uri = import("./helpers/fakeVscode").Uri;

const SNAPSHOT_SCHEME = 'agent-tasks-snapshot';
const RESTRICTED = 'Git is not run in Restricted Mode';

let tmp: string;
let storeDir: string;
let repo: string;
let plain: string;
let wtRepo: string;
/** A run that edits, adds, deletes, renames and writes a binary file; `overlapId` ran meanwhile in the same repository. */
let editId: string;
let overlapId: string;
/** A run in a folder that is no git repository. */
let plainId: string;
/** Runs in worktrees of wtRepo: the first is applied, the second is not. */
let appliedId: string;
let unappliedId: string;
let appliedWorktree: string;
let unappliedWorktree: string;

function refPath(repoDir: string, taskId: string): string {
  return path.join(gitSync(repoDir, 'rev-parse', '--path-format=absolute', '--git-common-dir'), 'refs', 'agent-tasks', taskId, 'start');
}

function script(cwd: string, id: string, body: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { id, name: `run ${id.slice(0, 8)}`, command: process.execPath, args: ['-e', body], cwd, ...extra };
}

async function rowOf(store: TaskStore, id: string, pred: (r: TaskRow) => boolean, what: string): Promise<TaskRow> {
  return waitFor(what, async () => {
    const r = await store.getTask(id);
    return r && pred(r) ? r : undefined;
  }, 20_000);
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-changes-'));
  storeDir = path.join(tmp, 'store');
  const oldText = Array.from({ length: 20 }, (_, i) => `line ${i + 1} of a file that is renamed\n`).join('');
  repo = await makeRepo(path.join(tmp, 'repo'), { 'a.txt': 'one\ntwo\n', 'c.txt': 'to delete\n', 'old.txt': oldText });
  plain = path.join(tmp, 'plain');
  mkdirSync(plain);
  wtRepo = await makeRepo(path.join(tmp, 'wt-repo'), { 'w.txt': 'base\n' });
  editId = randomUUID();
  overlapId = randomUUID();
  plainId = randomUUID();
  appliedId = randomUUID();
  unappliedId = randomUUID();

  const store = await TaskStore.open({ dir: storeDir });
  const runner = new TaskRunner(store);
  try {
    // The edit run changes its files, then waits until the overlapping run has started: they ran at the same time.
    const waitForOverlap = `const other = ${JSON.stringify(refPath(repo, overlapId))}; const until = Date.now() + 20000;
      (function waitOther() { if (fs.existsSync(other) || Date.now() > until) return; setTimeout(waitOther, 10); })()`;
    const edits = `fs.writeFileSync('a.txt', 'one\\nTWO\\nthree\\n'); fs.mkdirSync('src', { recursive: true }); fs.writeFileSync('src/b.txt', 'new file\\n');
      fs.rmSync('c.txt'); fs.renameSync('old.txt', 'new.txt'); fs.writeFileSync('img.bin', Buffer.from([0, 1, 2, 3, 255])); ${waitForOverlap}`;
    const edit = await runner.start(script(repo, editId, changeScript(repo, editId, edits), { name: 'Edit the files' }));
    await rowOf(store, editId, (r) => r.git?.start != null, 'the edit run to have its start snapshot');
    const overlap = await runner.start(script(repo, overlapId, changeScript(repo, overlapId, ''), { name: 'Overlapping run' }));
    const plainRun = await runner.start(script(plain, plainId, 'console.log("no git here")', { name: 'Outside git' }));

    const worktreesDir = path.join(tmp, 'worktrees');
    const applied = await createRunWorktree({ cwd: wtRepo, name: 'Worktree edit', taskId: appliedId, worktreesDir });
    const unapplied = await createRunWorktree({ cwd: wtRepo, name: 'Worktree not applied', taskId: unappliedId, worktreesDir });
    assert.ok(applied.ok && unapplied.ok, JSON.stringify({ applied, unapplied }));
    appliedWorktree = applied.worktree.path;
    unappliedWorktree = unapplied.worktree.path;
    const appliedRun = await runner.start(
      script(applied.cwd, appliedId, changeScript(wtRepo, appliedId, `fs.writeFileSync('w.txt', 'changed in the worktree\\n')`), { name: 'Worktree edit', worktree: applied.worktree }),
    );
    const unappliedRun = await runner.start(
      script(unapplied.cwd, unappliedId, changeScript(wtRepo, unappliedId, `fs.writeFileSync('x.txt', 'kept in the worktree\\n')`), { name: 'Worktree not applied', worktree: unapplied.worktree }),
    );
    for (const run of [edit, overlap, plainRun, appliedRun, unappliedRun]) {
      const row = await run.done;
      assert.equal(row.status, 'success', `${row.name}: ${row.error ?? ''}`);
    }
  } finally {
    runner.dispose();
    await store.close();
  }
});

after(() => {
  restoreRequire();
  rmSync(tmp, { recursive: true, force: true });
});

interface Activation {
  subscriptions: { dispose(): void }[];
  ready: Promise<boolean>;
}

async function activate(): Promise<Activation> {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(repo), name: 'repo', index: 0 }];
  const subscriptions: { dispose(): void }[] = [];
  const context = { subscriptions, extensionPath: path.join(tmp, 'extension'), extensionUri: vscode.Uri.file(path.join(tmp, 'extension')), globalStorageUri: vscode.Uri.file(storeDir) };
  const api = extension.activate(context as never);
  assert.equal(await api.ready, true);
  return { subscriptions, ready: api.ready };
}

async function deactivate(a: Activation): Promise<void> {
  await extension.deactivate();
  for (const d of a.subscriptions.reverse()) d.dispose();
}

/** The tree node of a task (under whichever group shows it). */
async function taskNode(id: string): Promise<unknown> {
  const provider = fake.treeProvider!;
  return waitFor(`task ${id} in the tree`, async () => {
    for (const group of await provider.getChildren()) {
      for (const node of await provider.getChildren(group)) if (provider.getTreeItem(node).id === id) return node;
    }
    return undefined;
  });
}

async function childrenOf(node: unknown): Promise<{ node: unknown; item: Item }[]> {
  const provider = fake.treeProvider!;
  return (await provider.getChildren(node)).map((child) => ({ node: child, item: provider.getTreeItem(child) }));
}

/** Records what the extension asks VS Code's own commands to do. */
function captureCommand(id: string): unknown[][] {
  const calls: unknown[][] = [];
  fake.commands.set(id, (...args: unknown[]) => {
    calls.push(args);
    return undefined;
  });
  return calls;
}

async function documentText(uri: Uri): Promise<string> {
  return fake.contentProviders.get(uri.scheme)!.provideTextDocumentContent(uri);
}

test('a task with snapshots expands to its changed files, with the warning about a run that worked at the same time', async () => {
  const a = await activate();
  try {
    const node = await taskNode(editId);
    const item = fake.treeProvider!.getTreeItem(node);
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    assert.equal(item.contextValue, 'agentTask.success.changes');
    const children = await childrenOf(node);
    assert.deepEqual(
      children.map((c) => [c.item.label, c.item.description]),
      [
        [`May include changes by Overlapping run (${overlapId.slice(0, 8)}), which ran in the same folder at the same time`, undefined],
        ['a.txt', '+2 \u22121'],
        ['c.txt', '+0 \u22121'],
        ['img.bin', 'binary'],
        ['new.txt', '+0 \u22120 · from old.txt'],
        ['b.txt', 'src · +1 \u22120'],
      ],
    );
    const [warning, aTxt, cTxt] = children;
    assert.equal(warning.item.iconPath?.id, 'warning');
    assert.equal(warning.item.id, `${editId}/info/overlap`);
    assert.deepEqual([aTxt.item.iconPath?.id, aTxt.item.iconPath?.color?.id], ['diff-modified', 'gitDecoration.modifiedResourceForeground']);
    assert.deepEqual([cTxt.item.iconPath?.id, children[5].item.iconPath?.id, children[4].item.iconPath?.id], ['diff-removed', 'diff-added', 'diff-renamed']);
    assert.equal(aTxt.item.id, `${editId}/change/a.txt`);
    assert.equal(aTxt.item.contextValue, 'agentTaskChange');
    assert.equal(aTxt.item.resourceUri?.fsPath, path.join(repo, 'a.txt'));
    assert.deepEqual(aTxt.item.command, { command: 'agentTasks.openChange', title: 'Open Change', arguments: [aTxt.node] });
    assert.equal((fake.treeProvider as unknown as { getParent(n: unknown): unknown }).getParent(aTxt.node), node);

    // The overlapping run is warned about the edit run in turn; the run outside git says why it has nothing.
    const overlapChildren = await childrenOf(await taskNode(overlapId));
    assert.match(String(overlapChildren[0].item.label), new RegExp(`^May include changes by Edit the files \\(${editId.slice(0, 8)}\\), which ran`));
    const plainNode = await taskNode(plainId);
    assert.equal(fake.treeProvider!.getTreeItem(plainNode).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    assert.equal(fake.treeProvider!.getTreeItem(plainNode).contextValue, 'agentTask.success', 'no Open Changes without snapshots');
    assert.deepEqual((await childrenOf(plainNode)).map((c) => [c.item.label, c.item.iconPath?.id]), [['Not a git repository', 'info']]);
  } finally {
    await deactivate(a);
  }
});

test('Open Change: a diff of the snapshot documents; with the file on disk; Open Changes; Copy as Patch', async () => {
  const a = await activate();
  try {
    const diffs = captureCommand('vscode.diff');
    const multi = captureCommand('vscode.changes');
    const children = await childrenOf(await taskNode(editId));
    const byLabel = (label: string) => children.find((c) => c.item.label === label)!.node;

    await vscode.commands.executeCommand('agentTasks.openChange', byLabel('a.txt'));
    assert.equal(diffs.length, 1);
    const [left, right, title, options] = diffs[0] as [Uri, Uri, string, unknown];
    assert.equal(title, 'a.txt (Edit the files) start \u2194 end');
    assert.deepEqual(options, { preview: true });
    assert.equal(left.scheme, SNAPSHOT_SCHEME);
    assert.equal(left.path, '/a.txt', 'the path names the file: the editor picks its language from it');
    assert.equal(await documentText(left), 'one\ntwo\n');
    assert.equal(await documentText(right), 'one\nTWO\nthree\n');

    await vscode.commands.executeCommand('agentTasks.openChange', byLabel('b.txt'));
    const [addedLeft, addedRight] = diffs[1] as [Uri, Uri];
    assert.equal(await documentText(addedLeft), '', 'before an add: empty');
    assert.equal(await documentText(addedRight), 'new file\n');
    await vscode.commands.executeCommand('agentTasks.openChange', byLabel('new.txt'));
    const [renamedLeft] = diffs[2] as [Uri];
    assert.match(await documentText(renamedLeft), /^line 1 of a file that is renamed\n/, 'a rename is compared with its old name');
    await vscode.commands.executeCommand('agentTasks.openChange', byLabel('img.bin'));
    assert.equal(await documentText((diffs[3] as [Uri, Uri])[1]), '(img.bin is a binary file of 5 bytes: not shown)');
    // Scripts name the file by task id and path.
    await vscode.commands.executeCommand('agentTasks.openChange', { taskId: editId, path: 'c.txt' });
    assert.equal(await documentText((diffs[4] as [Uri, Uri])[0]), 'to delete\n');
    assert.equal(await documentText((diffs[4] as [Uri, Uri])[1]), '', 'after a delete: empty');

    await vscode.commands.executeCommand('agentTasks.openChangeWithCurrent', byLabel('a.txt'));
    const [, onDisk, currentTitle] = diffs[5] as [Uri, Uri, string];
    assert.equal(onDisk.scheme, 'file');
    assert.equal(onDisk.fsPath, path.join(repo, 'a.txt'));
    assert.equal(currentTitle, 'a.txt (Edit the files) start \u2194 current');

    // A file the run deleted: nothing on disk to compare with; its version from before is shown.
    await vscode.commands.executeCommand('agentTasks.openChangeWithCurrent', byLabel('c.txt'));
    assert.equal(diffs.length, 6);
    assert.equal(fake.messages.at(-1)?.text, 'c.txt does not exist on disk now; showing its version from before the run.');

    await vscode.commands.executeCommand('agentTasks.openChanges', editId);
    assert.equal(multi.length, 1);
    const [multiTitle, resources] = multi[0] as [string, [Uri, Uri, Uri][]];
    assert.equal(multiTitle, 'Changes of Edit the files');
    assert.deepEqual(resources.map(([file]) => path.relative(repo, file.fsPath)), ['a.txt', 'c.txt', 'img.bin', 'new.txt', path.join('src', 'b.txt')]);
    assert.equal(await documentText(resources[0][2]), 'one\nTWO\nthree\n');

    const patch = (await vscode.commands.executeCommand('agentTasks.copyPatch', editId)) as string;
    assert.equal(vscode.env.clipboard.text, patch);
    assert.match(patch, /^diff --git a\/a\.txt b\/a\.txt$/m);
    assert.match(patch, /^rename from old\.txt$/m);
    assert.match(patch, /^GIT binary patch$/m);
    // It is the run's change exactly: reversed, it applies to the work tree the run left.
    execFileSync('git', ['apply', '--check', '-R'], { cwd: repo, input: patch, env: GIT_TEST_ENV });
    assert.deepEqual(fake.messages.filter((m) => m.kind !== 'info'), []);
  } finally {
    await deactivate(a);
  }
});

test('snapshot documents: only well-formed addresses of known folders are read', async () => {
  const a = await activate();
  try {
    const tree = gitSync(repo, 'rev-parse', 'HEAD^{tree}');
    const doc = (root: string, t: string, p: string) => vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, path: `/${p}`, query: new URLSearchParams({ root, tree: t, path: p, side: 'start' }).toString() });
    // The view shows runs of this repository: its trees may be read.
    assert.equal(await documentText(doc(repo, tree, 'a.txt')), 'one\ntwo\n');
    assert.equal(await documentText(doc(repo, tree, 'missing.txt')), '');
    assert.equal(await documentText(doc(tmp, tree, 'a.txt')), `(${tmp} is not the folder of an agent task this window shows)`);
    assert.equal(await documentText(doc(repo, 'HEAD', 'a.txt')), '(not a valid address of a file in an agent task snapshot)');
    assert.equal(await documentText(doc(repo, tree, '../repo/a.txt')), '(not a valid address of a file in an agent task snapshot)');
    fake.trusted = false;
    assert.equal(await documentText(doc(repo, tree, 'a.txt')), `(${RESTRICTED})`);
  } finally {
    await deactivate(a);
  }
});

test('Restricted Mode: no git; the nodes and the commands say so; trusting the workspace lists the changes', async () => {
  const a = await activate();
  try {
    fake.trusted = false;
    const diffs = captureCommand('vscode.diff');
    const node = await taskNode(editId);
    const children = await childrenOf(node);
    assert.deepEqual(children.map((c) => [c.item.label, c.item.iconPath?.id]), [
      [`May include changes by Overlapping run (${overlapId.slice(0, 8)}), which ran in the same folder at the same time`, 'warning'],
      [RESTRICTED, 'workspace-untrusted'],
    ]);
    for (const command of ['agentTasks.openChange', 'agentTasks.openChanges', 'agentTasks.copyPatch', 'agentTasks.revertFile', 'agentTasks.applyWorktree', 'agentTasks.removeWorktree']) {
      fake.messages = [];
      await vscode.commands.executeCommand(command, command === 'agentTasks.openChange' || command === 'agentTasks.revertFile' ? { taskId: editId, path: 'a.txt' } : editId);
      assert.deepEqual(fake.messages, [{ kind: 'warning', text: `${RESTRICTED}: trust this workspace to see, revert or apply what agent tasks changed.` }], command);
    }
    assert.equal(diffs.length, 0);
    assert.equal(readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'one\nTWO\nthree\n');
    // Why a run has no snapshots needs no git.
    assert.deepEqual((await childrenOf(await taskNode(plainId))).map((c) => c.item.label), ['Not a git repository']);

    fake.treeChanges = [];
    vscode.workspace.grantTrust();
    assert.deepEqual(fake.treeChanges, [undefined], 'the whole tree is refreshed');
    assert.equal((await childrenOf(node)).length, 6);
  } finally {
    await deactivate(a);
  }
});

test('Revert: asks first, puts the file back, refuses once the file changed after the run', async () => {
  const a = await activate();
  try {
    const children = await childrenOf(await taskNode(editId));
    const byLabel = (label: string) => children.find((c) => c.item.label === label)!.node;

    // Cancelled: nothing happens.
    assert.equal(await vscode.commands.executeCommand('agentTasks.revertFile', byLabel('a.txt')), undefined);
    assert.equal(fake.messages.at(-1)?.text, 'Revert a.txt to its version from before "Edit the files"?');
    assert.equal(readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'one\nTWO\nthree\n');

    fake.answers.push({ match: 'Revert a.txt', choose: 'Revert' });
    assert.deepEqual(await vscode.commands.executeCommand('agentTasks.revertFile', byLabel('a.txt')), { ok: true, action: 'restored' });
    assert.equal(readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'one\ntwo\n');

    // Again: the file on disk is no longer what the run left.
    fake.answers.push({ match: 'Revert a.txt', choose: 'Revert' });
    await vscode.commands.executeCommand('agentTasks.revertFile', byLabel('a.txt'));
    assert.equal(fake.messages.at(-1)?.kind, 'error');
    assert.equal(fake.messages.at(-1)?.text, 'a.txt was not reverted: a.txt was changed after the run ended.');

    fake.answers.push({ match: 'Revert src/b.txt', choose: 'Revert' });
    assert.deepEqual(await vscode.commands.executeCommand('agentTasks.revertFile', byLabel('b.txt')), { ok: true, action: 'deleted' });
    assert.equal(existsSync(path.join(repo, 'src', 'b.txt')), false);

    fake.answers.push({ match: 'Revert new.txt', choose: 'Revert' });
    await vscode.commands.executeCommand('agentTasks.revertFile', byLabel('new.txt'));
    assert.equal(existsSync(path.join(repo, 'new.txt')), false, 'the new name is gone');
    assert.match(readFileSync(path.join(repo, 'old.txt'), 'utf8'), /^line 1 of a file/, 'the old name is back');

    // The run's changes are what they were: reverting changes the disk, not the snapshots.
    assert.equal((await childrenOf(await taskNode(editId))).length, 6);
  } finally {
    await deactivate(a);
  }
});

test('worktree runs: the branch in the description; Open Worktree, Apply to Workspace, Remove Worktree (asked again when work would be lost)', async () => {
  const a = await activate();
  try {
    const openFolder = captureCommand('vscode.openFolder');
    const node = await taskNode(appliedId);
    const item = fake.treeProvider!.getTreeItem(node);
    assert.equal(item.contextValue, 'agentTask.success.changes.worktree');
    assert.match(item.description ?? '', / · agent-tasks\/worktree-edit-[0-9a-f]{8}$/);
    assert.deepEqual((await childrenOf(node)).map((c) => c.item.label), ['w.txt']);

    await vscode.commands.executeCommand('agentTasks.openWorktree', appliedId);
    assert.equal(openFolder.length, 1);
    assert.equal((openFolder[0][0] as Uri).fsPath, appliedWorktree);
    assert.deepEqual(openFolder[0][1], { forceNewWindow: true });

    fake.answers.push({ match: 'Apply the changes of "Worktree edit"', choose: 'Apply' });
    assert.deepEqual(await vscode.commands.executeCommand('agentTasks.applyWorktree', appliedId), ['w.txt']);
    assert.equal(readFileSync(path.join(wtRepo, 'w.txt'), 'utf8'), 'changed in the worktree\n');

    // Applied: removed after one confirmation.
    fake.messages = [];
    fake.answers.push({ match: 'Remove the worktree of "Worktree edit"', choose: 'Remove' });
    assert.equal(await vscode.commands.executeCommand('agentTasks.removeWorktree', appliedId), true);
    assert.equal(existsSync(appliedWorktree), false);
    assert.equal(fake.messages.length, 1, JSON.stringify(fake.messages));
    // Its changes are still listed: the trees are in the repository's object store.
    assert.deepEqual((await childrenOf(node)).map((c) => c.item.label), ['w.txt']);
    fake.messages = [];
    await vscode.commands.executeCommand('agentTasks.openWorktree', appliedId);
    assert.deepEqual(fake.messages, [{ kind: 'error', text: `The worktree of "Worktree edit", ${appliedWorktree}, no longer exists.` }]);

    // Not applied: Remove says what would be lost and asks again; declined, the worktree stays.
    fake.messages = [];
    fake.answers.push({ match: 'Remove the worktree of "Worktree not applied"', choose: 'Remove' });
    assert.equal(await vscode.commands.executeCommand('agentTasks.removeWorktree', unappliedId), false);
    assert.match(fake.messages[1]?.text ?? '', /^Removing the worktree would lose work: 1 file differs from the workspace \(changes not applied\): x\.txt\.$/);
    assert.equal(existsSync(unappliedWorktree), true);
    fake.answers.push({ match: 'Remove the worktree of "Worktree not applied"', choose: 'Remove' }, { match: 'would lose work', choose: 'Remove Anyway' });
    assert.equal(await vscode.commands.executeCommand('agentTasks.removeWorktree', unappliedId), true);
    assert.equal(existsSync(unappliedWorktree), false);
    assert.equal(existsSync(path.join(wtRepo, 'x.txt')), false, 'its change was not applied');
  } finally {
    await deactivate(a);
  }
});

test('a live run: compared with a snapshot taken now, again on Refresh, not on every redraw; its end snapshot once it ended', async () => {
  const store = await TaskStore.open({ dir: path.join(tmp, 'live-store') });
  const runner = new TaskRunner(store);
  const log = { warn() {}, info() {}, debug() {}, error() {} } as never;
  const changes = new changesView.TaskChanges({ knownRows: () => [], log });
  const finish = path.join(tmp, 'finish-live');
  try {
    fake.reset();
    const id = randomUUID();
    const body = `fs.writeFileSync('live.txt', 'so far\\n'); (function waitFinish() { if (fs.existsSync(${JSON.stringify(finish)})) return; setTimeout(waitFinish, 10); })()`;
    const run = await runner.start(script(repo, id, changeScript(repo, id, body), { name: 'Live run' }));
    await waitFor('live.txt', () => existsSync(path.join(repo, 'live.txt')));
    const live = await rowOf(store, id, (r) => r.git?.start != null, 'the start snapshot');
    const node = { row: live };
    const first = await changes.children(node);
    assert.deepEqual(first.map((c) => changes.treeItem(c).label), ['live.txt']);
    assert.equal(changes.treeItem(first[0]).contextValue, 'agentTaskChange.live');
    assert.equal(changes.treeItem(first[0]).description, '+1 \u22120');

    // The agent writes more; a redraw (the elapsed-time tick) shows the list taken at the expand.
    writeFileSync(path.join(repo, 'live-2.txt'), 'more\n');
    assert.deepEqual((await changes.children(node)).map((c) => changes.treeItem(c).label), ['live.txt']);
    const fired: unknown[] = [];
    changes.onDidChange((n) => fired.push(n));
    changes.expanded(node);
    assert.deepEqual(fired, [], 'the expand that just listed it does not list it again');
    changes.invalidate();
    assert.deepEqual((await changes.children(node)).map((c) => changes.treeItem(c).label), ['live-2.txt', 'live.txt']);

    writeFileSync(finish, '');
    const ended = await run.done;
    assert.ok(ended.git?.end, 'the end snapshot');
    const done = await changes.children({ row: ended });
    assert.deepEqual(done.map((c) => [changes.treeItem(c).label, changes.treeItem(c).contextValue]), [
      ['live-2.txt', 'agentTaskChange'],
      ['live.txt', 'agentTaskChange'],
    ]);
  } finally {
    changes.dispose();
    runner.dispose();
    await store.close();
    rmSync(path.join(repo, 'live.txt'), { force: true });
    rmSync(path.join(repo, 'live-2.txt'), { force: true });
  }
});

test('menus: change nodes get Compare with File on Disk and Revert inline (no Revert while live); ended tasks with snapshots Open Changes; worktree tasks the worktree commands', async () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const items = pkg.contributes.menus['view/item/context'] as { command: string; when: string; group?: string }[];
  const offered = (contextValue: string, inline: boolean): string[] =>
    items
      .filter((i) => (i.group ?? '').startsWith('inline') === inline)
      .filter((i) => new RegExp(/viewItem =~ \/(.+)\/$/.exec(i.when)![1]).test(contextValue))
      .map((i) => i.command.replace('agentTasks.', ''));
  assert.deepEqual(offered('agentTaskChange', true), ['openChangeWithCurrent', 'revertFile']);
  assert.deepEqual(offered('agentTaskChange.live', true), ['openChangeWithCurrent']);
  assert.deepEqual(offered('agentTaskChange', false), ['openChange', 'openChangeWithCurrent', 'revertFile']);
  assert.deepEqual(offered('agentTaskChangeInfo.overlap', false), []);

  const git = { root: repo, start: { tree: 'a'.repeat(40), head: null, at: 0 }, end: { tree: 'b'.repeat(40), head: null, at: 1 }, unavailable: null, worktree: null };
  const worktree = { path: '/wt/x', branch: 'agent-tasks/x-12345678', repo, base: 'c'.repeat(40) };
  const ended = taskContextValue(taskRow({ git }), false);
  assert.deepEqual(offered(ended, true), ['showOutput', 'openChanges']);
  assert.deepEqual(offered(ended, false), ['showOutput', 'rerun', 'copySessionId', 'openChanges', 'copyPatch']);
  const inWorktree = taskContextValue(taskRow({ git: { ...git, worktree } }), false);
  assert.deepEqual(offered(inWorktree, false), ['showOutput', 'rerun', 'copySessionId', 'openChanges', 'copyPatch', 'applyWorktree', 'openWorktree', 'removeWorktree']);
  const running = taskContextValue(taskRow({ status: 'running', finished_at: null, git: { ...git, end: null, worktree } }), true);
  assert.deepEqual(offered(running, true), ['cancel', 'showOutput'], 'nothing of the changes while it runs');
  const unresolved = taskContextValue(taskRow({ status: 'interrupted', git }), false);
  assert.deepEqual(offered(unresolved, true), ['recover', 'dismiss', 'showOutput', 'openChanges']);
  const palette = pkg.contributes.menus.commandPalette as { command: string; when: string }[];
  for (const id of ['openChange', 'openChangeWithCurrent', 'revertFile']) assert.equal(palette.find((p) => p.command === `agentTasks.${id}`)?.when, 'false', id);
});
