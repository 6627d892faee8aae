/** `agent-tasks changes`: the files a run changed, from its git snapshots, with their line counts. */
import { listChanges, type ChangedFile } from '../../core/runChanges';
import { hasFlag, type ParsedArgs } from '../argParser';
import { PROGRAM, STORE_OPTION, writeOut } from '../common';
import type { Command } from './command';
import { resolveTaskChanges } from './taskChanges';

export const changesCommand: Command = {
  def: {
    name: 'changes',
    summary: 'List the files a task changed (from its git snapshots), with lines added and removed.',
    usage: 'changes ID [--json]',
    positionals: { min: 1, max: 1, name: 'the task ID' },
    options: [{ name: 'json', description: 'Print a JSON array of {path, status, insertions, deletions, old_path, binary}' }, STORE_OPTION],
    details: [
      'ID may be any unique prefix of the task id. A run in a git work tree is snapshotted when it',
      'starts and when it ends (tracked files and untracked ones that are not ignored; your index,',
      'stash and HEAD are not touched): this lists what differs between the two, renames included.',
      'For a run still going, or one whose end was not snapshotted, the second snapshot is taken now.',
      'status is added, modified, deleted or renamed; insertions and deletions are null for a binary',
      'file (or one over 50 MB). Paths are relative to the work tree\'s top folder.',
      `\`${PROGRAM} diff ID [PATH]\` prints the patch.`,
      'Exit code: 0; 1 for a task without snapshots (the reason is on stderr: not a git repository,',
      'Restricted Mode, git missing…); 2 for an unknown or ambiguous ID or a usage error.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const changes = await resolveTaskChanges(parsed, storeDir, 'changes');
  if (typeof changes === 'number') return changes;
  const files = await listChanges(changes.cwd, changes.from, changes.to);
  if (hasFlag(parsed, 'json')) {
    writeOut(JSON.stringify(files.map(jsonFile), null, 2) + '\n');
    return 0;
  }
  writeOut(`Task ${changes.row.id.slice(0, 8)}: ${changes.label}, in ${printable(changes.root)}\n`);
  writeOut(files.length === 0 ? 'No changes.\n' : formatChanges(files));
  return 0;
}

/** The fields `--json` promises, in this order whatever ChangedFile grows. */
function jsonFile(f: ChangedFile): Record<string, unknown> {
  return { path: f.path, status: f.status, insertions: f.insertions, deletions: f.deletions, old_path: f.old_path, binary: f.binary };
}

/** `status  +N −M  path` lines (`binary` for the counts of a binary file), then the totals. */
export function formatChanges(files: readonly ChangedFile[]): string {
  const counts = files.map((f) => (f.insertions === null || f.deletions === null ? 'binary' : `+${f.insertions} −${f.deletions}`));
  const statusWidth = Math.max(...files.map((f) => f.status.length));
  const countWidth = Math.max(...counts.map((c) => c.length));
  const lines = files.map((f, i) => `${f.status.padEnd(statusWidth)}  ${counts[i].padEnd(countWidth)}  ${f.old_path !== null ? `${printable(f.old_path)} → ` : ''}${printable(f.path)}`);
  const ins = files.reduce((n, f) => n + (f.insertions ?? 0), 0);
  const del = files.reduce((n, f) => n + (f.deletions ?? 0), 0);
  lines.push(`${files.length} file${files.length === 1 ? '' : 's'} changed, +${ins} −${del}`);
  return lines.join('\n') + '\n';
}

// C0 and C1 controls, and the bidi overrides and isolates.
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A path as the terminal may show it: file names are whatever the agent made them, and one
 * holding an escape sequence must not drive the terminal. Such characters show as `\xNN`/`\uNNNN`
 * (`--json` has the exact names).
 */
function printable(p: string): string {
  return p.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
