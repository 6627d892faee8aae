/**
 * Opt-in isolation: a run in a git worktree of its own, on a new branch from HEAD, so that the
 * agent never writes in the user's work tree. When it ends its changes can be applied to the
 * main work tree as a patch (refused, naming the files, when they conflict), and the worktree
 * removed with its branch (refused while that would lose commits or changes, unless forced).
 *
 * Every function here runs git, whose repository config can run commands (hooks on
 * `worktree add`, `core.fsmonitor`): callers must not call them in an untrusted workspace.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorMessage } from './errors';
import { firstLine, git, GitError, runGit } from './git';
import { findWorkTree, headCommit, NOT_A_REPOSITORY, type RunWorktree } from './gitSnapshot';
import { changeRange, diffPatch, listChanges } from './runChanges';
import { isLive, type TaskRow } from './taskTypes';

/** Overrides where worktrees are created (tests, a disk with more room). */
export const WORKTREES_ENV = 'AGENT_TASKS_WORKTREES';
/** Every run branch starts with this, so they sort together and are easy to recognise. */
export const BRANCH_PREFIX = 'agent-tasks/';
const SLUG_MAX_CHARS = 40;
/** Checking out a large repository can take a while; a stuck hook must not hang the run forever. */
const WORKTREE_ADD_TIMEOUT_MS = 10 * 60_000;
/** File names listed in a refusal; the rest are counted. */
const LISTED_FILES = 10;

export type CreateWorktreeOutcome =
  | { readonly ok: true; readonly worktree: RunWorktree; readonly cwd: string }
  | { readonly ok: false; readonly reason: string };

export type ApplyOutcome = { readonly ok: true; readonly files: string[] } | { readonly ok: false; readonly reason: string; readonly conflicts: string[] };

export type RemoveOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly unmerged?: boolean };

/** A task name as a branch-name fragment: lower case, `[a-z0-9-]`, at most 40 characters, never empty. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // "é" → "e" rather than a dash
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SLUG_MAX_CHARS)
    .replace(/-+$/, '');
  return slug === '' ? 'run' : slug;
}

/** The first 8 characters of a task id that can go in a ref and a folder name. */
export function shortTaskId(taskId: string): string {
  return taskId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8);
}

/** `agent-tasks/<slug>-<short id>`. */
export function runBranchName(name: string, taskId: string): string {
  return `${BRANCH_PREFIX}${slugify(name)}-${shortTaskId(taskId)}`;
}

/** The folder that holds one repository's run worktrees: `<repo folder name>-<8 hex of its path>`, so that two clones named alike do not mix. */
export function repoWorktreesFolder(base: string, repoRoot: string): string {
  const hash = createHash('sha256').update(path.resolve(repoRoot)).digest('hex').slice(0, 8);
  const name = path.basename(path.resolve(repoRoot)).replace(/[^\w.-]+/g, '-') || 'repo';
  return path.join(base, `${name}-${hash}`);
}

/** Where worktrees go unless told: $AGENT_TASKS_WORKTREES, else ~/.agent-tasks/worktrees. */
export function defaultWorktreesDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[WORKTREES_ENV];
  return fromEnv && fromEnv.trim() !== '' ? path.resolve(fromEnv) : path.join(os.homedir(), '.agent-tasks', 'worktrees');
}

/**
 * Creates the worktree a run will work in: `git worktree add -b agent-tasks/<name>-<short id>`
 * at HEAD's commit, under `worktreesDir`. The returned cwd is the caller's folder at the same
 * place inside the worktree (a run started in `repo/packages/web` works in `<worktree>/packages/web`).
 */
export async function createRunWorktree(options: { cwd: string; name: string; taskId: string; worktreesDir?: string }): Promise<CreateWorktreeOutcome> {
  const short = shortTaskId(options.taskId);
  if (short.length < 8) return { ok: false, reason: `the task id ${JSON.stringify(options.taskId)} is too short to name a branch` };
  const source = await worktreeSource(options.cwd);
  if (!source.ok) return source;
  const { root, base } = source;
  try {
    let branch = runBranchName(options.name, options.taskId);
    // The slug's alphabet always makes a valid name; git has the last word (and its rules can grow).
    if (!(await isValidBranchName(root, branch))) branch = `${BRANCH_PREFIX}run-${short}`;
    if (await branchTip(root, branch)) return { ok: false, reason: `the branch ${branch} already exists` };

    const container = repoWorktreesFolder(options.worktreesDir ?? defaultWorktreesDir(), root);
    // 0700: a worktree holds the repository's files, which may be private.
    await fsp.mkdir(container, { recursive: true, mode: 0o700 });
    // Canonical, as git reports work trees: the run's snapshots name the same folder.
    const folder = path.join(await fsp.realpath(container), `${slugify(options.name)}-${short}`);
    // The commit, not the word HEAD: the recorded base is exactly what was checked out, even if HEAD moves meanwhile.
    const added = await runGit(['worktree', 'add', '-b', branch, folder, base], { cwd: root, timeoutMs: WORKTREE_ADD_TIMEOUT_MS });
    if (added.code !== 0) {
      await fsp.rmdir(container).catch(() => undefined); // only when it is empty: no other run's worktree is in it
      return { ok: false, reason: `git worktree add failed: ${firstLine(added.stderr) || `exit ${added.code ?? 'timed out'}`}` };
    }

    // The caller's folder relative to its work tree; a folder git does not track (empty, ignored) is made.
    const worktree: RunWorktree = { path: folder, branch, repo: root, base };
    const inside = worktreeFolderFor(worktree, await fsp.realpath(options.cwd));
    await fsp.mkdir(inside, { recursive: true });
    return { ok: true, worktree, cwd: inside };
  } catch (err) {
    return { ok: false, reason: `no worktree: ${errorMessage(err)}` };
  }
}

