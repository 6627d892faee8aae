/**
 * What a run changed, from its two snapshots (gitSnapshot.ts): the changed files with their
 * counts, the unified diff, a file's content at either end, and putting one file back.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { git, runGit } from './git';
import { DIFF_CONFIG, LARGE_FILE_BYTES, findWorkTree, takeSnapshot, type GitRunState, type GitSnapshot } from './gitSnapshot';

export type ChangeStatus = 'added' | 'modified' | 'deleted' | 'renamed';

/** One changed file (the CLI's `changes --json` prints these fields). */
export interface ChangedFile {
  /** Path relative to the work tree's root, `/`-separated (the new path of a rename). */
  readonly path: string;
  readonly status: ChangeStatus;
  /** Lines added and removed; null for a binary file or one larger than LARGE_FILE_BYTES. */
  readonly insertions: number | null;
  readonly deletions: number | null;
  /** The path before a rename, else null. */
  readonly old_path: string | null;
  /** True when git diffs it as binary (a binary file, or a large one): no text diff is loaded. */
  readonly binary: boolean;
}

/** The two trees to compare for a run, or why there are none. */
export type ChangeRange =
  | { readonly ok: true; readonly root: string; readonly from: GitSnapshot; readonly to: GitSnapshot; readonly live: boolean }
  | { readonly ok: false; readonly reason: string };

/**
 * The range of a run's changes: start to end; for a live run (or one whose end snapshot was
 * never taken), start to a snapshot taken now, not kept by any ref (`live`). Takes that snapshot
 * only with `allowSnapshotNow` (git may run here: not in an untrusted workspace).
 */
export async function changeRange(state: GitRunState | null, options: { allowSnapshotNow: boolean }): Promise<ChangeRange> {
  if (!state) return { ok: false, reason: 'no snapshots were taken (the run predates them)' };
  if (state.unavailable) return { ok: false, reason: state.unavailable };
  if (!state.root || !state.start) return { ok: false, reason: 'the start snapshot was not taken' };
  if (state.end) return { ok: true, root: state.root, from: state.start, to: state.end, live: false };
  if (!options.allowSnapshotNow) return { ok: false, reason: 'no end snapshot, and git may not run here (Restricted Mode)' };
  const work = await findWorkTree(state.root);
  if ('unavailable' in work) return { ok: false, reason: work.unavailable };
  return { ok: true, root: state.root, from: state.start, to: await takeSnapshot(work), live: true };
}

