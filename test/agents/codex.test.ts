/**
 * Codex (@openai/codex, see agentSetup.ts) against the mock Responses API: the shared scenarios,
 * then the sandbox — `-s workspace-write` runs the command, the argv of today's built-in profile
 * (read-only sandbox, no --skip-git-repo-check) does not — and stream retries shown as progress.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { recordFixture, runThroughRunner } from './harness';
import { MOCK_USAGE } from './mockModelServer';
import { assertLogComplete, commonScenarios, SCENARIO_TIMEOUT_MS, withSandbox } from './scenarios';

const u = MOCK_USAGE.openai;

commonScenarios('codex', {
  // Codex's input_tokens include the cached ones; it has no cache-creation count and no cost.
  tokens: { input_tokens: u.input_tokens, output_tokens: u.output_tokens, cache_read_tokens: u.cached_input_tokens, cache_creation_tokens: null },
  cost: null,
  errors: {
    // Codex words a 500 its own way; the server's message is not shown.
    'http-500': /^We’re currently experiencing high demand, which may cause temporary errors\.$/,
    overloaded: /^unexpected status 503 Service Unavailable: The server had an error while processing your request/,
    'http-429': /^exceeded retry limit, last status: 429 Too Many Requests, request id: req_mock/,
    'stream-closed': /^stream disconnected before completion: Transport error: network error: error decoding response body$/,
    'malformed-sse': /^stream disconnected before completion: stream closed before response\.completed$/,
  },
});

const SHELL = 'echo hi > f.txt';

test('codex: with -s workspace-write the shell call runs and the file is written', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('codex', [{ kind: 'shell', command: SHELL }, { kind: 'text', text: 'Created f.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const result = await runThroughRunner(sandbox, driver, { args: driver.args(prompt, ''), prompt, env });
    recordFixture(sandbox, driver, 'tool', result.stdout);
    assert.equal(result.row.status, 'success');
    assert.equal(result.summary.toolCalls, 1);
    assert.deepEqual(result.summary.permissionDenials, []);
    assert.equal(fs.readFileSync(path.join(sandbox.work, 'f.txt'), 'utf8'), 'hi\n');
    assert.match(result.stdout, /"type":"command_execution","command":"[^"]*echo hi > f\.txt[^"]*".*"exit_code":0,"status":"completed"/);
  });
});

test("codex: today's built-in argv (exec --json PROMPT): refused outside a git repository, and read-only inside one", { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('codex', [{ kind: 'shell', command: SHELL }, { kind: 'text', text: 'Created f.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const builtinArgs = ['exec', '--json', prompt];
    const outside = await runThroughRunner(sandbox, driver, { args: builtinArgs, prompt, env, stdin: null });
    assert.equal(outside.row.status, 'failed');
    assert.match(outside.log, /Not inside a trusted directory and --skip-git-repo-check was not specified/);
    assert.equal(sandbox.server.modelRequests().length, 0, 'it never asked the model');

    execFileSync('git', ['init', '-q'], { cwd: sandbox.work, env: { ...process.env, ...env } });
    const inside = await runThroughRunner(sandbox, driver, { args: builtinArgs, prompt, env, stdin: null });
    recordFixture(sandbox, driver, 'read-only', inside.stdout);
    assert.equal(inside.row.status, 'success', 'the run "succeeds"…');
    assert.equal(fs.existsSync(path.join(sandbox.work, 'f.txt')), false, '…without writing anything');
    // Whether the refused command shows as an item at all depends on the machine (Codex's sandbox
    // mechanism): on some it is dropped, on others it is an item that failed. Never one that ran.
    const commands = inside.stdout
      .split('\n')
      .filter((line) => line.includes('"command_execution"') && line.includes('"item.completed"'))
      .map((line) => (JSON.parse(line) as { item: { status: string; exit_code: number | null; aggregated_output: string } }).item);
    for (const item of commands) {
      assert.equal(item.status, 'failed', `a refused command never runs: ${JSON.stringify(item)}`);
      assert.match(item.aggregated_output, /Read-only file system/);
    }
    const toolOutput = JSON.stringify(sandbox.server.modelRequests().at(-1)?.body ?? null);
    assert.match(toolOutput, /Read-only file system/, 'only the model is told');
  });
});

test('codex: a broken stream that reconnects shows as retrying, then succeeds', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('codex', [{ kind: 'close-mid-stream' }, { kind: 'text', text: 'Got through after reconnecting.' }], { retries: 2 }, async (sandbox, driver, env) => {
    const prompt = 'Say something';
    const result = await runThroughRunner(sandbox, driver, { args: driver.args(prompt, ''), prompt, env });
    recordFixture(sandbox, driver, 'reconnect-success', result.stdout);
    assert.equal(result.row.status, 'success');
    const retrying = result.updates.map((s) => s.retrying).find((r) => r !== null);
    assert.equal(retrying?.attempt, 1);
    assert.equal(retrying?.maxRetries, 2);
    assert.match(retrying?.error ?? '', /^stream disconnected before completion/);
    assert.equal(result.summary.retrying, null);
    assert.equal(result.row.error, null);
    assertLogComplete(result);
  });
});