/** The work tree and commit a worktree for a run in `cwd` would start from, or why there can be none (a sentence). */
export async function worktreeSource(cwd: string): Promise<{ ok: true; root: string; base: string } | { ok: false; reason: string }> {
  const work = await findWorkTree(cwd);
  if ('unavailable' in work) {
    return { ok: false, reason: work.unavailable === NOT_A_REPOSITORY ? `${cwd} is not in a git repository, so the run cannot get a worktree of its own` : `no worktree: ${work.unavailable}` };
  }
  const root = path.resolve(work.root);
  try {
    const base = await headCommit(root);
    if (base === null) return { ok: false, reason: `the git repository at ${root} has no commit yet: a worktree starts from HEAD's commit, so commit something first` };
    return { ok: true, root, base };
  } catch (err) {
    return { ok: false, reason: `no worktree: ${errorMessage(err)}` };
  }
}

/**
 * Applies what the run changed in its worktree (its start snapshot to its end one, or to the
 * worktree as it is now when the end was never taken) to the main work tree, as a patch: work
 * tree only (the index stays as the user had it), binary files included. Refuses, changing
 * nothing, when any hunk does not apply, naming the files.
 */
export async function applyRunToWorkspace(row: TaskRow): Promise<ApplyOutcome> {
  const refuse = (reason: string, conflicts: string[] = []): ApplyOutcome => ({ ok: false, reason, conflicts });
  const state = row.git;
  const worktree = state?.worktree;
  if (!state || !worktree) return refuse('this run did not work in a worktree of its own');
  if (!(await isDirectory(worktree.repo))) return refuse(`the work tree to apply to, ${worktree.repo}, no longer exists`);
  try {
    let from: string;
    let to: string;
    let diffIn: string;
    if (state.start && state.end && !state.unavailable) {
      from = state.start.tree;
      to = state.end.tree;
      // Both trees live in the object store the worktree shares with its repository, kept by
      // refs/agent-tasks/<id>/…: the diff works even after the worktree was removed.
      diffIn = worktree.repo;
    } else {
      const range = await changeRange(state, { allowSnapshotNow: true });
      if (!range.ok) return refuse(`the run's changes are not known: ${range.reason}`);
      from = range.from.tree;
      to = range.to.tree;
      diffIn = range.root;
    }
    if (from === to) return { ok: true, files: [] };
    const [patch, changes] = await Promise.all([diffPatch(diffIn, from, to), listChanges(diffIn, from, to)]);
    if (patch.length === 0) return { ok: true, files: [] };
    const files = changes.map((c) => c.path);

    // `--whitespace=nowarn`: the user's apply.whitespace=error must not refuse what the agent wrote.
    const check = await runGit(['apply', '--check', '--whitespace=nowarn'], { cwd: worktree.repo, input: patch, timeoutMs: 120_000 });
    if (check.code !== 0) return refuseApply(worktree.repo, check.stderr, check.code);
    const applied = await runGit(['apply', '--whitespace=nowarn'], { cwd: worktree.repo, input: patch, timeoutMs: 120_000 });
    // The work tree changed between the check and the apply: git apply is atomic, so nothing was written.
    if (applied.code !== 0) return refuseApply(worktree.repo, applied.stderr, applied.code);
    return { ok: true, files };
  } catch (err) {
    return refuse(`the changes could not be applied: ${errorMessage(err)}`);
  }
}

