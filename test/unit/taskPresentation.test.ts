import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSnapshot,
  diffSnapshots,
  displayTaskCommand,
  escapeMarkdown,
  groupDescription,
  historyQueryLimit,
  HISTORY_PAGE_SIZE,
  statusText,
  taskAccessibilityLabel,
  taskContextValue,
  taskDescription,
  taskIcon,
  taskLabel,
  taskTooltipMarkdown,
  visibleGroups,
} from '../../src/extension/model/taskPresentation';
import { formatAgo, formatBytes, formatTimestamp, formatTokens } from '../../src/extension/model/format';
import type { TaskRow } from '../../src/core/taskTypes';
import { T0, taskRow } from './helpers/taskRows';

process.env.TZ = 'UTC';

const running = (o: Partial<TaskRow> = {}): TaskRow =>
  taskRow({ status: 'running', finished_at: null, exit_code: null, cost_usd: null, input_tokens: null, output_tokens: null, ...o });

test('label: name, else the first line of the prompt, else the command; capped at 80', () => {
  assert.equal(taskLabel(taskRow()), 'Fix the flaky test');
  assert.equal(taskLabel(taskRow({ name: '', prompt: '\n  Refactor   the parser\nthen test' })), 'Refactor the parser');
  assert.equal(taskLabel(taskRow({ name: ' ', prompt: null, command: 'npm' })), 'npm');
  const long = 'x'.repeat(100);
  assert.equal(taskLabel(taskRow({ name: long })), `${'x'.repeat(79)}…`);
});

test('descriptions per status', () => {
  const now = T0 + 65_000;
  assert.equal(taskDescription(running(), now), 'claude · running · 1m 05s');
  assert.equal(taskDescription(running({ input_tokens: 1200, output_tokens: 34, cost_usd: 0.0123 }), now), 'claude · running · 1m 05s · 1.2k tokens · $0.0123');
  assert.equal(taskDescription(taskRow(), now), 'claude · success · 3m 12s · 46 tokens · $0.0123');
  assert.equal(taskDescription(taskRow({ output_bytes: 0, agent: null, cost_usd: null, input_tokens: null, output_tokens: null, finished_at: T0 + 2100 }), now), 'success, no output · 2.1s');
  assert.equal(taskDescription(taskRow({ status: 'failed', exit_code: 1, finished_at: T0 + 12_000 }), now), 'claude · failed (exit 1) · 12.0s · 46 tokens · $0.0123');
  assert.equal(statusText(taskRow({ status: 'failed', exit_code: null, signal: 'SIGKILL' })), 'failed (SIGKILL)');
  assert.equal(statusText(taskRow({ status: 'failed', exit_code: null, child_pid: null })), 'failed to start');
  assert.equal(statusText(taskRow({ status: 'cancelled' })), 'cancelled');
  assert.equal(statusText(taskRow({ status: 'interrupted' })), 'interrupted');
  assert.equal(statusText(taskRow({ status: 'interrupted', resolution: 'resumed', resolved_at: T0 })), 'interrupted (resumed)');
});

test('icons per status; success without output is flagged', () => {
  assert.deepEqual(taskIcon(running()), { id: 'sync~spin' });
  assert.deepEqual(taskIcon(taskRow({ status: 'interrupted' })), { id: 'warning', color: 'list.warningForeground' });
  assert.deepEqual(taskIcon(taskRow({ status: 'interrupted', resolution: 'dismissed', resolved_at: T0 })), { id: 'warning' });
  assert.deepEqual(taskIcon(taskRow({ status: 'failed' })), { id: 'error', color: 'list.errorForeground' });
  assert.deepEqual(taskIcon(taskRow({ status: 'cancelled' })), { id: 'debug-stop' });
  assert.deepEqual(taskIcon(taskRow()), { id: 'check' });
  assert.deepEqual(taskIcon(taskRow({ output_bytes: 0 })), { id: 'circle-slash', color: 'list.warningForeground' });
});

test('context values', () => {
  assert.equal(taskContextValue(running(), true), 'agentTask.running.own.session');
  assert.equal(taskContextValue(running({ session_id: null }), false), 'agentTask.running');
  assert.equal(taskContextValue(taskRow({ status: 'interrupted' }), false), 'agentTask.interrupted.unresolved.session');
  assert.equal(taskContextValue(taskRow({ status: 'interrupted', resolved_at: T0, resolution: 'dismissed', session_id: null }), false), 'agentTask.interrupted');
  assert.equal(taskContextValue(taskRow(), true), 'agentTask.success.session');
});

test('accessibility label spells out the description', () => {
  assert.equal(taskAccessibilityLabel(taskRow({ cost_usd: null, input_tokens: null, output_tokens: null }), T0), 'Fix the flaky test, claude, success, 3m 12s');
});

