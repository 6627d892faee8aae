/**
 * Does the agent still have the session a task would resume? Each agent keeps its sessions in
 * files of its own (checked against the real CLIs, see test/agents/sessions.test.ts):
 *
 * - Claude Code: `$CLAUDE_CONFIG_DIR/projects/<cwd slug>/<session>.jsonl` (default `~/.claude`);
 *   without it, `--resume` fails with "No conversation found with session ID: …".
 * - Codex: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl` (default `~/.codex`);
 *   without it, `exec resume` fails with "no rollout found for thread id …".
 * - Gemini CLI: `$GEMINI_CLI_HOME/.gemini/tmp/<project>/chats/session-<time>-<first 8 of the id>.jsonl`
 *   (default home: `~`), whose first line names the session; without it, `--resume` fails with
 *   "Error resuming session: …".
 *
 * Which agent ran a task is told by its output format *and* its program's file name: a profile
 * that reads Claude's format from another program (a wrapper, a test double) is 'unknown', and
 * Recover keeps offering Resume as before. Only a definite answer takes Resume away: an
 * unreadable folder, a walk cut short (entry cap, deadline) or a session id that is not a UUID
 * are 'unknown', never 'missing'. A root folder that does not exist is 'missing'.
 *
 * Plain Node (no `vscode`), async fs only, never throws. Session ids come from the journal (an
 * agent's output): they are validated before any path is built from them.
 */
import { promises as fsp, type Dirent } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { OutputFormat } from './taskTypes';

export type SessionAgent = 'claude' | 'codex' | 'gemini';

export type AgentSessionCheck =
  | { readonly state: 'found'; readonly path: string }
  /** `reason` is a sentence for the user: which agent, which session, where it looked. */
  | { readonly state: 'missing'; readonly reason: string }
  /** Not an agent whose sessions are known, or the folders could not be read (`detail` says why, for the log). */
  | { readonly state: 'unknown'; readonly detail?: string };

export interface AgentSessionQuery {
  readonly format: OutputFormat;
  /** The program that ran the session (the row's command): its file name tells the agent. */
  readonly command: string;
  readonly sessionId: string;
  /** The run's working folder (Claude's project folder is named after it). */
  readonly cwd?: string | null;
  /** The run's environment: process.env with the profile's `env` on top (HOME, CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Give up ('unknown') after this long. Default 3000 ms. */
  readonly timeoutMs?: number;
  /** At most this many directory entries are read in all. Default 50 000. */
  readonly maxEntries?: number;
}

const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_MAX_ENTRIES = 50_000;
/** Folders looked into at once. */
const PARALLEL = 8;
/** Gemini reads this much of a chat file for its first line (and so do we). */
const FIRST_LINE_BYTES = 4096;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const AGENTS: Readonly<Record<SessionAgent, { readonly format: OutputFormat; readonly program: string }>> = {
  claude: { format: 'claude-stream-json', program: 'claude' },
  codex: { format: 'codex-json', program: 'codex' },
  gemini: { format: 'gemini-stream-json', program: 'gemini' },
};

/** The agent whose session store applies to a run of `command` read as `format`, or null. */
export function sessionAgent(format: OutputFormat, command: string): SessionAgent | null {
  const base = command.trim().split(/[\\/]/).pop() ?? '';
  const program = base.replace(/\.(exe|cmd|bat|ps1)$/i, '').toLowerCase();
  for (const [agent, known] of Object.entries(AGENTS) as [SessionAgent, (typeof AGENTS)[SessionAgent]][]) {
    if (known.format === format && known.program === program) return agent;
  }
  return null;
}

/** Claude Code's project folder name for a working folder: every character but A–Z, a–z, 0–9 becomes "-". */
export function claudeProjectSlug(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9]/g, '-');
}

