import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  capChars,
  createOutputParser,
  emptySummary,
  lastDisplayLine,
  type OutputSummary,
} from '../../src/core/outputParsers';
import { LineSplitter, type SplitLine } from '../../src/core/lineSplitter';
import type { OutputFormat } from '../../src/core/taskTypes';

const FIXTURES = path.join(__dirname, '../../../test/fixtures/agent-output');

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

function parseAll(format: OutputFormat, chunks: readonly Buffer[], options: { maxLineBytes?: number } = {}): OutputSummary {
  const parser = createOutputParser(format, options);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return parser.summary;
}

function lines(...text: string[]): Buffer {
  return Buffer.from(text.map((line) => line + '\n').join(''));
}

const CLAUDE_SUCCESS: OutputSummary = {
  outputBytes: 3611,
  lines: 8,
  malformedLines: 0,
  sessionId: '8f2c1d4e-5b6a-4c3d-9e8f-0a1b2c3d4e5f',
  inputTokens: 18,
  outputTokens: 169,
  cacheReadTokens: 35700,
  cacheCreationTokens: 1500,
  costUsd: 0.0871,
  sawResult: true,
  isError: false,
  resultSubtype: 'success',
  errorMessage: null,
  lastText: 'All price tests pass now ✓',
};

const CLAUDE_KILLED: OutputSummary = {
  outputBytes: 1672,
  lines: 5,
  malformedLines: 1,
  sessionId: 'c0ffee00-1234-4abc-8def-1234567890ab',
  inputTokens: 22,
  outputTokens: 32,
  cacheReadTokens: 2000,
  cacheCreationTokens: 2100,
  costUsd: null,
  sawResult: false,
  isError: null,
  resultSubtype: null,
  errorMessage: null,
  lastText: 'Now checking the indexes…',
};

const CLAUDE_MAX_TURNS: OutputSummary = {
  outputBytes: 1571,
  lines: 4,
  malformedLines: 0,
  sessionId: '11111111-2222-4333-8444-555555555555',
  inputTokens: 3,
  outputTokens: 60,
  cacheReadTokens: 500,
  cacheCreationTokens: 0,
  costUsd: 1.5,
  sawResult: true,
  isError: true,
  resultSubtype: 'error_max_turns',
  errorMessage: 'Reached maximum number of turns (2)',
  lastText: null,
};

const CODEX_SUCCESS: OutputSummary = {
  outputBytes: 1613,
  lines: 11,
  malformedLines: 0,
  sessionId: '0199a213-81c0-7800-8aa1-bbab2a035a53',
  inputTokens: 24763,
  outputTokens: 122,
  cacheReadTokens: 24448,
  cacheCreationTokens: null,
  costUsd: null,
  sawResult: true,
  isError: false,
  resultSubtype: 'completed',
  errorMessage: null,
  lastText: 'Yep — there’s a `README.md` in the repository root.',
};

const CODEX_FAILED: OutputSummary = {
  outputBytes: 372,
  lines: 5,
  malformedLines: 0,
  sessionId: '0199b000-0000-7000-8000-00000000beef',
  inputTokens: null,
  outputTokens: null,
  cacheReadTokens: null,
  cacheCreationTokens: null,
  costUsd: null,
  sawResult: true,
  isError: true,
  resultSubtype: 'failed',
  errorMessage: 'stream disconnected before completion: 500 Internal Server Error',
  lastText: null,
};

const FIXTURE_CASES: ReadonlyArray<{ file: string; format: OutputFormat; expected: OutputSummary }> = [
  { file: 'claude-success.jsonl', format: 'claude-stream-json', expected: CLAUDE_SUCCESS },
  { file: 'claude-killed.jsonl', format: 'claude-stream-json', expected: CLAUDE_KILLED },
  { file: 'claude-error-max-turns.jsonl', format: 'claude-stream-json', expected: CLAUDE_MAX_TURNS },
  { file: 'codex-success.jsonl', format: 'codex-json', expected: CODEX_SUCCESS },
  { file: 'codex-failed.jsonl', format: 'codex-json', expected: CODEX_FAILED },
];

