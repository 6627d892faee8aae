/**
 * Real-agent provisioning: the pinned npm packages of Claude Code, Codex and Gemini CLI, each
 * installed into its own folder of a cache OUTSIDE the repo and reused when its marker and its
 * `--version` agree. Same approach as test/e2e/e2eSetup.ts (which it reuses): a private
 * package.json per folder, `npm install --no-save` through `runLogged` (log file, timeout, the
 * `npm run` variables dropped by `withoutNpmRunVariables`), an `.installed.json` marker, and a
 * cross-process lock.
 *
 * Cache: $AGENT_TASKS_AGENTS_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/agent-tasks-agents.
 * `node out/test/agents/agentSetup.js` installs them all (e.g. once per machine).
 *
 * See docs/AGENTS-TESTING.md for sizes, timings and each package's quirks.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  acquireLock,
  errorMessage,
  prepareInstallDir,
  readMarker,
  runLogged,
  writeMarker,
  type Logger,
} from '../e2e/e2eSetup';

export type AgentKind = 'claude' | 'codex' | 'gemini';
export const AGENT_KINDS: readonly AgentKind[] = ['claude', 'codex', 'gemini'];

interface AgentPackage {
  readonly kind: AgentKind;
  readonly pkg: string;
  readonly version: string;
  /** The bin name in the package's package.json. */
  readonly binName: string;
  /** What a cold install downloads (for the log line). */
  readonly size: string;
  /** A script of the package to run after `npm install --ignore-scripts` (path inside the package, run with this Node). */
  readonly postInstallScript?: string;
}

/** Every pinned version lives here and nowhere else. */
export const AGENT_PACKAGES: Readonly<Record<AgentKind, AgentPackage>> = {
  claude: { kind: 'claude', pkg: '@anthropic-ai/claude-code', version: '2.1.197', binName: 'claude', size: '~240 MB native binary', postInstallScript: 'install.cjs' },
  codex: { kind: 'codex', pkg: '@openai/codex', version: '0.171.0', binName: 'codex', size: '~370 MB native binary' },
  gemini: { kind: 'gemini', pkg: '@google/gemini-cli', version: '0.61.0', binName: 'gemini', size: '~100 MB of JavaScript' },
};

export interface AgentTool {
  readonly kind: AgentKind;
  readonly pkg: string;
  readonly version: string;
  /** The install folder (the package's private project). */
  readonly dir: string;
  /** The executable to spawn: node_modules/.bin/<name> of that folder (absolute). */
  readonly bin: string;
  /** Seconds the install took (for a reused install: the marker's record of it). */
  readonly installSeconds: number;
  /** True when the cache already held a working install. */
  readonly reused: boolean;
}

export type AgentTools = Readonly<Record<AgentKind, AgentTool>>;

/** Set (to the cache folder) by run.ts once it verified the installs: the test processes skip `--version`. */
export const VERIFIED_ENV = 'AGENT_TASKS_AGENTS_VERIFIED';

