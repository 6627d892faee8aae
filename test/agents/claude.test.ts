/**
 * Claude Code (@anthropic-ai/claude-code, see agentSetup.ts) against the mock Messages API: the
 * shared scenarios, then what only Claude does — the permission denials of a plain `-p` run, the
 * result subtypes, API retries shown as progress, rate_limit_event lines, and a run that waits out a
 * usage limit and resumes its session.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TaskStore } from '../../src/core/taskStore';
import { isLive, type TaskRow } from '../../src/core/taskTypes';
import { readText, recordFixture, runCli, runThroughRunner, sleep, withoutTwoWayFlags, type AgentDriver, type RunOptions, type RunResult, type Sandbox } from './harness';
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

test('claude: a plain -p run (a profile that does not ask) has its Bash call denied: success, with the denial in the row, list --json and show', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: SHELL, text: 'I will create the file.' }, { kind: 'text', text: 'I could not create f.txt.' }], {}, async (sandbox, driver, env) => {
    const prompt = 'Create f.txt containing hi';
    const run = newRun(driver, prompt);
    const result = await runThroughRunner(sandbox, driver, { ...run, args: withoutTwoWayFlags(run.args), prompt, env, interactive: false });
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
// Usage limits: the run waits for the reset, then resumes its session (src/core/usageLimit.ts)

/** The statuses a run goes through as another process sees them (polled), and its row while it waited. */
async function phasesOf(storeDir: string, id: string): Promise<{ statuses: string[]; waiting: TaskRow | undefined }> {
  const viewer = await TaskStore.open({ dir: storeDir, rotationGraceMs: 0 });
  const statuses: string[] = [];
  let waiting: TaskRow | undefined;
  try {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
      await viewer.refresh();
      const row = await viewer.getTask(id);
      if (!row) continue;
      if (statuses.at(-1) !== row.status) statuses.push(row.status);
      if (row.status === 'waiting') waiting ??= row;
      if (!isLive(row.status)) return { statuses, waiting };
    }
    throw new Error(`the run did not end (statuses so far: ${statuses.join(' → ')})`);
  } finally {
    await viewer.close();
  }
}