for (const { file, format, expected } of FIXTURE_CASES) {
  test(`${file}: summary in one chunk`, () => {
    assert.deepEqual(parseAll(format, [fixture(file)]), expected);
  });

  test(`${file}: same summary when split in two at every byte boundary`, () => {
    const data = fixture(file);
    for (let cut = 0; cut <= data.length; cut++) {
      const summary = parseAll(format, [data.subarray(0, cut), data.subarray(cut)]);
      assert.deepEqual(summary, expected, `split at byte ${cut}`);
    }
  });

  test(`${file}: same summary when fed one byte at a time`, () => {
    const data = fixture(file);
    const chunks = Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
    assert.deepEqual(parseAll(format, chunks), expected);
  });

  test(`${file}: CRLF line endings give the same summary`, () => {
    const crlf = Buffer.from(fixture(file).toString('utf8').replace(/\n/g, '\r\n'));
    const newlines = fixture(file).toString('utf8').split('\n').length - 1;
    assert.deepEqual(parseAll(format, [crlf]), { ...expected, outputBytes: expected.outputBytes + newlines });
  });
}

test('the fixtures split inside multi-byte characters (so the split test covers them)', () => {
  const data = fixture('claude-success.jsonl');
  const multiByteStarts = [...data].filter((byte) => byte >= 0xc0).length;
  assert.ok(multiByteStarts >= 8, `expected several multi-byte characters, found ${multiByteStarts}`);
});

test('claude: usage from a response split into several assistant messages is counted once per message id', () => {
  const data = fixture('claude-success.jsonl').toString('utf8').split('\n');
  const parser = createOutputParser('claude-stream-json');
  parser.push(Buffer.from(data.slice(0, 7).join('\n') + '\n'));
  const summary = parser.summary;
  // Without dedup msg_01AAA would count twice: input 22, cache read 46,700.
  assert.equal(summary.inputTokens, 18);
  assert.equal(summary.outputTokens, 169);
  assert.equal(summary.cacheReadTokens, 35700);
  assert.equal(summary.cacheCreationTokens, 1500);
  assert.equal(summary.costUsd, null);
  assert.equal(summary.sawResult, false);
  assert.equal(summary.lastText, 'All price tests pass now ✓');
});

test('claude: the result usage replaces the running estimate', () => {
  const summary = parseAll('claude-stream-json', [lines(
    '{"type":"assistant","message":{"id":"m1","content":[],"usage":{"input_tokens":100,"output_tokens":1}},"session_id":"s"}',
    '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s","total_cost_usd":0.5,"usage":{"input_tokens":7,"output_tokens":8,"cache_read_input_tokens":9,"cache_creation_input_tokens":10}}',
  )]);
  assert.deepEqual(
    [summary.inputTokens, summary.outputTokens, summary.cacheReadTokens, summary.cacheCreationTokens, summary.costUsd],
    [7, 8, 9, 10, 0.5],
  );
});

test('claude: an API error reported as success with is_error takes its message from `result`', () => {
  const summary = parseAll('claude-stream-json', [lines(
    '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 529 {\\"type\\":\\"overloaded_error\\"}","session_id":"s2","total_cost_usd":0}',
  )]);
  assert.equal(summary.isError, true);
  assert.equal(summary.resultSubtype, 'success');
  assert.equal(summary.errorMessage, 'API Error: 529 {"type":"overloaded_error"}');
  assert.equal(summary.sessionId, 's2');
  assert.equal(summary.costUsd, 0);
});

test('claude: the session id comes from any message when the init line is missing, and the result has the last word', () => {
  const summary = parseAll('claude-stream-json', [lines(
    '{"type":"assistant","message":{"content":[{"type":"text","text":"hi"}]},"session_id":"from-assistant"}',
    '{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"from-result"}',
  )]);
  assert.equal(summary.sessionId, 'from-result');
  const killed = parseAll('claude-stream-json', [lines(
    '{"type":"assistant","message":{"content":[{"type":"text","text":"hi"}]},"session_id":"from-assistant"}',
  )]);
  assert.equal(killed.sessionId, 'from-assistant');
});

test('codex: turn.completed usage is a running total, so the latest replaces the previous', () => {
  const summary = parseAll('codex-json', [lines(
    '{"type":"thread.started","thread_id":"t1"}',
    '{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":40,"output_tokens":10}}',
    '{"type":"turn.completed","usage":{"input_tokens":250,"cached_input_tokens":90,"output_tokens":30}}',
  )]);
  assert.deepEqual([summary.inputTokens, summary.cacheReadTokens, summary.outputTokens], [250, 90, 30]);
});

