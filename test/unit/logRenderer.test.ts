import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  createLogRenderer,
  formatCost,
  formatDuration,
  renderLogLine,
  summarizeToolInput,
} from '../../src/core/logRenderer';
import type { OutputFormat } from '../../src/core/taskTypes';

const FIXTURES = path.join(__dirname, '../../../test/fixtures/agent-output');

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

function renderAll(format: OutputFormat, chunks: readonly Buffer[], options: { maxLineBytes?: number } = {}): string {
  const renderer = createLogRenderer(format, options);
  let out = '';
  for (const chunk of chunks) out += renderer.push(chunk);
  return out + renderer.end();
}

const EXPECTED: Record<string, { format: OutputFormat; text: string }> = {
  'claude-success.jsonl': {
    format: 'claude-stream-json',
    text: [
      '⏺ Session 8f2c1d4e-5b6a-4c3d-9e8f-0a1b2c3d4e5f · model claude-sonnet-4-5-20250929 · cwd /home/dev/shop',
      'I\'ll look at the price formatter first — it mishandles « café » and 日本語 names 🎉.',
      '▸ Read(/home/dev/shop/src/price.ts)',
      '  ⎿ export function price(n: number) { (+2 more lines)',
      '▸ Bash(npm test -- --run price)',
      '  ⎿ ✖ FAIL src/price.test.ts (+2 more lines)',
      'Fixed the formatter.',
      '',
      'All price tests pass now ✓',
      '✔ Result: success · 4 turns · 42.4s · $0.0871 · tokens 18 in / 169 out · cache 35,700 read / 1,500 written',
      '',
    ].join('\n'),
  },
  'claude-killed.jsonl': {
    format: 'claude-stream-json',
    text: [
      '⏺ Session c0ffee00-1234-4abc-8def-1234567890ab · model claude-opus-4-1-20250805 · cwd /home/dev/shop',
      'Starting the migration.',
      '▸ Bash(npm run migrate)',
      '  ⎿ migrated 3 tables',
      'Now checking the indexes…',
      // The cut-off last line is not JSON: shown raw.
      '{"type":"assistant","message":{"id":"msg_02CCC","type":"message","role":"assistant","model":"claude-opus-4-1-20250805",'
        + '"content":[{"type":"tool_use","id":"toolu_12","name":"Grep","input":{"pattern":"CREATE INDEX","path":"db/"}}],'
        + '"stop_reason":null,"usage":{"input_tokens":1',
      '',
    ].join('\n'),
  },
  'claude-error-max-turns.jsonl': {
    format: 'claude-stream-json',
    text: [
      '⏺ Session 11111111-2222-4333-8444-555555555555 · model claude-sonnet-4-5-20250929 · cwd /srv/app',
      '✻ Thinking: The user wants every test green. Start with the flaky one.',
      '▸ TodoWrite(2 todos)',
      '  ⎿ Todos have been modified successfully.',
      '✖ Result: error_max_turns · 2 turns · 2m 05s · $1.50 · tokens 3 in / 60 out · cache 500 read / 0 written',
      '  Reached maximum number of turns (2)',
      '',
    ].join('\n'),
  },
  'codex-success.jsonl': {
    format: 'codex-json',
    text: [
      '⏺ Session 0199a213-81c0-7800-8aa1-bbab2a035a53',
      '✻ Thinking: **Searching for README files**',
      '▸ Shell(bash -lc ls)',
      '  ⎿ exit 0 · AGENTS.md (+3 more lines)',
      '▸ TodoList(1/2 done; next: Answer)',
      '▸ Patch(update docs/notes.md, add docs/new.md)',
      '▸ docs.search(readme location)',
      '  ⎿ README.md is at the root',
      'Yep — there’s a `README.md` in the repository root.',
      '✔ Turn completed · tokens 24,763 in (24,448 cached) / 122 out',
      '',
    ].join('\n'),
  },
  'codex-failed.jsonl': {
    format: 'codex-json',
    text: [
      '⏺ Session 0199b000-0000-7000-8000-00000000beef',
      '✖ Error: Reconnecting... 1/5',
      '⚠ model rerouted: gpt-5 -> gpt-5-mini',
      '✖ Turn failed: stream disconnected before completion: 500 Internal Server Error',
      '',
    ].join('\n'),
  },
};

