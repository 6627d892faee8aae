/**
 * Gemini CLI (@google/gemini-cli, see agentSetup.ts) against the mock Gemini API: the shared
 * scenarios with the `gemini-stream-json` format, then its approval modes — the shell tool runs
 * with `--approval-mode yolo`, and without it a headless run has no shell tool at all (recorded as
 * a permission denial).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { recordFixture, runThroughRunner } from './harness';
import { MOCK_USAGE } from './mockModelServer';
import { assertLogComplete, commonScenarios, SCENARIO_TIMEOUT_MS, withSandbox } from './scenarios';

const u = MOCK_USAGE.gemini;

commonScenarios('gemini', {
  // Gemini's input_tokens include the cached ones (`cached`); no cache-creation count, no cost.
  tokens: { input_tokens: u.promptTokenCount, output_tokens: u.candidatesTokenCount, cache_read_tokens: u.cachedContentTokenCount, cache_creation_tokens: null },
  cost: null,
  errors: {
    'http-500': /^\[API Error: \{"error":\{"code":500,"message":"An internal error has occurred\./,
    overloaded: /^\[API Error: The model is overloaded\. Please try again later\.\]$/,
    'http-429': /^\[API Error: Resource has been exhausted \(e\.g\. check quota\)\.\]\nPlease wait and try again later/,
    'stream-closed': /^\[API Error: terminated\]$/,
    'malformed-sse': /^\[API Error: Unterminated string in JSON at position \d+\]$/,
  },
});

const SHELL = 'echo hi > f.txt';

test('gemini: with --approval-mode yolo the shell call runs and the file is written', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('gemini', [{ kind: 'shell', command: SHELL }, { kind: 'text', text: 'Created f.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const result = await runThroughRunner(sandbox, driver, { args: driver.args(prompt, ''), prompt, env });
    recordFixture(sandbox, driver, 'tool', result.stdout);
    assert.equal(result.row.status, 'success');
    assert.equal(result.summary.toolCalls, 1);
    assert.deepEqual(result.summary.permissionDenials, []);
    assert.equal(fs.readFileSync(path.join(sandbox.work, 'f.txt'), 'utf8'), 'hi\n');
    assert.equal(result.summary.lastText, 'Created f.txt.');
  });
});

test('gemini: without yolo a headless run has no shell tool: success, with the refused call as a denial', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('gemini', [{ kind: 'shell', command: SHELL }, { kind: 'text', text: 'I cannot run commands here.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const args = driver.args(prompt, '').filter((a, i, all) => a !== '--approval-mode' && all[i - 1] !== '--approval-mode');
    const result = await runThroughRunner(sandbox, driver, { args, prompt, env });
    recordFixture(sandbox, driver, 'tool-denied', result.stdout);
    assert.equal(result.row.status, 'success');
    assert.deepEqual(result.summary.permissionDenials, [{ tool: 'run_shell_command', summary: SHELL }]);
    assert.deepEqual(result.row.permission_denials, [{ tool: 'run_shell_command', summary: SHELL }], 'the row keeps the denial');
    assert.equal(result.row.permission_denial_count, 1);
    assert.equal(fs.existsSync(path.join(sandbox.work, 'f.txt')), false);
    assert.match(result.stdout, /"error":\{"type":"tool_not_registered"/);
    assertLogComplete(result);
  });
});