test('codex: an error event alone sets errorMessage but not isError', () => {
  const summary = parseAll('codex-json', [lines(
    '{"type":"thread.started","thread_id":"t1"}',
    '{"type":"error","message":"Reconnecting... 2/5"}',
  )]);
  assert.equal(summary.errorMessage, 'Reconnecting... 2/5');
  assert.equal(summary.isError, null);
  assert.equal(summary.sawResult, false);
});

test('a final line without a trailing newline is parsed only at end()', () => {
  const parser = createOutputParser('claude-stream-json');
  parser.push(Buffer.from('{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s9"}'));
  assert.equal(parser.summary.sawResult, false);
  assert.equal(parser.summary.lines, 0);
  parser.end();
  assert.equal(parser.summary.sawResult, true);
  assert.equal(parser.summary.sessionId, 's9');
  assert.equal(parser.summary.lines, 1);
  assert.equal(parser.summary.malformedLines, 0);
});

test('malformed, partial and non-event JSON lines are counted, never thrown', () => {
  const input = lines(
    'not json at all',
    '{"type":',
    '[1,2,3]',
    '{"no_type":true}',
    'null',
    '   ',
    '',
    '{"type":"system","subtype":"init","session_id":"ok"}',
    '{"type":"assistant","message":"not an object","session_id":"ok"}',
    '{"type":"result","usage":"nope","total_cost_usd":"free"}',
  );
  for (const format of ['claude-stream-json', 'codex-json'] as const) {
    const summary = parseAll(format, [input]);
    assert.equal(summary.lines, 10, format);
    assert.equal(summary.malformedLines, 5, format);
  }
  const claude = parseAll('claude-stream-json', [input]);
  assert.equal(claude.sessionId, 'ok');
  assert.equal(claude.sawResult, true);
  assert.equal(claude.costUsd, null);
  assert.equal(claude.inputTokens, null);
  assert.equal(claude.isError, null);
});

test('empty output gives the empty summary in every format', () => {
  for (const format of ['text', 'claude-stream-json', 'codex-json'] as const) {
    assert.deepEqual(parseAll(format, []), emptySummary(), format);
    assert.deepEqual(parseAll(format, [Buffer.alloc(0), Buffer.alloc(0)]), emptySummary(), format);
  }
});

test('text: counts bytes and lines; lastText is the last visible line', () => {
  const input = Buffer.from('hello\n\x1b[32mgreen\x1b[0m\r\nprogress 10%\rprogress 100%\n\n   \n');
  assert.deepEqual(parseAll('text', [input]), {
    ...emptySummary(),
    outputBytes: input.length,
    lines: 5,
    lastText: 'progress 100%',
  });
  assert.equal(parseAll('text', [Buffer.from('one\n\x1b[1mtail\x1b[0m')]).lastText, 'tail');
  assert.equal(parseAll('text', [Buffer.from('one\n\x1b[0m\n\t\n')]).lastText, 'one');
});

test('lines longer than the cap are counted and dropped; the next lines still parse', () => {
  const init = '{"type":"system","subtype":"init","session_id":"before-long"}\n';
  const result = '{"type":"result","subtype":"success","is_error":false,"result":"after","session_id":"before-long"}\n';
  const longText = 'x'.repeat(2 * 1024 * 1024);
  const longLine = Buffer.from(`{"type":"assistant","message":{"content":[{"type":"text","text":"${longText}"}]}}\n`);
  const chunks = [Buffer.from(init)];
  for (let i = 0; i < longLine.length; i += 65536) chunks.push(longLine.subarray(i, i + 65536));
  chunks.push(Buffer.from(result));
  const summary = parseAll('claude-stream-json', chunks);
  assert.equal(summary.lines, 3);
  assert.equal(summary.malformedLines, 1);
  assert.equal(summary.lastText, 'after');
  assert.equal(summary.outputBytes, init.length + longLine.length + result.length);
  assert.equal(summary.sawResult, true);
});

