import assert from 'node:assert/strict';
import { test } from 'node:test';
import { finishNotice, OPEN_AGENT_SETTINGS, OPEN_SETTINGS, plainNoticeText, SHOW_OUTPUT } from '../../src/extension/model/finishNotice';
import { T0, taskRow } from './helpers/taskRows';

test('a success says how long it took and what it cost', () => {
  assert.deepEqual(finishNotice(taskRow()), { severity: 'info', message: 'Agent task "Fix the flaky test" finished in 3m 12s ($0.0123).', buttons: [SHOW_OUTPUT] });
  assert.match(finishNotice(taskRow({ output_bytes: 0 }))!.message, /It printed no output\.$/);
});

test('a success with denied actions is a warning that names them and offers the agent settings', () => {
  const row = taskRow({
    permission_denials: [
      { tool: 'Bash', summary: 'npm test' },
      { tool: 'Edit', summary: 'src/a.ts' },
      { tool: 'Write', summary: 'b.ts' },
      { tool: 'Bash', summary: 'git commit' },
    ],
    permission_denial_count: 4,
  });
  assert.deepEqual(finishNotice(row), {
    severity: 'warning',
    message:
      'Agent task "Fix the flaky test" finished in 3m 12s ($0.0123), but 4 actions denied: Bash: npm test; Edit: src/a.ts; Write: b.ts; … and 1 more. Allow the tools it needs in the agent\'s profile (agentTasks.agents).',
    buttons: [OPEN_AGENT_SETTINGS, SHOW_OUTPUT],
  });
});

test('a failure gives the error; one that never started points at the profile setting', () => {
  const failed = taskRow({ status: 'failed', exit_code: 1, error: 'API Error: 500', cost_usd: null });
  assert.deepEqual(finishNotice(failed), { severity: 'error', message: 'Agent task "Fix the flaky test" failed: API Error: 500.', buttons: [SHOW_OUTPUT] });
  const notStarted = taskRow({ status: 'failed', child_pid: null, exit_code: null, error: 'spawn claude ENOENT' });
  assert.deepEqual(finishNotice(notStarted, 'agentTasks.agents.claude.command'), {
    severity: 'error',
    message: 'Agent task "Fix the flaky test" failed: spawn claude ENOENT. Check agentTasks.agents.claude.command.',
    buttons: [OPEN_SETTINGS, SHOW_OUTPUT],
  });
});

test('cancelled and interrupted runs are not announced', () => {
  assert.equal(finishNotice(taskRow({ status: 'cancelled' })), undefined);
  assert.equal(finishNotice(taskRow({ status: 'interrupted', finished_at: T0 + 5 })), undefined);
});

test("the agent's text cannot make a link in a notification", () => {
  assert.equal(plainNoticeText('see [here](command:workbench.action.terminal.sendSequence)'), 'see (here)(command:workbench.action.terminal.sendSequence)');
  const failed = taskRow({ status: 'failed', exit_code: 1, error: 'click [fix](command:x)', name: '[n](https://e.x)' });
  const message = finishNotice(failed)!.message;
  assert.ok(!/\[[^\]]*\]\(/.test(message), message);
  const denied = taskRow({ permission_denials: [{ tool: 'Bash', summary: '[a](command:b)' }], permission_denial_count: 1 });
  assert.ok(!finishNotice(denied)!.message.includes('['));
});
