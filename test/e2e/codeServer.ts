/**
 * Starts and stops ONE code-server (real VS Code server + web workbench) for
 * end-to-end tests, and finds/kills its processes strictly through the
 * process tree of the code-server this class started (plus a unique
 * environment token every descendant inherits) — never by a name pattern
 * across the machine.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { E2ETools, Logger, StopWaiting, acquireLock, defaultLog, errorMessage, sleep, waitUntil } from './e2eSetup';

// ---------------------------------------------------------------------------
// /proc process table
// ---------------------------------------------------------------------------

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Single-letter state from /proc/<pid>/stat (R, S, D, Z, ...). */
  state: string;
  /** Start time in clock ticks since boot; (pid, startTime) identifies a process even if the pid is reused. */
  startTime: number;
  /** argv (from /proc/<pid>/cmdline); empty for zombies and kernel threads. */
  cmdline: string[];
}

function readProc(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime ..."
  // comm may contain spaces and parentheses: split after the LAST ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let cmdline: string[] = [];
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
  } catch {
    /* gone or not readable */
  }
  return {
    pid,
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    state: rest[0],
    startTime: Number(rest[19]),
    cmdline,
  };
}

/** Snapshot of every process visible in /proc. */
export function readProcessTable(): Map<number, ProcInfo> {
  const table = new Map<number, ProcInfo>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info) table.set(info.pid, info);
  }
  return table;
}

