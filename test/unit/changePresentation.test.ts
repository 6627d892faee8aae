import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GitRunState } from '../../src/core/gitSnapshot';
import type { ChangedFile } from '../../src/core/runChanges';
import type { TaskRow } from '../../src/core/taskTypes';
import {
  attributionWarning,
  buildSnapshotQuery,
  changeDiffTitle,
  changeItemView,
  hasChangesNode,
  hasSnapshots,
  isSafeRelativePath,
  lineCounts,
  looksBinary,
  noChangesText,
  overlappingRuns,
  parseSnapshotQuery,
  revertDetail,
  type SnapshotRef,
} from '../../src/extension/model/changePresentation';
import { taskContextValue, taskDescription, taskTooltipMarkdown } from '../../src/extension/model/taskPresentation';
import { T0, taskRow } from './helpers/taskRows';

const TREE_A = 'a'.repeat(40);
const TREE_B = 'b'.repeat(40);
const ROOT = '/home/me/project';

function gitState(overrides: Partial<GitRunState> = {}): GitRunState {
  return { root: ROOT, start: { tree: TREE_A, head: null, at: T0 }, end: { tree: TREE_B, head: null, at: T0 + 1000 }, unavailable: null, worktree: null, ...overrides };
}

function file(overrides: Partial<ChangedFile> = {}): ChangedFile {
  return { path: 'src/core/parser.ts', status: 'modified', insertions: 12, deletions: 3, old_path: null, binary: false, ...overrides };
}

function run(id: string, started: number, finished: number | null, overrides: Partial<TaskRow> = {}): TaskRow {
  return taskRow({ id, name: `run ${id.slice(0, 4)}`, started_at: started, finished_at: finished, status: finished === null ? 'running' : 'success', git: gitState(), ...overrides });
}

test('a changed file: its name as label, its folder and +N −M as description, an icon and colour per status', () => {
  const view = changeItemView(file());
  assert.equal(view.label, 'parser.ts');
  assert.equal(view.description, 'src/core · +12 \u22123');
  assert.deepEqual(view.icon, { id: 'diff-modified', color: 'gitDecoration.modifiedResourceForeground' });
  assert.equal(view.tooltip, 'src/core/parser.ts\nModified, 12 lines added, 3 removed');
  assert.equal(view.accessibilityLabel, 'src/core/parser.ts, modified, 12 lines added, 3 removed');

  assert.equal(changeItemView(file({ path: 'README.md', status: 'added', insertions: 1, deletions: 0 })).description, '+1 \u22120', 'no folder at the root');
  assert.deepEqual(changeItemView(file({ status: 'added' })).icon, { id: 'diff-added', color: 'gitDecoration.addedResourceForeground' });
  assert.deepEqual(changeItemView(file({ status: 'deleted' })).icon, { id: 'diff-removed', color: 'gitDecoration.deletedResourceForeground' });
  assert.deepEqual(changeItemView(file({ status: 'renamed' })).icon, { id: 'diff-renamed', color: 'gitDecoration.renamedResourceForeground' });

  const binary = changeItemView(file({ path: 'media/logo.png', insertions: null, deletions: null, binary: true, status: 'added' }));
  assert.equal(binary.description, 'media · binary');
  assert.equal(binary.tooltip, 'media/logo.png\nAdded, binary');
  assert.equal(lineCounts(file({ insertions: null, deletions: null, binary: true })), 'binary');

  const renamed = changeItemView(file({ path: 'src/new.ts', old_path: 'src/old.ts', status: 'renamed', insertions: 0, deletions: 0 }));
  assert.equal(renamed.description, 'src · +0 \u22120 · from src/old.ts');
  assert.equal(renamed.tooltip, 'src/new.ts\nRenamed from src/old.ts, 0 lines added, 0 removed');
});

