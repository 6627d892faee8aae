/**
 * A scripted model server on 127.0.0.1 that speaks the streaming protocols of the three vendors,
 * so the real agent CLIs can run offline:
 *
 * - Anthropic Messages API: `POST /v1/messages` (`stream: true`) → SSE `message_start`,
 *   `content_block_start`/`_delta`/`_stop`, `message_delta`, `message_stop`; errors as
 *   `{"type":"error","error":{"type","message"},"request_id"}` (HTTP 500 `api_error`, 529
 *   `overloaded_error`, 429 `rate_limit_error` with `retry-after`).
 * - OpenAI Responses API: `POST /v1/responses` → SSE `response.created`,
 *   `response.output_item.added`/`.done`, `response.output_text.delta`, `response.completed` (with
 *   usage); errors as `{"error":{"message","type","param","code"}}`.
 * - Gemini API: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` → SSE `data:` chunks of
 *   GenerateContentResponse (`candidates[].content.parts`, `usageMetadata`); errors as
 *   `{"error":{"code","message","status"}}`.
 *
 * Each model request takes the next step of the server's script (the last step repeats once the
 * script is used up), so a scenario says e.g. "first ask for a Bash call, then answer with text".
 * Every request is recorded (method, path, body) for assertions. Every timer is bounded and
 * cleared by `close()`, which also destroys open connections: a test can always end.
 */
import { randomBytes } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export type Vendor = 'anthropic' | 'openai' | 'gemini';

/**
 * One answer of the model (one HTTP response), with extra response headers if any (e.g. Anthropic's
 * unified rate-limit headers); a function is called when the step is served (a reset time counted
 * from the request, not from when the script was written).
 */
export type Step = StepBody & { headers?: Record<string, string> | (() => Record<string, string>) };

type StepBody =
  /** Streams `text` (in `chunks` deltas, default 3) and ends the turn. */
  | { kind: 'text'; text: string; chunks?: number }
  /** Asks for one shell command (Claude's `Bash`, Codex's shell tool, Gemini's `run_shell_command`). */
  | { kind: 'shell'; command: string; text?: string }
  /**
   * Asks for one call of any tool by name with this input (e.g. `AskUserQuestion`, `Write`), after
   * `text` if any. Anthropic only: the other vendors answer it with an error (not supported).
   */
  | { kind: 'tool'; name: string; input: Record<string, unknown>; text?: string }
  /** Streams `text` over `seconds` (one delta per `intervalMs`, default 250), then ends the turn normally. */
  | { kind: 'slow'; seconds: number; text?: string; intervalMs?: number }
  /** Answers with this HTTP status and the vendor's error body (`message` overrides the default). */
  | { kind: 'http-error'; status: 429 | 500 | 503 | 529 | 400; message?: string; retryAfterSeconds?: number }
  /** Starts a message (headers and some deltas), then destroys the socket. */
  | { kind: 'close-mid-stream'; text?: string }
  /** Sends a 200 SSE stream whose events are not valid JSON, then ends the response. */
  | { kind: 'malformed' };

export interface RecordedRequest {
  readonly vendor: Vendor | null;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  /** Index of the script step used (model requests only). */
  readonly step: number | null;
  readonly at: number;
  /** The `user-agent` the client sent. */
  readonly userAgent: string | null;
}

export interface MockModelServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly requests: readonly RecordedRequest[];
  /** Model requests only (the ones that consumed a step). */
  modelRequests(): RecordedRequest[];
  /** Replaces the script; the next model request takes its first step. */
  setScript(steps: readonly Step[]): void;
  /** Resolves once `n` model requests have started (or rejects after `timeoutMs`). */
  waitForModelRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface MockOptions {
  /** Longest time any step may take (slow streams are cut to it). Default 60 s. */
  maxStepMs?: number;
  /** Model names reported in the responses. */
  models?: Partial<Record<Vendor, string>>;
  log?: (message: string) => void;
}

const DEFAULT_MODELS: Record<Vendor, string> = {
  anthropic: 'claude-sonnet-4-5-20250929',
  openai: 'gpt-5.5',
  gemini: 'gemini-2.5-flash',
};

/**
 * Anthropic's "unified" rate-limit headers (claude.ai subscriptions): Claude Code turns them into
 * `rate_limit_event` lines, but only when it runs on an OAuth token (`CLAUDE_CODE_OAUTH_TOKEN`).
 */
