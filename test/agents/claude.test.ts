/**
 * Claude Code (@anthropic-ai/claude-code, see agentSetup.ts) against the mock Messages API: the
 * shared scenarios, then what only Claude does — the permission denials of a plain `-p` run, the
 * result subtypes, API retries shown as progress, and rate_limit_event lines.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TaskStore } from '../../src/core/taskStore';
import { isLive, type TaskRow } from '../../src/core/taskTypes';
import { recordFixture, runCli, runThroughRunner, sleep, type AgentDriver, type RunOptions, type RunResult, type Sandbox } from './harness';
import { anthropicUnifiedRateLimitHeaders, MOCK_USAGE } from './mockModelServer';
import { assertLogComplete, commonScenarios, newRun, SCENARIO_TIMEOUT_MS, withSandbox } from './scenarios';

const u = MOCK_USAGE.anthropic;

commonScenarios('claude', {
  tokens: { input_tokens: u.input_tokens, output_tokens: u.output_tokens, cache_read_tokens: u.cache_read_input_tokens, cache_creation_tokens: u.cache_creation_input_tokens },
  cost: true,
  errors: {
    'http-500': /^API Error: 500 Internal server error/,
    overloaded: /^API Error: (Repeated )?529 Overloaded/,
    'http-429': /^API Error: Request rejected \(429\) · This request would exceed the rate limit/,
    'stream-closed': /^API Error: Connection to the API was lost \(ECONNRESET\)/,
    'malformed-sse': /^API Error: API returned an empty or malformed response \(HTTP 200\)/,
  },
});

const SHELL = 'echo hi > f.txt';

test('claude: the built-in -p run asks for Bash and is denied: success, with the denial in the row, list --json and show', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: SHELL, text: 'I will create the file.' }, { kind: 'text', text: 'I could not create f.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const run = newRun(driver, prompt);
    const result = await runThroughRunner(sandbox, driver, { ...run, prompt, env });
    recordFixture(sandbox, driver, 'tool-denied', result.stdout);
    assert.equal(result.row.status, 'success', 'the agent ended normally: still success, with the denials recorded');
    assert.deepEqual(result.summary.permissionDenials, [{ tool: 'Bash', summary: SHELL }]);
    assert.equal(result.summary.permissionDenialCount, 1);
    assert.deepEqual(result.row.permission_denials, [{ tool: 'Bash', summary: SHELL }]);
    assert.equal(result.row.permission_denial_count, 1);
    const list = await runCli(['list', '--json', '--store', sandbox.storeDir], env, sandbox.work);
    assert.equal(list.code, 0, list.stderr);
    const listed = (JSON.parse(list.stdout) as TaskRow[]).find((r) => r.id === result.row.id);
    assert.deepEqual(listed?.permission_denials, [{ tool: 'Bash', summary: SHELL }], 'list --json has the denials');
    assert.equal(listed?.permission_denial_count, 1);
    const show = await runCli(['show', result.row.id, '--store', sandbox.storeDir], env, sandbox.work);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^permission_denials: +Bash: echo hi > f\.txt$/m, show.stdout);
    assert.match(show.stdout, /^permission_denial_count: +1$/m);
    assert.equal(result.summary.toolCalls, 1);
    assert.equal(fs.existsSync(path.join(sandbox.work, 'f.txt')), false, 'nothing was written');
    assert.ok(result.stdout.includes('"permission_denials":[{"tool_name":"Bash"'), 'the result line names the denied tool');
    assertLogComplete(result);
  });
});

test('claude: with --allowedTools Bash the same call runs: no denial, the file is written', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: SHELL }, { kind: 'text', text: 'Created f.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const sessionId = randomUUID();
    const args = [...driver.args(prompt, sessionId), '--allowedTools', 'Bash'];
    const result = await runThroughRunner(sandbox, driver, { args, sessionId, prompt, env });
    recordFixture(sandbox, driver, 'tool', result.stdout);
    assert.equal(result.row.status, 'success');
    assert.deepEqual(result.summary.permissionDenials, []);
    assert.equal(result.summary.toolCalls, 1);
    assert.equal(fs.readFileSync(path.join(sandbox.work, 'f.txt'), 'utf8'), 'hi\n');
  });
});

test('claude: result subtypes error_max_turns, error_max_budget_usd, error_during_execution end failed with their message', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: 'ls' }, { kind: 'text', text: 'done' }], {}, async (sandbox, driver, env) => {
    const prompt = 'List the files';
    const cases = [
      { name: 'max-turns', extra: ['--max-turns', '1', '--allowedTools', 'Bash'], subtype: 'error_max_turns', error: /^Reached maximum number of turns \(1\)$/ },
      { name: 'max-budget', extra: ['--max-budget-usd', '0.0000001', '--allowedTools', 'Bash'], subtype: 'error_max_budget_usd', error: /^Reached maximum budget/ },
    ];
    for (const c of cases) {
      sandbox.server.setScript([{ kind: 'shell', command: 'ls' }, { kind: 'text', text: 'done' }]);
      const sessionId = randomUUID();
      const result = await runThroughRunner(sandbox, driver, { args: [...driver.args(prompt, sessionId), ...c.extra], sessionId, prompt, env });
      recordFixture(sandbox, driver, c.name, result.stdout);
      assert.equal(result.summary.resultSubtype, c.subtype, c.name);
      assert.equal(result.row.status, 'failed', c.name);
      assert.match(result.row.error ?? '', c.error, c.name);
      assert.ok(typeof result.row.cost_usd === 'number' && result.row.cost_usd > 0, `${c.name}: the cost so far is kept`);
    }
    // Resuming a session the agent does not have.
    const missing = randomUUID();
    const result = await runThroughRunner(sandbox, driver, { args: driver.resumeArgs('continue', missing), sessionId: missing, prompt: 'continue', env });
    recordFixture(sandbox, driver, 'resume-missing', result.stdout);
    assert.equal(result.summary.resultSubtype, 'error_during_execution');
    assert.equal(result.row.status, 'failed');
    assert.equal(result.row.error, `No conversation found with session ID: ${missing}`);
  });
});

test('claude: an API error that clears on retry shows as retrying, then succeeds', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'http-error', status: 529 }, { kind: 'text', text: 'Got through on the second try.' }], { retries: 2 }, async (sandbox, driver, env) => {
    const prompt = 'Say something';
    const run = newRun(driver, prompt);
    const result = await runThroughRunner(sandbox, driver, { ...run, prompt, env });
    recordFixture(sandbox, driver, 'api-retry-success', result.stdout);
    assert.equal(result.row.status, 'success');
    const retrying = result.updates.map((s) => s.retrying).find((r) => r !== null);
    assert.deepEqual({ ...retrying, delayMs: typeof retrying?.delayMs }, { attempt: 1, maxRetries: 2, delayMs: 'number', error: 'overloaded', httpStatus: 529 });
    assert.equal(result.summary.retrying, null);
    assert.equal(result.summary.lastText, 'Got through on the second try.');
  });
});

test('claude: rate_limit_event lines (claude.ai login) are kept in the log, the row and show', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox(
    'claude',
    [{ kind: 'text', text: 'Close to the limit.', headers: anthropicUnifiedRateLimitHeaders('allowed_warning', 0.93) }],
    { oauth: true },
    async (sandbox, driver, env) => {
      const prompt = 'Say something';
      const warned = await runThroughRunner(sandbox, driver, { ...newRun(driver, prompt), prompt, env });
      recordFixture(sandbox, driver, 'rate-limit-warning', warned.stdout);
      assert.equal(warned.row.status, 'success');
      assert.deepEqual({ ...warned.summary.rateLimit, resetsAt: typeof warned.summary.rateLimit?.resetsAt }, { status: 'allowed_warning', kind: 'five_hour', utilization: 0.93, resetsAt: 'number' });
      assert.match(warned.log, /"type":"rate_limit_event"/);
      assert.deepEqual(warned.row.rate_limit, warned.summary.rateLimit, 'the row keeps the last status');
      const show = await runCli(['show', warned.row.id, '--store', sandbox.storeDir], env, sandbox.work);
      assert.match(show.stdout, /^rate_limit: +allowed_warning \(five_hour, 93% used, resets \d{4}-/m, show.stdout);

      sandbox.server.setScript([{ kind: 'http-error', status: 429, headers: anthropicUnifiedRateLimitHeaders('rejected', 1) }]);
      const rejected = await runThroughRunner(sandbox, driver, { ...newRun(driver, prompt), prompt, env });
      recordFixture(sandbox, driver, 'rate-limit-rejected', rejected.stdout);
      assert.equal(rejected.row.status, 'failed');
      assert.equal(rejected.summary.rateLimit?.status, 'rejected');
      assert.equal(rejected.row.rate_limit?.status, 'rejected');
      assert.ok(rejected.row.error, 'the limit message is the error');
      assert.match(rejected.log, /"type":"rate_limit_event"/);
      assertLogComplete(rejected);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Agents that ask: the two-way stream-json mode, requests journaled and answered from elsewhere

const TWO_WAY = ['--input-format', 'stream-json', '--permission-prompt-tool', 'stdio'];

/** A new run of the built-in argv in the two-way mode, through the runner, `whileRunning` answering it. */
function runAsking(sandbox: Sandbox, driver: AgentDriver, env: Record<string, string>, prompt: string, whileRunning: RunOptions['whileRunning']): Promise<RunResult> {
  const run = newRun(driver, prompt);
  return runThroughRunner(sandbox, driver, { ...run, args: [...run.args, ...TWO_WAY], prompt, env, interactive: true, whileRunning });
}

