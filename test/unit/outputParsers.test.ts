import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  capChars,
  createOutputParser,
  emptySummary,
  lastDisplayLine,
  oneLineUntrusted,
  summarizeToolInput,
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
  ...emptySummary(),
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
  toolCalls: 2,
};

const CLAUDE_KILLED: OutputSummary = {
  ...emptySummary(),
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
  toolCalls: 1,
};

const CLAUDE_MAX_TURNS: OutputSummary = {
  ...emptySummary(),
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
  toolCalls: 1,
};

const CODEX_SUCCESS: OutputSummary = {
  ...emptySummary(),
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
  toolCalls: 3,
};

const CODEX_FAILED: OutputSummary = {
  ...emptySummary(),
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

// ---------------------------------------------------------------------------------------------
// Recorded output of the real CLIs (test/fixtures/agent-output/real, written by the real-agent
// suite with AGENTS_RECORD_FIXTURES=1: Claude Code 2.1.197, Codex 0.171.0, Gemini CLI 0.61.0, each
// against test/agents/mockModelServer.ts). What each file is: docs/AGENTS-TESTING.md.

const REAL_FIXTURES = path.join(FIXTURES, 'real');

interface RealCase {
  file: string;
  format: OutputFormat;
  /** The summary's fields that matter (the rest must be as in emptySummary, outputBytes aside). */
  expect: Partial<OutputSummary>;
  /** The first `retrying` reported while the run went on (fed line by line). */
  firstRetry?: OutputSummary['retrying'];
}

const REAL_CASES: readonly RealCase[] = [
  { file: 'claude-control-ask-question.jsonl', format: 'claude-stream-json', expect: {"lines":7,"sessionId":"060ffaa3-1152-48a0-be90-01edcc030f1c","inputTokens":22,"outputTokens":14,"cacheReadTokens":6,"cacheCreationTokens":10,"costUsd":0.0005255,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"A blue button with a shadow and a border.","toolCalls":1} },
  { file: 'claude-control-bash-allow.jsonl', format: 'claude-stream-json', expect: {"lines":7,"sessionId":"24805de2-5827-43b1-a42d-52b7311f1ded","inputTokens":22,"outputTokens":14,"cacheReadTokens":6,"cacheCreationTokens":10,"costUsd":0.0005255,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Created made.txt.","toolCalls":1} },
  { file: 'claude-control-bash-deny.jsonl', format: 'claude-stream-json', expect: {"lines":7,"sessionId":"d7c00eb6-2db3-4dc9-ba6f-173ce68b5ad7","inputTokens":22,"outputTokens":14,"cacheReadTokens":6,"cacheCreationTokens":10,"costUsd":0.0005255,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"I could not create made.txt.","toolCalls":1,"permissionDenials":[{"tool":"Bash","summary":"touch made.txt"}],"permissionDenialCount":1} },
  { file: 'claude-control-interrupt.jsonl', format: 'claude-stream-json', expect: {"lines":8,"sessionId":"d061fda1-1db3-4710-896d-1a3568efef14","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00026275,"isError":true,"resultSubtype":"error_during_execution","errorMessage":"[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=tool_use","lastText":null,"toolCalls":1,"permissionDenials":[{"tool":"Bash","summary":"touch made.txt"}],"permissionDenialCount":1} },
  { file: 'claude-control-write-outside.jsonl', format: 'claude-stream-json', expect: {"lines":9,"sessionId":"3d301946-29df-4a4c-a23f-9840f595cb00","inputTokens":33,"outputTokens":21,"cacheReadTokens":9,"cacheCreationTokens":15,"costUsd":0.0007882500000000001,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Both were refused.","toolCalls":2,"permissionDenials":[{"tool":"Write","summary":"/tmp/agent-sandbox/outside/note.txt"},{"tool":"Bash","summary":"rm -rf build; cat /etc/hostname"}],"permissionDenialCount":2} },
  { file: "claude-api-retry-success.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"5d8a7d03-a3ce-4f59-87b1-e60b37d268f2","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00026275,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Got through on the second try.","toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":2,"delayMs":545,"error":"overloaded","httpStatus":529} },
  { file: "claude-http-429.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"057f692b-10c5-4f70-a57f-d1a45ee1f83e","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"success","errorMessage":"API Error: Request rejected (429) · This request would exceed the rate limit for your organization of 50 input tokens per minute.","lastText":"API Error: Request rejected (429) · This request would exceed the rate limit for your organization of 50 input tokens per minute.","toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":1,"delayMs":1000,"error":"rate_limit","httpStatus":429} },
  { file: "claude-http-500.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"17d476ca-09eb-41c0-85aa-3888b4d2e601","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"success","errorMessage":"API Error: 500 Internal server error. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:8123).","lastText":"API Error: 500 Internal server error. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:8123).","toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":1,"delayMs":593,"error":"server_error","httpStatus":500} },
  { file: "claude-killed.jsonl", format: "claude-stream-json", expect: {"lines":1,"sessionId":"56d01c05-1264-4b21-95c1-bfadb92c2fe9","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":null,"resultSubtype":null,"errorMessage":null,"lastText":null,"toolCalls":0,"sawResult":false} },
  { file: "claude-malformed-sse.jsonl", format: "claude-stream-json", expect: {"lines":3,"sessionId":"59829b1f-c17e-4c9b-acca-1ecd980a6b89","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"success","errorMessage":"API Error: API returned an empty or malformed response (HTTP 200) — check for a proxy or gateway intercepting the request","lastText":"API Error: API returned an empty or malformed response (HTTP 200) — check for a proxy or gateway intercepting the request","toolCalls":0} },
  { file: "claude-max-budget.jsonl", format: "claude-stream-json", expect: {"lines":3,"sessionId":"d45f7dfe-9538-4ffc-8746-7950d3fda043","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00026275,"isError":true,"resultSubtype":"error_max_budget_usd","errorMessage":"Reached maximum budget ($1e-7)","lastText":null,"toolCalls":1} },
  { file: "claude-max-turns.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"4523374b-7a0d-4d2b-bead-ce0f305b832d","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00026275,"isError":true,"resultSubtype":"error_max_turns","errorMessage":"Reached maximum number of turns (1)","lastText":null,"toolCalls":1} },
  { file: "claude-overloaded.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"8b9b7839-2694-4fb3-82b0-df9d56628b3d","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"success","errorMessage":"API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:8123).","lastText":"API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:8123).","toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":1,"delayMs":569,"error":"overloaded","httpStatus":529} },
  { file: "claude-rate-limit-rejected.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"d56df3cd-6a68-472d-9810-bc9c5a00eee8","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"success","errorMessage":"You've hit your session limit · resets 1:22pm (UTC)","lastText":"You've hit your session limit · resets 1:22pm (UTC)","toolCalls":0,"rateLimit":{"status":"rejected","resetsAt":1796217725,"kind":"five_hour","utilization":null}} },
  { file: "claude-rate-limit-warning.jsonl", format: "claude-stream-json", expect: {"lines":4,"sessionId":"bb09046a-b584-4c24-a669-698da7181db5","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00015764999999999998,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Close to the limit.","toolCalls":0,"rateLimit":{"status":"allowed_warning","resetsAt":1796217724,"kind":"five_hour","utilization":0.93}} },
  { file: "claude-resume-missing.jsonl", format: "claude-stream-json", expect: {"lines":1,"sessionId":"54c07d2f-bf5d-4c2d-a073-1635c34418a9","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"error_during_execution","errorMessage":"No conversation found with session ID: 54c07d2f-bf5d-4c2d-a073-1635c34418a9","lastText":null,"toolCalls":0} },
  { file: "claude-resumed.jsonl", format: "claude-stream-json", expect: {"lines":3,"sessionId":"56d01c05-1264-4b21-95c1-bfadb92c2fe9","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00026275,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Second answer, same session.","toolCalls":0} },
  { file: "claude-stream-closed.jsonl", format: "claude-stream-json", expect: {"lines":3,"sessionId":"eec2a609-8483-43fe-8cfd-ed50f15ec04a","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":0,"costUsd":0,"isError":true,"resultSubtype":"success","errorMessage":"API Error: Connection to the API was lost (ECONNRESET). This is usually temporary — try again.","lastText":"API Error: Connection to the API was lost (ECONNRESET). This is usually temporary — try again.","toolCalls":0} },
  { file: "claude-text.jsonl", format: "claude-stream-json", expect: {"lines":3,"sessionId":"8f26dcff-4442-491e-890f-a0119e316774","inputTokens":11,"outputTokens":7,"cacheReadTokens":3,"cacheCreationTokens":5,"costUsd":0.00026275,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Hello from the mock model. All done.","toolCalls":0} },
  { file: "claude-tool-denied.jsonl", format: "claude-stream-json", expect: {"lines":6,"sessionId":"b877e240-010f-4ebf-99f3-df779745e446","inputTokens":22,"outputTokens":14,"cacheReadTokens":6,"cacheCreationTokens":10,"costUsd":0.0005255,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"I could not create f.txt.","toolCalls":1,"permissionDenials":[{"tool":"Bash","summary":"echo hi > f.txt"}],"permissionDenialCount":1} },
  { file: "claude-tool.jsonl", format: "claude-stream-json", expect: {"lines":5,"sessionId":"6ed61e22-ba8c-4013-9fb3-21fd80e767d2","inputTokens":22,"outputTokens":14,"cacheReadTokens":6,"cacheCreationTokens":10,"costUsd":0.0005255,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Created f.txt.","toolCalls":1} },
  { file: "codex-http-429.jsonl", format: "codex-json", expect: {"lines":5,"sessionId":"01a235f3-daaf-7f23-8e40-a93d1a4caf1e","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"failed","errorMessage":"exceeded retry limit, last status: 429 Too Many Requests, request id: req_mock1f1249828b4b02ec","lastText":null,"toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":1,"delayMs":null,"error":"exceeded retry limit, last status: 429 Too Many Requests, request id: req_mock17722079e85d0120","httpStatus":null} },
  { file: "codex-http-500.jsonl", format: "codex-json", expect: {"lines":5,"sessionId":"01a235f3-d010-7f13-9d61-51f419ac7877","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"failed","errorMessage":"We’re currently experiencing high demand, which may cause temporary errors.","lastText":null,"toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":1,"delayMs":null,"error":"We’re currently experiencing high demand, which may cause temporary errors.","httpStatus":null} },
  { file: "codex-killed.jsonl", format: "codex-json", expect: {"lines":2,"sessionId":"01a235f3-c959-7572-a2dc-0c23cb27f417","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":null,"resultSubtype":null,"errorMessage":null,"lastText":null,"toolCalls":0,"sawResult":false} },
  { file: "codex-malformed-sse.jsonl", format: "codex-json", expect: {"lines":4,"sessionId":"01a235f3-e6a7-7270-9ed5-b37145a0eed4","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"failed","errorMessage":"stream disconnected before completion: stream closed before response.completed","lastText":null,"toolCalls":0} },
  { file: "codex-overloaded.jsonl", format: "codex-json", expect: {"lines":5,"sessionId":"01a235f3-d54b-7d42-8436-6b75d34a6752","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"failed","errorMessage":"unexpected status 503 Service Unavailable: The server had an error while processing your request. Sorry about that!, url: http://127.0.0.1:8123/v1/responses, request id: req_mock5cbb76c38b4553b4","lastText":null,"toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":1,"delayMs":null,"error":"unexpected status 503 Service Unavailable: The server had an error while processing your request. Sorry about that!, url: http://127.0.0.1:8123/v1/responses, request id: req_mock5d7a1a8615af0c9f","httpStatus":null} },
  { file: "codex-read-only.jsonl", format: "codex-json", expect: {"lines":4,"sessionId":"01a235f3-fd81-7da0-80e3-91c7b5bed9df","inputTokens":240,"outputTokens":18,"cacheReadTokens":40,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"completed","errorMessage":null,"lastText":"Created f.txt.","toolCalls":0} },
  { file: "codex-reconnect-success.jsonl", format: "codex-json", expect: {"lines":5,"sessionId":"01a235f4-029d-7372-b455-d8d00a11e9a2","inputTokens":120,"outputTokens":9,"cacheReadTokens":20,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"completed","errorMessage":null,"lastText":"Got through after reconnecting.","toolCalls":0}, firstRetry: {"attempt":1,"maxRetries":2,"delayMs":null,"error":"stream disconnected before completion: Transport error: network error: error decoding response body","httpStatus":null} },
  { file: "codex-resumed.jsonl", format: "codex-json", expect: {"lines":4,"sessionId":"01a235f3-c959-7572-a2dc-0c23cb27f417","inputTokens":120,"outputTokens":9,"cacheReadTokens":20,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"completed","errorMessage":null,"lastText":"Second answer, same session.","toolCalls":0} },
  { file: "codex-stream-closed.jsonl", format: "codex-json", expect: {"lines":4,"sessionId":"01a235f3-e2d2-7df1-9dd3-5fc044da4067","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"failed","errorMessage":"stream disconnected before completion: Transport error: network error: error decoding response body","lastText":null,"toolCalls":0} },
  { file: "codex-text.jsonl", format: "codex-json", expect: {"lines":4,"sessionId":"01a235f3-c5b0-7aa2-9922-ecc51f7783f4","inputTokens":120,"outputTokens":9,"cacheReadTokens":20,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"completed","errorMessage":null,"lastText":"Hello from the mock model. All done.","toolCalls":0} },
  { file: "codex-tool.jsonl", format: "codex-json", expect: {"lines":6,"sessionId":"01a235f3-f75a-7e72-87cf-5257ccb93502","inputTokens":240,"outputTokens":18,"cacheReadTokens":40,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"completed","errorMessage":null,"lastText":"Created f.txt.","toolCalls":1} },
  { file: "gemini-http-429.jsonl", format: "gemini-stream-json", expect: {"lines":3,"sessionId":"3f30a8e2-e0ae-44aa-afe9-64f11e001058","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"error","errorMessage":"[API Error: Resource has been exhausted (e.g. check quota).]\nPlease wait and try again later. To increase your limits, request a quota increase through AI Studio, or switch to another /auth method","lastText":null,"toolCalls":0} },
  { file: "gemini-http-500.jsonl", format: "gemini-stream-json", expect: {"lines":3,"sessionId":"a9882f8f-4cfb-4702-8bfd-66ade11b8f8d","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"error","errorMessage":"[API Error: {\"error\":{\"code\":500,\"message\":\"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting\",\"status\":\"INTERNAL\"}}]","lastText":null,"toolCalls":0} },
  { file: "gemini-killed.jsonl", format: "gemini-stream-json", expect: {"lines":6,"sessionId":"da1af1fa-4e23-4c7c-a743-a3c445fd6d03","inputTokens":null,"outputTokens":null,"cacheReadTokens":null,"cacheCreationTokens":null,"costUsd":null,"isError":null,"resultSubtype":null,"errorMessage":null,"lastText":"Counting slowly...","toolCalls":0,"sawResult":false} },
  { file: "gemini-malformed-sse.jsonl", format: "gemini-stream-json", expect: {"lines":3,"sessionId":"7a41f14f-51fd-4a72-94af-05ba1ecfe119","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"error","errorMessage":"[API Error: Unterminated string in JSON at position 48]","lastText":null,"toolCalls":0} },
  { file: "gemini-overloaded.jsonl", format: "gemini-stream-json", expect: {"lines":3,"sessionId":"207a291c-2972-4e0e-8a64-0f54e32e6139","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"error","errorMessage":"[API Error: The model is overloaded. Please try again later.]","lastText":null,"toolCalls":0} },
  { file: "gemini-resumed.jsonl", format: "gemini-stream-json", expect: {"lines":6,"sessionId":"da1af1fa-4e23-4c7c-a743-a3c445fd6d03","inputTokens":130,"outputTokens":8,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Second answer, same session.","toolCalls":0} },
  { file: "gemini-stream-closed.jsonl", format: "gemini-stream-json", expect: {"lines":4,"sessionId":"7549f6bf-d643-4aab-87c4-9f6423f3a333","inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":true,"resultSubtype":"error","errorMessage":"[API Error: terminated]","lastText":"I am starting to wri","toolCalls":0} },
  { file: "gemini-text.jsonl", format: "gemini-stream-json", expect: {"lines":6,"sessionId":"52423fcd-3753-4880-8546-5e37a6912e43","inputTokens":130,"outputTokens":8,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Hello from the mock model. All done.","toolCalls":0} },
  { file: "gemini-tool-denied.jsonl", format: "gemini-stream-json", expect: {"lines":8,"sessionId":"dae2db55-372b-4adc-ad38-14b81506dcb0","inputTokens":260,"outputTokens":16,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"I cannot run commands here.","toolCalls":1,"permissionDenials":[{"tool":"run_shell_command","summary":"echo hi > f.txt"}],"permissionDenialCount":1} },
  { file: "gemini-tool.jsonl", format: "gemini-stream-json", expect: {"lines":8,"sessionId":"758bf60e-6486-49c7-986d-1edadf38e2da","inputTokens":260,"outputTokens":16,"cacheReadTokens":0,"cacheCreationTokens":null,"costUsd":null,"isError":false,"resultSubtype":"success","errorMessage":null,"lastText":"Created f.txt.","toolCalls":1} },
];

function realFixture(name: string): Buffer {
  return readFileSync(path.join(REAL_FIXTURES, name));
}

function expectedReal(c: RealCase, data: Buffer): OutputSummary {
  return { ...emptySummary(), outputBytes: data.length, sawResult: true, ...c.expect };
}

test('every recorded real fixture has a case', () => {
  const files = readdirSync(REAL_FIXTURES).filter((f) => f.endsWith('.jsonl')).sort();
  assert.deepEqual(files, REAL_CASES.map((c) => c.file).sort());
});

for (const c of REAL_CASES) {
  test(`real ${c.file}: summary`, () => {
    const data = realFixture(c.file);
    assert.deepEqual(parseAll(c.format, [data]), expectedReal(c, data));
  });

  test(`real ${c.file}: the same summary byte by byte, in random cuts and with CRLF`, () => {
    const data = realFixture(c.file);
    const expected = expectedReal(c, data);
    assert.deepEqual(parseAll(c.format, Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1))), expected);
    let seed = data.length;
    for (let round = 0; round < 20; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < data.length; ) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const size = 1 + (seed % 300);
        chunks.push(data.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(parseAll(c.format, chunks), expected, `round ${round}`);
    }
    const crlf = Buffer.from(data.toString('utf8').replace(/\n/g, '\r\n'));
    assert.deepEqual(parseAll(c.format, [crlf]), { ...expected, outputBytes: crlf.length });
  });

  test(`real ${c.file}: retrying while it retried, and not at the end`, () => {
    const updates: OutputSummary[] = [];
    const parser = createOutputParser(c.format, { onUpdate: (s) => updates.push(s) });
    for (const line of realFixture(c.file).toString('utf8').split(/(?<=\n)/)) parser.push(Buffer.from(line));
    parser.end();
    assert.deepEqual(updates.map((u) => u.retrying).find((r) => r !== null) ?? null, c.firstRetry ?? null);
    assert.equal(parser.summary.retrying, c.expect.sawResult === false ? parser.summary.retrying : null);
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

test('claude: cost from modelUsage when the result has no total_cost_usd; tokens from it when usage is missing', () => {
  const summary = parseAll('claude-stream-json', [lines(
    '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s","modelUsage":{"claude-a":{"inputTokens":10,"outputTokens":2,"cacheReadInputTokens":1,"cacheCreationInputTokens":0,"costUSD":0.25},"claude-b":{"inputTokens":5,"outputTokens":3,"costUSD":0.5}}}',
  )]);
  assert.equal(summary.costUsd, 0.75);
  assert.deepEqual([summary.inputTokens, summary.outputTokens, summary.cacheReadTokens, summary.cacheCreationTokens], [15, 5, 1, 0]);
  const withTotal = parseAll('claude-stream-json', [lines(
    '{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.1,"usage":{"input_tokens":4,"output_tokens":4},"modelUsage":{"m":{"inputTokens":99,"costUSD":9}}}',
  )]);
  assert.equal(withTotal.costUsd, 0.1, 'total_cost_usd wins');
  assert.equal(withTotal.inputTokens, 4, 'a non-zero usage wins');
});

test('claude: error subtypes without errors or result text get a readable message', () => {
  const cases: Array<[string, string]> = [
    ['{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":3}', 'Reached the maximum number of turns (3)'],
    ['{"type":"result","subtype":"error_max_budget_usd","is_error":true}', 'Reached the maximum budget'],
    ['{"type":"result","subtype":"error_during_execution","is_error":true,"errors":[]}', 'Error during execution'],
    ['{"type":"result","subtype":"error_something_new","is_error":true}', 'error_something_new'],
    ['{"type":"result","subtype":"error_during_execution","is_error":true,"errors":["a",{"message":"b"}]}', 'a; b'],
  ];
  for (const [line, message] of cases) assert.equal(parseAll('claude-stream-json', [lines(line)]).errorMessage, message, line);
});

test('claude: api_retry sets retrying until the next assistant message or result', () => {
  const updates: OutputSummary[] = [];
  const parser = createOutputParser('claude-stream-json', { onUpdate: (s) => updates.push(s) });
  parser.push(lines('{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":1234.56,"error_status":529,"error":"overloaded","session_id":"s"}'));
  assert.deepEqual(parser.summary.retrying, { attempt: 2, maxRetries: 10, delayMs: 1235, error: 'overloaded', httpStatus: 529 });
  parser.push(lines('{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"back"}]},"session_id":"s"}'));
  assert.equal(parser.summary.retrying, null);
  assert.equal(updates.length, 2, 'the retry and its end are notable changes');
  assert.deepEqual(updates.map((u) => u.retrying?.attempt ?? null), [2, null]);
});

test('claude: rate_limit_event is kept; one without a status is ignored', () => {
  const summary = parseAll('claude-stream-json', [lines(
    '{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1800000000,"rateLimitType":"seven_day","utilization":0.8}}',
    '{"type":"rate_limit_event","rate_limit_info":{"resetsAt":1}}',
    '{"type":"rate_limit_event"}',
    '{"type":"result","subtype":"success","is_error":false,"result":"ok"}',
  )]);
  assert.deepEqual(summary.rateLimit, { status: 'allowed_warning', resetsAt: 1800000000, kind: 'seven_day', utilization: 0.8 });
});

test('claude: permission_denials become short, clean summaries, capped in number but counted', () => {
  const denial = (name: string, input: unknown): Record<string, unknown> => ({ tool_name: name, tool_use_id: 't', tool_input: input });
  const many = Array.from({ length: 60 }, (_, i) => denial('Read', { file_path: `/f${i}` }));
  const result = {
    type: 'result', subtype: 'success', is_error: false, result: 'done',
    permission_denials: [
      denial('Bash', { command: '\x1b[31mrm\n-rf\u202e /\x07', description: 'x' }),
      denial('Write', { file_path: '/etc/passwd', content: 'x'.repeat(10_000) }),
      denial('WebFetch', { url: 'https://example.com', prompt: 'p' }),
      denial('mcp__srv__tool', { a: 1, b: [1, 2] }),
      denial('Bash', { command: 'y'.repeat(500) }),
      denial('\u202eevil\ntool', 'plain string input'),
      { tool_use_id: 'no-name' },
      'not an object',
      ...many,
    ],
  };
  const summary = parseAll('claude-stream-json', [lines(JSON.stringify(result))]);
  assert.equal(summary.permissionDenialCount, 67);
  assert.equal(summary.permissionDenials.length, 50);
  assert.deepEqual(summary.permissionDenials.slice(0, 7), [
    { tool: 'Bash', summary: 'rm -rf /' },
    { tool: 'Write', summary: '/etc/passwd' },
    { tool: 'WebFetch', summary: 'https://example.com' },
    { tool: 'mcp__srv__tool', summary: '{"a":1,"b":[1,2]}' },
    { tool: 'Bash', summary: 'y'.repeat(199) + '…' },
    { tool: 'evil tool', summary: 'plain string input' },
    { tool: 'unknown', summary: '' },
  ]);
  assert.deepEqual(summary.permissionDenials[7], { tool: 'Read', summary: '/f0' });
  // A later result replaces the list (the result is the agent's full account).
  const again = parseAll('claude-stream-json', [lines(JSON.stringify(result), '{"type":"result","subtype":"success","is_error":false,"permission_denials":[]}')]);
  assert.deepEqual([again.permissionDenials, again.permissionDenialCount], [[], 0]);
});

test('claude: tool calls are counted once per tool_use id', () => {
  const summary = parseAll('claude-stream-json', [lines(
    '{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}},{"type":"tool_use","id":"t2","name":"Read","input":{}}]}}',
    '{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t2","name":"Read","input":{}}]}}',
    '{"type":"assistant","message":{"id":"m2","content":[{"type":"tool_use","name":"NoId","input":{}}]}}',
  )]);
  assert.equal(summary.toolCalls, 3);
});

test('codex: declined items are denials; Reconnecting notices are retries until the next event', () => {
  const parser = createOutputParser('codex-json');
  parser.push(lines(
    '{"type":"thread.started","thread_id":"t"}',
    '{"type":"error","message":"Reconnecting... 3/5 (stream disconnected before completion: boom)"}',
  ));
  assert.deepEqual(parser.summary.retrying, { attempt: 3, maxRetries: 5, delayMs: null, error: 'stream disconnected before completion: boom', httpStatus: null });
  parser.push(lines(
    '{"type":"item.started","item":{"id":"i1","type":"command_execution","command":"rm -rf /","status":"in_progress"}}',
    '{"type":"item.completed","item":{"id":"i1","type":"command_execution","command":"rm -rf /","aggregated_output":"","exit_code":null,"status":"declined"}}',
    '{"type":"item.completed","item":{"id":"i2","type":"file_change","changes":[{"path":"a.ts","kind":"update"},{"path":"b.ts","kind":"add"}],"status":"declined"}}',
    '{"type":"item.completed","item":{"id":"i3","type":"mcp_tool_call","server":"docs","tool":"search","arguments":{"query":"q"},"status":"declined"}}',
    '{"type":"item.completed","item":{"id":"i4","type":"command_execution","command":"ls","status":"failed","exit_code":2}}',
    '{"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}}',
  ));
  parser.end();
  const summary = parser.summary;
  assert.equal(summary.retrying, null);
  assert.equal(summary.toolCalls, 4);
  assert.deepEqual(summary.permissionDenials, [
    { tool: 'shell', summary: 'rm -rf /' },
    { tool: 'file_change', summary: 'a.ts, b.ts' },
    { tool: 'docs/search', summary: 'q' },
  ]);
  assert.equal(summary.permissionDenialCount, 3);
});

test('gemini: deltas make one message; tool calls, denials, error events and the result', () => {
  const parser = createOutputParser('gemini-stream-json');
  parser.push(lines(
    '{"type":"init","timestamp":"t","session_id":"g-1","model":"gemini-2.5-flash"}',
    '{"type":"message","role":"user","content":"hi"}',
    '{"type":"message","role":"assistant","content":"Hel","delta":true}',
    '{"type":"message","role":"assistant","content":"lo\\nwor","delta":true}',
    '{"type":"message","role":"assistant","content":"ld","delta":true}',
  ));
  assert.equal(parser.summary.sessionId, 'g-1');
  assert.equal(parser.summary.lastText, 'world');
  parser.push(lines(
    '{"type":"tool_use","tool_name":"run_shell_command","tool_id":"c1","parameters":{"command":"make"}}',
    '{"type":"tool_result","tool_id":"c1","status":"error","error":{"type":"policy_violation","message":"denied"}}',
    '{"type":"tool_use","tool_name":"read_file","tool_id":"c2","parameters":{"absolute_path":"/a"}}',
    '{"type":"tool_result","tool_id":"c2","status":"error","error":{"type":"file_not_found","message":"nope"}}',
    '{"type":"tool_result","tool_id":"write_file__write_file_1_0","status":"error","error":{"type":"tool_not_registered","message":"x"}}',
    '{"type":"error","severity":"warning","message":"Loop detected, stopping execution"}',
  ));
  assert.equal(parser.summary.errorMessage, 'Loop detected, stopping execution');
  assert.equal(parser.summary.isError, null);
  parser.push(lines(
    '{"type":"message","role":"assistant","content":"Final words","delta":true}',
    '{"type":"result","status":"success","stats":{"total_tokens":30,"input_tokens":20,"output_tokens":10,"cached":5,"input":15,"duration_ms":1,"tool_calls":4}}',
  ));
  parser.end();
  const summary = parser.summary;
  assert.deepEqual(
    [summary.sawResult, summary.isError, summary.resultSubtype, summary.errorMessage, summary.lastText],
    [true, false, 'success', null, 'Final words'],
  );
  assert.deepEqual([summary.inputTokens, summary.outputTokens, summary.cacheReadTokens, summary.cacheCreationTokens, summary.costUsd], [20, 10, 5, null, null]);
  assert.equal(summary.toolCalls, 4, 'the result’s tool_calls when it counted more');
  assert.deepEqual(summary.permissionDenials, [
    { tool: 'run_shell_command', summary: 'make' },
    { tool: 'write_file', summary: '' },
  ]);
  const failed = parseAll('gemini-stream-json', [lines(
    '{"type":"error","severity":"error","message":"Maximum session turns exceeded"}',
    '{"type":"result","status":"error","stats":{}}',
  )]);
  assert.deepEqual([failed.isError, failed.errorMessage], [true, 'Maximum session turns exceeded']);
  const withMessage = parseAll('gemini-stream-json', [lines('{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: x]"}}')]);
  assert.equal(withMessage.errorMessage, '[API Error: x]');
});

test('a summary snapshot shares nothing mutable with the parser', () => {
  const parser = createOutputParser('claude-stream-json');
  parser.push(lines(
    '{"type":"system","subtype":"api_retry","attempt":1}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"}}',
    '{"type":"result","subtype":"success","is_error":false,"permission_denials":[{"tool_name":"Bash","tool_input":{"command":"ls"}}]}',
  ));
  const snap = parser.summary;
  snap.permissionDenials[0].tool = 'changed';
  snap.permissionDenials.push({ tool: 'x', summary: 'y' });
  snap.rateLimit!.status = 'changed';
  assert.deepEqual(parser.summary.permissionDenials, [{ tool: 'Bash', summary: 'ls' }]);
  assert.equal(parser.summary.rateLimit?.status, 'allowed');
});

test('summarizeToolInput and oneLineUntrusted', () => {
  assert.equal(summarizeToolInput({ cmd: 'echo hi' }), 'echo hi');
  assert.equal(summarizeToolInput({ command: ['bash', '-lc', 'ls'] }), 'bash -lc ls');
  assert.equal(summarizeToolInput(undefined), '');
  assert.equal(summarizeToolInput({ nested: { deep: true } }), '{"nested":{"deep":true}}');
  assert.equal(oneLineUntrusted('a\u200b\u2066b\r\n\tc\u009b', 10), 'ab c');
  assert.equal(oneLineUntrusted('x'.repeat(1_000_000), 5), 'xxxx…');
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
  for (const format of ['text', 'claude-stream-json', 'codex-json', 'gemini-stream-json'] as const) {
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