export function anthropicUnifiedRateLimitHeaders(
  status: 'allowed' | 'allowed_warning' | 'rejected',
  utilization = 0.93,
  options: { resetInSeconds?: number } = {},
): Record<string, string> {
  // Early in the five-hour window by default: Claude Code downgrades a warning to "allowed" when the
  // window is almost over (utilization below the share of the window already gone).
  const reset = String(Math.floor(Date.now() / 1000) + (options.resetInSeconds ?? 4.5 * 3600));
  return {
    'anthropic-ratelimit-unified-status': status,
    'anthropic-ratelimit-unified-reset': reset,
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    'anthropic-ratelimit-unified-5h-utilization': String(utilization),
    'anthropic-ratelimit-unified-5h-reset': reset,
  };
}

/** Usage numbers the mock reports, per response (tests compare the rows against them). */
export const MOCK_USAGE = {
  anthropic: { input_tokens: 11, output_tokens: 7, cache_read_input_tokens: 3, cache_creation_input_tokens: 5 },
  openai: { input_tokens: 120, cached_input_tokens: 20, output_tokens: 9 },
  gemini: { promptTokenCount: 130, candidatesTokenCount: 8, cachedContentTokenCount: 0, thoughtsTokenCount: 0 },
} as const;

export async function startMockModelServer(initial: readonly Step[], options: MockOptions = {}): Promise<MockModelServer> {
  const maxStepMs = options.maxStepMs ?? 60_000;
  const models = { ...DEFAULT_MODELS, ...options.models };
  const log = options.log ?? (() => undefined);
  let script: readonly Step[] = initial;
  let nextStep = 0;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let closed = false;

  const later = (ms: number, fn: () => void): void => {
    if (closed) return;
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, Math.max(0, Math.min(ms, maxStepMs)));
    timers.add(t);
  };
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  const takeStep = (): { step: Step; index: number } => {
    if (script.length === 0) return { step: { kind: 'text', text: 'OK' }, index: -1 };
    const index = Math.min(nextStep, script.length - 1);
    nextStep++;
    return { step: script[index], index };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Bounded: an agent's request (system prompt + tools + history) is well under this.
      if (size <= 32 * 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      if (closed) return void res.destroy();
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw === '' ? null : JSON.parse(raw);
      } catch {
        /* keep the raw text */
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      // An absolute-form URL is a proxied request for another host: never a model request.
      const vendor = (req.url ?? '').startsWith('/') ? routeOf(req.method ?? 'GET', url.pathname) : null;
      if (vendor === null) {
        requests.push({ vendor: null, method: req.method ?? '', path: req.url ?? '', body, step: null, at: Date.now(), userAgent: req.headers['user-agent'] ?? null });
        log(`mock: ${req.method} ${url.pathname} → 404`);
        return sendJson(res, 404, { error: { message: `mock model server: no route for ${req.method} ${url.pathname}` } });
      }
      const { step, index } = takeStep();
      requests.push({ vendor, method: req.method ?? '', path: url.pathname + url.search, body, step: index, at: Date.now(), userAgent: req.headers['user-agent'] ?? null });
      log(`mock: ${vendor} ${url.pathname} → step ${index} (${step.kind})`);
      notify();
      const model = vendor === 'gemini' ? (/models\/([^:/]+):/.exec(url.pathname)?.[1] ?? models.gemini) : models[vendor];
      serveStep(vendor, step, model, res, later, body);
    });
  });
  // Agents run with HTTPS_PROXY/HTTP_PROXY pointing here: whatever they try to reach besides the
  // base URL (telemetry, update checks, OAuth) is recorded and refused, and never leaves the machine.
  server.on('connect', (req: http.IncomingMessage, socket: import('net').Socket) => {
    requests.push({ vendor: null, method: 'CONNECT', path: req.url ?? '', body: null, step: null, at: Date.now(), userAgent: req.headers['user-agent'] ?? null });
    log(`mock: CONNECT ${req.url} → 403`);
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  server.keepAliveTimeout = 1000;
  server.requestTimeout = maxStepMs + 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: no agent under test ever reaches another address.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    modelRequests: () => requests.filter((r) => r.step !== null),
    setScript(steps) {
      script = steps;
      nextStep = 0;
    },
    waitForModelRequests(n, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): boolean => {
          if (requests.filter((r) => r.step !== null).length < n) return false;
          cleanup();
          resolve();
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`mock model server: ${n} model request(s) expected within ${timeoutMs} ms, got ${requests.filter((r) => r.step !== null).length}`));
        }, timeoutMs);
        const waiter = (): void => void check();
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
        check();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function routeOf(method: string, pathname: string): Vendor | null {
  if (method !== 'POST') return null;
  if (pathname === '/v1/messages') return 'anthropic';
  if (pathname === '/v1/responses') return 'openai';
  if (/^\/v1beta\/models\/[^/:]+:streamGenerateContent$/.test(pathname)) return 'gemini';
  return null;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function startSse(res: http.ServerResponse, vendor: Vendor, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...extra };
  if (vendor === 'anthropic') headers['request-id'] = `req_mock${randomBytes(6).toString('hex')}`;
  if (vendor === 'openai') headers['x-request-id'] = `req_mock${randomBytes(6).toString('hex')}`;
  res.writeHead(200, headers);
}

