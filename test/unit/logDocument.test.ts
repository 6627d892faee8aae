import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LogDocument, outputFooter, outputHeader, readTail } from '../../src/extension/model/logDocument';
import { T0, taskRow } from './helpers/taskRows';

process.env.TZ = 'UTC';

const FIXTURES = path.join(__dirname, '../../../test/fixtures/agent-output');

function tempFile(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-logdoc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'task.log');
}

test('reads incrementally; a partial line waits for its newline, end() flushes it', async (t) => {
  const file = tempFile(t);
  const doc = new LogDocument(file, 'text');
  assert.equal(await doc.update(), false);
  assert.equal(doc.isMissing, true);
  writeFileSync(file, 'one\ntw');
  assert.equal(await doc.update(), true);
  assert.equal(doc.body, 'one\n');
  assert.equal(await doc.update(), false, 'nothing new');
  appendFileSync(file, 'o\nthree');
  assert.equal(await doc.update(), true);
  assert.equal(doc.body, 'one\ntwo\n');
  assert.equal(await doc.end(), true);
  assert.equal(doc.body, 'one\ntwo\nthree\n');
  assert.equal(doc.isTruncated, false);
  assert.equal(doc.truncationNote(), '');
  appendFileSync(file, 'four\n');
  assert.equal(await doc.update(), false, 'ended: no more reads');
});

test('renders Claude stream-json as text', async (t) => {
  const file = tempFile(t);
  writeFileSync(file, readFileSync(path.join(FIXTURES, 'claude-success.jsonl')));
  const doc = new LogDocument(file, 'claude-stream-json');
  await doc.end();
  assert.match(doc.body, /^⏺ Session /);
  assert.equal(doc.body.includes('{"type"'), false, 'no raw JSON events');
});

test('a large log: only its end is read, from a line boundary, with a note', async (t) => {
  const file = tempFile(t);
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(4, '0')} ${'x'.repeat(40)}`);
  writeFileSync(file, lines.join('\n') + '\n');
  const doc = new LogDocument(file, 'text', { maxBytes: 10_000, chunkBytes: 1024 });
  await doc.update();
  const body = doc.body;
  assert.ok(body.length <= 10_000, `kept ${body.length} chars`);
  assert.ok(body.startsWith('line '), 'starts at a whole line');
  assert.ok(body.endsWith(`${lines[1999]}\n`));
  assert.equal(doc.isTruncated, true);
  assert.equal(doc.truncationNote(), `[The beginning of this output is not shown: this view keeps the last 9.8 KB. Full log: ${file}]\n`);
});

test('text kept stays capped while a log grows', async (t) => {
  const file = tempFile(t);
  writeFileSync(file, '');
  const doc = new LogDocument(file, 'text', { maxBytes: 1000 });
  for (let i = 0; i < 50; i++) {
    appendFileSync(file, `${String(i).padStart(3, '0')} ${'y'.repeat(95)}\n`);
    await doc.update();
  }
  assert.ok(doc.body.length <= 1250, `kept ${doc.body.length}`);
  assert.ok(doc.body.endsWith(`049 ${'y'.repeat(95)}\n`));
  assert.ok(/^\d{3} y/.test(doc.body), 'cut at a line start');
  assert.equal(doc.isTruncated, true);
});

test('a truncated or replaced file starts over', async (t) => {
  const file = tempFile(t);
  writeFileSync(file, 'old old old\n');
  const doc = new LogDocument(file, 'text');
  await doc.update();
  writeFileSync(file, 'new\n');
  assert.equal(await doc.update(), true);
  assert.equal(doc.body, 'new\n');
});

test('readTail: bounded bytes from the end', async (t) => {
  const file = tempFile(t);
  assert.equal(await readTail(file), null);
  writeFileSync(file, 'abcdefghij');
  assert.deepEqual(await readTail(file, 4), { text: 'ghij', truncated: true });
  assert.deepEqual(await readTail(file, 100), { text: 'abcdefghij', truncated: false });
});

test('output header and footer', () => {
  const row = taskRow({ status: 'failed', exit_code: 1, error: 'Exited with code 1', finished_at: T0 + 2000 });
  assert.equal(
    outputHeader(row),
    `Agent task: Fix the flaky test\nCommand:    claude -p <prompt> --output-format stream-json --verbose --session-id sess-1\nFolder:     /home/me/project\nStarted:    2025-01-15 14:03:05\n${'─'.repeat(60)}\n`,
  );
  assert.equal(outputFooter(row, T0 + 9999, { emptyBody: false }), `${'─'.repeat(60)}\nFailed (exit 1) after 2.0s · $0.0123.\nExited with code 1\n`);
  const running = taskRow({ status: 'running', finished_at: null, cost_usd: null });
  assert.equal(outputFooter(running, T0 + 65_000, { emptyBody: true }), `(no output yet)\n${'─'.repeat(60)}\nRunning after 1m 05s — this view follows the output live.\n`);
});

test('output header lists denied actions', () => {
  const row = taskRow({ permission_denials: [{ tool: 'Bash', summary: 'npm test' }], permission_denial_count: 2 });
  const header = outputHeader(row);
  assert.ok(header.includes("Denied:     2 actions denied (the agent's permission settings did not allow them; see agentTasks.agents)\n            Bash: npm test\n            … and 1 more\n"), header);
  assert.equal(outputFooter(row, T0 + 999_999, { emptyBody: false }).split('\n')[1], 'Success, 2 actions denied after 3m 12s · $0.0123.');
});