test('the cap is exact: a line of maxLineBytes parses, one byte more does not', () => {
  const prefix = '{"type":"system","subtype":"init","session_id":"';
  const lineOfLength = (length: number): string => prefix + 's'.repeat(length - prefix.length - 2) + '"}';
  const atCap = Buffer.from(lineOfLength(64) + '\n');
  const overCap = Buffer.from(lineOfLength(65) + '\n');
  // Every split, so both the in-chunk fast path and the buffered path meet the boundary.
  for (let cut = 0; cut <= atCap.length; cut++) {
    const summary = parseAll('claude-stream-json', [atCap.subarray(0, cut), atCap.subarray(cut)], { maxLineBytes: 64 });
    assert.equal(summary.malformedLines, 0, `at cap, split at ${cut}`);
    assert.equal(summary.sessionId, 's'.repeat(64 - prefix.length - 2));
  }
  for (let cut = 0; cut <= overCap.length; cut++) {
    const summary = parseAll('claude-stream-json', [overCap.subarray(0, cut), overCap.subarray(cut)], { maxLineBytes: 64 });
    assert.equal(summary.malformedLines, 1, `over cap, split at ${cut}`);
    assert.equal(summary.sessionId, null);
  }
  const overCapAtEnd = parseAll('codex-json', [Buffer.from('{"type":"thread.started","thread_id":"' + 't'.repeat(100))], { maxLineBytes: 64 });
  assert.equal(overCapAtEnd.lines, 1);
  assert.equal(overCapAtEnd.malformedLines, 1);
});

test('text: an over-long line still gives its beginning as lastText', () => {
  const summary = parseAll('text', [Buffer.from('a'.repeat(5000) + '\n')], { maxLineBytes: 1000 });
  assert.equal(summary.lines, 1);
  assert.equal(summary.malformedLines, 0);
  assert.equal(summary.lastText, 'a'.repeat(199) + '…');
});

test('binary garbage is counted as malformed lines, and text shows no control characters', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  // High bytes (invalid UTF-8 mostly) with a newline every so often, never two in a row.
  const bytes: number[] = [];
  for (let i = 0; i < 65536; i++) {
    const newline = i > 0 && bytes[bytes.length - 1] !== 0x0a && random() % 97 === 0;
    bytes.push(newline ? 0x0a : 0x80 + (random() % 128));
  }
  const data = Buffer.from(bytes);
  const newlines = bytes.filter((b) => b === 0x0a).length;
  const expectedLines = newlines + (bytes[bytes.length - 1] === 0x0a ? 0 : 1);
  for (const format of ['claude-stream-json', 'codex-json'] as const) {
    const summary = parseAll(format, [data.subarray(0, 1000), data.subarray(1000)]);
    assert.deepEqual(summary, { ...emptySummary(), outputBytes: 65536, lines: expectedLines, malformedLines: expectedLines });
  }
  const controls = Buffer.from([0x00, 0x01, 0x07, 0x08, 0x1b, 0x7f, 0x41, 0x0b, 0x42, 0x0a]);
  const text = parseAll('text', [data, Buffer.from([0x0a]), controls]);
  assert.equal(text.lines, expectedLines + 1);
  assert.equal(text.lastText, 'AB');
});

test('onUpdate fires once per push that changed the session id, usage or result, with a snapshot', () => {
  const updates: OutputSummary[] = [];
  const parser = createOutputParser('claude-stream-json', { onUpdate: (summary) => updates.push(summary) });
  parser.push(Buffer.from('{"type":"system","subtype":"init","session_id":"live"}\n{"type":"assist'));
  assert.equal(updates.length, 1);
  assert.equal(updates[0].sessionId, 'live');
  assert.equal(updates[0].inputTokens, null);
  parser.push(Buffer.from('ant","message":{"content":[{"type":"text","text":"thinking out loud"}]},"session_id":"live"}\n'));
  assert.equal(updates.length, 1, 'text alone is not a notable change');
  parser.push(Buffer.from('{"type":"assistant","message":{"id":"m","content":[],"usage":{"input_tokens":5,"output_tokens":6}},"session_id":"live"}\n'));
  assert.equal(updates.length, 2);
  assert.deepEqual([updates[1].inputTokens, updates[1].outputTokens, updates[1].lastText], [5, 6, 'thinking out loud']);
  parser.push(Buffer.from('{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"live","total_cost_usd":0.01}'));
  assert.equal(updates.length, 2, 'the unterminated result line waits for end()');
  parser.end();
  assert.equal(updates.length, 3);
  assert.equal(updates[2].sawResult, true);
  assert.equal(updates[2].costUsd, 0.01);
  updates[2].sessionId = 'mutated';
  assert.equal(parser.summary.sessionId, 'live');
});

test('push after end() is ignored', () => {
  const parser = createOutputParser('text');
  parser.push(Buffer.from('a\n'));
  parser.end();
  parser.push(Buffer.from('b\n'));
  parser.end();
  assert.deepEqual(parser.summary, { ...emptySummary(), outputBytes: 2, lines: 1, lastText: 'a' });
});