type Later = (ms: number, fn: () => void) => void;

/** SSE writers: `event:` + `data:` (Anthropic, OpenAI), `data:` only (Gemini). */
function sse(res: http.ServerResponse, vendor: Vendor, data: Record<string, unknown>): void {
  if (res.destroyed || res.writableEnded) return;
  if (vendor === 'gemini') res.write(`data: ${JSON.stringify(data)}\r\n\r\n`);
  else res.write(`event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`);
}

function splitText(text: string, parts: number): string[] {
  const n = Math.max(1, Math.min(parts, text.length));
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function serveStep(vendor: Vendor, scripted: Step, model: string, res: http.ServerResponse, later: Later, request: unknown): void {
  const step = typeof scripted.headers === 'function' ? { ...scripted, headers: scripted.headers() } : (scripted as StepBody & { headers?: Record<string, string> });
  if (step.kind === 'tool' && vendor !== 'anthropic') {
    // Anthropic only. The others get a 400 rather than a throw: this runs in the server's request
    // handler, where an exception would take the whole test process down.
    return sendVendorError(vendor, { kind: 'http-error', status: 400, message: `mock model server: the "tool" step is not supported for ${vendor} (Anthropic only)` }, res);
  }
  switch (step.kind) {
    case 'http-error':
      return sendVendorError(vendor, step, res);
    case 'malformed':
      startSse(res, vendor, step.headers);
      res.write(vendor === 'gemini' ? 'data: {"candidates":[{"content":{"parts":[{"text":"Hel\r\n\r\n' : 'event: message_start\ndata: {"type":"message_start","message":{\n\n');
      res.write(vendor === 'gemini' ? 'data: this is not json\r\n\r\n' : 'event: response.created\ndata: not json at all\n\n');
      res.end();
      return;
    default: {
      const stream = vendorStream(vendor, model, request);
      startSse(res, vendor, step.headers);
      stream.begin(res);
      if (step.kind === 'text') {
        for (const piece of splitText(step.text, step.chunks ?? 3)) stream.text(res, piece);
        stream.finish(res, 'text');
        return void res.end();
      }
      if (step.kind === 'shell') {
        if (step.text) stream.text(res, step.text);
        stream.shell(res, step.command);
        stream.finish(res, 'tool');
        return void res.end();
      }
      if (step.kind === 'tool') {
        if (step.text) stream.text(res, step.text);
        stream.tool(res, step.name, step.input);
        stream.finish(res, 'tool');
        return void res.end();
      }
      if (step.kind === 'close-mid-stream') {
        stream.text(res, step.text ?? 'I am starting to wri');
        // Let the bytes leave before the socket dies mid-message.
        later(150, () => res.destroy());
        return;
      }
      // slow
      const interval = Math.max(20, step.intervalMs ?? 250);
      const ticks = Math.max(1, Math.floor((step.seconds * 1000) / interval));
      const text = step.text ?? 'Working';
      let tick = 0;
      const next = (): void => {
        if (res.destroyed) return;
        if (tick >= ticks) {
          stream.finish(res, 'text');
          res.end();
          return;
        }
        stream.text(res, tick === 0 ? text : '.');
        tick++;
        later(interval, next);
      };
      next();
    }
  }
}

interface VendorStream {
  begin(res: http.ServerResponse): void;
  text(res: http.ServerResponse, delta: string): void;
  shell(res: http.ServerResponse, command: string): void;
  /** One call of the named tool with this input (Anthropic only: the others throw). */
  tool(res: http.ServerResponse, name: string, input: Record<string, unknown>): void;
  finish(res: http.ServerResponse, why: 'text' | 'tool'): void;
}

function id(prefix: string): string {
  return `${prefix}${randomBytes(8).toString('hex')}`;
}

function vendorStream(vendor: Vendor, model: string, request: unknown): VendorStream {
  switch (vendor) {
    case 'anthropic':
      return anthropicStream(model);
    case 'openai':
      return openaiStream(model, codexShellCall(request));
    case 'gemini':
      return geminiStream(model);
  }
}

function anthropicStream(model: string): VendorStream {
  let index = -1;
  let textOpen = false;
  const u = MOCK_USAGE.anthropic;
  const closeText = (res: http.ServerResponse): void => {
    if (!textOpen) return;
    sse(res, 'anthropic', { type: 'content_block_stop', index });
    textOpen = false;
  };
  const toolUse = (res: http.ServerResponse, name: string, input: Record<string, unknown>): void => {
    closeText(res);
    index++;
    sse(res, 'anthropic', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: id('toolu_mock'), name, input: {} } });
    const json = JSON.stringify(input);
    for (const piece of splitText(json, 2)) sse(res, 'anthropic', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } });
    sse(res, 'anthropic', { type: 'content_block_stop', index });
  };
  return {
    begin(res) {
      sse(res, 'anthropic', {
        type: 'message_start',
        message: {
          id: id('msg_mock'), type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
          usage: { input_tokens: u.input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens, cache_read_input_tokens: u.cache_read_input_tokens, output_tokens: 1 },
        },
      });
      sse(res, 'anthropic', { type: 'ping' });
    },
    text(res, delta) {
      if (!textOpen) {
        index++;
        textOpen = true;
        sse(res, 'anthropic', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      }
      sse(res, 'anthropic', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: delta } });
    },
    shell(res, command) {
      toolUse(res, 'Bash', { command, description: 'Run the requested command' });
    },
    tool(res, name, input) {
      toolUse(res, name, input);
    },
    finish(res, why) {
      closeText(res);
      sse(res, 'anthropic', { type: 'message_delta', delta: { stop_reason: why === 'tool' ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: u.output_tokens } });
      sse(res, 'anthropic', { type: 'message_stop' });
    },
  };
}

