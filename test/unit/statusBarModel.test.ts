import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusBarView } from '../../src/extension/model/statusBarModel';
import type { TaskRow } from '../../src/core/taskTypes';
import { T0, taskRow } from './helpers/taskRows';

process.env.TZ = 'UTC';

const running = (name: string, agent: string | null = 'claude'): TaskRow => taskRow({ name, agent, status: 'running', finished_at: null, started_at: T0 });

test('hidden when disabled or when there is nothing to show', () => {
  assert.equal(statusBarView({ enabled: true, running: [], interruptedCount: 0 }).visible, false);
  assert.equal(statusBarView({ enabled: false, running: [running('a')], interruptedCount: 3 }).visible, false);
});

test('running tasks: count with a spinner, tooltip lists them', () => {
  const view = statusBarView({ enabled: true, running: [running('Fix the test'), running('Build', null)], interruptedCount: 0 });
  assert.deepEqual(view, {
    visible: true,
    text: '$(sync~spin) 2',
    tooltip: '2 agent tasks running:\n• Fix the test (claude, started 14:03)\n• Build (started 14:03)\n\nClick to show the Agent Tasks view.',
    warning: false,
    ariaLabel: '2 agent tasks running',
  });
});

test('interrupted tasks: warning background, said in the tooltip', () => {
  assert.deepEqual(statusBarView({ enabled: true, running: [], interruptedCount: 1 }), {
    visible: true,
    text: '$(warning) 1',
    tooltip: '1 interrupted agent task can be recovered.\n\nClick to show the Agent Tasks view.',
    warning: true,
    ariaLabel: '1 interrupted agent task to recover',
  });
  const both = statusBarView({ enabled: true, running: [running('A')], interruptedCount: 2 });
  assert.equal(both.text, '$(sync~spin) 1 $(warning) 2');
  assert.equal(both.tooltip, '1 agent task running:\n• A (claude, started 14:03)\n\n2 interrupted agent tasks can be recovered.\n\nClick to show the Agent Tasks view.');
  assert.equal(both.warning, true);
  assert.equal(both.ariaLabel, '1 agent task running, 2 interrupted agent tasks to recover');
});

test('the tooltip lists at most 10 tasks', () => {
  const many = Array.from({ length: 12 }, (_, i) => running(`T${i}`));
  const lines = statusBarView({ enabled: true, running: many, interruptedCount: 0 }).tooltip.split('\n');
  assert.equal(lines[0], '12 agent tasks running:');
  assert.equal(lines[10], '• T9 (claude, started 14:03)');
  assert.equal(lines[11], '• … and 2 more');
});

test('tasks that need input: a bell with their count first, the warning background, said in the tooltip', () => {
  const asking = taskRow({ id: 'q1', name: 'Fix the test', status: 'needs_input', finished_at: null, pending_requests: [{ id: 'r1', kind: 'permission', tool: 'Bash', summary: 'npm test', input: {}, suggestions: [], asked_at: T0 }] });
  const view = statusBarView({ enabled: true, running: [asking, taskRow({ id: 'r2', name: 'Build', status: 'running', finished_at: null, agent: null })], interruptedCount: 0 });
  assert.equal(view.text, '$(bell-dot) 1 $(sync~spin) 1');
  assert.equal(view.warning, true);
  assert.match(view.tooltip, /^1 agent task needs your answer:\n• Fix the test: Bash\n\n1 agent task running:/);
  assert.equal(view.ariaLabel, '1 agent task needs input, 1 agent task running');
});
