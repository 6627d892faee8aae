/**
 * Watching and stopping a run that may belong to another process: `agent-tasks wait`, `logs
 * --follow` and `cancel`, and the editor's Cancel of a run it does not own. Plain Node.
 *
 * A run is owned by the store instance that started it (a CLI `run`, an editor window, a
 * supervisor). Only the owner records how it ended; another process asks it to cancel through
 * the journal (a `cancelRequest` record, TaskStore.requestCancel), and steps in itself only
 * when the owner provably cannot answer (it is dead: recoveryScan.ts's judgement).
 */
import { watch as fsWatch } from 'node:fs';
import * as path from 'node:path';
import { childOf, stopProcessTree, type StopOutcome } from './processControl';
import { hostName } from './processIdentity';
import { judgeOwner, type OwnerVerdict } from './recoveryScan';
import { signalSupervisor } from './supervisedRuns';
import type { TaskStore } from './taskStore';
import { isLive, type TaskRow } from './taskTypes';

export const DEFAULT_WATCH_POLL_MS = 500;
export const DEFAULT_CANCEL_GRACE_MS = 5_000;
/**
 * How long a live owner has to end the run after a cancel request before the canceller stops the
 * agent itself. An owner that reads requests needs at most ~1 s to notice, the 5 s grace and
 * the finish: only an owner that ignores them (an older Agent Tasks) takes longer.
 */
export const DEFAULT_OWNER_TIMEOUT_MS = 20_000;

export interface WatchTaskOptions {
  /** Checks this often besides file events (file systems without events; the owner's liveness). */
  pollMs?: number;
  /** Stops watching: the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** A file (a task log) whose changes also trigger a check. */
  alsoWatch?: string;
}

/**
 * Calls `check` with the task's current row (after a catch-up) when the store changes (its file
 * watch), when `alsoWatch` changes, and every `pollMs`; resolves with the first value that is not
 * undefined. Checks never overlap: a change during one runs one more. No busy loop: between
 * checks it sleeps on file events and the timer.
 */
export function watchTask<T>(
  store: TaskStore,
  id: string,
  check: (row: TaskRow | undefined) => T | undefined | Promise<T | undefined>,
  options: WatchTaskOptions = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    let settled = false;
    let running = false;
    let again = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      fn();
    };
    const tick = async (): Promise<void> => {
      if (settled) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const value = await check(await store.getTask(id));
          if (value !== undefined) return settle(() => resolve(value));
        } while (again && !settled);
      } catch (err) {
        settle(() => reject(err));
      } finally {
        running = false;
      }
    };
    if (options.signal?.aborted) return reject(abortError());
    const watcher = store.watchForChanges(50);
    cleanups.push(() => watcher.dispose());
    const changes = store.onDidChangeTasks((e) => {
      if (e.ids.length === 0 || e.ids.includes(id)) void tick();
    });
    cleanups.push(() => changes.dispose());
    if (options.alsoWatch !== undefined) cleanups.push(watchFile(options.alsoWatch, () => void tick()));
    const timer = setInterval(() => void tick(), Math.max(10, options.pollMs ?? DEFAULT_WATCH_POLL_MS));
    cleanups.push(() => clearInterval(timer));
    if (options.signal) {
      const onAbort = (): void => settle(() => reject(abortError()));
      options.signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => options.signal?.removeEventListener('abort', onAbort));
    }
    void tick();
  });
}

/** Watches the file's folder (the file may not exist yet); returns the cleanup. */
function watchFile(file: string, onChange: () => void): () => void {
  const name = path.basename(file);
  try {
    const watcher = fsWatch(path.dirname(file), { persistent: false }, (_event, changed) => {
      if (!changed || String(changed) === name) onChange();
    });
    watcher.on('error', () => undefined);
    return () => watcher.close();
  } catch {
    return () => undefined; // no folder, no events: the poll still runs
  }
}

