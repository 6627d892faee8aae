/**
 * Snapshots of a run's working tree: what the folder held when the run started and when it
 * ended, as git tree objects, so that "what did this run change?" has an answer even after a
 * crash. A snapshot never touches the user's index, stash, HEAD or files: it copies the index to
 * a private file, stages the whole work tree into that copy (`GIT_INDEX_FILE=… git add -A`, which
 * reuses the index's stat data, so only changed files are hashed), and writes a tree from it.
 * The trees stay alive through refs under `refs/agent-tasks/<task id>/`, which point at trees
 * (not commits), so `git log --all` and branch lists never show them.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GitError, GitMissingError, git, gitText, runGit } from './git';

/** One snapshot: the tree of the whole work tree (tracked and untracked-not-ignored files) and HEAD then. */
export interface GitSnapshot {
  readonly tree: string;
  /** The commit HEAD named, or null in a repository with no commit yet. */
  readonly head: string | null;
  /** When it was taken (ms since the epoch). */
  readonly at: number;
}

/** A run started in its own worktree (opt-in isolation): where, on which branch, from which repository. */
export interface RunWorktree {
  /** The worktree's folder (the run's cwd is in it). */
  readonly path: string;
  /** `agent-tasks/<name>-<short id>`. */
  readonly branch: string;
  /** The main work tree it was created from, where Apply writes. */
  readonly repo: string;
  /** The commit the branch started at. */
  readonly base: string;
}

/**
 * What the journal knows of a run's git state (the row's `git` column). Either `unavailable`
 * says why there are no snapshots, or `root` names the work tree and `start`/`end` are filled in
 * as they are taken (`end` stays null while the run lives, and when the process that ended it
 * could not take one).
 */
export interface GitRunState {
  /** The work tree's top-level folder; paths of changes are relative to it. */
  readonly root: string | null;
  readonly start: GitSnapshot | null;
  readonly end: GitSnapshot | null;
  /** Why no snapshot exists ("not a git repository", "git was not found on PATH", "Restricted Mode", a git error). */
  readonly unavailable: string | null;
  readonly worktree: RunWorktree | null;
}

export const NOT_A_REPOSITORY = 'not a git repository';
/** Why a run started in an untrusted workspace has no snapshots. */
export const RESTRICTED_MODE_NO_GIT = 'git is not run in Restricted Mode';
/** Why a run has none when the user turned them off (agentTasks.snapshots.enabled, agent-tasks run --no-snapshots). */
export const SNAPSHOTS_OFF = 'snapshots are turned off';

/** Limits for the snapshot's git calls. */
const SNAPSHOT_TIMEOUT_MS = 120_000;
/** Files larger than this are stored but diffed as binary (`+N −M` unknown, no diff loaded). */
export const LARGE_FILE_BYTES = 50 * 1024 * 1024;
/** `-c` options for every command that compares snapshots. */
export const DIFF_CONFIG = ['-c', `core.bigFileThreshold=${LARGE_FILE_BYTES}`, '-c', 'core.quotePath=false'];

/** The refs that keep task `id`'s snapshots. */
export function snapshotRef(taskId: string, which: 'start' | 'end'): string {
  return `refs/agent-tasks/${taskId}/${which}`;
}

/** Where a folder's work tree is: its top level and the path of its index; else why there is none. */
export interface WorkTree {
  readonly root: string;
  readonly indexFile: string;
}

/** The work tree holding `cwd`, or the reason there is none (a sentence for the user). */
export async function findWorkTree(cwd: string): Promise<WorkTree | { unavailable: string }> {
  try {
    const st = await fsp.stat(cwd);
    if (!st.isDirectory()) return { unavailable: `${cwd} is not a folder` };
  } catch {
    return { unavailable: `${cwd} does not exist` };
  }
  try {
    const r = await runGit(['rev-parse', '--show-toplevel', '--git-path', 'index'], { cwd, timeoutMs: 30_000 });
    if (r.code !== 0) {
      // Outside any repository, in a bare one, or inside .git: no work tree to snapshot.
      return { unavailable: /not a git repository|must be run in a work tree|outside repository/i.test(r.stderr) || r.code === 128 ? NOT_A_REPOSITORY : new GitError(['rev-parse'], r.code, r.stderr).message };
    }
    const [root, index] = r.stdout.toString('utf8').split('\n');
    if (!root) return { unavailable: NOT_A_REPOSITORY };
    return { root, indexFile: path.resolve(cwd, index) };
  } catch (err) {
    return { unavailable: err instanceof GitMissingError ? err.message : `git could not run: ${(err as Error).message}` };
  }
}