test('which tasks expand to their changes, and why one shows none', () => {
  assert.equal(hasChangesNode(taskRow({ git: null })), false, 'a row from before snapshots');
  assert.equal(hasChangesNode(taskRow({ git: gitState() })), true);
  assert.equal(hasChangesNode(taskRow({ git: gitState({ end: null }) })), true, 'a live run: compared with now');
  assert.equal(hasChangesNode(taskRow({ git: gitState({ root: null, start: null, end: null, unavailable: 'not a git repository' }) })), true, 'says why');
  assert.equal(hasChangesNode(taskRow({ git: gitState({ start: null, end: null }) })), false, 'no snapshot and no reason');
  assert.equal(hasSnapshots(taskRow({ git: gitState({ root: null, start: null, end: null, unavailable: 'not a git repository' }) })), false);
  assert.equal(hasSnapshots(taskRow({ git: gitState() })), true);

  assert.equal(noChangesText('not a git repository'), 'Not a git repository');
  assert.equal(noChangesText('git was not found on PATH'), 'Git was not found on PATH');
  assert.equal(noChangesText(''), 'No changes recorded');
});

test('context values: .changes with snapshots, .worktree for a run in its own worktree; the description names its branch', () => {
  const worktree = { path: '/wt/project/fix-1', branch: 'agent-tasks/fix-the-flaky-test-a1b2c3d4', repo: ROOT, base: 'c'.repeat(40) };
  assert.equal(taskContextValue(taskRow({ git: gitState() }), false), 'agentTask.success.session.changes');
  assert.equal(taskContextValue(taskRow({ git: gitState({ worktree }) }), false), 'agentTask.success.session.changes.worktree');
  assert.equal(taskContextValue(taskRow({ git: gitState({ root: null, start: null, end: null, unavailable: 'not a git repository' }) }), false), 'agentTask.success.session');
  assert.equal(taskContextValue(taskRow({ status: 'interrupted', session_id: null, git: gitState() }), false), 'agentTask.interrupted.unresolved.changes');
  assert.equal(taskDescription(taskRow({ git: gitState({ worktree }) }), T0), 'claude · success · 3m 12s · 46 tokens · $0.0123 · agent-tasks/fix-the-flaky-test-a1b2c3d4');
  assert.equal(taskDescription(taskRow({ git: gitState() }), T0), 'claude · success · 3m 12s · 46 tokens · $0.0123', 'no branch without a worktree');
  assert.match(taskTooltipMarkdown(taskRow({ git: gitState({ worktree }) }), { now: T0, own: false, host: 'devbox' }), /\*\*Worktree:\*\* \/wt\/project\/fix\\-1 \\\(branch agent\\-tasks\/fix\\-the\\-flaky\\-test\\-a1b2c3d4\\\)/);
});

test('honest attribution: other runs of the same work tree whose times overlapped', () => {
  const now = T0 + 100_000;
  const me = run('11111111-0000-4000-8000-000000000001', T0, T0 + 10_000, { name: 'Fix the parser' });
  const during = run('22222222-0000-4000-8000-000000000002', T0 + 5_000, T0 + 20_000, { name: 'Update the docs' });
  const before = run('33333333-0000-4000-8000-000000000003', T0 - 50_000, T0 - 1, { name: 'Earlier' });
  const touching = run('44444444-0000-4000-8000-000000000004', T0 + 10_000, T0 + 30_000, { name: 'Started as I ended' });
  const elsewhere = run('55555555-0000-4000-8000-000000000005', T0 + 1_000, T0 + 2_000, { git: gitState({ root: '/other/repo' }) });
  const noGit = run('66666666-0000-4000-8000-000000000006', T0 + 1_000, T0 + 2_000, { git: null });
  const stillRunning = run('77777777-0000-4000-8000-000000000007', T0 - 5_000, null, { name: 'Long job' });
  const unavailable = run('88888888-0000-4000-8000-000000000008', T0 + 1_000, T0 + 2_000, { git: gitState({ root: ROOT, unavailable: 'the start snapshot failed: x' }) });
  const all = [me, during, before, touching, elsewhere, noGit, stillRunning, unavailable, during];

  const found = overlappingRuns(me, all, now);
  assert.deepEqual(found.map((r) => r.id), [stillRunning.id, during.id], 'oldest first, each once, never itself');
  assert.equal(
    attributionWarning(found),
    'May include changes by Long job (77777777) and Update the docs (22222222), which ran in the same folder at the same time',
  );
  assert.equal(attributionWarning([during]), 'May include changes by Update the docs (22222222), which ran in the same folder at the same time');
  assert.equal(attributionWarning([stillRunning]), 'May include changes by Long job (77777777), which is running in the same folder at the same time');
  assert.equal(attributionWarning([]), null);

  // A live run overlaps whatever ran since it started.
  assert.deepEqual(overlappingRuns(stillRunning, all, now).map((r) => r.id), [before.id, me.id, during.id, touching.id]);
  // No work tree: nothing to attribute.
  assert.deepEqual(overlappingRuns(noGit, all, now), []);
  assert.deepEqual(overlappingRuns(elsewhere, all, now), []);

  const many = Array.from({ length: 5 }, (_, i) => run(`${i}aaaaaaa-0000-4000-8000-00000000000${i}`, T0, T0 + 5_000, { name: 'x'.repeat(60) }));
  assert.equal(
    attributionWarning(many),
    `May include changes by ${'x'.repeat(39)}… (0aaaaaaa), ${'x'.repeat(39)}… (1aaaaaaa), ${'x'.repeat(39)}… (2aaaaaaa) and 2 more runs, which ran in the same folder at the same time`,
  );
});

