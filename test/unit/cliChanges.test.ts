/**
 * `agent-tasks changes` and `agent-tasks diff`, as real CLI processes, on real runs of
 * `agent-tasks run` in temporary git repositories (and in a folder that is none).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cliProcess';
import { GIT_TEST_ENV, makeRepo } from '../helpers/gitRepo';
import { signalZeroSucceeds } from '../helpers/processes';
import { waitFor } from '../helpers/waitFor';

interface Fixture {
  dir: string;
  store: string;
}

async function setup(t: TestContext): Promise<Fixture> {
  const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-cli-changes-')));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return { dir, store: path.join(dir, 'store') };
}

/**
 * A Node script for the run's agent: it waits until the run's start snapshot exists (a start ref
 * under refs/agent-tasks: the repository has no other run), so what it then does is the run's own
 * change whatever the machine's speed, and runs `body` (with `fs` in scope) in its cwd.
 */
function afterStartSnapshot(body: string): string {
  return `const fs = require('fs'), path = require('path');
const refs = path.join('.git', 'refs', 'agent-tasks');
const until = Date.now() + 20000;
(function wait() {
  if (fs.existsSync(refs) && fs.readdirSync(refs).some((d) => fs.existsSync(path.join(refs, d, 'start')))) { ${body}; return; }
  if (Date.now() > until) { console.error('no start snapshot'); process.exit(3); }
  setTimeout(wait, 10);
})();`;
}

/** Runs `script` under `agent-tasks run` in `cwd` and returns the new task's id. */
async function runScript(fx: Fixture, cwd: string, script: string): Promise<string> {
  const r = await runCli(['--store', fx.store, 'run', '--name', 'edit files', '--', process.execPath, '-e', script], {}, cwd);
  assert.equal(r.code, 0, r.stderr);
  const list = await runCli(['--store', fx.store, 'list', '--json', '--limit', '1']);
  assert.equal(list.code, 0, list.stderr);
  return (JSON.parse(list.stdout) as { id: string }[])[0].id;
}

const LONG = Array.from({ length: 30 }, (_, i) => `line ${i} of a file long enough for rename detection`).join('\n') + '\n';