/** HEAD's commit, or null when the repository has none yet. */
export async function headCommit(root: string): Promise<string | null> {
  const r = await runGit(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: root, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.toString('utf8').trim() || null : null;
}

/**
 * Writes a tree of the work tree at `work.root` as it is now, without touching the user's index
 * (a private copy is staged instead), and points `ref` at it when given.
 */
export async function takeSnapshot(work: WorkTree, options: { ref?: string; now?: () => number } = {}): Promise<GitSnapshot> {
  const at = (options.now ?? Date.now)();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-index-'));
  try {
    const privateIndex = path.join(dir, 'index');
    const headP = headCommit(work.root);
    // The user's index as a starting point: its stat data lets `add -A` hash only what changed.
    // None yet (a fresh repository): git starts an empty one.
    await copyIndex(work.indexFile, privateIndex);
    const env = { GIT_INDEX_FILE: privateIndex };
    // `--ignore-errors`: a file that vanishes or cannot be read mid-walk (an agent deleting it)
    // must not lose the snapshot; it is left as the index had it.
    await git(['add', '-A', '--ignore-errors', '--', '.'], { cwd: work.root, env, timeoutMs: SNAPSHOT_TIMEOUT_MS }).catch(async (err: unknown) => {
      // `add --ignore-errors` exits 1 after such a file but has staged the rest; anything else is real.
      if (!(err instanceof GitError) || err.code !== 1 || !/unable to (index|stat)|failed to insert/i.test(err.stderr)) throw err;
    });
    const tree = await gitText(['write-tree'], { cwd: work.root, env, timeoutMs: SNAPSHOT_TIMEOUT_MS });
    if (options.ref) await keepSnapshot(work.root, options.ref, tree);
    return { tree, head: await headP, at };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Copies the index, keeping it as old as the original. Git trusts an entry's stat data only when
 * the file's mtime is older than the index file's own: a file changed in the same clock tick as
 * the index was written (same mtime, same size; ext4 stamps files with a clock of a few ms) is
 * "racily clean" and git re-reads it. A copy made now would be newer than all such entries, and
 * `add -A` would keep their old content: an edit the user's `git status` shows would be missing
 * from the snapshot. So the copy gets the original's mtime, 1 ms earlier (utimes takes seconds
 * as a double and can round up by a fraction of a µs; earlier only makes git re-read the few
 * files changed in that last ms). The mtime is read before the copy: an index replaced in
 * between is then copied with an older time than its own, which is the safe side.
 */
async function copyIndex(indexFile: string, copy: string): Promise<void> {
  let mtimeMs: number;
  try {
    mtimeMs = (await fsp.stat(indexFile)).mtimeMs;
    await fsp.copyFile(indexFile, copy);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const racyBound = new Date(Math.floor(mtimeMs) - 1);
  await fsp.utimes(copy, racyBound, racyBound);
}

/** Points `ref` at a snapshot's tree: git's garbage collection keeps what a ref reaches. */
export async function keepSnapshot(root: string, ref: string, tree: string): Promise<void> {
  await git(['update-ref', ref, tree], { cwd: root, timeoutMs: 30_000 });
}

/** Deletes the refs that keep these tasks' snapshots (their rows were pruned); a missing ref is fine. */
export async function dropSnapshotRefs(root: string, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  const input = taskIds.flatMap((id) => [`delete ${snapshotRef(id, 'start')}\n`, `delete ${snapshotRef(id, 'end')}\n`]).join('');
  // One transaction per call; a ref that does not exist is not an error for `delete` without an old value.
  await git(['update-ref', '--stdin'], { cwd: root, input, timeoutMs: 60_000 });
}

/** The state of a run that has no snapshots, and why. */
export function gitUnavailable(reason: string, worktree: RunWorktree | null = null): GitRunState {
  return { root: null, start: null, end: null, unavailable: reason, worktree };
}

/** Narrows what a row's `git` column held (JSON from the journal: untrusted shape). */
export function parseGitRunState(value: unknown): GitRunState | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const snap = (s: unknown): GitSnapshot | null => {
    if (typeof s !== 'object' || s === null) return null;
    const o = s as Record<string, unknown>;
    return typeof o.tree === 'string' && /^[0-9a-f]{40,64}$/.test(o.tree) ? { tree: o.tree, head: typeof o.head === 'string' ? o.head : null, at: typeof o.at === 'number' ? o.at : 0 } : null;
  };
  const wt = v.worktree as Record<string, unknown> | null | undefined;
  const worktree =
    wt && typeof wt.path === 'string' && typeof wt.branch === 'string' && typeof wt.repo === 'string'
      ? { path: wt.path, branch: wt.branch, repo: wt.repo, base: typeof wt.base === 'string' ? wt.base : '' }
      : null;
  return {
    root: typeof v.root === 'string' ? v.root : null,
    start: snap(v.start),
    end: snap(v.end),
    unavailable: typeof v.unavailable === 'string' ? v.unavailable : null,
    worktree,
  };
}