for (const [file, { format, text }] of Object.entries(EXPECTED)) {
  test(`${file}: rendered`, () => {
    assert.equal(renderAll(format, [fixture(file)]), text);
  });

  test(`${file}: rendered the same whatever the chunking`, () => {
    const data = fixture(file);
    for (let cut = 0; cut <= data.length; cut += 7) {
      assert.equal(renderAll(format, [data.subarray(0, cut), data.subarray(cut)]), text, `split at ${cut}`);
    }
    const bytes = Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
    assert.equal(renderAll(format, bytes), text);
  });

  test(`${file}: CRLF log renders the same`, () => {
    const crlf = Buffer.from(fixture(file).toString('utf8').replace(/\n/g, '\r\n'));
    assert.equal(renderAll(format, [crlf]), text);
  });
}

test('push returns only the lines that chunk completed', () => {
  const renderer = createLogRenderer('codex-json');
  assert.equal(renderer.push(Buffer.from('{"type":"thread.started","thread_id":"t"}\n{"type":"turn.st')), '⏺ Session t\n');
  assert.equal(renderer.push(Buffer.from('arted"}\n')), '');
  assert.equal(renderer.push(Buffer.from('{"type":"error","message":"boom"}')), '');
  assert.equal(renderer.end(), '✖ Error: boom\n');
});

test('text format passes lines through unchanged; blank JSON lines render nothing', () => {
  assert.equal(renderLogLine('text', '  \x1b[32mgreen\x1b[0m  '), '  \x1b[32mgreen\x1b[0m  ');
  assert.equal(renderLogLine('text', ''), '');
  assert.equal(renderAll('text', [Buffer.from('a\r\n\nb')]), 'a\n\nb\n');
  assert.equal(renderLogLine('claude-stream-json', '   '), null);
  assert.equal(renderLogLine('codex-json', ''), null);
});

test('malformed and non-event lines are shown raw', () => {
  for (const format of ['claude-stream-json', 'codex-json'] as const) {
    assert.equal(renderLogLine(format, 'Warning: something odd'), 'Warning: something odd');
    assert.equal(renderLogLine(format, '{"type":'), '{"type":');
    assert.equal(renderLogLine(format, '[1,2]'), '[1,2]');
    assert.equal(renderLogLine(format, '{"no_type":1}'), '{"no_type":1}');
  }
});

test('bookkeeping and unknown events render nothing', () => {
  assert.equal(renderLogLine('claude-stream-json', '{"type":"stream_event","event":{"type":"content_block_delta"}}'), null);
  assert.equal(renderLogLine('claude-stream-json', '{"type":"assistant","message":{"content":[]}}'), null);
  assert.equal(renderLogLine('codex-json', '{"type":"turn.started"}'), null);
  assert.equal(renderLogLine('codex-json', '{"type":"item.started","item":{"id":"i","type":"agent_message","text":""}}'), null);
  assert.equal(renderLogLine('codex-json', '{"type":"item.updated","item":{"id":"i","type":"command_execution","command":"ls"}}'), null);
  assert.equal(renderLogLine('codex-json', '{"type":"some.future.event"}'), null);
});

test('claude: other system events, user text, tool errors, images and assistant errors', () => {
  assert.equal(renderLogLine('claude-stream-json', '{"type":"system","subtype":"compact_boundary","session_id":"s"}'), '· system: compact_boundary');
  assert.equal(renderLogLine('claude-stream-json', '{"type":"system","subtype":"init"}'), '⏺ Session (unknown)');
  assert.equal(renderLogLine('claude-stream-json', '{"type":"user","message":{"role":"user","content":"Fix   the\\nbuild"}}'), '> Fix the build');
  assert.equal(
    renderLogLine('claude-stream-json', '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{}}]},{"type":"tool_result","tool_use_id":"u","content":"","is_error":true}]}}'),
    '  ⎿ [image]\n  ⎿ ✖ (no output)',
  );
  assert.equal(
    renderLogLine('claude-stream-json', '{"type":"assistant","message":{"content":[{"type":"text","text":"Hm."}]},"error":"rate_limit"}'),
    'Hm.\n⚠ rate_limit',
  );
});

test('claude: result of an API error shows its message; missing fields are left out', () => {
  assert.equal(
    renderLogLine('claude-stream-json', '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 529 overloaded","duration_ms":850,"num_turns":1}'),
    '✖ Result: success · 1 turn · 850ms\n  API Error: 529 overloaded',
  );
  assert.equal(
    renderLogLine('claude-stream-json', '{"type":"result","subtype":"error_during_execution","is_error":true,"errors":["tool crashed","gave up"]}'),
    '✖ Result: error_during_execution\n  tool crashed; gave up',
  );
});

