/**
 * Where each real agent keeps its sessions, as Recover looks for them (src/core/agentSessions.ts):
 * a run that completes leaves a session that findAgentSession finds, in the environment the
 * driver prepared given as the profile's `env` (as Recover builds it, over process.env), so Resume
 * is offered. Once the agent's transcript is deleted, it reports 'missing' and Recover offers
 * Restart with the reason, and the agent itself confirms it: resuming fails with the message the
 * reason quotes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { findAgentSession } from '../../src/core/agentSessions';
import { validateProfile } from '../../src/extension/model/agentProfiles';
import { checkedResume, planRerun, planResume, recoverActions, sessionQuery } from '../../src/extension/model/recoverChoices';
import { DRIVER_KINDS, runThroughRunner } from './harness';
import { newRun, SCENARIO_TIMEOUT_MS, withSandbox } from './scenarios';

/** The agent's own words when it cannot resume, as quoted in the 'missing' reason. */
const RESUME_FAILURE = {
  claude: 'No conversation found',
  codex: 'no rollout found for thread id',
  gemini: 'Error resuming session',
} as const;

for (const kind of DRIVER_KINDS) {
  test(`sessions: ${kind}: Recover finds the session where the agent keeps it, and offers Restart once it is gone`, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    await withSandbox(kind, [{ kind: 'text', text: 'Done, and saved in my session.' }], {}, async (sandbox, driver, env) => {
      const prompt = 'Say something worth resuming';
      const run = newRun(driver, prompt);
      const first = await runThroughRunner(sandbox, driver, { ...run, prompt, env });
      assert.equal(first.row.status, 'success', first.log.slice(-2000));
      const sessionId = first.row.session_id;
      assert.ok(sessionId, 'the run has a session id');

      // The profile Recover would find: this driver's argv, its environment as the profile's env.
      const entry = validateProfile(
        kind,
        {
          command: driver.tool.bin,
          args: driver.args('${prompt}', '${sessionId}'),
          resumeArgs: driver.resumeArgs('${prompt}', '${sessionId}'),
          format: driver.format,
          env,
          ...(driver.promptOnStdin ? { promptInput: 'stdin' } : {}),
        },
        'user',
      );
      assert.equal(entry.kind, 'ok', JSON.stringify(entry));
      const row = { ...first.row, status: 'interrupted' as const };
      const resume = planResume(row, entry);
      assert.equal(resume.kind, 'resume', JSON.stringify(resume));
      const query = sessionQuery(row, resume, process.env);
      assert.ok(query, 'Recover looks for the session');
      assert.equal(query.env.HOME, sandbox.home, "the profile's HOME, not this process's");

      const transcript = driver.transcript(sandbox, sessionId);
      assert.ok(transcript, 'the agent keeps a transcript of the session');
      const found = await findAgentSession(query);
      assert.deepEqual(found, { state: 'found', path: transcript });
      const offered = recoverActions(row, checkedResume(resume, found), planRerun(row, entry));
      assert.deepEqual(offered.items.map((i) => i.action), ['resume', 'resumeWithMessage', 'restart', 'openLog', 'dismiss']);

      // Without the sandbox's environment, the session is not where this process's HOME points.
      assert.notEqual((await findAgentSession({ ...query, env: { ...process.env, HOME: sandbox.tmp } })).state, 'found');

      fs.rmSync(transcript);
      const missing = await findAgentSession(query);
      assert.equal(missing.state, 'missing', JSON.stringify(missing));
      const reason = missing.state === 'missing' ? missing.reason : '';
      assert.ok(reason.includes(sessionId), `the reason names the session: ${reason}`);
      assert.ok(reason.includes(`("${RESUME_FAILURE[kind]}")`), `the reason quotes the agent: ${reason}`);
      const gone = recoverActions(row, checkedResume(resume, missing), planRerun(row, entry));
      assert.deepEqual(gone.items.map((i) => i.action), ['restart', 'openLog', 'dismiss']);
      assert.deepEqual(gone.notes, [`Resume is not available: ${reason}`]);

      // The Resume it no longer offers would indeed have failed, in the agent's words.
      const resumed = await runThroughRunner(sandbox, driver, { args: driver.resumeArgs('Continue', sessionId), prompt: 'Continue', sessionId, env });
      assert.equal(resumed.row.status, 'failed', resumed.log.slice(-2000));
      assert.ok(resumed.log.includes(RESUME_FAILURE[kind]), `the agent says "${RESUME_FAILURE[kind]}":\n${resumed.log.slice(-2000)}`);
      assert.equal(sandbox.server.modelRequests().length, 1, 'the failed resume never reached the model');
    });
  });
}