test('changes and diff show exactly what a run modified, added, deleted and renamed', async (t) => {
  const fx = await setup(t);
  const repo = await makeRepo(path.join(fx.dir, 'repo'), { 'a.txt': 'one\ntwo\nthree\n', 'c.txt': LONG, 'd.txt': 'x\ny\n', 'keep.txt': 'k\n', 'img.bin': Buffer.from([0, 1, 2, 0]) });
  const id = await runScript(
    fx,
    repo,
    afterStartSnapshot(`fs.writeFileSync('a.txt', 'one\\nTWO\\nthree\\nfour\\n');
      fs.mkdirSync('sub');
      fs.writeFileSync(path.join('sub', 'new.txt'), 'n1\\nn2\\n');
      fs.unlinkSync('d.txt');
      fs.renameSync('c.txt', 'c2.txt');
      fs.writeFileSync('img.bin', Buffer.from([0, 1, 2, 3, 0]))`),
  );

  const json = await runCli(['--store', fx.store, 'changes', id.slice(0, 8), '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), [
    { path: 'a.txt', status: 'modified', insertions: 2, deletions: 1, old_path: null, binary: false },
    { path: 'c2.txt', status: 'renamed', insertions: 0, deletions: 0, old_path: 'c.txt', binary: false },
    { path: 'd.txt', status: 'deleted', insertions: 0, deletions: 2, old_path: null, binary: false },
    { path: 'img.bin', status: 'modified', insertions: null, deletions: null, old_path: null, binary: true },
    { path: 'sub/new.txt', status: 'added', insertions: 2, deletions: 0, old_path: null, binary: false },
  ]);

  const text = await runCli(['--store', fx.store, 'changes', id]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(
    text.stdout,
    [
      `Task ${id.slice(0, 8)}: start → end, in ${repo}`,
      'modified  +2 −1   a.txt',
      'renamed   +0 −0   c.txt → c2.txt',
      'deleted   +0 −2   d.txt',
      'modified  binary  img.bin',
      'added     +2 −0   sub/new.txt',
      '5 files changed, +4 −3',
      '',
    ].join('\n'),
  );

  const diff = await runCli(['--store', fx.store, 'diff', id]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^diff --git a\/a\.txt b\/a\.txt\n[^]*^@@ -1,3 \+1,4 @@\n one\n-two\n\+TWO\n three\n\+four\n/m);
  assert.match(diff.stdout, /^diff --git a\/c\.txt b\/c2\.txt\nsimilarity index 100%\nrename from c\.txt\nrename to c2\.txt\n/m);
  assert.match(diff.stdout, /^deleted file mode 100644\n[^]*^@@ -1,2 \+0,0 @@\n-x\n-y\n/m);
  assert.match(diff.stdout, /^new file mode 100644\n[^]*^\+\+\+ b\/sub\/new\.txt\n@@ -0,0 \+1,2 @@\n\+n1\n\+n2\n/m);
  assert.match(diff.stdout, /^GIT binary patch$/m);
  // Piped, it is the exact patch: undone on the work tree the run left, it applies cleanly.
  execFileSync('git', ['apply', '--check', '-R'], { cwd: repo, input: diff.stdout, env: GIT_TEST_ENV });

  const one = await runCli(['--store', fx.store, 'diff', id, 'a.txt']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^-two\n\+TWO$/m);
  assert.doesNotMatch(one.stdout, /new\.txt|c2\.txt/);
  // A rename by its new name (or its old one) shows as the rename, not as an added file.
  for (const name of ['c2.txt', 'c.txt']) {
    const renamed = await runCli(['--store', fx.store, 'diff', id, name]);
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.match(renamed.stdout, /^rename from c\.txt\nrename to c2\.txt$/m);
    assert.doesNotMatch(renamed.stdout, /a\.txt/);
  }
  // A path from the current folder, inside the work tree.
  const fromSub = await runCli(['--store', fx.store, 'diff', id, 'new.txt'], {}, path.join(repo, 'sub'));
  assert.equal(fromSub.code, 0, fromSub.stderr);
  assert.match(fromSub.stdout, /^\+\+\+ b\/sub\/new\.txt$/m);

  const untouched = await runCli(['--store', fx.store, 'diff', id, 'keep.txt']);
  assert.equal(untouched.code, 1);
  assert.equal(untouched.stdout, '');
  assert.match(untouched.stderr, /^agent-tasks: task [0-9a-f]{8} did not change "keep\.txt" \(start → end\)/);
});

test('a run that changed nothing: "No changes." and an empty list', async (t) => {
  const fx = await setup(t);
  const repo = await makeRepo(path.join(fx.dir, 'repo'), { 'a.txt': 'a\n' });
  const id = await runScript(fx, repo, '');
  const text = await runCli(['--store', fx.store, 'changes', id]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, `Task ${id.slice(0, 8)}: start → end, in ${repo}\nNo changes.\n`);
  const json = await runCli(['--store', fx.store, 'changes', id, '--json']);
  assert.deepEqual(JSON.parse(json.stdout), []);
  const diff = await runCli(['--store', fx.store, 'diff', id]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.equal(diff.stdout, '');
});

test('run --no-snapshots: git never runs for it, and changes says why', async (t) => {
  const fx = await setup(t);
  const repo = await makeRepo(path.join(fx.dir, 'repo'), { 'a.txt': 'a\n' });
  const r = await runCli(['--store', fx.store, 'run', '--no-snapshots', '--', process.execPath, '-e', "require('fs').writeFileSync('a.txt', 'b')"], {}, repo);
  assert.equal(r.code, 0, r.stderr);
  const id = (JSON.parse((await runCli(['--store', fx.store, 'list', '--json', '--limit', '1'])).stdout) as { id: string }[])[0].id;
  const changes = await runCli(['--store', fx.store, 'changes', id]);
  assert.equal(changes.code, 1);
  assert.match(changes.stderr, /snapshots are turned off/);
  assert.equal(execFileSync('git', ['for-each-ref', 'refs/agent-tasks'], { cwd: repo, encoding: 'utf8' }), '');
});

test('a task in a folder that is not a git repository: no snapshots, "not a git repository", exit 1', async (t) => {
  const fx = await setup(t);
  const plain = path.join(fx.dir, 'plain');
  await fsp.mkdir(plain);
  const id = await runScript(fx, plain, "require('fs').writeFileSync('made.txt', 'x')");
  for (const args of [['changes', id], ['changes', id, '--json'], ['diff', id]]) {
    const r = await runCli(['--store', fx.store, ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `agent-tasks: task ${id.slice(0, 8)} has no snapshots to compare: not a git repository\n`);
  }
});

test('a live run: changes compares its start with the work tree now', async (t) => {
  const fx = await setup(t);
  const repo = await makeRepo(path.join(fx.dir, 'repo'), { 'a.txt': 'a\n' });
  const script = afterStartSnapshot("fs.writeFileSync('live.txt', 'so far\\n'); setInterval(() => {}, 1000)");
  const run = spawn(process.execPath, [path.resolve(__dirname, '../../src/cli/main.js'), '--store', fx.store, 'run', '--name', 'live', '--', process.execPath, '-e', script], { cwd: repo, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => run.on('close', resolve));
  t.after(() => {
    if (run.pid !== undefined && signalZeroSucceeds(run.pid)) run.kill('SIGKILL');
  });
  await waitFor('the agent\'s write', () => fsp.access(path.join(repo, 'live.txt')).then(() => true, () => false), 20_000);
  const row = await waitFor(
    'the start snapshot in the row',
    async () => {
      const list = await runCli(['--store', fx.store, 'list', '--json', '--limit', '1']);
      const [r] = JSON.parse(list.stdout) as { id: string; git: { start: unknown } | null }[];
      return r?.git?.start ? r : undefined;
    },
    20_000,
  );
  const text = await runCli(['--store', fx.store, 'changes', row.id]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, `Task ${row.id.slice(0, 8)}: start → now (the run is still going), in ${repo}\nadded  +1 −0  live.txt\n1 file changed, +1 −0\n`);
  const diff = await runCli(['--store', fx.store, 'diff', row.id, 'live.txt']);
  assert.match(diff.stdout, /^\+so far$/m);
  // Ctrl-C: the run cancels its agent and exits 130.
  run.kill('SIGINT');
  assert.equal(await exited, 130);
});

test('changes and diff of an unknown id, without a store, and usage errors', async (t) => {
  const fx = await setup(t);
  const noStore = await runCli(['--store', fx.store, 'changes', 'abc']);
  assert.equal(noStore.code, 2);
  assert.match(noStore.stderr, /no task store at .* yet[^]*no task with id "abc"\n$/);
  const plain = path.join(fx.dir, 'plain');
  await fsp.mkdir(plain);
  await runScript(fx, plain, '');
  for (const verb of ['changes', 'diff']) {
    const unknown = await runCli(['--store', fx.store, verb, 'zzzz']);
    assert.equal(unknown.code, 2, verb);
    assert.equal(unknown.stderr, 'agent-tasks: no task with id "zzzz"\n');
    const empty = await runCli(['--store', fx.store, verb, '']);
    assert.equal(empty.code, 2, verb);
    assert.match(empty.stderr, /the task ID must not be empty/);
    const missing = await runCli(['--store', fx.store, verb]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^agent-tasks: missing the task ID\n/);
  }
  const extra = await runCli(['--store', fx.store, 'diff', 'a', 'b', 'c']);
  assert.equal(extra.code, 2);
  assert.match(extra.stderr, /^agent-tasks: unexpected argument "c"\n/);
  const help = await runCli(['changes', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: agent-tasks changes ID \[--json\]\n/);
});
