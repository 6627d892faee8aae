/**
 * What the real-agent scenarios share: one private sandbox per test (HOME, working folder, task
 * store, TMPDIR, all under one temp folder), a driver per CLI (its argv and whether the prompt goes
 * on stdin: the extension's built-in profile of that name, expanded by the extension's own
 * `expandProfile`; its config files pointing
 * at the mock model server; its transcript), and two ways to run it: through `TaskRunner` over a
 * real `TaskStore`, and through the `agent-tasks run` CLI.
 *
 * Every agent gets HTTPS_PROXY/HTTP_PROXY pointing at the mock: whatever it tries to reach besides
 * its base URL is recorded (and refused) there instead of leaving the machine. The scenarios assert
 * that nothing did.
 */
import { spawn } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { createOutputParser, type OutputSummary } from '../../src/core/outputParsers';
import { TaskRunner, type RunningTask, type TaskSpec } from '../../src/core/taskRunner';
import { withoutTwoWayFlags } from './claudeArgs';
export { withoutTwoWayFlags } from './claudeArgs';
import { TaskStore } from '../../src/core/taskStore';
import type { OutputFormat, TaskRow } from '../../src/core/taskTypes';
import { BUILTIN_PROFILES, expandProfile, passesSessionId, type AgentProfile, type RunMode } from '../../src/extension/model/agentProfiles';
import { claudeOfflineEnv, offlineEnv } from './agentEnv';
import { AGENT_PACKAGES, ensureAgents, log, type AgentKind, type AgentTool } from './agentSetup';
import { startMockModelServer, type MockModelServer, type Step, type Vendor } from './mockModelServer';

/** out/test/agents → out/src/cli/main.js (tsc output of the CLI). */
export const CLI_ENTRY = path.resolve(__dirname, '../../src/cli/main.js');
/** out/test/agents → the repository's test/fixtures/agent-output/real (recorded with AGENTS_RECORD_FIXTURES=1). */
export const REAL_FIXTURES_DIR = path.resolve(__dirname, '../../../test/fixtures/agent-output/real');

// Whatever the suite was started with, no agent under test may see a real credential, a real
// config folder or a proxy of the machine: TaskRunner passes process.env on to its children.
const SCRUBBED_ENV = /^(ANTHROPIC_|CLAUDE_|OPENAI_|CODEX_|GEMINI_|GOOGLE_|VERTEX|AWS_|AZURE_|HTTPS?_PROXY$|ALL_PROXY$|NO_PROXY$|NODE_OPTIONS$|NODE_EXTRA_CA_CERTS$)/i;
for (const key of Object.keys(process.env)) if (SCRUBBED_ENV.test(key)) delete process.env[key];

export const DRIVER_KINDS: readonly AgentKind[] = ['claude', 'codex', 'gemini'];

// ---------------------------------------------------------------------------------------------
// Sandbox

export interface Sandbox {
  readonly root: string;
  readonly home: string;
  /** The agent's working folder. */
  readonly work: string;
  readonly storeDir: string;
  readonly tmp: string;
  store: TaskStore;
  runner: TaskRunner;
  server: MockModelServer;
  close(): Promise<void>;
}

