/**
 * The scenarios every agent goes through (claude.test.ts, codex.test.ts and gemini.test.ts add their
 * own): answer with text, a killed run resumed, API errors and broken streams, and the CLI. Each
 * scenario runs the real CLI against the mock model server in a fresh sandbox.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { createOutputParser } from '../../src/core/outputParsers';
import type { TaskRow } from '../../src/core/taskTypes';
import type { AgentKind } from './agentSetup';
import {
  driverFor,
  logIsComplete,
  openSandbox,
  readText,
  recordFixture,
  runCli,
  runThroughRunner,
  sleep,
  strayRequests,
  type AgentDriver,
  type DriverOptions,
  type RunResult,
  type Sandbox,
} from './harness';
import type { Step } from './mockModelServer';

export const SCENARIO_TIMEOUT_MS = 120_000;

/** Row token columns a text answer must produce (from MOCK_USAGE, as each agent reports it). */
export interface Expectations {
  tokens: Pick<TaskRow, 'input_tokens' | 'output_tokens' | 'cache_read_tokens' | 'cache_creation_tokens'>;
  /** true: a positive cost; null: the agent reports none. */
  cost: true | null;
  /** The agent's own message for each failure, as it ends up in the row. */
  errors: Record<FailureName, RegExp>;
}

export type FailureName = 'http-500' | 'overloaded' | 'http-429' | 'stream-closed' | 'malformed-sse';

const FAILURES: ReadonlyArray<{ name: FailureName; steps: Step[]; what: string }> = [
  { name: 'http-500', steps: [{ kind: 'http-error', status: 500 }], what: 'HTTP 500 with the vendor error body' },
  // 529 is Anthropic's "overloaded"; OpenAI and Google say 503 for the same.
  { name: 'overloaded', steps: [{ kind: 'http-error', status: 529 }], what: 'overloaded (Anthropic 529 / 503 elsewhere)' },
  { name: 'http-429', steps: [{ kind: 'http-error', status: 429, retryAfterSeconds: 1 }], what: 'rate-limited (HTTP 429 in the vendor shape)' },
  { name: 'stream-closed', steps: [{ kind: 'close-mid-stream' }], what: 'the stream closed mid-message' },
  { name: 'malformed-sse', steps: [{ kind: 'malformed' }], what: 'malformed SSE' },
];

/** Runs `body` with a fresh sandbox and the agent's driver; the sandbox is closed (children stopped) even on failure. */
export async function withSandbox<T>(
  kind: AgentKind,
  steps: readonly Step[],
  options: DriverOptions,
  body: (sandbox: Sandbox, driver: AgentDriver, env: Record<string, string>) => Promise<T>,
): Promise<T> {
  const driver = await driverFor(kind);
  const sandbox = await openSandbox(kind, steps);
  try {
    const env = driver.prepare(sandbox, options);
    const result = await body(sandbox, driver, env);
    assert.deepEqual(strayRequests(sandbox.server), [], 'the agent tried to reach something besides its model endpoint');
    return result;
  } finally {
    await sandbox.close();
  }
}

/** A new run as the profile starts it: a preset session id for agents that take one. */
export function newRun(driver: AgentDriver, prompt: string): { args: string[]; sessionId: string | null } {
  const sessionId = driver.presetsSessionId ? randomUUID() : null;
  return { args: driver.args(prompt, sessionId ?? ''), sessionId };
}

export function assertLogComplete(result: RunResult): void {
  assert.equal(logIsComplete(result), undefined, 'nothing is lost from the task log');
}

function modelShapeUsage(row: TaskRow): Expectations['tokens'] {
  return { input_tokens: row.input_tokens, output_tokens: row.output_tokens, cache_read_tokens: row.cache_read_tokens, cache_creation_tokens: row.cache_creation_tokens };
}

export function assertCost(row: TaskRow, cost: Expectations['cost'], summaryCost: number | null): void {
  if (cost === null) {
    assert.equal(row.cost_usd, null);
  } else {
    assert.ok(typeof row.cost_usd === 'number' && row.cost_usd > 0, `a positive cost, got ${row.cost_usd}`);
    assert.equal(row.cost_usd, summaryCost);
  }
}