test('lastDisplayLine and capChars', () => {
  assert.equal(lastDisplayLine('first\nsecond\n\n  \n'), 'second');
  assert.equal(lastDisplayLine('\x1b]0;title\x07\x1b[31mred\x1b[0m'), 'red');
  assert.equal(lastDisplayLine('a\tb'), 'a b');
  assert.equal(lastDisplayLine('\n \r \n'), null);
  assert.equal(capChars('🎉'.repeat(200), 200), '🎉'.repeat(200));
  assert.equal(capChars('🎉'.repeat(201), 200), '🎉'.repeat(199) + '…');
  assert.equal(capChars('x'.repeat(100_000), 5), 'xxxx…');
});

test('LineSplitter: reports the full byte length of a cut line and keeps its head', () => {
  const seen: Array<{ text: string; complete: boolean; byteLength: number }> = [];
  const splitter = new LineSplitter((line: SplitLine) => {
    seen.push({ text: line.bytes.toString('utf8'), complete: line.complete, byteLength: line.byteLength });
  }, { maxLineBytes: 8, headBytes: 3 });
  splitter.push(Buffer.from('abcdefgh\nabcde'));
  splitter.push(Buffer.from('fghijk\r\nab\r\n\r'));
  splitter.push(Buffer.from('\nxy'));
  splitter.end();
  assert.deepEqual(seen, [
    { text: 'abcdefgh', complete: true, byteLength: 8 },
    { text: 'abc', complete: false, byteLength: 12 },
    { text: 'ab', complete: true, byteLength: 2 },
    { text: '', complete: true, byteLength: 0 },
    { text: 'xy', complete: true, byteLength: 2 },
  ]);
});

/** A gc() without --expose-gc on the command line, so heap samples measure live memory only. */
function forcedGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
}

test('100 MB of stream-json fed in chunks keeps memory flat', () => {
  const gc = forcedGc();
  const text = 'Lorem ipsum dolor sit amet, « café » 日本語 🎉 consectetur adipiscing elit. '.repeat(12);
  const blockLines: string[] = [];
  let blockBytes = 0;
  for (let i = 0; blockBytes < 1024 * 1024; i++) {
    const line = JSON.stringify({
      type: 'assistant',
      message: { id: `msg_${i}`, content: [{ type: 'text', text: `${text} #${i}` }], usage: { input_tokens: 1, output_tokens: 2 } },
      session_id: 'bulk-session',
    }) + '\n';
    blockLines.push(line);
    blockBytes += Buffer.byteLength(line);
  }
  const block = Buffer.from(blockLines.join(''));
  const longLinePiece = Buffer.alloc(65536, 0x78);

  const parser = createOutputParser('claude-stream-json');
  const blocks = 100;
  const chunkSize = 65521;
  let fed = 0;
  let baseline = 0;
  let peakGrowth = 0;
  const sample = (): number => {
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < block.length; i += chunkSize) parser.push(block.subarray(i, i + chunkSize));
    fed += block.length;
    if (b % 10 === 9) {
      // A 2 MiB line that is never closed by a small line: it must be dropped, not buffered.
      for (let i = 0; i < 32; i++) parser.push(longLinePiece);
      parser.push(Buffer.from('\n'));
      fed += 32 * 65536 + 1;
    }
    if (b === 1) baseline = sample();
    if (b > 1 && b % 10 === 0) peakGrowth = Math.max(peakGrowth, sample() - baseline);
  }
  parser.end();
  peakGrowth = Math.max(peakGrowth, sample() - baseline);

  const summary = parser.summary;
  assert.ok(fed > 100 * 1024 * 1024, `fed ${fed} bytes`);
  assert.equal(summary.outputBytes, fed);
  assert.equal(summary.lines, blocks * blockLines.length + 10);
  assert.equal(summary.malformedLines, 10);
  assert.equal(summary.sessionId, 'bulk-session');
  assert.equal(summary.inputTokens, blocks * blockLines.length);
  assert.equal(summary.outputTokens, 2 * blocks * blockLines.length);
  assert.equal(summary.lastText, Array.from(text).slice(0, 199).join('') + '…');
  assert.ok(peakGrowth < 50 * 1024 * 1024, `memory grew by ${(peakGrowth / 1024 / 1024).toFixed(1)} MB`);
});
