import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { AgentConversation } from '../../src/core/agentConversation';
import { TaskStore } from '../../src/core/taskStore';
import { makeTempDir, sampleTask } from '../helpers/tempDir';
import { waitFor } from '../helpers/waitFor';

/** The owner's side of an asking agent, with the agent's stdin as a stream we read and a real journal. */

const BASH_REQUEST = {
  type: 'control_request',
  request_id: 'req-1',
  request: { subtype: 'can_use_tool', tool_name: 'Bash', input: { command: 'npm test', description: 'Run the tests' }, permission_suggestions: [], tool_use_id: 'toolu_1' },
};

async function withConversation(
  options: { requestTimeoutMs?: number },
  fn: (c: { conversation: AgentConversation; lines: () => unknown[]; stdin: PassThrough; owner: TaskStore; other: TaskStore; id: string }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await makeTempDir();
  const owner = await TaskStore.open({ dir, rotationGraceMs: 0 });
  const other = await TaskStore.open({ dir, rotationGraceMs: 0 });
  const stdin = new PassThrough();
  let written = '';
  stdin.on('data', (d: Buffer) => (written += d.toString('utf8')));
  const row = await owner.startTask({ ...sampleTask(1), id: 'conv-1', format: 'claude-stream-json' });
  const logs: string[] = [];
  const conversation = new AgentConversation(stdin, { taskId: row.id, journal: owner, requestTimeoutMs: options.requestTimeoutMs, log: (m) => logs.push(m) });
  try {
    await fn({ conversation, stdin, owner, other, id: row.id, lines: () => written.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown) });
  } finally {
    conversation.dispose();
    await owner.close();
    await other.close();
    await cleanup();
  }
}

describe('AgentConversation', () => {
  test('the prompt is the first user message; a request is journaled; another store\'s answer is written back within a second; the result closes stdin', () =>
    withConversation({}, async ({ conversation, lines, stdin, other, id }) => {
      conversation.start('Fix it');
      assert.deepEqual(lines()[0], { type: 'user', message: { role: 'user', content: 'Fix it' } });
      conversation.onEvent(BASH_REQUEST);
      const asked = await waitFor('the request in another store', async () => {
        const row = await other.getTask(id);
        return row?.status === 'needs_input' ? row : undefined;
      });
      assert.equal(asked.pending_requests[0].summary, 'npm test');
      const t0 = Date.now();
      assert.equal((await other.answerRequest(id, 'req-1', { behavior: 'allow' })).ok, true);
      await waitFor('the answer on stdin', () => lines().length === 2, 3_000);
      assert.ok(Date.now() - t0 < 1_500, `relayed in ${Date.now() - t0} ms`);
      assert.deepEqual(lines()[1], {
        type: 'control_response',
        response: { subtype: 'success', request_id: 'req-1', response: { behavior: 'allow', updatedInput: { command: 'npm test', description: 'Run the tests' } } },
      });
      conversation.onEvent({ type: 'result', subtype: 'success', is_error: false });
      assert.equal(stdin.writableEnded, true, 'stdin closed after the result');
    }));

  test('agentTasks.permissions.timeoutMinutes: an unanswered request is denied with the reason, and the run is running again', () =>
    withConversation({ requestTimeoutMs: 300 }, async ({ conversation, lines, other, id }) => {
      conversation.start('Fix it');
      conversation.onEvent(BASH_REQUEST);
      const reply = await waitFor('the timeout\'s deny on stdin', () => lines().find((l) => (l as { type?: string }).type === 'control_response'), 5_000);
      const response = (reply as { response: { response: { behavior: string; message: string } } }).response.response;
      assert.equal(response.behavior, 'deny');
      assert.match(response.message, /No answer within .* minute\(s\) \(agentTasks\.permissions\.timeoutMinutes\)/);
      const row = await other.getTask(id);
      assert.equal(row?.status, 'running');
      assert.deepEqual(row?.pending_requests, []);
    }));

  test('bad input: an unknown control request gets an error reply (the agent never waits), a withdrawn one is closed, an overlong one refused', () =>
    withConversation({}, async ({ conversation, lines, other, id }) => {
      conversation.start('Fix it');
      conversation.onEvent({ type: 'control_request', request_id: 'odd-1', request: { subtype: 'mcp_message', server_name: 'x' } });
      const error = lines()[1] as { response: { subtype: string; request_id: string } };
      assert.equal(error.response.subtype, 'error');
      assert.equal(error.response.request_id, 'odd-1');
      conversation.onEvent({ type: 'control_request', request: 'not an object' });
      assert.equal(lines().length, 2, 'a request without an id cannot be answered: only logged');
      conversation.onEvent(BASH_REQUEST);
      await waitFor('needs_input', async () => (await other.getTask(id))?.status === 'needs_input');
      conversation.onEvent({ type: 'control_cancel_request', request_id: 'req-1' });
      await waitFor('running again', async () => (await other.getTask(id))?.status === 'running');
      conversation.onOverlongLine('{"type":"control_request","request_id":"big-1","request":{"subtype":"can_use_tool","input":{"content":"xxxx');
      const refused = lines().at(-1) as { response: { subtype: string; request_id: string } };
      assert.deepEqual([refused.response.subtype, refused.response.request_id], ['error', 'big-1']);
    }));
});