/** Waits until the run is needs_input in a store that is not its owner's (as another window sees it). */
async function pendingRequestOf(storeDir: string, id: string): Promise<TaskRow> {
  const viewer = await TaskStore.open({ dir: storeDir, rotationGraceMs: 0 });
  try {
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; await sleep(100)) {
      const row = await viewer.getTask(id);
      if (row?.status === 'needs_input') return row;
      if (row && !isLive(row.status)) throw new Error(`the run ended (${row.status}: ${row.error}) without asking`);
    }
    throw new Error('the run never asked');
  } finally {
    await viewer.close();
  }
}

test('claude asks: its Bash request makes the run needs_input; agent-tasks answer allow (another process) runs it; a second answer is refused', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: 'touch made.txt' }, { kind: 'text', text: 'Created made.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create made.txt';
    const statuses: string[] = [];
    const result = await runAsking(sandbox, driver, env, prompt, async (task) => {
      const asking = await pendingRequestOf(sandbox.storeDir, task.id);
      statuses.push(asking.status);
      assert.deepEqual(asking.pending_requests.map((r) => [r.kind, r.tool, r.summary]), [['permission', 'Bash', 'touch made.txt']]);
      assert.equal(fs.existsSync(path.join(sandbox.work, 'made.txt')), false, 'nothing runs before the answer');
      const listed = await runCli(['list', '--json', '--status', 'needs_input', '--store', sandbox.storeDir], env, sandbox.work);
      assert.equal((JSON.parse(listed.stdout) as TaskRow[])[0]?.pending_requests[0]?.tool, 'Bash', 'list --json shows the request');
      const answered = await runCli(['answer', task.id.slice(0, 8), 'allow', '--store', sandbox.storeDir], env, sandbox.work);
      assert.equal(answered.code, 0, answered.stderr);
      assert.match(answered.stdout, /^Allowed: Bash: touch made\.txt/);
      const again = await runCli(['answer', task.id.slice(0, 8), 'deny', '--store', sandbox.storeDir], env, sandbox.work);
      assert.equal(again.code, 1, 'a second answer is refused');
      assert.match(again.stderr, /no open request/);
    });
    assert.deepEqual(statuses, ['needs_input']);
    assert.equal(result.row.status, 'success', result.row.error ?? '');
    assert.equal(fs.existsSync(path.join(sandbox.work, 'made.txt')), true, 'the allowed command ran');
    assert.deepEqual(result.row.permission_denials, []);
    assert.deepEqual(result.row.pending_requests, []);
  });
});