test('markdown escaping neutralizes links, HTML, emphasis and code', () => {
  assert.equal(escapeMarkdown('[x](command:evil) <img src=x> *b* `c` a_b # h'), '\\[x\\]\\(command\\:evil\\) &lt;img src=x&gt; \\*b\\* \\`c\\` a\\_b \\# h');
  assert.equal(escapeMarkdown('R&D 1. - !'), 'R&amp;D 1\\. \\- \\!');
});

test('tooltip: the details, user text escaped', () => {
  const row = taskRow({
    status: 'failed',
    exit_code: 2,
    error: 'boom [click](command:x)\nline 2',
    prompt: 'Do <b>it</b>\nnow',
    args: ['-p', 'Do <b>it</b>\nnow', '--session-id', 'sess-1'],
  });
  const md = taskTooltipMarkdown(row, { now: T0 + 500_000, own: false, host: 'devbox' });
  assert.equal(
    md,
    [
      '**Fix the flaky test**',
      '',
      '**Status:** failed \\(exit 2\\)  ',
      '**Agent:** claude  ',
      '**Command:** claude \\-p &lt;prompt&gt; \\-\\-session\\-id sess\\-1  ',
      '**Folder:** /home/me/project  ',
      '**Started:** 2025\\-01\\-15 14\\:03\\:05  ',
      '**Finished:** 2025\\-01\\-15 14\\:06\\:17  ',
      '**Duration:** 3m 12s  ',
      '**Exit code:** 2  ',
      '**Tokens:** 12 in, 34 out, 56 cache read, 78 cache write  ',
      '**Cost:** \\$0\\.0123  ',
      '**Session ID:** sess\\-1  ',
      '**Error:** boom \\[click\\]\\(command\\:x\\)  \nline 2  ',
      '',
      '**Prompt:**  ',
      'Do &lt;b&gt;it&lt;/b&gt;  \nnow',
      '',
      'Task a1b2c3d4\\-0000\\-4000\\-8000\\-000000000001',
    ].join('\n'),
  );
});

test('tooltip: where a running task runs', () => {
  const own = taskTooltipMarkdown(running(), { now: T0 + 1000, own: true, host: 'devbox' });
  assert.match(own, /\*\*Running for:\*\* 1\\\.0s {2}\n/);
  assert.match(own, /\*\*Runs in:\*\* this window {2}\n/);
  assert.match(taskTooltipMarkdown(running(), { now: T0, own: false, host: 'devbox' }), /\*\*Runs in:\*\* another process \\\(pid 4242\\: the agent\\-tasks CLI or another window\\\)/);
  assert.match(taskTooltipMarkdown(running(), { now: T0, own: false, host: 'laptop' }), /\*\*Runs in:\*\* another machine \\\(devbox\\\)/);
});

test('the command shows the prompt argument as <prompt>, other args quoted when needed', () => {
  assert.equal(displayTaskCommand(taskRow({ command: 'my agent', args: ['--x', 'a b', 'Fix the flaky test'] })), '"my agent" --x "a b" <prompt>');
});

const ids = (n: number, prefix: string, status: TaskRow['status'] = 'success'): TaskRow[] =>
  Array.from({ length: n }, (_, i) => taskRow({ id: `${prefix}${i}`, status, started_at: T0 - i * 1000 }));

test('snapshot: unresolved interrupted rows leave History; paging and "more"', () => {
  const interrupted = ids(2, 'int', 'interrupted');
  assert.equal(historyQueryLimit(1, 2), HISTORY_PAGE_SIZE + 3);
  const finished = [...interrupted, ...ids(HISTORY_PAGE_SIZE + 1, 'h')];
  const s = buildSnapshot({ running: [], interrupted, finished, finishedTotal: 120, pages: 1 });
  assert.equal(s.history.length, HISTORY_PAGE_SIZE);
  assert.equal(s.history.some((r) => r.id.startsWith('int')), false);
  assert.equal(s.historyHasMore, true);
  assert.equal(s.historyTotal, 118);
  assert.equal(groupDescription(s, 'history'), '50 of 118');
  assert.equal(groupDescription(s, 'interrupted'), '2 to recover');
  assert.equal(groupDescription(s, 'running'), 'none');
  assert.deepEqual(visibleGroups(s), ['running', 'interrupted', 'history']);

  const small = buildSnapshot({ running: ids(1, 'r', 'running'), interrupted: [], finished: ids(3, 'h'), finishedTotal: 3, pages: 1 });
  assert.equal(small.historyHasMore, false);
  assert.equal(groupDescription(small, 'history'), '3');
  assert.equal(groupDescription(small, 'running'), '1');
  assert.deepEqual(visibleGroups(small), ['running', 'history']);
  assert.deepEqual(visibleGroups(buildSnapshot({ running: [], interrupted: [], finished: [], finishedTotal: 0, pages: 1 })), []);
});