export async function openSandbox(kind: AgentKind, steps: readonly Step[]): Promise<Sandbox> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `agent-tasks-agents-${kind}-`));
  const dirs = { home: path.join(root, 'home'), work: path.join(root, 'work'), storeDir: path.join(root, 'store'), tmp: path.join(root, 'tmp') };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  const server = await startMockModelServer(steps, { maxStepMs: 45_000, log: process.env.AGENTS_DEBUG ? (m) => process.stderr.write(`${m}\n`) : undefined });
  const store = await TaskStore.open({ dir: dirs.storeDir, rotationGraceMs: 0 });
  const runner = new TaskRunner(store, { killGraceMs: 3000 });
  let closed = false;
  const sandbox: Sandbox = {
    root,
    ...dirs,
    store,
    runner,
    server,
    async close() {
      if (closed) return;
      closed = true;
      // Whatever still runs is stopped (SIGKILL to its process group) and recorded before the store closes.
      await Promise.all(runner.list().map((t) => runner.cancel(t.id, { graceMs: 0 }).catch(() => undefined)));
      runner.dispose();
      await store.close();
      await server.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return sandbox;
}

// ---------------------------------------------------------------------------------------------
// Drivers

export interface DriverOptions {
  /** API retries the agent may make (Claude CLAUDE_CODE_MAX_RETRIES, Codex request/stream_max_retries, Gemini maxAttempts − 1). Default 0. */
  retries?: number;
  /** Claude: log in with a claude.ai OAuth token instead of an API key (only then are rate_limit_event lines printed). */
  oauth?: boolean;
}

export interface AgentDriver {
  readonly kind: AgentKind;
  readonly vendor: Vendor;
  readonly format: OutputFormat;
  readonly tool: AgentTool;
  /**
   * The argv of a new run: the built-in profile's `args`, expanded as the extension expands them
   * (the prompt is one element). For an agent that takes our session id, an empty `sessionId`
   * gets a fresh one (the caller then learns it from the output, as for the others).
   */
  args(prompt: string, sessionId: string): string[];
  /** The argv that continues `sessionId`: the built-in profile's `resumeArgs`, expanded. */
  resumeArgs(prompt: string, sessionId: string): string[];
  /**
   * The built-in's `promptInput` is "stdin": its argv holds no prompt, and `runThroughRunner`
   * writes the run's prompt to the agent's stdin, as the extension does.
   */
  readonly promptOnStdin: boolean;
  /** The built-in's `interactive`: the agent asks through its stdio (runThroughRunner passes it on unless told otherwise). */
  readonly interactive: boolean;
  /**
   * `args` (from `args()`) with the prompt as an argument instead, as a user types the command
   * after `agent-tasks run --`: the CLI gives its child no stdin.
   */
  promptAsArgument(args: readonly string[], prompt: string): string[];
  /** True when the run's session id is chosen before it starts: the built-in passes `${sessionId}` to a new run (Claude, Gemini). */
  readonly presetsSessionId: boolean;
  /** Writes the agent's config files into the sandbox; returns the environment the agent needs. */
  prepare(sandbox: Sandbox, options?: DriverOptions): Record<string, string>;
  /** The agent's own transcript of `sessionId`, or undefined when it has none (yet). */
  transcript(sandbox: Sandbox, sessionId: string): string | undefined;
}

/** What every agent gets: the private HOME/TMPDIR and the proxy trap. */
function baseEnv(sandbox: Sandbox): Record<string, string> {
  return offlineEnv(sandbox, sandbox.server.origin);
}

/** The built-in profile of an agent (src/extension/model/agentProfiles.ts), checked to run the CLI the suite installed. */
function builtinProfile(kind: AgentKind): AgentProfile {
  const profile = BUILTIN_PROFILES.find((p) => p.name === kind);
  if (profile === undefined) throw new Error(`no built-in "${kind}" profile in BUILTIN_PROFILES`);
  if (profile.command !== AGENT_PACKAGES[kind].binName || profile.shell) {
    throw new Error(`the built-in "${kind}" profile runs ${JSON.stringify(profile.command)}${profile.shell ? ' through a shell' : ''}, not the ${AGENT_PACKAGES[kind].pkg} bin "${AGENT_PACKAGES[kind].binName}"`);
  }
  for (const arg of [...profile.args, ...(profile.resumeArgs ?? [])]) {
    // args()/resumeArgs() know only the prompt and the session: a built-in needing more must be taught here.
    if (arg.includes('${workspaceFolder}') || arg.includes('${taskId}')) throw new Error(`the built-in "${kind}" profile uses ${arg}: the harness does not expand it`);
  }
  return profile;
}

/** The argv, format, prompt and session handling of a driver: those of the agent's built-in profile. */
function profileArgv(kind: AgentKind): Pick<AgentDriver, 'format' | 'args' | 'resumeArgs' | 'presetsSessionId' | 'promptOnStdin' | 'interactive'> {
  const profile = builtinProfile(kind);
  const presets = passesSessionId(profile, 'start');
  const expand = (mode: RunMode, prompt: string, sessionId: string): string[] =>
    expandProfile(profile, mode, { prompt, sessionId, workspaceFolder: '', taskId: '' }).args;
  return {
    format: profile.format,
    presetsSessionId: presets,
    promptOnStdin: profile.promptInput === 'stdin',
    interactive: profile.interactive === true,
    args: (prompt, sessionId) => expand('start', prompt, presets && sessionId === '' ? randomUUID() : sessionId),
    resumeArgs: (prompt, sessionId) => {
      if (profile.resumeArgs === undefined) throw new Error(`the built-in "${kind}" profile cannot resume`);
      return expand('resume', prompt, sessionId);
    },
  };
}

function claudeDriver(tool: AgentTool): AgentDriver {
  return {
    kind: 'claude',
    vendor: 'anthropic',
    tool,
    ...profileArgv('claude'),
    // `-p` is a flag (--print): the prompt is the positional argument. A terminal's run has no
    // two-way stdio: it runs as a plain -p run (what it may not do is denied and recorded).
    promptAsArgument: (args, prompt) => {
      const plain = withoutTwoWayFlags(args);
      return plain.includes(prompt) ? plain : [...plain, prompt];
    },
    prepare(sandbox, options = {}) {
      return claudeOfflineEnv(sandbox, sandbox.server.origin, options);
    },
    transcript(sandbox, sessionId) {
      // $HOME/.claude/projects/<the cwd with every non-alphanumeric character as "-">/<session>.jsonl
      return findFile(path.join(sandbox.home, '.claude', 'projects'), (name) => name === `${sessionId}.jsonl`, 2);
    },
  };
}

function codexDriver(tool: AgentTool): AgentDriver {
  return {
    kind: 'codex',
    vendor: 'openai',
    tool,
    // `exec --json -s workspace-write --skip-git-repo-check [resume ID] -`: `-s` must come before `resume`.
    ...profileArgv('codex'),
    // `-` (read stdin) is where the prompt goes.
    promptAsArgument: (args, prompt) => args.map((a) => (a === '-' ? prompt : a)),
    prepare(sandbox, options = {}) {
      const codexHome = path.join(sandbox.home, '.codex');
      fs.mkdirSync(codexHome, { recursive: true });
      const retries = options.retries ?? 0;
      fs.writeFileSync(
        path.join(codexHome, 'config.toml'),
        [
          'model = "gpt-5.5"',
          'model_provider = "mock"',
          '',
          '[model_providers.mock]',
          'name = "mock"',
          `base_url = "${sandbox.server.origin}/v1"`,
          'wire_api = "responses"',
          'env_key = "MOCK_OPENAI_API_KEY"',
          `request_max_retries = ${retries}`,
          `stream_max_retries = ${retries}`,
          '',
          '[features]',
          'plugins = false',
          'remote_plugin = false',
          'apps = false',
          '',
          // Without this, every run CONNECTs to ab.chatgpt.com (caught by the proxy trap).
          '[analytics]',
          'enabled = false',
          '',
        ].join('\n'),
      );
      return { ...baseEnv(sandbox), CODEX_HOME: codexHome, MOCK_OPENAI_API_KEY: 'sk-mock' };
    },
    transcript(sandbox, sessionId) {
      // $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl
      return findFile(path.join(sandbox.home, '.codex', 'sessions'), (name) => name.startsWith('rollout-') && name.endsWith(`-${sessionId}.jsonl`), 4);
    },
  };
}

function geminiDriver(tool: AgentTool): AgentDriver {
  return {
    kind: 'gemini',
    vendor: 'gemini',
    tool,
    ...profileArgv('gemini'),
    promptAsArgument: (args, prompt) => (args.includes(prompt) ? [...args] : [...args, '-p', prompt]),
    prepare(sandbox, options = {}) {
      const dir = path.join(sandbox.home, '.gemini');
      fs.mkdirSync(dir, { recursive: true });
      const settings = {
        // Without a selected auth type a headless run exits 41 ("Please set an Auth method").
        security: { auth: { selectedType: 'gemini-api-key' } },
        privacy: { usageStatisticsEnabled: false },
        // maxAttempts defaults to 10 with a 5 s first back-off: an API error would take minutes.
        general: { maxAttempts: Math.min(10, 1 + (options.retries ?? 0)), enableAutoUpdate: false, enableAutoUpdateNotification: false },
      };
      fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
      return {
        ...baseEnv(sandbox),
        GOOGLE_GEMINI_BASE_URL: sandbox.server.origin,
        GEMINI_API_KEY: 'mock-gemini-key',
        GEMINI_CLI_TRUST_WORKSPACE: 'true',
      };
    },
    transcript(sandbox, sessionId) {
      // $HOME/.gemini/tmp/<project>/chats/session-<time>-<first 8 of the id>.jsonl, whose first line names the session.
      return findFile(
        path.join(sandbox.home, '.gemini', 'tmp'),
        (name, file) => name.startsWith('session-') && name.endsWith(`-${sessionId.slice(0, 8)}.jsonl`) && firstLine(file).includes(`"sessionId":"${sessionId}"`),
        3,
      );
    },
  };
}

const tools = new Map<AgentKind, Promise<AgentTool>>();

/** The driver of one CLI (installing it on first use when needed; run.ts installs them all before the tests). */
export async function driverFor(kind: AgentKind): Promise<AgentDriver> {
  let pending = tools.get(kind);
  if (pending === undefined) {
    pending = ensureAgents({ only: [kind], log }).then((t) => t[kind]);
    tools.set(kind, pending);
  }
  const tool = await pending;
  return kind === 'claude' ? claudeDriver(tool) : kind === 'codex' ? codexDriver(tool) : geminiDriver(tool);
}

// ---------------------------------------------------------------------------------------------
// Runs

export interface RunResult {
  readonly row: TaskRow;
  /** What the agent printed on stdout (what the parser saw). */
  readonly stdout: string;
  /** The task's log file as journaled (stdout and stderr). */
  readonly log: string;
  /** The parser's summary of stdout, and every update it reported on the way. */
  readonly summary: OutputSummary;
  readonly updates: readonly OutputSummary[];
}

export interface RunOptions {
  args: string[];
  /** The row's prompt; also the agent's stdin when the driver's built-in takes it there (unless `stdin` says otherwise). */
  prompt: string;
  /** What to write to the agent's stdin: default the prompt for a `promptOnStdin` driver, else none; null: none. */
  stdin?: string | null;
  env: Record<string, string>;
  sessionId?: string | null;
  parentId?: string | null;
  /** Called once the child runs; may stop it (e.g. to kill it mid-stream). */
  whileRunning?: (task: RunningTask, stdout: () => string) => Promise<void>;
  /** A run that takes longer is killed and the test fails. Default 60 s. */
  timeoutMs?: number;
  /** The agent asks through stdio (TaskSpec.interactive): its requests go to the journal. Default: the driver's built-in. */
  interactive?: boolean;
  /** A usage limit with a reset time makes the run wait, then resume with this (TaskSpec.resumeAfterLimit). */
  resumeAfterLimit?: TaskSpec['resumeAfterLimit'];
}

/** Runs the agent through TaskRunner (as the extension does) and returns its finished row. */
export async function runThroughRunner(sandbox: Sandbox, driver: AgentDriver, options: RunOptions): Promise<RunResult> {
  const stdin = options.stdin === undefined ? (driver.promptOnStdin ? options.prompt : null) : options.stdin;
  const updates: OutputSummary[] = [];
  const parser = createOutputParser(driver.format, { onUpdate: (s) => updates.push(s) });
  let stdout = '';
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stdout += chunk.toString('utf8');
      parser.push(chunk);
      done();
    },
  });
  const task = await sandbox.runner.start(
    {
      name: `${driver.kind}: ${options.prompt}`,
      agent: driver.kind,
      command: driver.tool.bin,
      args: options.args,
      cwd: sandbox.work,
      workspace: sandbox.work,
      prompt: options.prompt,
      format: driver.format,
      session_id: options.sessionId ?? null,
      parent_id: options.parentId ?? null,
      env: options.env,
      ...(stdin !== null ? { stdin } : {}),
      ...((options.interactive ?? driver.interactive) ? { interactive: true } : {}),
      ...(options.resumeAfterLimit ? { resumeAfterLimit: options.resumeAfterLimit } : {}),
    },
    { tee: { stdout: capture } },
  );
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    void sandbox.runner.cancel(task.id, { graceMs: 0 });
  }, timeoutMs);
  try {
    if (options.whileRunning) await options.whileRunning(task, () => stdout);
    const row = await task.done;
    if (timedOut) throw new Error(`${driver.kind} did not finish within ${timeoutMs} ms; its output:\n${stdout.slice(-3000)}`);
    parser.end();
    const log = row.log_path !== null && fs.existsSync(row.log_path) ? fs.readFileSync(row.log_path, 'utf8') : '';
    return { row, stdout, log, summary: parser.summary, updates };
  } finally {
    clearTimeout(watchdog);
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node out/src/cli/main.js ARGS` with the agent's environment; kills it after `timeoutMs`. */
export function runCli(args: readonly string[], env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      reject(new Error(`agent-tasks ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Checks and fixtures

/** The log holds every line the agent printed on stdout, and exactly the bytes the row counted. */
export function logIsComplete(result: RunResult): string | undefined {
  const logBytes = Buffer.byteLength(result.log);
  if (logBytes !== result.row.output_bytes) return `the log has ${logBytes} bytes, the row counted ${result.row.output_bytes}`;
  let from = 0;
  for (const line of result.stdout.split('\n')) {
    if (line === '') continue;
    const at = result.log.indexOf(line, from);
    if (at === -1) return `the log lacks the stdout line ${JSON.stringify(line.slice(0, 200))}`;
    from = at + line.length;
  }
  return undefined;
}

/** Requests the agent made that were not to its model endpoint (through the proxy trap or not). */
export function strayRequests(server: MockModelServer): string[] {
  // Claude's first probe of its base URL (`HEAD /`) is its own connectivity check, to the mock.
  return server.requests.filter((r) => r.step === null && !(r.method === 'HEAD' && r.path === '/')).map((r) => `${r.method} ${r.path}`);
}

/**
 * With AGENTS_RECORD_FIXTURES=1, writes what the agent printed to
 * test/fixtures/agent-output/real/<agent>-<name>.jsonl for the unit tests, with the sandbox path
 * and the mock's port made stable.
 */
export function recordFixture(sandbox: Sandbox, driver: AgentDriver, name: string, stdout: string): void {
  if (process.env.AGENTS_RECORD_FIXTURES !== '1') return;
  const stable = stdout
    .split(sandbox.root).join('/tmp/agent-sandbox')
    // Claude's project folder: the cwd with every non-alphanumeric character as "-".
    .split(sandbox.root.replace(/[^A-Za-z0-9]/g, '-')).join('-tmp-agent-sandbox')
    .split(`127.0.0.1:${sandbox.server.port}`).join('127.0.0.1:8123');
  fs.mkdirSync(REAL_FIXTURES_DIR, { recursive: true });
  fs.writeFileSync(path.join(REAL_FIXTURES_DIR, `${driver.kind}-${name}.jsonl`), stable);
}

export function readText(file: string | undefined): string {
  return file !== undefined && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

function firstLine(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8').split('\n')[0];
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** The first file under `dir` (at most `depth` levels down) that `match` accepts. */
function findFile(dir: string, match: (name: string, file: string) => boolean, depth: number): string | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isFile() && match(entry.name, file)) return file;
  }
  if (depth <= 0) return undefined;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const found = findFile(path.join(dir, entry.name), match, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
