/**
 * The mock model server on its own (no agent CLI): each vendor's stream shape, the script order,
 * the error bodies, the proxy trap, and that close() ends a slow stream at once.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { test } from 'node:test';
import { anthropicUnifiedRateLimitHeaders, startMockModelServer, type MockModelServer } from './mockModelServer';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** True when the connection broke before the response ended. */
  broken: boolean;
}

function post(server: MockModelServer, path: string, body: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, broken: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, broken: true }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, broken: true }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The `data:` payloads of an SSE body, parsed. */
function events(body: string): Array<Record<string, unknown>> {
  return body
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

test('mock: Anthropic text and tool_use streams, in script order, then the last step repeats', async () => {
  const server = await startMockModelServer([{ kind: 'text', text: 'Hello there' }, { kind: 'shell', command: 'echo hi > f.txt' }]);
  try {
    const first = await post(server, '/v1/messages?beta=true', { stream: true });
    assert.equal(first.headers['content-type'], 'text/event-stream');
    const types = events(first.body).map((e) => e.type);
    assert.deepEqual(types, ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const text = events(first.body).map((e) => ((e.delta as { text?: string } | undefined)?.text ?? '')).join('');
    assert.equal(text, 'Hello there');
    for (let i = 0; i < 2; i++) {
      const tool = events((await post(server, '/v1/messages', {})).body);
      const start = tool.find((e) => e.type === 'content_block_start')?.content_block as { type: string; name: string };
      assert.deepEqual([start.type, start.name], ['tool_use', 'Bash']);
      const json = tool.map((e) => ((e.delta as { partial_json?: string } | undefined)?.partial_json ?? '')).join('');
      assert.equal(JSON.parse(json).command, 'echo hi > f.txt');
      assert.equal((tool.find((e) => e.type === 'message_delta')?.delta as { stop_reason: string }).stop_reason, 'tool_use');
    }
    assert.deepEqual(server.modelRequests().map((r) => r.step), [0, 1, 1]);
  } finally {
    await server.close();
  }
});

test('mock: OpenAI Responses stream with usage, and a function call shaped after the offered tools', async () => {
  const server = await startMockModelServer([{ kind: 'text', text: 'Hi' }, { kind: 'shell', command: 'ls' }]);
  try {
    const text = events((await post(server, '/v1/responses', {})).body);
    assert.deepEqual(text.map((e) => e.type).filter((t) => t !== 'response.in_progress' && t !== 'response.content_part.added' && t !== 'response.content_part.done' && t !== 'response.output_text.done'),
      ['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_text.delta', 'response.output_item.done', 'response.completed']);
    const completed = text.at(-1)?.response as { usage: { input_tokens: number } };
    assert.equal(completed.usage.input_tokens, 120);
    const call = events((await post(server, '/v1/responses', { tools: [{ type: 'function', name: 'shell_command' }] })).body)
      .find((e) => e.type === 'response.output_item.done')?.item as { name: string; arguments: string };
    assert.deepEqual([call.name, JSON.parse(call.arguments)], ['shell_command', { command: 'ls' }]);
  } finally {
    await server.close();
  }
});

test('mock: Gemini chunks, and each vendor’s error body', async () => {
  const server = await startMockModelServer([{ kind: 'text', text: 'Yo', chunks: 1 }, { kind: 'http-error', status: 429 }]);
  try {
    const chunks = events((await post(server, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', {})).body);
    const last = chunks.at(-1) as { candidates: Array<{ finishReason: string }>; usageMetadata: { promptTokenCount: number }; modelVersion: string };
    assert.equal(last.candidates[0].finishReason, 'STOP');
    assert.equal(last.modelVersion, 'gemini-2.5-flash');
    const gemini = await post(server, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', {});
    assert.equal(gemini.status, 429);
    assert.equal(JSON.parse(gemini.body).error.status, 'RESOURCE_EXHAUSTED');
    const anthropic = await post(server, '/v1/messages', {});
    assert.deepEqual([anthropic.status, JSON.parse(anthropic.body).type, JSON.parse(anthropic.body).error.type], [429, 'error', 'rate_limit_error']);
    server.setScript([{ kind: 'http-error', status: 529 }]);
    const overloaded = await post(server, '/v1/messages', {});
    assert.deepEqual([overloaded.status, JSON.parse(overloaded.body).error.type], [529, 'overloaded_error']);
    server.setScript([{ kind: 'http-error', status: 500 }]);
    const openai = await post(server, '/v1/responses', {});
    assert.deepEqual([openai.status, JSON.parse(openai.body).error.type], [500, 'server_error']);
  } finally {
    await server.close();
  }
});

test('mock: headers given as a function are computed when the step is served (a reset counted from the request)', async () => {
  let calls = 0;
  const server = await startMockModelServer([
    { kind: 'http-error', status: 429, headers: () => (calls++, anthropicUnifiedRateLimitHeaders('rejected', 1, { resetInSeconds: 3 })) },
    { kind: 'text', text: 'ok', headers: { 'x-static': 'yes' } },
  ]);
  try {
    assert.equal(calls, 0, 'not before a request');
    const before = Math.floor(Date.now() / 1000);
    const limited = await post(server, '/v1/messages', {});
    assert.equal(calls, 1);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['anthropic-ratelimit-unified-status'], 'rejected');
    const reset = Number(limited.headers['anthropic-ratelimit-unified-reset']);
    assert.ok(reset >= before + 3 && reset <= Math.floor(Date.now() / 1000) + 3, `reset ${reset}`);
    assert.equal(limited.headers['anthropic-ratelimit-unified-5h-reset'], String(reset));
    const text = await post(server, '/v1/messages', {});
    assert.equal(text.headers['x-static'], 'yes');
  } finally {
    await server.close();
  }
});

test('mock: a closed stream breaks mid-message; unknown routes and CONNECT are recorded and refused', async () => {
  const server = await startMockModelServer([{ kind: 'close-mid-stream', text: 'Half a sen' }]);
  try {
    const broken = await post(server, '/v1/messages', {});
    assert.equal(broken.broken, true);
    assert.match(broken.body, /Half a sen/);
    assert.doesNotMatch(broken.body, /message_stop/);
    assert.equal((await post(server, '/v1/other', {})).status, 404);
    const connect = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
      let reply = '';
      socket.on('data', (d: Buffer) => (reply += d.toString('utf8')));
      socket.on('close', () => resolve(reply));
      socket.on('error', reject);
    });
    assert.match(connect, /^HTTP\/1\.1 403/);
    assert.deepEqual(server.requests.filter((r) => r.step === null).map((r) => `${r.method} ${r.path}`), ['POST /v1/other', 'CONNECT example.com:443']);
  } finally {
    await server.close();
  }
});

test('mock: close() ends a slow stream at once and clears its timers', async () => {
  const server = await startMockModelServer([{ kind: 'slow', seconds: 30, intervalMs: 50 }]);
  const reply = post(server, '/v1/messages', {});
  await server.waitForModelRequests(1, 5000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const t0 = Date.now();
  await server.close();
  const result = await reply;
  assert.ok(Date.now() - t0 < 2000, 'close did not wait for the stream');
  assert.equal(result.broken, true);
  assert.ok(events(result.body).filter((e) => e.type === 'content_block_delta').length >= 2, 'it was streaming');
  await assert.rejects(server.waitForModelRequests(2, 50), /2 model request\(s\) expected/);
});
