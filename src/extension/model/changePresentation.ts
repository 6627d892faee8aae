/**
 * What a run changed, as the tree shows it: a changed file's label, description, icon and
 * tooltip; the line that says why a task shows no changes; which other runs may have touched
 * the same files (runs of the same work tree whose times overlapped: their snapshots cannot
 * tell whose edit is whose); and the query of a snapshot document's URI, built and parsed
 * back. No `vscode` import: changesView.ts turns these plain values into TreeItems and URIs.
 */
import type { GitRunState } from '../../core/gitSnapshot';
import type { ChangedFile, ChangeStatus } from '../../core/runChanges';
import { isLive, type TaskRow } from '../../core/taskTypes';
import type { IconSpec } from './taskPresentation';
import { taskLabel } from './taskPresentation';

/** The message of every change node and command while the workspace is not trusted: a repository's config can run commands. */
export const RESTRICTED_MODE_TEXT = 'Git is not run in Restricted Mode';

/** Characters of another task's name in the attribution line. */
const ATTRIBUTION_NAME_MAX_CHARS = 40;
/** Other runs named in the attribution line; the rest are counted. */
const ATTRIBUTION_MAX_NAMED = 3;

// ---------------------------------------------------------------------------------------------
// One changed file

const STATUS_WORDS: Record<ChangeStatus, string> = { added: 'added', modified: 'modified', deleted: 'deleted', renamed: 'renamed' };

const STATUS_ICONS: Record<ChangeStatus, IconSpec> = {
  added: { id: 'diff-added', color: 'gitDecoration.addedResourceForeground' },
  modified: { id: 'diff-modified', color: 'gitDecoration.modifiedResourceForeground' },
  deleted: { id: 'diff-removed', color: 'gitDecoration.deletedResourceForeground' },
  renamed: { id: 'diff-renamed', color: 'gitDecoration.renamedResourceForeground' },
};

/** The last segment of a `/`-separated path. */
export function baseName(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? file : file.slice(i + 1);
}

/** The folder of a `/`-separated path, '' at the root. */
export function folderOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i);
}

/** "+12 −3" (a real minus sign, as the SCM view shows it), or "binary" when git could not count lines. */
export function lineCounts(file: ChangedFile): string {
  if (file.binary || file.insertions === null || file.deletions === null) return 'binary';
  return `+${file.insertions} \u2212${file.deletions}`;
}

export interface ChangeItemView {
  readonly label: string;
  readonly description: string;
  readonly icon: IconSpec;
  /** Plain text (file paths are user data: no Markdown). */
  readonly tooltip: string;
  readonly accessibilityLabel: string;
}

/** The file's name as label; its folder and `+N −M` (or "binary") as description; an icon per status. */
export function changeItemView(file: ChangedFile): ChangeItemView {
  const folder = folderOf(file.path);
  const counts = lineCounts(file);
  const descriptionParts = [folder, counts].filter((p) => p !== '');
  if (file.status === 'renamed' && file.old_path !== null) descriptionParts.push(`from ${file.old_path}`);
  const countsInWords = counts === 'binary' ? 'binary' : `${file.insertions} ${file.insertions === 1 ? 'line' : 'lines'} added, ${file.deletions} removed`;
  const tooltipLines = [file.path, `${capitalize(STATUS_WORDS[file.status])}${file.status === 'renamed' && file.old_path !== null ? ` from ${file.old_path}` : ''}, ${countsInWords}`];
  return {
    label: baseName(file.path),
    description: descriptionParts.join(' · '),
    icon: STATUS_ICONS[file.status],
    tooltip: tooltipLines.join('\n'),
    accessibilityLabel: `${file.path}, ${STATUS_WORDS[file.status]}, ${countsInWords}`,
  };
}

// ---------------------------------------------------------------------------------------------
// The task's changes node

/**
 * Whether a task row offers its changes: it has a start snapshot (what it changed can be
 * computed), or a reason why there is none (shown as such). Rows from before snapshots, and a
 * run whose first snapshot is not recorded yet, have none.
 */