test('claude asks: a request survives the viewer that showed it; a new viewer denies it: nothing runs, the denial is recorded', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: 'touch made.txt' }, { kind: 'text', text: 'I could not create made.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create made.txt';
    const result = await runAsking(sandbox, driver, env, prompt, async (task) => {
      await pendingRequestOf(sandbox.storeDir, task.id); // a window showed it, and went away (closed its store)
      const window2 = await TaskStore.open({ dir: sandbox.storeDir, rotationGraceMs: 0 });
      try {
        const row = await window2.getTask(task.id);
        assert.equal(row?.status, 'needs_input', 'still pending for the next window');
        const outcome = await window2.answerRequest(task.id, row!.pending_requests[0].id, { behavior: 'deny', message: 'Not in this folder.' });
        assert.equal(outcome.ok, true);
      } finally {
        await window2.close();
      }
    });
    assert.equal(result.row.status, 'success', 'the agent went on and ended normally');
    assert.equal(fs.existsSync(path.join(sandbox.work, 'made.txt')), false, 'the denied command did not run');
    assert.deepEqual(result.row.permission_denials, [{ tool: 'Bash', summary: 'touch made.txt' }]);
    const toolResult = JSON.stringify(sandbox.server.modelRequests().at(-1)?.body ?? null);
    assert.match(toolResult, /Not in this folder\./, 'the model read the deny message');
  });
});

test('claude asks a question (AskUserQuestion): agent-tasks answer --answer sends the choice back as the tool result', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  const question = { question: 'Which color should the button be?', header: 'Color', options: [{ label: 'Blue', description: 'Calm' }, { label: 'Red', description: 'Loud' }], multiSelect: false };
  await withSandbox('claude', [{ kind: 'tool', name: 'AskUserQuestion', input: { questions: [question] } }, { kind: 'text', text: 'A blue button.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Make a button';
    const result = await runAsking(sandbox, driver, env, prompt, async (task) => {
      const row = await pendingRequestOf(sandbox.storeDir, task.id);
      const request = row.pending_requests[0];
      assert.equal(request.kind, 'question');
      assert.deepEqual(request.questions?.[0]?.options.map((o) => o.label), ['Blue', 'Red']);
      const plain = await runCli(['answer', task.id.slice(0, 8), 'allow', '--store', sandbox.storeDir], env, sandbox.work);
      assert.equal(plain.code, 2, 'a question needs its answer');
      assert.match(plain.stderr, /is a question .*give --answer TEXT/);
      const answered = await runCli(['answer', task.id.slice(0, 8), 'allow', '--answer', 'Blue', '--store', sandbox.storeDir], env, sandbox.work);
      assert.equal(answered.code, 0, answered.stderr);
    });
    assert.equal(result.row.status, 'success', result.row.error ?? '');
    const toolResult = JSON.stringify(sandbox.server.modelRequests().at(-1)?.body ?? null);
    assert.match(toolResult, /Which color should the button be\?\\\\?"=\\\\?"Blue/, `the model read the answer: ${toolResult.slice(0, 2000)}`);
  });
});
