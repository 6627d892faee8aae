import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PendingRequest } from '../../src/core/taskTypes';
import {
  ALLOW,
  ALWAYS_ALLOW,
  ANSWER,
  answerForButton,
  DENY,
  openRequests,
  questionAnswerText,
  questionPicks,
  requestDetails,
  requestNotice,
  SHOW,
  TYPE_ANSWER_LABEL,
} from '../../src/extension/model/requestPrompt';
import { buildSnapshot, groupDescription, visibleGroups } from '../../src/extension/model/taskPresentation';
import { T0, taskRow } from './helpers/taskRows';

const bash: PendingRequest = {
  id: 'req-1',
  kind: 'permission',
  tool: 'Bash',
  summary: 'rm -rf build [x](command:workbench.action.quit)',
  input: { command: 'rm -rf build [x](command:workbench.action.quit)', description: 'Clean' },
  suggestions: [{ type: 'addRules', rules: [{ toolName: 'Bash', ruleContent: 'rm -rf build' }], behavior: 'allow', destination: 'localSettings' }],
  asked_at: T0 + 5,
};
const question: PendingRequest = {
  id: 'req-2',
  kind: 'question',
  tool: 'AskUserQuestion',
  summary: 'Which color?',
  input: {},
  suggestions: [],
  questions: [{ question: 'Which color?', header: 'Color', options: [{ label: 'Blue', description: 'Calm' }, { label: '[Red]', description: null }], multiSelect: true }],
  asked_at: T0 + 1,
};

test('open requests of live rows, oldest first; the tree shows them in Needs input, on top', () => {
  const asking = taskRow({ id: 'a', status: 'needs_input', finished_at: null, pending_requests: [bash] });
  const asking2 = taskRow({ id: 'b', status: 'needs_input', finished_at: null, pending_requests: [question] });
  const running = taskRow({ id: 'c', status: 'running', finished_at: null });
  assert.deepEqual(openRequests([asking, running, asking2]).map((o) => o.request.id), ['req-2', 'req-1']);
  const s = buildSnapshot({ running: [asking, running, asking2], interrupted: [], finished: [], finishedTotal: 0, pages: 1 });
  assert.deepEqual(visibleGroups(s), ['needsInput', 'running', 'history']);
  assert.deepEqual(s.needsInput.map((r) => r.id), ['a', 'b']);
  assert.deepEqual(s.running.map((r) => r.id), ['c']);
  assert.equal(groupDescription(s, 'needsInput'), '2 to answer');
});

test('the notification: what is asked, with no link the agent could make; Always Allow only with suggestions', () => {
  const row = taskRow({ name: 'Clean up', status: 'needs_input', pending_requests: [bash] });
  const n = requestNotice({ row, request: bash });
  assert.equal(n.message, 'Clean up asks to use Bash: rm -rf build (x)(command:workbench.action.quit)');
  assert.deepEqual(n.buttons, [ALLOW, ALWAYS_ALLOW, DENY, SHOW]);
  assert.deepEqual(requestNotice({ row, request: { ...bash, suggestions: [] } }).buttons, [ALLOW, DENY, SHOW]);
  assert.deepEqual(requestNotice({ row, request: question }).buttons, [ANSWER, DENY, SHOW]);
  assert.deepEqual(answerForButton(ALLOW), { behavior: 'allow' });
  assert.deepEqual(answerForButton(ALWAYS_ALLOW), { behavior: 'allow', always: true });
  assert.equal(answerForButton(DENY)?.behavior, 'deny');
  assert.equal(answerForButton(SHOW), undefined);
  assert.equal(answerForButton(undefined), undefined);
});

test('details: the whole command and what Always Allow would change, as plain text', () => {
  const text = requestDetails({ row: taskRow({ status: 'needs_input' }), request: bash });
  assert.match(text, /rm -rf build/);
  assert.match(text, /Everything below comes from the agent/);
  assert.match(text, /localSettings|settings/i);
});

test('questions: options (brackets made harmless) and a typed answer; the answer keeps the labels as sent', () => {
  const q = question.questions![0];
  const picks = questionPicks(q);
  assert.deepEqual(picks.map((p) => p.label), ['Blue', '(Red)', TYPE_ANSWER_LABEL]);
  assert.equal(questionAnswerText(q, ['Blue', '(Red)'], undefined), 'Blue, [Red]');
  assert.equal(questionAnswerText(q, [], ' Green '), 'Green');
  assert.equal(questionAnswerText(q, [], ''), undefined);
});