test('claude usage limit: a rejected 429 (claude.ai login) resetting in 3 s makes the run waiting; then the same session resumes in the same row and succeeds', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  const steps = [
    // The reset is counted from the request: 2–3 s after it (whole seconds, as the real headers).
    { kind: 'http-error' as const, status: 429 as const, headers: () => anthropicUnifiedRateLimitHeaders('rejected', 1, { resetInSeconds: 3 }) },
    { kind: 'text' as const, text: 'Picked up where I left off.' },
  ];
  await withSandbox('claude', steps, { oauth: true }, async (sandbox, driver, env) => {
    const prompt = 'Write a haiku about limits';
    const resumePrompt = 'Continue.';
    const run = newRun(driver, prompt);
    const sessionId = run.sessionId!;
    let phases: Awaited<ReturnType<typeof phasesOf>> | undefined;
    const result = await runThroughRunner(sandbox, driver, {
      ...run,
      prompt,
      env,
      resumeAfterLimit: { args: driver.resumeArgs(resumePrompt, sessionId), stdin: resumePrompt },
      whileRunning: async (task) => {
        phases = await phasesOf(sandbox.storeDir, task.id);
      },
    });
    assert.deepEqual(phases?.statuses, ['running', 'waiting', 'running', 'success'], result.row.error ?? '');
    // While it waited: resume_at is the reset the CLI reported (rate_limit_event resetsAt, in seconds).
    const waiting = phases!.waiting!;
    assert.equal(waiting.rate_limit?.status, 'rejected');
    assert.equal(waiting.resume_at, waiting.rate_limit!.resetsAt! * 1000);
    assert.equal(waiting.session_id, sessionId);
    // The model was asked again only after the reset, on the same session.
    const requests = sandbox.server.modelRequests();
    assert.equal(requests.length, 2);
    assert.ok(requests[1].at >= waiting.resume_at!, `resumed ${waiting.resume_at! - requests[1].at} ms before the reset`);
    const resumed = JSON.stringify(requests[1].body);
    assert.match(resumed, /Write a haiku about limits/, 'the resumed request carries the first turn');
    assert.match(resumed, /Continue\./);

    const row = result.row;
    assert.equal(row.status, 'success', row.error ?? '');
    assert.equal(row.session_id, sessionId, 'the same session');
    assert.deepEqual(row.args, run.args, 'the same row: it keeps the argv it started with');
    assert.equal(row.resume_at, null);
    assert.equal(row.error, null);
    assert.equal(row.input_tokens, u.input_tokens, 'the rejected request used nothing; the resumed one its tokens');
    assert.ok(typeof row.cost_usd === 'number' && row.cost_usd > 0);
    // One log holds both processes: the limit, then the resumed answer.
    assert.match(result.log, /"type":"rate_limit_event","rate_limit_info":\{"status":"rejected"/);
    assert.match(result.log, /You've hit your session limit/);
    assert.match(result.log, /Picked up where I left off\./);
    assert.equal((result.log.match(/"subtype":"init"/g) ?? []).length, 2);
    assertLogComplete(result);
    // The agent's own transcript of the session has both turns.
    const transcript = readText(driver.transcript(sandbox, sessionId));
    const users = transcript.split('\n').filter((l) => l.includes('"type":"user"'));
    assert.ok(users.some((l) => l.includes(prompt)), 'the first turn');
    assert.ok(users.some((l) => l.includes(resumePrompt) && !l.includes('"isMeta":true')), 'the resumed turn');
    assert.match(transcript, /Picked up where I left off\./);
  });
});

test('claude usage limit: a reset hours away is waited for; agent-tasks cancel while waiting ends the run cancelled and nothing resumes', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'http-error', status: 429, headers: () => anthropicUnifiedRateLimitHeaders('rejected', 1) }, { kind: 'text', text: 'Never asked.' }], { oauth: true }, async (sandbox, driver, env) => {
    const prompt = 'Say something';
    const run = newRun(driver, prompt);
    const result = await runThroughRunner(sandbox, driver, {
      ...run,
      prompt,
      env,
      resumeAfterLimit: { args: driver.resumeArgs('Continue.', run.sessionId!), stdin: 'Continue.' },
      whileRunning: async (task) => {
        for (const deadline = Date.now() + 40_000; (await sandbox.store.getTask(task.id))?.status !== 'waiting'; await sleep(50)) {
          if (Date.now() > deadline) throw new Error('the run never waited');
        }
        const row = await sandbox.store.getTask(task.id);
        assert.ok(row!.resume_at! > Date.now() + 4 * 3600_000, 'hours ahead');
        const cancelling = runCli(['cancel', task.id.slice(0, 8), '--store', sandbox.storeDir], env, sandbox.work);
        // The owner reads the cancel request on a catch-up (an editor's store watches its folder).
        for (const deadline = Date.now() + 20_000; isLive((await sandbox.store.getTask(task.id))!.status); await sleep(100)) {
          if (Date.now() > deadline) throw new Error('the cancel request was not obeyed');
          await sandbox.store.refresh();
        }
        const cancelled = await cancelling;
        assert.equal(cancelled.code, 0, cancelled.stderr);
        assert.match(cancelled.stdout, /^Cancelled task /);
      },
    });
    assert.equal(result.row.status, 'cancelled');
    assert.equal(result.row.resume_at, null);
    assert.equal(sandbox.server.modelRequests().length, 1, 'never resumed');
  });
});

// ---------------------------------------------------------------------------------------------
// Agents that ask: the two-way stream-json mode, requests journaled and answered from elsewhere

/** A new run of the built-in profile (it asks: two-way stdio), through the runner, `whileRunning` answering it. */
function runAsking(sandbox: Sandbox, driver: AgentDriver, env: Record<string, string>, prompt: string, whileRunning: RunOptions['whileRunning']): Promise<RunResult> {
  assert.ok(driver.interactive, 'the built-in claude profile asks');
  const run = newRun(driver, prompt);
  return runThroughRunner(sandbox, driver, { ...run, prompt, env, whileRunning });
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