/** The files that differ between two trees, with rename detection and line counts. */
export async function listChanges(root: string, from: string, to: string): Promise<ChangedFile[]> {
  const diff = [...DIFF_CONFIG, 'diff-tree', '-r', '-z', '-M', '--no-ext-diff', '--no-textconv'];
  const [statusOut, numOut] = await Promise.all([git([...diff, '--name-status', from, to], { cwd: root }), git([...diff, '--numstat', from, to], { cwd: root })]);
  const counts = new Map<string, { ins: number | null; del: number | null }>();
  const num = numOut.toString('utf8').split('\0');
  for (let i = 0; i < num.length - 1; ) {
    // "ins\tdel\tpath\0", or for a rename "ins\tdel\t\0old\0new\0".
    const [ins, del, p] = num[i].split('\t');
    let file = p;
    i++;
    if (p === '') {
      file = num[i + 1];
      i += 2;
    }
    counts.set(file, { ins: ins === '-' ? null : Number(ins), del: del === '-' ? null : Number(del) });
  }
  const files: ChangedFile[] = [];
  const parts = statusOut.toString('utf8').split('\0');
  for (let i = 0; i < parts.length - 1; ) {
    const code = parts[i++];
    let oldPath: string | null = null;
    let file = parts[i++];
    if (code.startsWith('R')) {
      oldPath = file;
      file = parts[i++];
    }
    const c = counts.get(file) ?? { ins: null, del: null };
    const status: ChangeStatus = code.startsWith('R') ? 'renamed' : code === 'A' ? 'added' : code === 'D' ? 'deleted' : 'modified';
    files.push({ path: file, status, insertions: c.ins, deletions: c.del, old_path: code.startsWith('R') ? oldPath : null, binary: c.ins === null });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The unified diff between two trees (all files, or the given paths), binary-safe: `git apply`
 * takes it. Bytes as git wrote them: decoded as UTF-8, a Latin-1 file's lines would change and
 * the patch would no longer apply (or would write replacement characters).
 */
export async function diffPatch(root: string, from: string, to: string, paths: readonly string[] = []): Promise<Buffer> {
  const args = [...DIFF_CONFIG, 'diff-tree', '-p', '-M', '--binary', '--no-ext-diff', '--no-textconv', '--no-color', from, to];
  if (paths.length > 0) args.push('--', ...paths.map(literalPathspec));
  return git(args, { cwd: root });
}

/** A pathspec that matches exactly this path (no globbing of `*`, `?`, `[`). */
function literalPathspec(p: string): string {
  return `:(literal)${p}`;
}

/** A file's content in a tree: the bytes, `absent` when the tree has no such file, `too-large` past `maxBytes`. */
export async function readBlob(root: string, tree: string, file: string, maxBytes = LARGE_FILE_BYTES): Promise<Buffer | 'absent' | 'too-large'> {
  const spec = `${tree}:${file}`;
  const size = await runGit(['cat-file', '-s', spec], { cwd: root, timeoutMs: 30_000 });
  if (size.code !== 0) return 'absent';
  if (Number(size.stdout.toString('utf8').trim()) > maxBytes) return 'too-large';
  return git(['cat-file', 'blob', spec], { cwd: root, maxBytes: maxBytes + 1 });
}

/** The blob id of a file in a tree, or null when the tree lacks it. */
async function blobId(root: string, tree: string, file: string): Promise<string | null> {
  const r = await runGit(['rev-parse', '-q', '--verify', `${tree}:${file}`], { cwd: root, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
}

/** The blob id the file on disk would have, or null when it does not exist. */
async function diskBlobId(root: string, file: string): Promise<string | null> {
  const abs = path.join(root, file);
  if (!(await fsp.lstat(abs).then(() => true, () => false))) return null;
  // `--path`: the same filters (autocrlf, clean) as the `git add` that took the snapshot.
  const r = await runGit(['hash-object', '--path', file, '--', file], { cwd: root, timeoutMs: 60_000 });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
}

export type RevertOutcome = { readonly ok: true; readonly action: 'restored' | 'deleted' } | { readonly ok: false; readonly reason: string };

/**
 * Puts `file` back to its version at the run's start (deletes it when the run added it), but
 * only while the file on disk is still what the run left (its end version): anything else
 * would lose work done since, so it refuses and says why.
 */
export async function revertFile(root: string, from: string, to: string, file: string): Promise<RevertOutcome> {
  if (file.split(/[\\/]/).includes('..') || path.isAbsolute(file)) return { ok: false, reason: `${file} is not a path inside the work tree` };
  const [endId, diskId] = await Promise.all([blobId(root, to, file), diskBlobId(root, file)]);
  if (endId !== diskId) {
    return { ok: false, reason: diskId === null ? `${file} no longer exists on disk, so it was changed after the run ended` : endId === null ? `${file} exists on disk but the run had deleted it: it was recreated after the run ended` : `${file} was changed after the run ended` };
  }
  const abs = path.join(root, file);
  const start = await readBlob(root, from, file, Number.MAX_SAFE_INTEGER);
  if (start === 'absent') {
    await fsp.rm(abs, { force: true });
    return { ok: true, action: 'deleted' };
  }
  if (start === 'too-large') return { ok: false, reason: `${file} is too large` };
  await fsp.mkdir(path.dirname(abs), { recursive: true });
  await fsp.writeFile(abs, start);
  return { ok: true, action: 'restored' };
}
