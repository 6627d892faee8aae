/**
 * Running git: `spawn('git', argv)` without a shell, with a clean environment and a deadline.
 * The only place that starts git. Callers decide whether git may run at all: a repository's
 * config can run commands (`core.fsmonitor`, hooks), so never in an untrusted workspace.
 */
import { spawn } from 'node:child_process';

/** What git printed; `code` is null when it was killed (the deadline). */
export interface GitResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface GitOptions {
  readonly cwd: string;
  /** Extra environment (GIT_INDEX_FILE for a private index). */
  readonly env?: Record<string, string>;
  /** Written to git's stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Killed after this long. Default 60 s: a snapshot of a huge tree must not hang a run's end forever. */
  readonly timeoutMs?: number;
  /** Stdout beyond this many bytes is an error (a diff of a runaway file). Default 256 MiB. */
  readonly maxBytes?: number;
}

/** git is not installed (ENOENT on spawn): "no snapshots", not an error worth a stack. */
export class GitMissingError extends Error {
  constructor() {
    super('git was not found on PATH');
  }
}

/** git exited non-zero: the first line of what it said, and the exit code. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ''} failed${code === null ? ' (timed out)' : ` (exit ${code})`}: ${firstLine(stderr) || 'no message'}`);
  }
}

export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

/**
 * Variables that would point git at another repository or index than the folder's own: set
 * when the caller runs inside a git hook or an editor's git integration. Removed, so that a
 * snapshot always reads the work tree it names.
 */
const INHERITED_GIT_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_PREFIX', 'GIT_NAMESPACE'];

function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of INHERITED_GIT_VARS) delete env[k];
  // Never prompt (no terminal to answer), take no optional lock on the user's index, and speak
  // English: messages (`git apply`'s conflicts) are parsed.
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.LC_ALL = 'C';
  return { ...env, ...extra };
}

/** Runs git; resolves with whatever it printed (a non-zero exit is not a rejection). Rejects only when git cannot start. */
export function runGit(args: readonly string[], options: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn('git', args, { cwd: options.cwd, env: gitEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (err) {
      reject(err);
      return;
    }
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let overflow = false;
    const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    timer.unref();
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxBytes) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 64 * 1024) err += chunk.toString('utf8');
    });
    child.stdin.on('error', () => undefined); // git may exit before reading its input
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' && e.path === 'git' ? new GitMissingError() : e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (overflow) err = `output larger than ${maxBytes} bytes\n${err}`;
      resolve({ code: overflow ? null : code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs git and returns its stdout; rejects with GitError on a non-zero exit. */
export async function git(args: readonly string[], options: GitOptions): Promise<Buffer> {
  const r = await runGit(args, options);
  if (r.code !== 0) throw new GitError(args, r.code, r.stderr);
  return r.stdout;
}

/** The same, as trimmed text. */
export async function gitText(args: readonly string[], options: GitOptions): Promise<string> {
  return (await git(args, options)).toString('utf8').trim();
}
