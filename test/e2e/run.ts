/**
 * `npm run test:e2e` (after `npm run package && tsc -p .`): provisions the e2e tools (or stops with
 * the exact apt-get line when Chromium / libkrb5-dev are missing), runs the scenario files
 * (out/test/e2e/*.test.js) with node's test runner, one file at a time, and afterwards makes sure
 * no process it started survives: every process of the run carries AGENT_TASKS_E2E_SUITE=<token>
 * in its environment (code-server, the extension host, the fake agents, Chromium), and whatever
 * still carries it is killed by pid and reported.
 *
 * Exit code: the test runner's (0 = all passed), 2 when the prerequisites are missing.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { describeProc, processesWithEnv, terminateProcesses } from './codeServer';
import { defaultLog, ensureE2ETools, errorMessage } from './e2eSetup';

const SUITE_ENV = 'AGENT_TASKS_E2E_SUITE';
const log = defaultLog;

async function main(): Promise<number> {
  const t0 = Date.now();
  try {
    await ensureE2ETools({ log });
  } catch (err) {
    process.stderr.write(`\n${errorMessage(err)}\n`);
    return 2;
  }
  const dir = __dirname;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no *.test.js in ${dir}: run \`tsc -p .\` first`);
  const token = crypto.randomBytes(8).toString('hex');
  const args = ['--test', '--test-concurrency=1', ...(process.env.E2E_TEST_NAME_PATTERN ? [`--test-name-pattern=${process.env.E2E_TEST_NAME_PATTERN}`] : []), ...files];
  log(`running ${files.map((f) => path.basename(f)).join(', ')}`);
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, [SUITE_ENV]: token } });
  const forward = (sig: NodeJS.Signals) => () => {
    log(`${sig}: stopping the tests`);
    child.kill(sig);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 128 + 15 : 1))));

  const left = processesWithEnv(SUITE_ENV, token).filter((p) => p.pid !== process.pid && p.state !== 'Z' && p.state !== 'X');
  if (left.length > 0) {
    log(`WARNING: ${left.length} process(es) of the e2e run were still alive; killing them:\n  ${left.map(describeProc).join('\n  ')}`);
    const survivors = await terminateProcesses(left, 3000);
    if (survivors.length) log(`ERROR: could not kill ${survivors.map((p) => p.pid).join(', ')}`);
  } else {
    log('no process of the e2e run is left');
  }
  log(`e2e: ${code === 0 ? 'PASSED' : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(0)}s; screenshots in ${process.env.E2E_OUT ?? '/tmp/agent-tasks-e2e-out'}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`e2e runner: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