function abortError(): Error {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

export interface RunEnd {
  /** The row when the watch ended: finished, or still `running` when `ownerGone` is set. */
  readonly row: TaskRow;
  /**
   * Set when the row still says running but its owner is provably dead: nobody will record the
   * end (until a recovery marks it interrupted). Why the owner counts as dead.
   */
  readonly ownerGone?: string;
}

/** Whether a running row's owner is provably dead (same judgement as recovery). */
export function judgeRunOwner(row: TaskRow, staleAfterMs?: number): Promise<OwnerVerdict> {
  return judgeOwner(row, { host: hostName(), now: Date.now(), staleAfterMs });
}

/**
 * Whether the run has ended, given its row as a catch-up just read it: the row is finished, or
 * its owner is provably dead. An owner records the finish before it exits, so it may have died
 * just after that catch-up, with the finish on disk: the row is read once more after the verdict,
 * and only a row still running then was left behind by its owner. Undefined while it runs.
 */
export async function runEndOf(store: TaskStore, row: TaskRow, staleAfterMs?: number): Promise<RunEnd | undefined> {
  if (!isLive(row.status)) return { row };
  const verdict = await judgeRunOwner(row, staleAfterMs);
  if (!verdict.dead) return undefined;
  const after = (await store.getTask(row.id)) ?? row;
  return !isLive(after.status) ? { row: after } : { row: after, ownerGone: verdict.reason };
}

/**
 * Resolves once the run ends: its row is no longer running, or its owner is provably dead (a
 * killed CLI or supervisor: the row would say running until a recovery). Rejects when the task
 * does not exist.
 */
export function waitForRunEnd(store: TaskStore, id: string, options: WatchTaskOptions & { staleAfterMs?: number } = {}): Promise<RunEnd> {
  return watchTask(
    store,
    id,
    async (row) => {
      if (!row) throw new Error(`task ${id} does not exist`);
      return runEndOf(store, row, options.staleAfterMs);
    },
    options,
  );
}

// ---------------------------------------------------------------------------------------------
// Cancel

export class CancelRunError extends Error {
  override readonly name = 'CancelRunError';
}

export interface CancelRunOptions {
  /** SIGTERM → SIGKILL grace when this process stops an agent itself. Default 5 s. */
  graceMs?: number;
  /** How long a live owner has to end the run before this process stops its agent itself. Default 20 s. */
  ownerTimeoutMs?: number;
  /** How often the row and its owner are checked besides file events. Default 500 ms. */
  pollMs?: number;
  /** Rows of another host count as orphaned after this long without a heartbeat. */
  staleAfterMs?: number;
  signal?: AbortSignal;
  /** Told when this process does more than ask (takes over a dead owner's run, stops an agent whose owner did not answer). */
  onStep?: (step: CancelStep) => void;
}

export type CancelStep =
  | { readonly kind: 'requested'; readonly row: TaskRow }
  | { readonly kind: 'owner-gone'; readonly row: TaskRow; readonly reason: string }
  | { readonly kind: 'owner-silent'; readonly row: TaskRow };

export interface CancelRunResult {
  /** The row at the end: `cancelled` when it worked. */
  readonly row: TaskRow;
  /**
   * - `not-running`: the row had already ended (nothing was asked);
   * - `owner`: the owner (or someone else) ended the row after the request;
   * - `takeover`: the owner was dead: this process stopped the agent and recorded `cancelled`;
   * - `direct`: the owner lived but did not answer in time (an older version): this process
   *   stopped the agent, and the owner recorded the end as it saw it.
   */
  readonly how: 'not-running' | 'owner' | 'takeover' | 'direct';
  /** `takeover`/`direct`: what became of the agent process ('unknown': none recorded, or another host). */
  readonly agent?: StopOutcome | 'unknown';
}

/**
 * Cancels a run whoever owns it, and resolves once its row has ended. Appends a cancel request
 * (the owner's store sees it on its next catch-up, and its runner stops the agent: SIGTERM to the
 * process group, SIGKILL after the grace, row `cancelled`). A supervisor owner is also sent
 * SIGTERM, its own cancel signal, after its pid and start are checked. Then it watches the row:
 * - the owner ended it → `owner`;
 * - the owner is provably dead (its pid gone or reused; on another host, heartbeats stale) →
 *   this process stops the agent's process tree (same host) and records `cancelled` itself;
 * - the owner lives but the row still runs after `ownerTimeoutMs` (an owner that does not read
 *   cancel requests) → this process stops the agent (same host only), then waits for the owner
 *   to record the end.
 * Rejects (CancelRunError) when the task does not exist, the store is read-only, the agent
 * survives SIGKILL, or a live owner on another host (or one that lost its agent) never ends it.
 */
export async function cancelRun(store: TaskStore, id: string, options: CancelRunOptions = {}): Promise<CancelRunResult> {
  const graceMs = options.graceMs ?? DEFAULT_CANCEL_GRACE_MS;
  const ownerTimeoutMs = options.ownerTimeoutMs ?? DEFAULT_OWNER_TIMEOUT_MS;
  const first = await store.getTask(id);
  if (!first) throw new CancelRunError(`task ${id} does not exist`);
  if (!isLive(first.status)) return { row: first, how: 'not-running' };
  if (store.readOnly) throw new CancelRunError(`cannot cancel task ${id}: the task store at ${store.dir} is read-only`);
  await store.requestCancel(id);
  // A supervisor (supervisor.ts) does not read the journal: SIGTERM is its cancel.
  await signalSupervisor(first, 'SIGTERM');
  options.onStep?.({ kind: 'requested', row: first });
  const askedAt = Date.now();
  let direct: { agent: StopOutcome | 'unknown'; deadline: number } | undefined;
  return watchTask<CancelRunResult>(
    store,
    id,
    async (row) => {
      if (!row) throw new CancelRunError(`task ${id} vanished from the journal`);
      const end = await runEndOf(store, row, options.staleAfterMs);
      if (end?.ownerGone !== undefined) {
        options.onStep?.({ kind: 'owner-gone', row: end.row, reason: end.ownerGone });
        return takeOver(store, end.row, end.ownerGone, graceMs);
      }
      if (end) return direct ? { row: end.row, how: 'direct', agent: direct.agent } : { row: end.row, how: 'owner' };
      const now = Date.now();
      if (direct === undefined && now - askedAt > ownerTimeoutMs) {
        if (row.owner_host !== hostName()) {
          throw new CancelRunError(`task ${id} runs on host ${row.owner_host}, whose owner did not end it within ${seconds(ownerTimeoutMs)}: cancel it there`);
        }
        options.onStep?.({ kind: 'owner-silent', row });
        direct = { agent: await stopAgent(row, graceMs), deadline: Date.now() + ownerTimeoutMs };
        return undefined;
      }
      if (direct !== undefined && now > direct.deadline) {
        throw new CancelRunError(
          `the owner of task ${id} (pid ${row.owner_pid}) still runs but did not record its end; its agent ${direct.agent === 'unknown' ? 'is not known' : `was ${direct.agent === 'already-gone' ? 'already gone' : 'stopped'}`}`,
        );
      }
      return undefined;
    },
    { pollMs: options.pollMs, signal: options.signal },
  );
}

/** The owner is dead: stop what is left of its agent and record the row cancelled, unless someone ended it meanwhile. */
async function takeOver(store: TaskStore, row: TaskRow, reason: string, graceMs: number): Promise<CancelRunResult> {
  const agent = await stopAgent(row, graceMs);
  const now = await store.getTask(row.id);
  if (now && !isLive(now.status)) return { row: now, how: 'owner' };
  const what =
    agent === 'unknown'
      ? row.child_pid === null
        ? 'no agent process was recorded'
        : `its agent (pid ${row.child_pid}) on host ${row.owner_host} could not be checked from here`
      : agent === 'already-gone'
        ? `its agent (pid ${row.child_pid}) had ended`
        : `its agent (pid ${row.child_pid}) was stopped`;
  const finished = await store.finishTask(row.id, {
    status: 'cancelled',
    finished_at: Date.now(),
    exit_code: null,
    signal: null,
    error: `Cancelled after ${reason}: ${what}.`,
  });
  return { row: finished, how: 'takeover', agent };
}

/** SIGTERM, then SIGKILL after the grace, to the recorded agent's process group (same host only, identity checked). */
async function stopAgent(row: TaskRow, graceMs: number): Promise<StopOutcome | 'unknown'> {
  if (row.child_pid === null || row.owner_host !== hostName()) return 'unknown';
  const outcome = await stopProcessTree(childOf(row, row.child_pid), { graceMs });
  if (outcome === 'still-alive') throw new CancelRunError(`the agent of task ${row.id} (pid ${row.child_pid}) did not stop, even after SIGKILL`);
  return outcome;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