function refuseApply(repo: string, stderr: string, code: number | null): ApplyOutcome {
  const conflicts = parseApplyConflicts(stderr);
  if (conflicts.length === 0) return { ok: false, reason: `git apply refused the changes: ${firstLine(stderr) || `exit ${code ?? 'timed out'}`}`, conflicts };
  const which = conflicts.length === 1 ? `${conflicts[0]} conflicts` : `${conflicts.length} files conflict: ${listNames(conflicts)}`;
  return { ok: false, reason: `The run's changes do not apply to ${repo}: ${which} with what is there now. Nothing was changed.`, conflicts };
}

/** The files `git apply` (LC_ALL=C) said do not apply, each once, in the order named. */
export function parseApplyConflicts(stderr: string): string[] {
  const found: string[] = [];
  const add = (name: string | undefined): void => {
    if (name === undefined || name === '') return;
    const file = unquoteGitPath(name);
    if (!found.includes(file)) found.push(file);
  };
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/\r$/, '');
    let m: RegExpMatchArray | null;
    if ((m = /^error: patch failed: (.+):\d+$/.exec(line))) add(m[1]);
    else if ((m = /^error: (.+): (?:patch does not apply|already exists in working directory|already exists in index|No such file or directory|does not exist in index|does not match index|wrong type|unable to write file .*|Permission denied)$/.exec(line))) add(m[1]);
    else if ((m = /^error: (.+) has type [0-7]+, expected [0-7]+$/.exec(line))) add(m[1]);
    else if ((m = /^error: the patch applies to '(.+)' \([0-9a-f]+\), which does not match the current contents\.$/.exec(line))) add(m[1]);
    else if ((m = /^error: (?:binary patch does not apply to|cannot apply binary patch to) '(.+)'/.exec(line))) add(m[1]);
    else if ((m = /^error: affected file '(.+)' is beyond a symbolic link$/.exec(line))) add(m[1]);
  }
  return found;
}