export const log: Logger = (msg) => process.stderr.write(`[agents ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);

export function agentsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENT_TASKS_AGENTS_CACHE) return path.resolve(env.AGENT_TASKS_AGENTS_CACHE);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'agent-tasks-agents');
}

/** `claude-code-2.1.197`, `codex-0.171.0`, `gemini-cli-0.61.0`. */
function installDirName(p: AgentPackage): string {
  return `${p.pkg.split('/').pop()}-${p.version}`;
}

export interface EnsureAgentsOptions {
  log?: Logger;
  /** Per package; default 10 min (a 370 MB download on a slow link). */
  installTimeoutMs?: number;
  /** Only these agents (default: all three). */
  only?: readonly AgentKind[];
}

/** Installs (or reuses) the pinned CLIs; throws with the install log's tail when one is unusable. */
export async function ensureAgents(options: EnsureAgentsOptions = {}): Promise<AgentTools> {
  const logger = options.log ?? log;
  const cacheDir = agentsCacheDir();
  fs.mkdirSync(cacheDir, { recursive: true });
  const kinds = options.only ?? AGENT_KINDS;
  // In the test processes run.ts started (it verified the cache): no lock, no `--version`.
  if (process.env[VERIFIED_ENV] === cacheDir) {
    const ready = kinds.map((kind) => reusableInstall(cacheDir, AGENT_PACKAGES[kind]));
    if (ready.every((t): t is AgentTool => t !== undefined)) return Object.fromEntries(ready.map((t) => [t.kind, t])) as unknown as AgentTools;
  }
  const release = await acquireLock(path.join(cacheDir, '.install.lock'), logger, 30 * 60_000, 'another agent CLI install');
  try {
    const tools: Partial<Record<AgentKind, AgentTool>> = {};
    for (const kind of kinds) {
      tools[kind] = await ensureAgent(cacheDir, AGENT_PACKAGES[kind], logger, options.installTimeoutMs ?? 10 * 60_000);
    }
    return tools as AgentTools;
  } finally {
    release();
  }
}

/** The install in the cache when its marker names the pinned version and its bin exists (not run). */
function reusableInstall(cacheDir: string, p: AgentPackage): AgentTool | undefined {
  const dir = path.join(cacheDir, installDirName(p));
  const bin = path.join(dir, 'node_modules', '.bin', p.binName);
  const marker = readMarker(dir);
  if (marker?.version !== p.version || !fs.existsSync(bin)) return undefined;
  return { kind: p.kind, pkg: p.pkg, version: p.version, dir, bin, installSeconds: marker.seconds, reused: true };
}

async function ensureAgent(cacheDir: string, p: AgentPackage, log: Logger, timeoutMs: number): Promise<AgentTool> {
  const dir = path.join(cacheDir, installDirName(p));
  const bin = path.join(dir, 'node_modules', '.bin', p.binName);
  const marker = readMarker(dir);
  if (marker?.version === p.version) {
    const problem = await verifyAgent(p, bin);
    if (problem === undefined) return { kind: p.kind, pkg: p.pkg, version: p.version, dir, bin, installSeconds: marker.seconds, reused: true };
    log(`${p.pkg}@${p.version} in ${dir} is not usable (${problem}): installing it again`);
  }
  log(`installing ${p.pkg}@${p.version} into ${dir} (${p.size})`);
  const t0 = Date.now();
  prepareInstallDir(dir, {});
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The native binaries come from optional platform packages: never let a user config drop them.
  delete env.npm_config_omit;
  delete env.NPM_CONFIG_OMIT;
  delete env.npm_config_optional;
  await runLogged(
    'npm',
    // --ignore-scripts: no dependency's install script runs (Gemini's optional keytar/node-pty
    // builds would need a compiler; npm 11 skips them anyway). The one script that is needed,
    // Claude's install.cjs, runs explicitly below. --include=optional: the platform packages with
    // the native binaries are optionalDependencies.
    ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--include=optional', `${p.pkg}@${p.version}`],
    { cwd: dir, env, logFile: path.join(dir, 'install.log'), timeoutMs, log },
  );
  if (p.postInstallScript !== undefined) {
    // Claude Code's bin/claude.exe is a shell stub that only prints "claude native binary not
    // installed" until its postinstall replaced it with (a hard link to) the platform package's binary.
    const pkgDir = path.join(dir, 'node_modules', ...p.pkg.split('/'));
    await runLogged(process.execPath, [p.postInstallScript], { cwd: pkgDir, env, logFile: path.join(dir, 'install.log'), timeoutMs: 2 * 60_000, log });
  }
  const problem = await verifyAgent(p, bin);
  if (problem !== undefined) {
    throw new Error(`${p.pkg}@${p.version} installed in ${dir} but is not usable: ${problem}. See ${path.join(dir, 'install.log')}`);
  }
  writeMarker(dir, p.version, t0);
  const seconds = (Date.now() - t0) / 1000;
  log(`${p.pkg} ${p.version} ready (${seconds.toFixed(1)}s)`);
  return { kind: p.kind, pkg: p.pkg, version: p.version, dir, bin, installSeconds: seconds, reused: false };
}

/** Undefined when `<bin> --version` runs and names the pinned version; else what is wrong. */
async function verifyAgent(p: AgentPackage, bin: string): Promise<string | undefined> {
  if (!fs.existsSync(bin)) return `missing ${bin}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-version-'));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        bin,
        ['--version'],
        {
          timeout: 60_000,
          killSignal: 'SIGKILL',
          // A private HOME: --version must not write into the user's config folders.
          env: { ...isolatedEnv(home), CODEX_HOME: path.join(home, '.codex') },
          encoding: 'utf8',
        },
        (err, stdout, stderr) => (err ? reject(new Error(`${errorMessage(err)} ${stderr.trim().slice(0, 400)}`)) : resolve(stdout)),
      );
    });
    return out.includes(p.version) ? undefined : `--version printed ${JSON.stringify(out.trim().slice(0, 200))}`;
  } catch (err) {
    return `${bin} --version failed: ${errorMessage(err)}`;
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/**
 * The environment an agent under test gets: the caller's PATH and locale, a private HOME (and XDG
 * folders inside it), nothing else: no API keys, no proxies, no user config from the real HOME.
 */
export function isolatedEnv(home: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keep = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'TZ', 'TMPDIR', 'AGENT_TASKS_AGENTS_SUITE'];
  const env: NodeJS.ProcessEnv = {};
  for (const key of keep) if (base[key] !== undefined) env[key] = base[key];
  env.HOME = home;
  env.USERPROFILE = home;
  env.XDG_CONFIG_HOME = path.join(home, '.config');
  env.XDG_CACHE_HOME = path.join(home, '.cache');
  env.XDG_DATA_HOME = path.join(home, '.local', 'share');
  env.XDG_STATE_HOME = path.join(home, '.local', 'state');
  // Loopback only, even if a proxy variable sneaks in from somewhere.
  env.NO_PROXY = '127.0.0.1,localhost';
  env.no_proxy = '127.0.0.1,localhost';
  return env;
}

// `node out/test/agents/agentSetup.js` provisions the CLIs (once per machine, or in CI before the suite).
if (require.main === module) {
  const t0 = Date.now();
  ensureAgents()
    .then((tools) => {
      for (const t of Object.values(tools)) {
        log(`${t.pkg}@${t.version}: ${t.bin} (${t.reused ? 'reused' : `installed in ${t.installSeconds.toFixed(1)}s`})`);
      }
      log(`agent CLIs ready in ${agentsCacheDir()} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    })
    .catch((err: unknown) => {
      log(errorMessage(err));
      process.exitCode = 1;
    });
}