/** Where the session of `query` is, or why it is not there, or 'unknown'. Never throws. */
export async function findAgentSession(query: AgentSessionQuery): Promise<AgentSessionCheck> {
  try {
    const agent = sessionAgent(query.format, query.command);
    if (agent === null) return { state: 'unknown' };
    // Every agent here names its sessions by UUID; anything else is no name we build a path from.
    if (typeof query.sessionId !== 'string' || !UUID.test(query.sessionId)) {
      return { state: 'unknown', detail: `the session id ${JSON.stringify(String(query.sessionId).slice(0, 80))} is not a UUID` };
    }
    const walk = new Walk(query.maxEntries ?? DEFAULT_MAX_ENTRIES);
    const timeoutMs = query.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<AgentSessionCheck>((resolve) => {
      timer = setTimeout(() => {
        walk.abort();
        resolve({ state: 'unknown', detail: `looking for the session took longer than ${timeoutMs} ms` });
      }, timeoutMs);
      timer.unref?.();
    });
    const search = SEARCHES[agent](query.sessionId, new RunEnv(query.env, query.cwd ?? null), walk).catch(
      (err: unknown): AgentSessionCheck => ({ state: 'unknown', detail: `unexpected error: ${err instanceof Error ? err.message : String(err)}` }),
    );
    try {
      return await Promise.race([search, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    return { state: 'unknown', detail: `unexpected error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

// ---------------------------------------------------------------------------------------------

/** The folders of the run's environment. */
class RunEnv {
  readonly home: string;
  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    readonly cwd: string | null,
  ) {
    const home = process.platform === 'win32' ? nonEmpty(env.USERPROFILE) ?? nonEmpty(env.HOME) : nonEmpty(env.HOME);
    this.home = path.resolve(home ?? os.homedir());
  }

  /**
   * An environment variable naming a folder, read as the agent reads it: no `~` expansion, a
   * relative path from the run's folder. Empty counts as unset unless `emptyIsSet` (Claude Code
   * reads `CLAUDE_CONFIG_DIR ?? ~/.claude`).
   */
  dir(name: string, emptyIsSet = false): string | undefined {
    const value = this.env[name];
    if (value === undefined || (value === '' && !emptyIsSet)) return undefined;
    return path.resolve(this.cwd ?? this.home, value);
  }

  /** `~/.claude/projects` for a folder under the home folder. */
  display(p: string): string {
    if (p === this.home) return '~';
    const rel = path.relative(this.home, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? `~${path.sep}${rel}` : p;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v !== '' ? v : undefined;
}

/** The budget of one search: entries read, and whether it was cut short (then a miss is 'unknown'). */
class Walk {
  private entries = 0;
  private aborted = false;
  /** Why the search may have missed a file that is there; undefined while it saw everything. */
  incomplete: string | undefined;

  constructor(private readonly maxEntries: number) {}

  abort(): void {
    this.aborted = true;
  }

  get stopped(): boolean {
    return this.aborted || this.entries >= this.maxEntries;
  }

  /** Counts one entry; false (and the walk marked incomplete) once the budget is spent. */
  take(): boolean {
    if (this.stopped) {
      this.noteStopped();
      return false;
    }
    this.entries++;
    return true;
  }

  noteStopped(): void {
    this.incomplete ??= this.aborted ? 'the search was stopped' : `more than ${this.maxEntries} entries to look through`;
  }

  fail(what: string, err: unknown): void {
    this.incomplete ??= `could not read ${what}: ${errCode(err)}`;
  }
}

function errCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}

function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The entries of a folder (up to the walk's budget), 'absent' when it does not exist, or
 * 'error' (the walk marked incomplete). Read with opendir, so a huge folder is not read whole.
 */
async function listDir(dir: string, walk: Walk): Promise<Dirent[] | 'absent' | 'error'> {
  // The folder itself counts as an entry: a walk over many empty folders ends too.
  if (!walk.take()) return 'error';
  let handle;
  try {
    handle = await fsp.opendir(dir);
  } catch (err) {
    if (isAbsent(err)) return 'absent';
    walk.fail(dir, err);
    return 'error';
  }
  const entries: Dirent[] = [];
  try {
    // Leaving the loop early closes the handle.
    for await (const entry of handle) {
      if (!walk.take()) break;
      entries.push(entry);
    }
  } catch (err) {
    walk.fail(dir, err);
  }
  return entries;
}

function dirLike(entry: Dirent): boolean {
  return entry.isDirectory() || entry.isSymbolicLink();
}

function fileLike(entry: Dirent): boolean {
  return entry.isFile() || entry.isSymbolicLink();
}

/** True for a regular file (through links); false when nothing is there; undefined (walk incomplete) when it could not be told. */
async function isFile(file: string, walk: Walk): Promise<boolean | undefined> {
  try {
    return (await fsp.stat(file)).isFile();
  } catch (err) {
    if (isAbsent(err)) return false;
    walk.fail(file, err);
    return undefined;
  }
}

/** Runs `fn` over `items`, `PARALLEL` at a time, until one returns a value (or the walk stops). */
async function firstOf<T, R>(items: readonly T[], walk: Walk, fn: (item: T) => Promise<R | undefined>): Promise<R | undefined> {
  for (let i = 0; i < items.length; i += PARALLEL) {
    if (walk.stopped) {
      walk.noteStopped();
      return undefined;
    }
    const found = (await Promise.all(items.slice(i, i + PARALLEL).map(fn))).find((r) => r !== undefined);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Newest first for date-named folders and files (and a stable order for the rest). */
function byNameDescending(a: Dirent, b: Dirent): number {
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

function notFound(walk: Walk, reason: string): AgentSessionCheck {
  return walk.incomplete !== undefined ? { state: 'unknown', detail: walk.incomplete } : { state: 'missing', reason };
}

type Search = (sessionId: string, env: RunEnv, walk: Walk) => Promise<AgentSessionCheck>;

const SEARCHES: Readonly<Record<SessionAgent, Search>> = {
  async claude(sessionId, env, walk) {
    const root = path.join(env.dir('CLAUDE_CONFIG_DIR', true) ?? path.join(env.home, '.claude'), 'projects');
    const name = `${sessionId}.jsonl`;
    const reason = `Claude Code has no transcript of session ${sessionId} under ${env.display(root)}, so resuming it would fail ("No conversation found").`;
    // The folder of the run's cwd first; then every project folder (long paths get other names in newer versions).
    if (env.cwd !== null) {
      const direct = path.join(root, claudeProjectSlug(env.cwd), name);
      if (await isFile(direct, walk)) return { state: 'found', path: direct };
    }
    const projects = await listDir(root, walk);
    if (projects === 'absent') return { state: 'missing', reason };
    if (projects === 'error') return { state: 'unknown', detail: walk.incomplete };
    const found = await firstOf(projects.filter(dirLike), walk, async (project) => {
      const file = path.join(root, project.name, name);
      return (await isFile(file, walk)) ? file : undefined;
    });
    return found !== undefined ? { state: 'found', path: found } : notFound(walk, reason);
  },

  async codex(sessionId, env, walk) {
    const root = path.join(env.dir('CODEX_HOME') ?? path.join(env.home, '.codex'), 'sessions');
    const suffix = `-${sessionId}.jsonl`;
    const reason = `Codex has no rollout of thread ${sessionId} under ${env.display(root)}, so resuming it would fail ("no rollout found for thread id").`;
    const matches = (entry: Dirent): boolean => fileLike(entry) && entry.name.startsWith('rollout-') && entry.name.endsWith(suffix);
    // sessions/YYYY/MM/DD/rollout-…: newest folders first, files matched at any of these levels.
    const search = async (dir: string, depth: number): Promise<string | undefined> => {
      const entries = await listDir(dir, walk);
      if (entries === 'absent' || entries === 'error') return undefined;
      const file = entries.find(matches);
      if (file !== undefined) return path.join(dir, file.name);
      if (depth === 0) return undefined;
      const dirs = entries.filter(dirLike).sort(byNameDescending);
      for (const sub of dirs) {
        const found = await search(path.join(dir, sub.name), depth - 1);
        if (found !== undefined) return found;
        if (walk.stopped) {
          walk.noteStopped();
          return undefined;
        }
      }
      return undefined;
    };
    const top = await listDir(root, walk);
    if (top === 'absent') return { state: 'missing', reason };
    if (top === 'error') return { state: 'unknown', detail: walk.incomplete };
    const direct = top.find(matches);
    if (direct !== undefined) return { state: 'found', path: path.join(root, direct.name) };
    for (const year of top.filter(dirLike).sort(byNameDescending)) {
      const found = await search(path.join(root, year.name), 2);
      if (found !== undefined) return { state: 'found', path: found };
      if (walk.stopped) {
        walk.noteStopped();
        break;
      }
    }
    return notFound(walk, reason);
  },

  async gemini(sessionId, env, walk) {
    const root = path.join(env.dir('GEMINI_CLI_HOME') ?? env.home, '.gemini', 'tmp');
    const short = sessionId.slice(0, 8);
    const reason = `Gemini CLI has no saved chat of session ${sessionId} under ${env.display(root)}, so resuming it would fail ("Error resuming session").`;
    const sessionRecord = new RegExp(`"sessionId"\\s*:\\s*"${sessionId}"`);
    const projects = await listDir(root, walk);
    if (projects === 'absent') return { state: 'missing', reason };
    if (projects === 'error') return { state: 'unknown', detail: walk.incomplete };
    const found = await firstOf(projects.filter(dirLike), walk, async (project) => {
      const chats = path.join(root, project.name, 'chats');
      const entries = await listDir(chats, walk);
      if (entries === 'absent' || entries === 'error') return undefined;
      const candidates = entries.filter(
        (e) => fileLike(e) && e.name.startsWith('session-') && (e.name.endsWith(`-${short}.jsonl`) || e.name.endsWith(`-${short}.json`)),
      );
      for (const candidate of candidates) {
        const file = path.join(chats, candidate.name);
        const head = await readHead(file, walk);
        if (head !== undefined && sessionRecord.test(head)) return file;
      }
      return undefined;
    });
    return found !== undefined ? { state: 'found', path: found } : notFound(walk, reason);
  },
};

/** The first bytes of a file (as Gemini reads its first record), or undefined (walk incomplete unless it vanished). */
async function readHead(file: string, walk: Walk): Promise<string | undefined> {
  let handle;
  try {
    handle = await fsp.open(file, 'r');
    const buf = Buffer.alloc(FIRST_LINE_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch (err) {
    if (!isAbsent(err)) walk.fail(file, err);
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