test('codex: failed and declined commands, failed patches and MCP errors', () => {
  assert.equal(
    renderLogLine('codex-json', '{"type":"item.completed","item":{"id":"i","type":"command_execution","command":"false","aggregated_output":"","exit_code":1,"status":"failed"}}'),
    '  ⎿ ✖ exit 1',
  );
  assert.equal(
    renderLogLine('codex-json', '{"type":"item.completed","item":{"id":"i","type":"command_execution","command":"rm -rf /","aggregated_output":"","exit_code":null,"status":"declined"}}'),
    '  ⎿ declined',
  );
  assert.equal(
    renderLogLine('codex-json', '{"type":"item.completed","item":{"id":"i","type":"file_change","changes":[{"path":"a.ts","kind":"delete"}],"status":"failed"}}'),
    '▸ Patch(delete a.ts)\n  ⎿ ✖ patch failed',
  );
  assert.equal(
    renderLogLine('codex-json', '{"type":"item.completed","item":{"id":"i","type":"mcp_tool_call","server":"s","tool":"t","arguments":{},"result":null,"error":{"message":"timed out"},"status":"failed"}}'),
    '  ⎿ ✖ timed out',
  );
  assert.equal(
    renderLogLine('codex-json', '{"type":"item.completed","item":{"id":"i","type":"web_search","query":"node test runner"}}'),
    '▸ WebSearch(node test runner)',
  );
});

test('an over-long line renders as its beginning and its size', () => {
  const long = Buffer.from('{"type":"assistant","message":{"content":[{"type":"text","text":"' + 'é'.repeat(3000) + '"}]}}\n');
  const rendered = renderAll('claude-stream-json', [long, Buffer.from('{"type":"system","subtype":"init","session_id":"next"}\n')], { maxLineBytes: 1000 });
  const expectedHead = ('{"type":"assistant","message":{"content":[{"type":"text","text":"' + 'é'.repeat(3000)).slice(0, 199) + '…';
  assert.equal(rendered, `${expectedHead} … [${(long.length - 1).toLocaleString('en-US')}-byte line cut]\n⏺ Session next\n`);
});

test('summarizeToolInput picks the telling field, and falls back to compact JSON', () => {
  assert.equal(summarizeToolInput('Bash', { command: 'ls -la\n  && pwd', description: 'List' }), 'ls -la && pwd');
  assert.equal(summarizeToolInput('Edit', { file_path: '/a/b.ts', old_string: 'x', new_string: 'y' }), '/a/b.ts');
  assert.equal(summarizeToolInput('Grep', { pattern: 'TODO', path: 'src' }), 'TODO in src');
  assert.equal(summarizeToolInput('Glob', { pattern: '**/*.ts' }), '**/*.ts');
  assert.equal(summarizeToolInput('WebFetch', { url: 'https://example.com', prompt: 'summarize' }), 'https://example.com');
  assert.equal(summarizeToolInput('Task', { description: 'Review the diff', prompt: 'long…', subagent_type: 'general' }), 'Review the diff');
  assert.equal(summarizeToolInput('TodoWrite', { todos: [{}] }), '1 todo');
  assert.equal(summarizeToolInput('mcp__db__query', { limit: 5, sql_text: 1 }), '{"limit":5,"sql_text":1}');
  assert.equal(summarizeToolInput('Anything', {}), '');
  assert.equal(summarizeToolInput('Anything', undefined), '');
  assert.equal(summarizeToolInput('Bash', { command: 'x'.repeat(300) }), 'x'.repeat(99) + '…');
});

test('durations and costs', () => {
  assert.equal(formatDuration(0), '0ms');
  assert.equal(formatDuration(999), '999ms');
  assert.equal(formatDuration(1000), '1.0s');
  assert.equal(formatDuration(59_900), '59.9s');
  assert.equal(formatDuration(61_000), '1m 01s');
  assert.equal(formatDuration(3_725_000), '1h 02m');
  assert.equal(formatCost(0), '$0.0000');
  assert.equal(formatCost(0.12345), '$0.1235');
  assert.equal(formatCost(12.3), '$12.30');
});