/** All descendants of `rootPid` (not including it), breadth-first. */
export function descendantsOf(rootPid: number, table: Map<number, ProcInfo> = readProcessTable()): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of table.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcInfo[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Processes whose environment contains `NAME=value` exactly (readable ones only). */
export function processesWithEnv(name: string, value: string, table: Map<number, ProcInfo> = readProcessTable()): ProcInfo[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const out: ProcInfo[] = [];
  for (const p of table.values()) {
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${p.pid}/environ`);
    } catch {
      continue;
    }
    if (env.indexOf(needle) === 0 || env.indexOf(Buffer.concat([Buffer.from('\0'), needle])) >= 0) {
      out.push(p);
    }
  }
  return out;
}

/** True while (pid, startTime) is a live, non-zombie process. */
export function isRunning(p: Pick<ProcInfo, 'pid' | 'startTime'>): boolean {
  const now = readProc(p.pid);
  return !!now && now.startTime === p.startTime && now.state !== 'Z' && now.state !== 'X';
}

/** Sends `signal` to (pid, startTime) if it is still that same process. Returns whether a signal was sent. */
export function signalProcess(p: Pick<ProcInfo, 'pid' | 'startTime'>, signal: NodeJS.Signals): boolean {
  if (!isRunning(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Terminates a set of known processes: SIGTERM, wait up to `graceMs`, then
 * SIGKILL whatever is left and wait up to 5 s more. Returns pids that survived.
 */
export async function terminateProcesses(procs: ProcInfo[], graceMs = 5000): Promise<ProcInfo[]> {
  const alive = () => procs.filter(isRunning);
  if (graceMs > 0) {
    for (const p of alive()) signalProcess(p, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive().length > 0 && Date.now() < deadline) await sleep(100);
  }
  for (const p of alive()) signalProcess(p, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (alive().length > 0 && Date.now() < deadline) await sleep(100);
  return alive();
}

export function describeProc(p: ProcInfo): string {
  return `${p.pid} [${p.state}] ${p.cmdline.join(' ').slice(0, 160)}`;
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function tailFile(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// CodeServer
// ---------------------------------------------------------------------------

/**
 * How workspace trust is set up:
 * - 'trusted'   — `--disable-workspace-trust` (every folder trusted, no prompt; the API reports isTrusted=true).
 * - 'untrusted' — trust feature on, startup prompt off (`security.workspace.trust.startupPrompt: "never"`):
 *                 the folder opens in Restricted Mode with no dialog to click.
 * - 'default'   — leave code-server's defaults alone (see docs/E2E.md for what that gives).
 */
export type TrustMode = 'trusted' | 'untrusted' | 'default';

export interface CodeServerOptions {
  tools: E2ETools;
  /** Folder to open. Default: a fresh empty folder inside the temp root (removed by stop()). */
  workspace?: string;
  /** User settings (merged over DEFAULT_SETTINGS) written to <user-data-dir>/User/settings.json. */
  settings?: Record<string, unknown>;
  /** Default 'trusted'. */
  trust?: TrustMode;
  /** .vsix files installed (before the server starts) with `code-server --install-extension`. */
  vsix?: string[];
  /** Extra code-server flags, e.g. ['--log', 'trace'] or ['--vscode-option', 'x=y']. */
  extraArgs?: string[];
  /** Extra environment for code-server (and so for the extension host and whatever it spawns). */
  env?: Record<string, string | undefined>;
  log?: Logger;
  /** Where code-server's stdout/stderr go. Default: /tmp/agent-tasks-e2e-logs/code-server-<stamp>.log (kept after stop). */
  logFile?: string;
  /** Default 60 s. */
  startTimeoutMs?: number;
  /** Keep the temp dirs after stop() (for debugging). */
  keepTemp?: boolean;
  /**
   * Point XDG_DATA_HOME / XDG_CONFIG_HOME of code-server (and so of the
   * extension host and everything it spawns) into the temp root. Default true:
   * otherwise code-server writes ~/.local/share/code-server/{heartbeat,coder-logs}.
   */
  isolateXdg?: boolean;
  /**
   * Only one code-server runs at a time on this machine (2 cores, shared):
   * start() waits for a machine-wide lock held until stop(). Default 10 min.
   */
  lockTimeoutMs?: number;
}

/** Settings that keep a test workbench quiet and deterministic; override any through `settings`. */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'git.openRepositoryInParentFolders': 'never',
  'window.restoreWindows': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** Environment variable whose unique value marks every process of one CodeServer run. */
export const RUN_TOKEN_ENV = 'AGENT_TASKS_E2E_RUN';

export class CodeServer {
  /** Pids (with start times) ever seen in this server's tree; stop() makes sure they are all gone. */
  private readonly seen = new Map<number, ProcInfo>();
  private stopped = false;
  private releaseLock: () => void = () => undefined;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly pid: number,
    readonly port: number,
    readonly rootDir: string,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    readonly workspace: string,
    readonly logFile: string,
    readonly runToken: string,
    private readonly opts: CodeServerOptions,
    private readonly log: Logger,
    private readonly startTime: number,
  ) {}

  /** http://127.0.0.1:<port> */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** URL that opens `folder` (default: the workspace) in the workbench. */
  workspaceUrl(folder: string = this.workspace): string {
    return `${this.url}/?folder=${encodeURIComponent(folder)}`;
  }

  get settingsFile(): string {
    return path.join(this.userDataDir, 'User', 'settings.json');
  }

  /** VS Code's own logs (exthost.log, remoteagent.log, ...) live below here. */
  get vscodeLogsDir(): string {
    return path.join(this.userDataDir, 'logs');
  }

  static async start(opts: CodeServerOptions): Promise<CodeServer> {
    const log = opts.log ?? defaultLog;
    const tools = opts.tools;
    const releaseLock = await acquireLock(path.join(tools.cacheDir, '.code-server-run.lock'), log, opts.lockTimeoutMs ?? 10 * 60_000, 'another e2e code-server run');
    try {
      const server = await CodeServer.startLocked(opts, log);
      server.releaseLock = releaseLock;
      return server;
    } catch (err) {
      releaseLock();
      throw err;
    }
  }

  private static async startLocked(opts: CodeServerOptions, log: Logger): Promise<CodeServer> {
    const tools = opts.tools;
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-e2e-cs-'));
    const userDataDir = path.join(rootDir, 'user-data');
    const extensionsDir = path.join(rootDir, 'extensions');
    const workspace = path.resolve(opts.workspace ?? path.join(rootDir, 'workspace'));
    fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    fs.mkdirSync(extensionsDir, { recursive: true });
    fs.mkdirSync(workspace, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const logFile = opts.logFile ?? path.join(os.tmpdir(), 'agent-tasks-e2e-logs', `code-server-${stamp}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const configFile = path.join(rootDir, 'config.yaml');
    // Our own config file: otherwise code-server writes ~/.config/code-server/config.yaml.
    fs.writeFileSync(configFile, 'auth: none\ncert: false\n');

    const trust = opts.trust ?? 'trusted';
    const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    if (trust === 'untrusted') {
      settings['security.workspace.trust.enabled'] = true;
      settings['security.workspace.trust.startupPrompt'] = 'never';
      settings['security.workspace.trust.banner'] = 'always';
    }
    Object.assign(settings, opts.settings ?? {});
    fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');

    const runToken = crypto.randomBytes(8).toString('hex');
    const env: NodeJS.ProcessEnv = { ...process.env };
    // If the tests themselves run inside a VS Code terminal, these would make
    // code-server talk to that editor instead of starting its own.
    for (const key of Object.keys(env)) {
      if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE') delete env[key];
    }
    env.PATH = `${path.dirname(tools.node24Bin)}${path.delimiter}${process.env.PATH ?? ''}`;
    env[RUN_TOKEN_ENV] = runToken;
    if (opts.isolateXdg ?? true) {
      env.XDG_DATA_HOME = path.join(rootDir, 'xdg-data');
      env.XDG_CONFIG_HOME = path.join(rootDir, 'xdg-config');
    }
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const baseArgs = [tools.codeServerEntry, '--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

    const logFd = fs.openSync(logFile, 'a');
    const cleanupEarly = () => {
      try {
        fs.closeSync(logFd);
      } catch {
        /* closed */
      }
      if (!opts.keepTemp) fs.rmSync(rootDir, { recursive: true, force: true });
    };

    try {
      for (const vsix of opts.vsix ?? []) {
        await installVsix(tools.node24Bin, baseArgs, vsix, env, logFd, logFile, log);
      }
    } catch (err) {
      cleanupEarly();
      throw err;
    }

    const port = await freePort();
    const args = [
      ...baseArgs,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      ...(trust === 'trusted' ? ['--disable-workspace-trust'] : []),
      ...(opts.extraArgs ?? []),
      workspace,
    ];
    fs.writeSync(logFd, `\n===== ${new Date().toISOString()} start: ${tools.node24Bin} ${args.join(' ')}\n`);
    log(`starting code-server on 127.0.0.1:${port} (log: ${logFile})`);
    const t0 = Date.now();
    // detached => own process group (pgid = pid), so stop() can signal the group.
    const child = spawn(tools.node24Bin, args, { cwd: workspace, env, detached: true, stdio: ['ignore', logFd, logFd] });
    if (!child.pid) {
      cleanupEarly();
      throw new Error(`could not spawn code-server (${tools.node24Bin})`);
    }
    const self = readProc(child.pid);
    const server = new CodeServer(
      child.pid,
      port,
      rootDir,
      userDataDir,
      extensionsDir,
      workspace,
      logFile,
      runToken,
      opts,
      log,
      self?.startTime ?? 0,
    );
    if (self) server.seen.set(self.pid, self);
    child.on('exit', (code, signal) => {
      server.exited = { code, signal };
    });
    fs.closeSync(logFd); // the child has its own copy

    try {
      await waitUntil(
        `code-server to answer on ${server.url}/healthz`,
        async () => {
          if (server.exited) {
            throw new StopWaiting(
              `code-server exited during startup (${server.exited.signal ?? `exit ${server.exited.code}`}); log ${logFile}:\n${tailFile(logFile, 30)}`,
            );
          }
          return (await httpStatus(`${server.url}/healthz`, 2000)) === 200;
        },
        { timeoutMs: opts.startTimeoutMs ?? 60_000, intervalMs: 250 },
      ).catch((err: unknown) => {
        if (err instanceof StopWaiting) throw err;
        throw new Error(`${errorMessage(err)}; log ${logFile}:\n${tailFile(logFile, 30)}`);
      });
    } catch (err) {
      await server.stop();
      throw err;
    }
    log(`code-server up in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid})`);
    return server;
  }

  /** Installs a .vsix into this server's extensions dir. A running workbench needs a reload to pick it up. */
  async installExtension(vsix: string): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(this.opts.tools.node24Bin)}${path.delimiter}${process.env.PATH ?? ''}` };
    const logFd = fs.openSync(this.logFile, 'a');
    try {
      await installVsix(
        this.opts.tools.node24Bin,
        [this.opts.tools.codeServerEntry, '--config', path.join(this.rootDir, 'config.yaml'), '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir],
        vsix,
        env,
        logFd,
        this.logFile,
        this.log,
      );
    } finally {
      fs.closeSync(logFd);
    }
  }

  /** Reads the user settings.json. */
  readSettings(): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(this.settingsFile, 'utf8')) as Record<string, unknown>;
  }

  /** Merges `patch` into the user settings.json (VS Code picks the change up live). `undefined` removes a key. */
  updateSettings(patch: Record<string, unknown>): void {
    const next = this.readSettings();
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    fs.writeFileSync(this.settingsFile, JSON.stringify(next, null, 2) + '\n');
  }

  /** code-server's captured stdout/stderr so far. */
  readLog(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * The newest extension-host log (`<user-data>/logs/<stamp>/exthostN/remoteexthost.log`:
   * activation errors, uncaught exceptions), or '' if none yet.
   */
  readExtensionHostLog(): string {
    const files: { file: string; mtime: number }[] = [];
    const walk = (dir: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name === 'remoteexthost.log') files.push({ file: full, mtime: fs.statSync(full).mtimeMs });
      }
    };
    walk(this.vscodeLogsDir);
    files.sort((a, b) => b.mtime - a.mtime);
    return files.length ? fs.readFileSync(files[0].file, 'utf8') : '';
  }

  /** True until code-server's main process exits. */
  get running(): boolean {
    return !this.exited && isRunning({ pid: this.pid, startTime: this.startTime });
  }

  /**
   * Every live process that belongs to this server: descendants of the
   * code-server pid, plus processes carrying this run's env token (e.g.
   * detached grandchildren re-parented to init after their parent died).
   */
  processTree(): ProcInfo[] {
    const table = readProcessTable();
    const byPid = new Map<number, ProcInfo>();
    const root = table.get(this.pid);
    if (root && root.startTime === this.startTime) byPid.set(root.pid, root);
    if (root && root.startTime === this.startTime) {
      for (const p of descendantsOf(this.pid, table)) byPid.set(p.pid, p);
    }
    for (const p of processesWithEnv(RUN_TOKEN_ENV, this.runToken, table)) {
      if (p.pid !== process.pid) byPid.set(p.pid, p);
    }
    const live = [...byPid.values()].filter((p) => p.state !== 'Z' && p.state !== 'X');
    for (const p of live) this.seen.set(p.pid, p);
    return live;
  }

  /** Pids of the (Node) extension host(s): `bootstrap-fork --type=extensionHost` in this server's tree. */
  extensionHostPids(): number[] {
    return this.processTree()
      .filter((p) => p.cmdline.some((a) => a === '--type=extensionHost'))
      .map((p) => p.pid);
  }

  /**
   * Waits for an extension host that is not in `exclude` (e.g. the one you
   * just killed) and returns its pid.
   */
  async waitForExtensionHost(options: { timeoutMs?: number; exclude?: number[] } = {}): Promise<number> {
    const exclude = new Set(options.exclude ?? []);
    return waitUntil(
      `an extension host process${exclude.size ? ` other than ${[...exclude].join(', ')}` : ''} under code-server ${this.pid}`,
      () => {
        if (!this.running) throw new StopWaiting(`code-server ${this.pid} is not running; log ${this.logFile}`);
        return this.extensionHostPids().find((pid) => !exclude.has(pid));
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200 },
    );
  }

  /**
   * Sends `signal` to `pid`, which must belong to this server's tree (throws
   * otherwise: we never signal processes we did not start). With SIGKILL, waits
   * until the process is gone.
   */
  async killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL', waitMs = 10_000): Promise<void> {
    const proc = this.processTree().find((p) => p.pid === pid);
    if (!proc) {
      throw new Error(`refusing to signal pid ${pid}: not a live process of code-server ${this.pid}`);
    }
    signalProcess(proc, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      await waitUntil(`pid ${pid} to exit after ${signal}`, () => !isRunning(proc), { timeoutMs: waitMs, intervalMs: 50 });
    }
  }

  /** SIGKILLs every current extension host; returns the pids killed. */
  async killExtensionHost(signal: NodeJS.Signals = 'SIGKILL'): Promise<number[]> {
    const pids = this.extensionHostPids();
    if (pids.length === 0) throw new Error(`no extension host is running under code-server ${this.pid}`);
    for (const pid of pids) await this.killPid(pid, signal);
    this.log(`sent ${signal} to extension host pid(s) ${pids.join(', ')}`);
    return pids;
  }

  /**
   * Kills every process this server started (process group + every pid ever
   * seen in its tree + everything carrying its env token), then removes the
   * temp dirs. Copies VS Code's logs next to the log file first. Idempotent.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.processTree(); // refresh `seen` with the current tree
    const targets = [...this.seen.values()].filter(isRunning);
    // The group first (covers children spawned between the snapshot and now).
    try {
      if (isRunning({ pid: this.pid, startTime: this.startTime })) process.kill(-this.pid, 'SIGTERM');
    } catch {
      /* group gone */
    }
    let survivors = await terminateProcesses(targets, options.graceMs ?? 3000);
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* group gone */
    }
    // Anything that appeared meanwhile and still carries our token.
    const late = processesWithEnv(RUN_TOKEN_ENV, this.runToken).filter((p) => p.pid !== process.pid && isRunning(p));
    if (late.length) survivors = survivors.concat(await terminateProcesses(late, 0));
    if (survivors.length > 0) {
      this.log(`WARNING: processes of code-server ${this.pid} survived SIGKILL:\n  ${survivors.map(describeProc).join('\n  ')}`);
    }
    try {
      const dest = `${this.logFile}.vscode-logs`;
      if (fs.existsSync(this.vscodeLogsDir)) fs.cpSync(this.vscodeLogsDir, dest, { recursive: true });
    } catch (err) {
      this.log(`could not copy VS Code logs: ${errorMessage(err)}`);
    }
    if (!this.opts.keepTemp) {
      // Removes the default workspace too (it lives inside rootDir); a
      // caller-supplied workspace is left alone.
      fs.rmSync(this.rootDir, { recursive: true, force: true });
    } else {
      this.log(`kept temp dirs in ${this.rootDir}`);
    }
    this.releaseLock();
    this.log(`code-server ${this.pid} stopped (${targets.length} process(es) ended)`);
  }

  /** Pids (with start times) seen at any time in this server's tree. */
  seenProcesses(): ProcInfo[] {
    return [...this.seen.values()];
  }
}

async function installVsix(
  node24Bin: string,
  baseArgs: string[],
  vsix: string,
  env: NodeJS.ProcessEnv,
  logFd: number,
  logFile: string,
  log: Logger,
): Promise<void> {
  const abs = path.resolve(vsix);
  if (!fs.existsSync(abs)) throw new Error(`vsix not found: ${abs}`);
  const args = [...baseArgs, '--install-extension', abs, '--force'];
  fs.writeSync(logFd, `\n===== ${new Date().toISOString()} install: ${node24Bin} ${args.join(' ')}\n`);
  log(`installing ${path.basename(abs)} into the code-server extensions dir`);
  const timeoutMs = 120_000;
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(node24Bin, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString();
      fs.writeSync(logFd, b);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      reject(new Error(`Timed out after ${timeoutMs}ms installing ${abs}; log ${logFile}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else reject(new Error(`installing ${abs} failed (${signal ?? `exit ${code}`}):\n${text}`));
    });
  });
  if (!/successfully installed/i.test(output)) {
    throw new Error(`installing ${abs} did not report success:\n${output}`);
  }
}
