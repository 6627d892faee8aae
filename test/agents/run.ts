/**
 * `npm run test:agents` (after `tsc -p .`): installs the pinned agent CLIs into the cache (or reuses
 * them; agentSetup.ts), runs the scenario files (out/test/agents/*.test.js) with node's test
 * runner, and afterwards makes sure no process it started survives: every process of the run
 * carries AGENT_TASKS_AGENTS_SUITE=<token> in its environment (the test processes, the CLIs, the
 * agents and whatever they spawn), and whatever still carries it is killed by pid and reported.
 *
 * The tests get a clean environment: no API keys, proxies or agent config folders of the machine
 * (harness.ts drops them again, for a file run on its own).
 *
 * Environment: AGENTS_TEST_NAME_PATTERN (a --test-name-pattern), AGENTS_TEST_CONCURRENCY (test
 * files at once, default 3: one per agent), AGENTS_RECORD_FIXTURES=1 (rewrite test/fixtures/agent-output/real),
 * AGENTS_DEBUG=1 (the mock server's log), AGENT_TASKS_AGENTS_CACHE (the install cache).
 *
 * Exit code: the test runner's (0 = all passed), 2 when the CLIs could not be installed.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { describeProc, processesWithEnv, terminateProcesses } from '../e2e/codeServer';
import { errorMessage, withoutNpmRunVariables } from '../e2e/e2eSetup';
import { agentsCacheDir, ensureAgents, log, VERIFIED_ENV } from './agentSetup';

const SUITE_ENV = 'AGENT_TASKS_AGENTS_SUITE';
/** The whole suite, warm, takes about a minute; a hung run is stopped long before CI's own limit. */
const SUITE_TIMEOUT_MS = 15 * 60_000;
const SCRUBBED_ENV = /^(ANTHROPIC_|CLAUDE_|OPENAI_|CODEX_|GEMINI_|GOOGLE_|VERTEX|AWS_|AZURE_|HTTPS?_PROXY$|ALL_PROXY$|NO_PROXY$|NODE_OPTIONS$|NODE_EXTRA_CA_CERTS$)/i;

async function main(): Promise<number> {
  const t0 = Date.now();
  try {
    const tools = await ensureAgents({ log });
    for (const t of Object.values(tools)) log(`${t.pkg}@${t.version}: ${t.reused ? 'cached' : `installed in ${t.installSeconds.toFixed(1)}s`} (${t.bin})`);
  } catch (err) {
    process.stderr.write(`\nCould not install the agent CLIs into ${agentsCacheDir()}:\n${errorMessage(err)}\n`);
    return 2;
  }
  const setupSeconds = (Date.now() - t0) / 1000;
  const dir = __dirname;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no *.test.js in ${dir}: run \`tsc -p .\` first`);
  const token = crypto.randomBytes(8).toString('hex');
  const env = withoutNpmRunVariables(process.env);
  for (const key of Object.keys(env)) if (SCRUBBED_ENV.test(key)) delete env[key];
  env[SUITE_ENV] = token;
  env[VERIFIED_ENV] = agentsCacheDir();
  const concurrency = Number(process.env.AGENTS_TEST_CONCURRENCY) > 0 ? Number(process.env.AGENTS_TEST_CONCURRENCY) : 3;
  const pattern = process.env.AGENTS_TEST_NAME_PATTERN;
  const args = ['--test', `--test-concurrency=${concurrency}`, ...(pattern ? [`--test-name-pattern=${pattern}`] : []), ...files];
  log(`running ${files.map((f) => path.basename(f)).join(', ')} (${concurrency} at a time)`);
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => () => {
    log(`${sig}: stopping the tests`);
    child.kill(sig);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  const watchdog = setTimeout(() => {
    log(`the suite ran longer than ${SUITE_TIMEOUT_MS / 60_000} min: stopping it`);
    child.kill('SIGKILL');
  }, SUITE_TIMEOUT_MS);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 128 + 9 : 1))));
  clearTimeout(watchdog);

  const left = processesWithEnv(SUITE_ENV, token).filter((p) => p.pid !== process.pid && p.state !== 'Z' && p.state !== 'X');
  let leftovers = 0;
  if (left.length > 0) {
    leftovers = left.length;
    log(`ERROR: ${left.length} process(es) of the agents run were still alive; killing them:\n  ${left.map(describeProc).join('\n  ')}`);
    const survivors = await terminateProcesses(left, 3000);
    if (survivors.length) log(`ERROR: could not kill ${survivors.map((p) => p.pid).join(', ')}`);
  } else {
    log('no process of the agents run is left');
  }
  const seconds = (Date.now() - t0) / 1000;
  const result = code === 0 && leftovers === 0 ? 'PASSED' : `FAILED (exit ${code}${leftovers ? `, ${leftovers} leftover processes` : ''})`;
  log(`agents: ${result} in ${seconds.toFixed(0)}s (CLI setup ${setupSeconds.toFixed(1)}s)`);
  // A leaked process is a bug of the suite (or of the runner's cleanup): it fails the run.
  return code !== 0 ? code : leftovers > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`agents runner: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