/** The scenarios all three agents share. */
export function commonScenarios(kind: AgentKind, expect: Expectations): void {
  test(`${kind}: a text answer: success, session id, tokens and cost in the row`, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    await withSandbox(kind, [{ kind: 'text', text: 'Hello from the mock model. All done.' }], {}, async (sandbox, driver, env) => {
      const prompt = 'Say hello';
      const run = newRun(driver, prompt);
      const result = await runThroughRunner(sandbox, driver, { ...run, prompt, env });
      recordFixture(sandbox, driver, 'text', result.stdout);
      const { row, summary } = result;
      assert.equal(row.status, 'success', `row: ${JSON.stringify(row)}\n${result.log.slice(-2000)}`);
      assert.equal(row.exit_code, 0);
      assert.equal(row.error, null);
      assert.ok(row.session_id, 'a session id');
      if (run.sessionId !== null) assert.equal(row.session_id, run.sessionId, 'the preset session id is the agent’s');
      assert.equal(row.session_id, summary.sessionId);
      assert.deepEqual(modelShapeUsage(row), expect.tokens);
      assertCost(row, expect.cost, summary.costUsd);
      assert.equal(summary.lastText, 'Hello from the mock model. All done.');
      assert.equal(summary.isError, false);
      assert.equal(summary.malformedLines, 0);
      assert.deepEqual(summary.permissionDenials, []);
      assertLogComplete(result);
      assert.ok(driver.transcript(sandbox, row.session_id!), 'the agent keeps a transcript of the session');
    });
  });

  test(`${kind}: a run killed mid-stream, resumed with the resume args, continues the same session`, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    await withSandbox(kind, [{ kind: 'slow', seconds: 40, text: 'Counting slowly' }], {}, async (sandbox, driver, env) => {
      const firstPrompt = 'First turn: count to a million, slowly';
      const run = newRun(driver, firstPrompt);
      const first = await runThroughRunner(sandbox, driver, {
        ...run,
        prompt: firstPrompt,
        env,
        whileRunning: async (task) => {
          await sandbox.server.waitForModelRequests(1, 45_000);
          // Let a few deltas out, and the session id reach the row.
          const deadline = Date.now() + 20_000;
          while (!task.progress.session_id && Date.now() < deadline) await sleep(50);
          await sleep(800);
          await sandbox.runner.cancel(task.id, { graceMs: 0 });
        },
      });
      recordFixture(sandbox, driver, 'killed', first.stdout);
      assert.equal(first.row.status, 'cancelled');
      assert.equal(first.row.signal, 'SIGKILL');
      const sessionId = first.row.session_id;
      assert.ok(sessionId, 'the killed run has its session id in the row');
      if (run.sessionId !== null) assert.equal(sessionId, run.sessionId);
      assertLogComplete(first);

      sandbox.server.setScript([{ kind: 'text', text: 'Second answer, same session.' }]);
      const secondPrompt = 'Second turn: where were we?';
      const second = await runThroughRunner(sandbox, driver, {
        args: driver.resumeArgs(secondPrompt, sessionId),
        prompt: secondPrompt,
        sessionId,
        parentId: first.row.id,
        env,
      });
      recordFixture(sandbox, driver, 'resumed', second.stdout);
      assert.equal(second.row.status, 'success', second.log.slice(-2000));
      assert.equal(second.row.session_id, sessionId, 'the resumed run is the same session');
      assert.equal(second.row.parent_id, first.row.id);
      assert.equal(second.summary.lastText, 'Second answer, same session.');

      // The agent sent the first turn back to the model with the second…
      const lastRequest = JSON.stringify(sandbox.server.modelRequests().at(-1)?.body ?? null);
      assert.ok(lastRequest.includes('count to a million'), 'the resumed request carries the first turn');
      assert.ok(lastRequest.includes('where were we?'), 'and the second');
      // …and its own transcript holds both turns.
      const transcript = readText(driver.transcript(sandbox, sessionId));
      assert.ok(transcript.includes('count to a million'), `the transcript has the first turn:\n${transcript.slice(0, 1500)}`);
      assert.ok(transcript.includes('where were we?'), 'the transcript has the second turn');
      assert.ok(transcript.includes('Second answer, same session.'), 'and the second answer');
    });
  });

  test(`${kind}: the prompt on stdin: one starting with "- " and a big one (1 MB for Claude, 200 KB otherwise) reach the model whole, and neither is in the argv`, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    await withSandbox(kind, [{ kind: 'text', text: 'Got the whole prompt.' }], {}, async (sandbox, driver, env) => {
      assert.equal(driver.promptOnStdin, true, `the built-in ${kind} profile takes the prompt on stdin`);
      const list = '- fix the bug in parser.ts\n- then run "the tests"; $(echo not a command)';
      const line = (i: number): string => `line ${String(i).padStart(5, '0')}: the quick brown fox jumps over the lazy dog, again and again.`;
      // Claude takes 1 MB (issue 12: its stream-json input); Codex refuses more than 1,048,576 characters
      // itself ("input_too_large", exit 1), and Gemini at 1.1 MB did not get the scripted answer through: 200 KB for those.
      const big = `Summarize this log:\n${Array.from({ length: kind === 'claude' ? 15_000 : 3_000 }, (_, i) => line(i)).join('\n')}\nEnd of the log.`;
      assert.ok(Buffer.byteLength(big) > (kind === 'claude' ? 1024 * 1024 : 200 * 1024), 'far over the 128 KB limit of one argument (E2BIG)');
      for (const prompt of [list, big]) {
        const what = prompt === list ? 'the "- " prompt' : `the ${Buffer.byteLength(big)}-byte prompt`;
        sandbox.server.setScript([{ kind: 'text', text: 'Got the whole prompt.' }]);
        const before = sandbox.server.modelRequests().length;
        const run = newRun(driver, prompt);
        const result = await runThroughRunner(sandbox, driver, { ...run, prompt, env });
        assert.equal(result.row.status, 'success', `${what}: ${JSON.stringify(result.row.error)}\n${result.log.slice(-2000)}`);
        assert.equal(result.summary.lastText, 'Got the whole prompt.', what);
        assert.equal(result.row.prompt, prompt, `${what}: the row keeps the prompt`);
        assert.ok(!result.row.args.some((a) => a.includes('fix the bug') || a.includes('quick brown fox')), `${what}: not in the journaled argv`);
        const requests = sandbox.server.modelRequests().slice(before);
        assert.ok(requests.length >= 1, `${what}: the model was asked`);
        // The prompt as it appears in a JSON request body (newlines and quotes escaped).
        const asJson = JSON.stringify(prompt).slice(1, -1);
        assert.ok(JSON.stringify(requests.at(-1)?.body ?? null).includes(asJson), `${what}: the model got it whole`);
        assertLogComplete(result);
      }

      // The same "- " prompt as an argument (the built-ins before stdin) is refused as an option.
      const before = sandbox.server.modelRequests().length;
      const listRun = newRun(driver, list);
      const asArgument = await runThroughRunner(sandbox, driver, { ...listRun, args: driver.promptAsArgument(listRun.args, list), prompt: list, env, stdin: null });
      assert.equal(asArgument.row.status, 'failed', `as an argument: ${asArgument.log.slice(-1000)}`);
      assert.equal(sandbox.server.modelRequests().length, before, 'as an argument it never reached the model');
    });
  });

  for (const failure of FAILURES) {
    test(`${kind}: ${failure.what} ends failed with the agent's own message, nothing lost from the log`, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
      const steps = kind === 'claude' || failure.name !== 'overloaded' ? failure.steps : [{ kind: 'http-error' as const, status: 503 as const }];
      // One retry for the HTTP errors, so the retry shows as progress where the agent reports it
      // (not Gemini: it reports retries on stderr only, after a 5 s back-off).
      const httpError = failure.name.startsWith('http') || failure.name === 'overloaded';
      const retries = httpError && kind !== 'gemini' ? 1 : 0;
      await withSandbox(kind, steps, { retries }, async (sandbox, driver, env) => {
        const prompt = 'Do something useful';
        const run = newRun(driver, prompt);
        const result = await runThroughRunner(sandbox, driver, { ...run, prompt, env });
        recordFixture(sandbox, driver, failure.name, result.stdout);
        const { row, summary } = result;
        assert.equal(row.status, 'failed', `row: ${JSON.stringify(row)}`);
        assert.ok(row.error, 'an error in the row');
        assert.equal(row.error, summary.errorMessage, 'the row has the agent’s own message');
        assert.match(row.error, expect.errors[failure.name]);
        assert.ok(row.session_id, 'the failed run still has its session id');
        assert.notEqual(row.exit_code, 0);
        assertLogComplete(result);
        if (retries > 0) {
          // Claude's system/api_retry, Codex's "Reconnecting... 1/1 (…)".
          const retry = result.updates.find((u) => u.retrying !== null)?.retrying;
          assert.ok(retry, 'the retry was reported as progress');
          assert.equal(retry.attempt, 1);
          assert.equal(summary.retrying, null, 'no longer retrying once the run ended');
        }
        // Codex multiplies its request and stream retries (a 500 with 1 + 1 makes 4 requests): not counted.
        if (httpError && kind !== 'codex') assert.equal(sandbox.server.modelRequests().length, 1 + retries, 'one request per attempt');
      });
    });
  }

  test(`${kind}: through the CLI (agent-tasks run): the journaled row, the exit code, list --json`, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    await withSandbox(kind, [{ kind: 'text', text: 'Answer through the CLI.' }], {}, async (sandbox, driver, env) => {
      const storeDir = path.join(sandbox.root, 'cli-store');
      const prompt = 'Answer through the CLI';
      const run = newRun(driver, prompt);
      // The CLI guesses the format of claude and codex from their argv; gemini's is named.
      const runFlags = ['--store', storeDir, '--name', `cli ${kind}`, ...(kind === 'gemini' ? ['--format', 'gemini-stream-json', '--agent', 'gemini'] : [])];
      if (run.sessionId !== null) runFlags.push('--session-id', run.sessionId);
      // The CLI gives its child no stdin: the command line holds the prompt, as a user types it.
      const ok = await runCli(['run', ...runFlags, '--', driver.tool.bin, ...driver.promptAsArgument(run.args, prompt)], env, sandbox.work);
      assert.equal(ok.code, 0, ok.stderr.slice(-2000));
      const streamed = createOutputParser(driver.format);
      streamed.push(Buffer.from(ok.stdout));
      streamed.end();
      assert.equal(streamed.summary.lastText, 'Answer through the CLI.', 'the agent’s output is streamed to the terminal');

      sandbox.server.setScript([{ kind: 'http-error', status: 500 }]);
      const failed = await runCli(['run', ...runFlags.filter((f, i, all) => f !== '--session-id' && all[i - 1] !== '--session-id'), '--', driver.tool.bin, ...driver.promptAsArgument(newRun(driver, prompt).args, prompt)], env, sandbox.work);
      assert.notEqual(failed.code, 0, 'a failed agent run fails the CLI');

      const list = await runCli(['list', '--json', '--store', storeDir], env, sandbox.work);
      assert.equal(list.code, 0, list.stderr);
      const rows = JSON.parse(list.stdout) as TaskRow[];
      assert.equal(rows.length, 2);
      const [bad, good] = rows;
      assert.equal(good.status, 'success');
      assert.equal(good.format, driver.format);
      assert.ok(good.session_id);
      if (run.sessionId !== null) assert.equal(good.session_id, run.sessionId);
      assert.deepEqual(modelShapeUsage(good), expect.tokens);
      if (expect.cost === null) assert.equal(good.cost_usd, null);
      else assert.ok(typeof good.cost_usd === 'number' && good.cost_usd > 0);
      assert.equal(bad.status, 'failed');
      assert.match(bad.error ?? '', expect.errors['http-500']);
      assert.equal(failed.code, bad.exit_code !== null && bad.exit_code > 0 ? bad.exit_code : 1, 'the CLI exits with the agent’s code');
      assert.ok(fs.existsSync(bad.log_path ?? ''), 'the failed run has its log');
    });
  });
}