test('snapshot URI queries round-trip, and anything malformed is refused', () => {
  const ref: SnapshotRef = { root: '/home/me/my project', tree: TREE_A, path: 'src/a b&c=d?.ts', side: 'start' };
  const query = buildSnapshotQuery(ref);
  assert.deepEqual(parseSnapshotQuery(query), ref);
  assert.deepEqual(parseSnapshotQuery(buildSnapshotQuery({ ...ref, tree: 'f'.repeat(64), side: 'now' })), { ...ref, tree: 'f'.repeat(64), side: 'now' });
  assert.deepEqual(parseSnapshotQuery(buildSnapshotQuery({ ...ref, root: 'C:\\Users\\me\\project' })), { ...ref, root: 'C:\\Users\\me\\project' });

  const bad = (o: Partial<Record<keyof SnapshotRef, string>>): string => new URLSearchParams({ ...ref, ...o } as Record<string, string>).toString();
  for (const malformed of [
    bad({ tree: 'HEAD' }),
    bad({ tree: 'A'.repeat(40) }),
    bad({ tree: `${TREE_A}:x` }),
    bad({ tree: 'a'.repeat(39) }),
    bad({ side: 'middle' }),
    bad({ root: 'relative/folder' }),
    bad({ root: '' }),
    bad({ path: '../etc/passwd' }),
    bad({ path: 'src/../../x' }),
    bad({ path: '/etc/passwd' }),
    bad({ path: 'a//b' }),
    bad({ path: 'a\\b' }),
    bad({ path: 'a\0b' }),
    bad({ path: '' }),
    `${query}&tree=${TREE_B}`,
    'root=%2Fx&tree=' + TREE_A + '&path=a',
    '',
    '%%%',
  ]) {
    assert.equal(parseSnapshotQuery(malformed), undefined, malformed);
  }
  assert.equal(isSafeRelativePath('a/b/c.txt'), true);
  assert.equal(isSafeRelativePath('./a'), false);
});

test('diff titles, the revert confirmation, binary detection', () => {
  const row = taskRow({ name: 'Fix the parser' });
  assert.equal(changeDiffTitle(file(), row, 'end'), 'parser.ts (Fix the parser) start \u2194 end');
  assert.equal(changeDiffTitle(file(), row, 'now'), 'parser.ts (Fix the parser) start \u2194 now');
  assert.equal(revertDetail(file({ status: 'added', path: 'new.txt' })), 'The run created new.txt: it is deleted.');
  assert.equal(revertDetail(file({ status: 'deleted', path: 'gone.txt' })), 'The run deleted gone.txt: it is restored.');
  assert.equal(revertDetail(file({ status: 'renamed', path: 'b.txt', old_path: 'a.txt' })), 'The run renamed a.txt to b.txt: b.txt is deleted and a.txt restored.');
  assert.equal(looksBinary(Buffer.from('plain text\n')), false);
  assert.equal(looksBinary(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01])), true);
});