export function hasChangesNode(row: TaskRow): boolean {
  const git = row.git;
  return git !== null && ((git.root !== null && git.start !== null) || git.unavailable !== null);
}

/** The row has a start snapshot: Open Changes and Copy as Patch can work on it. */
export function hasSnapshots(row: TaskRow): boolean {
  return row.git !== null && row.git.unavailable === null && row.git.root !== null && row.git.start !== null;
}

/** "Not a git repository": the reason why a task shows no changes, as the info node's label. */
export function noChangesText(reason: string): string {
  return capitalize(reason.trim()) || 'No changes recorded';
}

/** The info node of a run that changed nothing. */
export const NO_CHANGES_TEXT = 'No changes';

/** A run without an end snapshot that is not running any more (its owner died before taking one) is compared with the folder as it is now. */
export const COMPARED_WITH_NOW_TEXT = 'No end snapshot: compared with the folder as it is now';

/** The label of the side of a diff: the run's start, its end, or the folder now (a live run). */
export type SnapshotSide = 'start' | 'end' | 'now';
export const SNAPSHOT_SIDES: readonly SnapshotSide[] = ['start', 'end', 'now'];

/** "README.md (Fix the parser) start ↔ end": the diff editor's title. */
export function changeDiffTitle(file: ChangedFile, row: TaskRow, to: SnapshotSide): string {
  return `${baseName(file.path)} (${taskLabel(row)}) start \u2194 ${to}`;
}

/** "README.md (Fix the parser) start ↔ current": the title of the diff with the file on disk. */
export function changeWithCurrentTitle(file: ChangedFile, row: TaskRow): string {
  return `${baseName(file.path)} (${taskLabel(row)}) start \u2194 current`;
}

/** The multi-diff editor's title. */
export function changesTitle(row: TaskRow, live: boolean): string {
  return `Changes of ${taskLabel(row)}${live ? ' (so far)' : ''}`;
}

/** What the revert confirmation says will happen to the file. */
export function revertDetail(file: ChangedFile): string {
  switch (file.status) {
    case 'added':
      return `The run created ${file.path}: it is deleted.`;
    case 'deleted':
      return `The run deleted ${file.path}: it is restored.`;
    case 'renamed':
      return `The run renamed ${file.old_path ?? '?'} to ${file.path}: ${file.path} is deleted and ${file.old_path ?? '?'} restored.`;
    case 'modified':
      return `${file.path} gets its content from before the run back.`;
  }
}

// ---------------------------------------------------------------------------------------------
// Honest attribution: other runs in the same work tree at the same time

/** The short form of a task id shown next to its name. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** [start, end] of a run; a live run (or one with no end recorded) lasts until `now`. */
function runInterval(row: TaskRow, now: number): [number, number] {
  const end = isLive(row.status) || row.finished_at === null ? now : row.finished_at;
  return [row.started_at, Math.max(row.started_at, end)];
}

/**
 * The other runs of the same work tree (`git.root`) whose time overlapped this one's: their
 * edits land in the same snapshots, so this run's changes may include theirs. Oldest first.
 * Runs in their own worktree have another root and never overlap.
 */
export function overlappingRuns(row: TaskRow, others: readonly TaskRow[], now: number): TaskRow[] {
  const root = gitRoot(row.git);
  if (root === null) return [];
  const [start, end] = runInterval(row, now);
  const seen = new Set<string>([row.id]);
  const found: TaskRow[] = [];
  for (const other of others) {
    if (seen.has(other.id)) continue;
    seen.add(other.id);
    if (gitRoot(other.git) !== root) continue;
    const [otherStart, otherEnd] = runInterval(other, now);
    // Strict: a run that started the moment another ended did not run at the same time.
    if (otherStart < end && start < otherEnd) found.push(other);
  }
  return found.sort((a, b) => a.started_at - b.started_at || (a.id < b.id ? -1 : 1));
}