/**
 * How to ask Codex for a shell command, from the tools its request offers: `exec_command {cmd}`
 * (0.171's unified exec, the gpt-5.x default), `shell_command {command}`, or the older
 * `shell {command: argv}`.
 */
function codexShellCall(request: unknown): (command: string) => { name: string; arguments: string } {
  const tools = Array.isArray((request as { tools?: unknown })?.tools) ? ((request as { tools: { name?: unknown }[] }).tools) : [];
  const names = new Set(tools.map((t) => t?.name).filter((n): n is string => typeof n === 'string'));
  if (names.has('exec_command') || names.size === 0) return (command) => ({ name: 'exec_command', arguments: JSON.stringify({ cmd: command }) });
  if (names.has('shell_command')) return (command) => ({ name: 'shell_command', arguments: JSON.stringify({ command }) });
  return (command) => ({ name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', command] }) });
}

function openaiStream(model: string, shellCall: (command: string) => { name: string; arguments: string }): VendorStream {
  const responseId = id('resp_mock');
  let seq = 0;
  let outputIndex = -1;
  let message: { id: string; text: string } | null = null;
  const output: unknown[] = [];
  const u = MOCK_USAGE.openai;
  const ev = (res: http.ServerResponse, data: Record<string, unknown>): void => sse(res, 'openai', { ...data, sequence_number: seq++ });
  const response = (status: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: responseId, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model, output: status === 'completed' ? output : [], ...extra,
  });
  const closeMessage = (res: http.ServerResponse): void => {
    if (message === null) return;
    const item = { id: message.id, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: message.text, annotations: [] }] };
    ev(res, { type: 'response.output_text.done', item_id: message.id, output_index: outputIndex, content_index: 0, text: message.text });
    ev(res, { type: 'response.content_part.done', item_id: message.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: message.text, annotations: [] } });
    ev(res, { type: 'response.output_item.done', output_index: outputIndex, item });
    output.push(item);
    message = null;
  };
  return {
    begin(res) {
      ev(res, { type: 'response.created', response: response('in_progress') });
      ev(res, { type: 'response.in_progress', response: response('in_progress') });
    },
    text(res, delta) {
      if (message === null) {
        outputIndex++;
        message = { id: id('msg_mock'), text: '' };
        ev(res, { type: 'response.output_item.added', output_index: outputIndex, item: { id: message.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
        ev(res, { type: 'response.content_part.added', item_id: message.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
      }
      message.text += delta;
      ev(res, { type: 'response.output_text.delta', item_id: message.id, output_index: outputIndex, content_index: 0, delta });
    },
    shell(res, command) {
      closeMessage(res);
      outputIndex++;
      const item = { id: id('fc_mock'), type: 'function_call', status: 'completed', call_id: id('call_mock'), ...shellCall(command) };
      ev(res, { type: 'response.output_item.added', output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
      ev(res, { type: 'response.function_call_arguments.delta', item_id: item.id, output_index: outputIndex, delta: item.arguments });
      ev(res, { type: 'response.function_call_arguments.done', item_id: item.id, output_index: outputIndex, arguments: item.arguments });
      ev(res, { type: 'response.output_item.done', output_index: outputIndex, item });
      output.push(item);
    },
    tool() {
      throw new Error('mock model server: the "tool" step is not supported for OpenAI (Anthropic only)');
    },
    finish(res) {
      closeMessage(res);
      ev(res, {
        type: 'response.completed',
        response: response('completed', {
          usage: {
            input_tokens: u.input_tokens, input_tokens_details: { cached_tokens: u.cached_input_tokens },
            output_tokens: u.output_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input_tokens + u.output_tokens,
          },
        }),
      });
    },
  };
}

function geminiStream(model: string): VendorStream {
  const u = MOCK_USAGE.gemini;
  const responseId = id('mock');
  const usage = (final: boolean): Record<string, unknown> => ({
    promptTokenCount: u.promptTokenCount,
    candidatesTokenCount: final ? u.candidatesTokenCount : 1,
    totalTokenCount: u.promptTokenCount + (final ? u.candidatesTokenCount : 1),
    cachedContentTokenCount: u.cachedContentTokenCount,
    thoughtsTokenCount: u.thoughtsTokenCount,
  });
  const chunk = (res: http.ServerResponse, parts: unknown[], finishReason?: string): void =>
    sse(res, 'gemini', {
      candidates: [{ content: { role: 'model', parts }, index: 0, ...(finishReason ? { finishReason } : {}) }],
      usageMetadata: usage(finishReason !== undefined),
      modelVersion: model,
      responseId,
    });
  return {
    begin() {
      /* Gemini has no stream preamble: the first chunk carries content */
    },
    text(res, delta) {
      chunk(res, [{ text: delta }]);
    },
    shell(res, command) {
      chunk(res, [{ functionCall: { name: 'run_shell_command', args: { command, description: 'Run the requested command' } } }]);
    },
    tool() {
      throw new Error('mock model server: the "tool" step is not supported for Gemini (Anthropic only)');
    },
    finish(res) {
      chunk(res, [{ text: '' }], 'STOP');
    },
  };
}

/** The vendor's own error response for `status`. */
function sendVendorError(vendor: Vendor, step: Extract<StepBody, { kind: 'http-error' }> & { headers?: Record<string, string> }, res: http.ServerResponse): void {
  const retryAfter: Record<string, string> = { ...(step.retryAfterSeconds !== undefined ? { 'retry-after': String(step.retryAfterSeconds) } : {}), ...step.headers };
  const { status } = step;
  if (vendor === 'anthropic') {
    const [type, message] =
      status === 529 ? ['overloaded_error', 'Overloaded']
      : status === 429 ? ['rate_limit_error', 'This request would exceed the rate limit for your organization of 50 input tokens per minute.']
      : status === 400 ? ['invalid_request_error', 'Invalid request']
      : ['api_error', 'Internal server error'];
    const headers: Record<string, string> = { 'request-id': id('req_mock'), 'x-should-retry': status === 400 ? 'false' : 'true' };
    if (status === 429) {
      headers['anthropic-ratelimit-requests-limit'] = '50';
      headers['anthropic-ratelimit-requests-remaining'] = '0';
      headers['anthropic-ratelimit-requests-reset'] = new Date(Date.now() + 60_000).toISOString();
    }
    Object.assign(headers, retryAfter);
    return sendJson(res, status, { type: 'error', error: { type, message: step.message ?? message }, request_id: headers['request-id'] }, headers);
  }
  if (vendor === 'openai') {
    const [type, code, message] =
      status === 429 ? ['requests', 'rate_limit_exceeded', 'Rate limit reached for gpt-5.5 in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.']
      : status === 400 ? ['invalid_request_error', null, 'Invalid request']
      : ['server_error', null, 'The server had an error while processing your request. Sorry about that!'];
    return sendJson(res, status, { error: { message: step.message ?? message, type, param: null, code } }, { 'x-request-id': id('req_mock'), ...retryAfter });
  }
  const [gStatus, message] =
    status === 429 ? ['RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).']
    : status === 503 || status === 529 ? ['UNAVAILABLE', 'The model is overloaded. Please try again later.']
    : status === 400 ? ['INVALID_ARGUMENT', 'Request contains an invalid argument.']
    : ['INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'];
  return sendJson(res, status, { error: { code: status, message: step.message ?? message, status: gStatus } }, retryAfter);
}
