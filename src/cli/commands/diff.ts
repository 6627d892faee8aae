/** `agent-tasks diff`: the unified diff of what a run changed, from its git snapshots. */
import * as path from 'node:path';
import { diffPatch, listChanges } from '../../core/runChanges';
import type { ParsedArgs } from '../argParser';
import { PROGRAM, STORE_OPTION, writeErr } from '../common';
import type { Command } from './command';
import { terminalSafe } from './logs';
import { resolveTaskChanges } from './taskChanges';

export const diffCommand: Command = {
  def: {
    name: 'diff',
    summary: 'Print the unified diff of what a task changed (all files, or one).',
    usage: 'diff ID [PATH]',
    positionals: { min: 1, max: 2, name: 'the task ID' },
    options: [STORE_OPTION],
    details: [
      'ID may be any unique prefix of the task id. The diff is between the snapshots taken when the',
      'run started and when it ended (for a run still going, or one whose end was not snapshotted,',
      'a snapshot taken now), renames detected, binary files as git binary patches: piped, it is',
      'byte for byte what `git apply` takes. On a terminal, escape sequences and other control',
      'characters are removed (the files are whatever the agent wrote). PATH is one file as',
      `\`${PROGRAM} changes\` lists it (relative to the work tree's top folder, or to the current`,
      'folder); a renamed file shows as its rename.',
      'Exit code: 0; 1 for a task without snapshots (the reason is on stderr) or a PATH the task did',
      'not change; 2 for an unknown or ambiguous ID or a usage error.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const changes = await resolveTaskChanges(parsed, storeDir, 'diff');
  if (typeof changes === 'number') return changes;
  const file = parsed.positionals[1];
  let paths: string[] = [];
  if (file !== undefined) {
    const wanted = candidatePaths(file, changes.root);
    const change = (await listChanges(changes.cwd, changes.from, changes.to)).find((f) => wanted.includes(f.path) || (f.old_path !== null && wanted.includes(f.old_path)));
    if (!change) {
      writeErr(`${PROGRAM}: task ${changes.row.id.slice(0, 8)} did not change ${JSON.stringify(file)} (${changes.label}); \`${PROGRAM} changes ${changes.row.id.slice(0, 8)}\` lists what it changed\n`);
      return 1;
    }
    // Both sides of a rename: limited to the new path alone, git would show an added file.
    paths = change.old_path !== null ? [change.old_path, change.path] : [change.path];
  }
  const patch = await diffPatch(changes.cwd, changes.from, changes.to, paths);
  // A reader that went away (`| head`) ends the output quietly.
  process.stdout.on('error', () => undefined);
  process.stdout.write(process.stdout.isTTY ? terminalSafe(patch.toString('utf8')) : patch);
  return 0;
}

/** What PATH may name: a path from the work tree's top folder, or one from the current folder inside it. */
function candidatePaths(file: string, root: string): string[] {
  const slashed = process.platform === 'win32' ? file.replace(/\\/g, '/') : file;
  const fromRoot = path.posix.normalize(slashed).replace(/^\.\//, '');
  const fromCwd = path.relative(root, path.resolve(file)).split(path.sep).join('/');
  return fromCwd.startsWith('../') || path.isAbsolute(fromCwd) ? [fromRoot] : [fromRoot, fromCwd];
}