function gitRoot(git: GitRunState | null): string | null {
  return git && git.root !== null && git.unavailable === null ? git.root : null;
}

/** "Fix the parser (1a2b3c4d)". */
function runReference(row: TaskRow): string {
  const name = taskLabel(row);
  const capped = name.length <= ATTRIBUTION_NAME_MAX_CHARS ? name : `${name.slice(0, ATTRIBUTION_NAME_MAX_CHARS - 1)}…`;
  return `${capped} (${shortId(row.id)})`;
}

/**
 * "May include changes by Fix the parser (1a2b3c4d), which ran in the same folder at the same
 * time"; null when there is no such run.
 */
export function attributionWarning(overlapping: readonly TaskRow[]): string | null {
  if (overlapping.length === 0) return null;
  const named = overlapping.slice(0, ATTRIBUTION_MAX_NAMED).map(runReference);
  const more = overlapping.length - named.length;
  if (more > 0) named.push(`${more} more ${more === 1 ? 'run' : 'runs'}`);
  const list = named.length === 1 ? named[0] : `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}`;
  const allLive = overlapping.every((r) => isLive(r.status));
  const verb = overlapping.length === 1 ? (allLive ? 'which is running' : 'which ran') : allLive ? 'which are running' : 'which ran';
  return `May include changes by ${list}, ${verb} in the same folder at the same time`;
}

// ---------------------------------------------------------------------------------------------
// Snapshot documents: `agent-tasks-snapshot:/<path>?root=…&tree=…&path=…&side=…`

export interface SnapshotRef {
  /** The work tree's top-level folder (absolute). */
  readonly root: string;
  /** The tree object (hex). */
  readonly tree: string;
  /** The file, relative to `root`, `/`-separated. */
  readonly path: string;
  readonly side: SnapshotSide;
}

const TREE_ID = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/** A path relative to a work tree that stays inside it: no absolute path, no `..`, no empty or `.` segment, no NUL. */
export function isSafeRelativePath(p: string): boolean {
  if (p === '' || p.length > 4096 || p.includes('\0') || p.includes('\\')) return false;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** An absolute folder path (POSIX or Windows), with no NUL. */
function isAbsoluteFolder(p: string): boolean {
  if (p === '' || p.length > 4096 || p.includes('\0')) return false;
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

/** The URI query that names a file in a snapshot. */
export function buildSnapshotQuery(ref: SnapshotRef): string {
  return new URLSearchParams({ root: ref.root, tree: ref.tree, path: ref.path, side: ref.side }).toString();
}

/**
 * Reads a snapshot URI's query back; undefined unless every part is well-formed. A URI can come
 * from anywhere (a link, another extension): this is the only check before git is asked.
 */
export function parseSnapshotQuery(query: string): SnapshotRef | undefined {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return undefined;
  }
  const one = (key: string): string | undefined => {
    const values = params.getAll(key);
    return values.length === 1 ? values[0] : undefined;
  };
  const root = one('root');
  const tree = one('tree');
  const file = one('path');
  const side = one('side');
  if (root === undefined || tree === undefined || file === undefined || side === undefined) return undefined;
  if (!isAbsoluteFolder(root) || !TREE_ID.test(tree) || !isSafeRelativePath(file)) return undefined;
  if (!(SNAPSHOT_SIDES as readonly string[]).includes(side)) return undefined;
  return { root, tree, path: file, side: side as SnapshotSide };
}

/** What a snapshot document shows instead of a file too large to load. */
export function tooLargeText(file: string, maxBytes: number): string {
  return `(${file} is larger than ${Math.round(maxBytes / (1024 * 1024))} MB: not loaded)`;
}

/** What a snapshot document shows instead of a binary file. */
export function binaryText(file: string, bytes: number): string {
  return `(${file} is a binary file of ${bytes} bytes: not shown)`;
}

/** Git's own test: a NUL byte in the first 8000 bytes makes a file binary. */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8000);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

function capitalize(text: string): string {
  return text === '' ? text : text[0].toUpperCase() + text.slice(1);
}
