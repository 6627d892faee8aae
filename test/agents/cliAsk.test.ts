/**
 * A terminal run that asks: `agent-tasks run --agent claude PROMPT` runs the built-in profile as
 * the editor does (two-way stdio), and another terminal answers with `agent-tasks answer`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { TaskRow } from '../../src/core/taskTypes';
import { runCli, sleep } from './harness';
import { SCENARIO_TIMEOUT_MS, withSandbox } from './scenarios';

test('claude asks through the CLI: run --agent claude PROMPT is needs_input until another terminal answers allow, then exits 0', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'shell', command: 'touch made.txt' }, { kind: 'text', text: 'Created made.txt.' }], {}, async (sandbox, driver, env) => {
    // The built-in profile, unchanged, finds this install of claude on PATH; no user settings file.
    const cliEnv = { ...env, PATH: `${path.dirname(driver.tool.bin)}${path.delimiter}${process.env.PATH ?? ''}`, AGENT_TASKS_SETTINGS: path.join(sandbox.home, 'no-settings.json') };
    const running = runCli(['run', '--agent', 'claude', '--store', sandbox.storeDir, 'Create made.txt'], cliEnv, sandbox.work, 90_000);
    let asking: TaskRow | undefined;
    for (const deadline = Date.now() + 60_000; !asking && Date.now() < deadline; await sleep(200)) {
      const listed = await runCli(['list', '--json', '--status', 'needs_input', '--store', sandbox.storeDir], cliEnv, sandbox.work);
      asking = (JSON.parse(listed.stdout || '[]') as TaskRow[])[0];
    }
    assert.ok(asking, 'the terminal run asked');
    assert.equal(asking.agent, 'claude');
    assert.equal(asking.workspace, sandbox.work);
    assert.deepEqual(asking.pending_requests.map((r) => r.summary), ['touch made.txt']);
    const answered = await runCli(['answer', asking.id, 'allow', '--store', sandbox.storeDir], cliEnv, sandbox.work);
    assert.equal(answered.code, 0, answered.stderr);
    const result = await running;
    assert.equal(result.code, 0, `run exits with the agent's code: ${result.stderr}`);
    assert.equal(fs.existsSync(path.join(sandbox.work, 'made.txt')), true, 'the allowed command ran');
    const shown = await runCli(['show', asking.id, '--json', '--store', sandbox.storeDir], cliEnv, sandbox.work);
    const row = JSON.parse(shown.stdout) as TaskRow;
    assert.equal(row.status, 'success');
    assert.equal(row.prompt, 'Create made.txt');
  });
});

test('run --agent with an unknown profile name exits 2 and names the known ones', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
  await withSandbox('claude', [{ kind: 'text', text: 'unused' }], {}, async (sandbox, _driver, env) => {
    const r = await runCli(['run', '--agent', 'nope', '--store', sandbox.storeDir, 'hi'], { ...env, AGENT_TASKS_SETTINGS: path.join(sandbox.home, 'none.json') }, sandbox.work);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no agent profile "nope" \(known: claude, codex, gemini;/);
  });
});