test('diff: in-place row changes refresh only those rows', () => {
  const base = { interrupted: [], finishedTotal: 3, pages: 1 };
  const a = buildSnapshot({ ...base, running: ids(2, 'r', 'running'), finished: ids(3, 'h') });
  const changedRunning = ids(2, 'r', 'running');
  changedRunning[1] = { ...changedRunning[1], output_bytes: 999 };
  const b = buildSnapshot({ ...base, running: changedRunning, finished: ids(3, 'h') });
  assert.deepEqual(diffSnapshots(a, b), { root: false, groups: [], tasks: ['r1'] });
  assert.deepEqual(diffSnapshots(a, a), { root: false, groups: [], tasks: [] });
  assert.deepEqual(diffSnapshots(undefined, a), { root: true, groups: [], tasks: [] });
});

test('diff: a new row refreshes its group; a moved row or a new group refreshes the root', () => {
  const a = buildSnapshot({ running: ids(1, 'r', 'running'), interrupted: [], finished: ids(2, 'h'), finishedTotal: 2, pages: 1 });
  const added = buildSnapshot({ running: ids(2, 'r', 'running'), interrupted: [], finished: ids(2, 'h'), finishedTotal: 2, pages: 1 });
  assert.deepEqual(diffSnapshots(a, added), { root: false, groups: ['running'], tasks: [] });
  const moved = buildSnapshot({ running: [], interrupted: [], finished: [{ ...ids(1, 'r')[0] }, ...ids(2, 'h')], finishedTotal: 3, pages: 1 });
  assert.deepEqual(diffSnapshots(a, moved), { root: true, groups: [], tasks: [] });
  const withInterrupted = buildSnapshot({ running: ids(1, 'r', 'running'), interrupted: ids(1, 'i', 'interrupted'), finished: ids(2, 'h'), finishedTotal: 3, pages: 1 });
  assert.deepEqual(diffSnapshots(a, withInterrupted), { root: true, groups: [], tasks: [] });
});

test('formatters', () => {
  assert.equal(formatTokens(980), '980');
  assert.equal(formatTokens(12_345), '12.3k');
  assert.equal(formatTokens(2000), '2k');
  assert.equal(formatTokens(1_234_567), '1.2M');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(4 * 1024 * 1024), '4.0 MB');
  assert.equal(formatTimestamp(T0), '2025-01-15 14:03:05');
  assert.equal(formatAgo(T0, T0 + 10_000), 'just now');
  assert.equal(formatAgo(T0, T0 + 5 * 60_000), '5 min ago');
  assert.equal(formatAgo(T0, T0 + 3 * 3_600_000), '3 h ago');
  assert.equal(formatAgo(T0, T0 + 26 * 3_600_000), '1 day ago');
  assert.equal(formatAgo(T0, T0 + 30 * 86_400_000), '2025-01-15');
});

test('denied actions: "success, N actions denied" with a warning icon; the tooltip lists them, escaped', () => {
  const denied = taskRow({
    permission_denials: [
      { tool: 'Bash', summary: 'rm -rf [x](command:evil)' },
      { tool: 'Edit', summary: '' },
    ],
    permission_denial_count: 12,
  });
  assert.equal(statusText(denied), 'success, 12 actions denied');
  assert.equal(statusText(taskRow({ permission_denials: [{ tool: 'Bash', summary: 'ls' }], permission_denial_count: 1 })), 'success, 1 action denied');
  assert.equal(statusText(taskRow({ output_bytes: 0, permission_denials: [{ tool: 'Bash', summary: 'ls' }], permission_denial_count: 1 })), 'success, 1 action denied', 'denials say more than "no output"');
  assert.deepEqual(taskIcon(denied), { id: 'warning', color: 'list.warningForeground' });
  assert.deepEqual(taskIcon(taskRow()), { id: 'check' }, 'no denials: a plain check');
  assert.equal(statusText(taskRow({ status: 'failed', exit_code: 1, permission_denials: [{ tool: 'Bash', summary: 'ls' }], permission_denial_count: 1 })), 'failed (exit 1)');
  const md = taskTooltipMarkdown(denied, { now: T0 + 200_000, own: false, host: 'devbox' });
  assert.match(md, /\*\*12 actions denied\*\* \(the agent's permission settings did not allow them\):/);
  assert.ok(md.includes('\n- Bash\\: rm \\-rf \\[x\\]\\(command\\:evil\\)\n- Edit\n- … and 10 more\n'), md);
  assert.ok(!md.includes('](command:'), 'no link survives');
  assert.ok(!taskTooltipMarkdown(taskRow(), { now: T0, own: false, host: 'devbox' }).includes('denied'));
});
