/**
 * A run's two snapshots (gitSnapshot.ts), taken by whoever owns the run: the start one
 * concurrently with the agent's spawn, the end one before the run's end is journaled; and, for a
 * run whose owner died, the end one taken by the process that marks it interrupted.
 *
 * Ordering, and its limit: the run does not wait for the start snapshot. Its git commands start
 * before the start is journaled and the agent spawned (TaskRunner.start), and run alongside
 * both; staging a copy of the index only hashes files whose stat data changed, so on a
 * repository of 20,000 files the snapshot's content is fixed within a couple of hundred ms
 * (docs/BENCHMARKS.md), while an agent CLI needs longer than that to start and reach its model.
 * A command that writes before `git add -A` has walked past the file can have that write in the
 * start snapshot, and then it does not show as its change (the benchmark counts how often a bare
 * Node that writes at once gets there first). Only once the row is journaled, and only if it is
 * this runner's, are the snapshot's ref and its record written.
 */
import { errorMessage } from './errors';
import { dropSnapshotRefs, findWorkTree, gitUnavailable, keepSnapshot, snapshotRef, takeSnapshot, type GitRunState, type RunWorktree } from './gitSnapshot';
import type { RunJournal, TaskRow } from './taskTypes';

/** Whether a run gets snapshots: yes (when its folder is in a git work tree), or no and why ("Restricted Mode"). */
export type SnapshotPolicy = { readonly take: true } | { readonly take: false; readonly reason: string };

export class RunSnapshots {
  private startState: Promise<GitRunState | undefined> | undefined;

  constructor(
    private readonly taskId: string,
    private readonly cwd: string,
    private readonly journal: Pick<RunJournal, 'recordGit'>,
    private readonly policy: SnapshotPolicy,
    private readonly worktree: RunWorktree | null,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Starts the start snapshot (once); it is kept (ref) and journaled when `journaled` says the
   * run's row was started by this runner, else dropped. Never waits and never throws.
   */
  begin(journaled: Promise<boolean>): void {
    this.startState ??= this.snapshotStart(journaled).catch((err: unknown) => {
      this.log(`Task ${this.taskId}: could not record its start snapshot: ${errorMessage(err)}`);
      return undefined;
    });
  }

  /** After the agent ended, before its end is journaled: the end snapshot, journaled; never throws. */
  async end(): Promise<void> {
    if (!this.startState) return;
    const state = await this.startState;
    if (!state?.root || !state.start) return;
    try {
      await recordEndSnapshot(this.journal, this.taskId, state, state.root);
    } catch (err) {
      this.log(`Task ${this.taskId}: no end snapshot: ${errorMessage(err)}`);
    }
  }

  private async snapshotStart(journaled: Promise<boolean>): Promise<GitRunState | undefined> {
    let state: GitRunState;
    if (!this.policy.take) {
      state = gitUnavailable(this.policy.reason, this.worktree);
    } else {
      const work = await findWorkTree(this.cwd);
      if ('unavailable' in work) {
        state = gitUnavailable(work.unavailable, this.worktree);
      } else {
        try {
          const start = await takeSnapshot(work);
          // A row that is not ours (the id was taken): its refs are not ours to move either.
          if (!(await journaled)) return undefined;
          await keepSnapshot(work.root, snapshotRef(this.taskId, 'start'), start.tree);
          state = { root: work.root, start, end: null, unavailable: null, worktree: this.worktree };
        } catch (err) {
          state = gitUnavailable(`the start snapshot failed: ${errorMessage(err)}`, this.worktree);
        }
      }
    }
    if (!(await journaled)) return undefined;
    await this.journal.recordGit(this.taskId, state);
    return state;
  }
}

/**
 * The end snapshots of runs just marked interrupted (their owner died before taking one): the
 * work tree as it is now, which holds what the run had changed when it stopped. Only rows with a
 * start snapshot and no end; one at a time. Returns how many were recorded.
 */
export async function snapshotInterruptedRuns(journal: Pick<RunJournal, 'recordGit'>, rows: readonly TaskRow[], log: (message: string) => void): Promise<number> {
  let recorded = 0;
  for (const row of rows) {
    const state = row.git;
    if (!state?.root || !state.start || state.end) continue;
    try {
      await recordEndSnapshot(journal, row.id, state, state.root);
      recorded++;
    } catch (err) {
      log(`Task ${row.id}: no end snapshot after the interruption: ${errorMessage(err)}`);
    }
  }
  return recorded;
}

/** Deletes the refs that kept removed tasks' snapshots, one git call per work tree; a folder that is gone is skipped. */
export async function dropSnapshotsOf(removed: readonly { readonly id: string; readonly snapshotRoot: string | null }[], log: (message: string) => void): Promise<void> {
  const byRoot = new Map<string, string[]>();
  for (const r of removed) if (r.snapshotRoot) byRoot.set(r.snapshotRoot, [...(byRoot.get(r.snapshotRoot) ?? []), r.id]);
  for (const [root, ids] of byRoot) {
    const work = await findWorkTree(root);
    if ('unavailable' in work) continue;
    await dropSnapshotRefs(work.root, ids).catch((err: unknown) => log(`Could not delete the snapshot refs of ${ids.length} removed task(s) in ${root}: ${errorMessage(err)}`));
  }
}

/** Takes the end snapshot of the work tree at `root`, keeps it under the task's end ref and journals it with the start state. */
async function recordEndSnapshot(journal: Pick<RunJournal, 'recordGit'>, taskId: string, state: GitRunState, root: string): Promise<void> {
  const work = await findWorkTree(root);
  if ('unavailable' in work) throw new Error(work.unavailable);
  const end = await takeSnapshot(work, { ref: snapshotRef(taskId, 'end') });
  await journal.recordGit(taskId, { ...state, end });
}