/** git's C-style quoting of an unusual path (`"a\tb"`, octal bytes for UTF-8 when core.quotePath is on). */
export function unquoteGitPath(name: string): string {
  if (!(name.length >= 2 && name.startsWith('"') && name.endsWith('"'))) return name;
  const bytes: number[] = [];
  const body = name.slice(1, -1);
  const escapes: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = body[i + 1] ?? '';
    const octal = /^[0-7]{3}/.exec(body.slice(i + 1));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Removes the run's worktree and its branch. Without `force` it refuses (`unmerged: true`) while
 * that would lose work: commits on the branch that the repository's HEAD does not have, or
 * files in the worktree that differ from the main work tree (changes not applied). A worktree
 * already gone (deleted by hand) is pruned from git's list. Never while the run is live.
 */
export async function removeRunWorktree(row: TaskRow, options: { force?: boolean } = {}): Promise<RemoveOutcome> {
  const worktree = row.git?.worktree;
  if (!worktree) return { ok: false, reason: 'this run did not work in a worktree of its own' };
  if (isLive(row.status)) return { ok: false, reason: `the run is still ${row.status === 'needs_input' ? 'waiting for an answer' : row.status}: its agent works in that worktree. Cancel it first.` };
  if (!(await isDirectory(worktree.repo))) return { ok: false, reason: `its repository's work tree, ${worktree.repo}, no longer exists` };
  try {
    if (!options.force) {
      const present = await isDirectory(worktree.path);
      const tip = await branchTip(worktree.repo, worktree.branch);
      const problems: string[] = [];
      if (tip !== null) {
        const ahead = await commitsNotInHead(worktree.repo, worktree, tip);
        if (ahead > 0) problems.push(`the branch ${worktree.branch} has ${ahead === 1 ? '1 commit' : `${ahead} commits`} that HEAD of ${worktree.repo} does not have`);
      }
      if (present) {
        const unapplied = await unappliedFiles(worktree);
        if (unapplied.length > 0) {
          problems.push(`${unapplied.length === 1 ? '1 file differs' : `${unapplied.length} files differ`} from the workspace (changes not applied): ${listNames(unapplied)}`);
        }
      }
      if (problems.length > 0) return { ok: false, unmerged: true, reason: `Removing the worktree would lose work: ${problems.join('; ')}.` };
    }
    // What --force would lose (changed or untracked files, commits) was checked above, or the user chose to lose it.
    return await discardRunWorktree(worktree);
  } catch (err) {
    return { ok: false, reason: `the worktree could not be removed: ${errorMessage(err)}` };
  }
}

/**
 * Removes a worktree and its branch whatever they hold: for Remove once checked (or forced), and
 * for a worktree made for a run that then could not start. A folder already gone is pruned.
 */
export async function discardRunWorktree(worktree: RunWorktree): Promise<RemoveOutcome> {
  if (await isDirectory(worktree.path)) {
    const removed = await runGit(['worktree', 'remove', '--force', worktree.path], { cwd: worktree.repo, timeoutMs: 120_000 });
    if (removed.code !== 0) return { ok: false, reason: `git worktree remove failed: ${firstLine(removed.stderr) || `exit ${removed.code ?? 'timed out'}`}` };
  } else {
    // Deleted by hand: git still lists it (and keeps its branch checked out) until pruned.
    await git(['worktree', 'prune'], { cwd: worktree.repo, timeoutMs: 60_000 });
  }
  if ((await branchTip(worktree.repo, worktree.branch)) !== null) {
    const deleted = await runGit(['branch', '-D', worktree.branch], { cwd: worktree.repo, timeoutMs: 60_000 });
    if (deleted.code !== 0) return { ok: false, reason: `the worktree was removed, but not its branch ${worktree.branch}: ${firstLine(deleted.stderr)}` };
  }
  // The repository's folder of worktrees, once its last one is gone; anything else in it stays.
  await fsp.rmdir(path.dirname(worktree.path)).catch(() => undefined);
  return { ok: true };
}

/** The other way: a folder inside the worktree at the same place in the main work tree (Run Again of a worktree run starts from there). */
export function mainFolderFor(worktree: RunWorktree, folder: string): string {
  const relative = path.relative(path.resolve(worktree.path), path.resolve(folder));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? path.join(worktree.repo, relative) : worktree.repo;
}

/**
 * A folder of the main work tree at the same place inside the worktree (the workspace folder
 * a profile's ${workspaceFolder} names); the worktree's root for a folder outside the repository.
 */
export function worktreeFolderFor(worktree: RunWorktree, folder: string): string {
  const relative = path.relative(path.resolve(worktree.repo), path.resolve(folder));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? path.join(worktree.path, relative) : worktree.path;
}

/** How many commits of the branch the repository's HEAD lacks (0 when it has them all, or the branch never moved). */
async function commitsNotInHead(repo: string, worktree: RunWorktree, tip: string): Promise<number> {
  // A branch still at its base holds nothing of its own, even if HEAD has since moved elsewhere.
  if (tip === worktree.base) return 0;
  const contained = await runGit(['merge-base', '--is-ancestor', tip, 'HEAD'], { cwd: repo, timeoutMs: 60_000 });
  if (contained.code === 0) return 0;
  if (contained.code !== 1) throw new GitError(['merge-base'], contained.code, contained.stderr);
  const count = await runGit(['rev-list', '--count', `HEAD..${tip}`], { cwd: repo, timeoutMs: 60_000 });
  return count.code === 0 ? Math.max(1, Number(count.stdout.toString('utf8').trim()) || 1) : 1;
}

/**
 * Files the worktree has changed (against its branch) whose content the main work tree does not
 * have: the changes Apply has not brought over (or the user changed since). A file the run
 * deleted counts when the main tree still has it.
 */
async function unappliedFiles(worktree: RunWorktree): Promise<string[]> {
  const status = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=all'], { cwd: worktree.path, timeoutMs: 120_000 });
  const files = status
    .toString('utf8')
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => entry.slice(3));
  const differing: string[] = [];
  for (const file of files) {
    if (!(await sameOnDisk(path.join(worktree.path, file), path.join(worktree.repo, file)))) differing.push(file);
  }
  return differing.sort();
}

/** Whether two paths hold the same thing: both absent, the same symlink target, or files with the same bytes. */
async function sameOnDisk(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fsp.lstat(a).catch(() => null), fsp.lstat(b).catch(() => null)]);
  if (sa === null || sb === null) return sa === sb;
  if (sa.isSymbolicLink() || sb.isSymbolicLink()) return sa.isSymbolicLink() && sb.isSymbolicLink() && (await fsp.readlink(a)) === (await fsp.readlink(b));
  if (sa.isFile() !== sb.isFile()) return false;
  if (!sa.isFile()) return true; // a folder git lists as a whole (a nested repository): not ours to judge
  if (sa.size !== sb.size) return false;
  const [ha, hb] = await Promise.all([fileHash(a), fileHash(b)]);
  return ha === hb;
}

/** Streamed, so that a large file is not read into memory. */
function fileHash(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** The commit a local branch points at, or null when there is no such branch. */
async function branchTip(repo: string, branch: string): Promise<string | null> {
  const r = await runGit(['rev-parse', '-q', '--verify', `refs/heads/${branch}^{commit}`], { cwd: repo, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.toString('utf8').trim() || null : null;
}

async function isValidBranchName(repo: string, branch: string): Promise<boolean> {
  const r = await runGit(['check-ref-format', '--branch', branch], { cwd: repo, timeoutMs: 30_000 });
  return r.code === 0;
}

async function isDirectory(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LISTED_FILES).join(', ');
  return names.length > LISTED_FILES ? `${shown} and ${names.length - LISTED_FILES} more` : shown;
}
