import { spawn } from 'node:child_process';
import { AppendOnlyJournal } from './appendJournal';
import { RUN_AS_NODE_ENV } from './supervisorLaunch';
import { TaskRunner, type TaskSpec } from './taskRunner';
import type { TaskRow } from './taskTypes';

/**
 * A run's supervisor: the small detached process that owns one run, so that the editor (or the
 * terminal) that asked for it is only a view of it. It journals the start before the agent is
 * spawned, spawns the agent in its own process group, streams its output to the task log,
 * heartbeats, records the finish, and obeys cancel (SIGTERM or SIGINT to the supervisor).
 * The row's owner is the supervisor: its death is what makes the run interrupted.
 *
 * Protocol (supervisorLaunch.ts speaks the other side): the launcher writes one JSON
 * SupervisorRequest on stdin and closes it; the supervisor answers one JSON line on stdout, a
 * SupervisorAck, once the start is durable (or as soon as it knows the run cannot start), then
 * closes stdout and stderr and goes on with no terminal. Environment values travel in the
 * request (a pipe), never in the journal.
 */

export interface SupervisorRequest {
  readonly storeDir: string;
  readonly spec: TaskSpec;
  /** How often the row is marked alive and its progress saved (the views' live tokens). */
  readonly heartbeatMs?: number;
  /** Tests shorten STOP_AFTER_WINDOW_CLOSE_MS. */
  readonly stopAfterWindowCloseMs?: number;
  /** A command that compacts the store (`agent-tasks compact`), started detached when the log grew past `compactAfterBytes`. */
  readonly compact?: { command: string; args: string[]; afterBytes: number };
}

export type SupervisorAck = { readonly kind: 'started'; readonly row: TaskRow; readonly pid: number } | { readonly kind: 'failed'; readonly error: string };

/** Sent by a closing window whose agentTasks.onWindowClose is "stop". */
export const WINDOW_CLOSED_SIGNAL: NodeJS.Signals = 'SIGUSR2';
/** Sent by a window that shows the run again (a reload): the pending stop is off. */
export const WINDOW_BACK_SIGNAL: NodeJS.Signals = 'SIGUSR1';
/** How long a run waits, after its window closed, for a reloaded window to show it again. */
export const STOP_AFTER_WINDOW_CLOSE_MS = 15_000;

/** The live progress a supervised run saves: often enough for the views, cheap for the log. */
export const SUPERVISED_HEARTBEAT_MS = 2_000;

export interface SupervisorIo {
  ack(message: SupervisorAck): void;
  log(message: string): void;
}

/** Runs one task to its end; returns the supervisor's exit code (the agent's, as the CLI's run does). */
export async function superviseRun(request: SupervisorRequest, io: SupervisorIo): Promise<number> {
  let journal: AppendOnlyJournal;
  try {
    journal = await AppendOnlyJournal.open(request.storeDir, { log: io.log });
  } catch (err) {
    io.ack({ kind: 'failed', error: `The task journal in ${request.storeDir} cannot be written: ${errorMessage(err)}` });
    return 1;
  }
  const runner = new TaskRunner(journal, { heartbeatMs: request.heartbeatMs ?? SUPERVISED_HEARTBEAT_MS, log: io.log });
  const collector = collectGarbageAsOutputFlows(runner);
  let row: TaskRow;
  try {
    // Every signal is handled before the start is journaled: a cancel that arrives while the
    // agent is being spawned (its row already shows) must not kill the supervisor instead.
    let taskId: string | undefined;
    let cancelRequested = false;
    const cancel = (): void => {
      cancelRequested = true;
      if (taskId !== undefined) void runner.cancel(taskId);
    };
    process.on('SIGTERM', cancel);
    process.on('SIGINT', cancel);
    // agentTasks.onWindowClose = "stop": the window that started the run closed (SIGUSR2). A
    // reload shows the run again within seconds (SIGUSR1, from the new window): only a window
    // that stays closed stops it.
    let orphanTimer: NodeJS.Timeout | undefined;
    process.on(WINDOW_CLOSED_SIGNAL, () => {
      clearTimeout(orphanTimer);
      io.log(`the window that started the run closed: stopping it in ${STOP_AFTER_WINDOW_CLOSE_MS / 1000} s unless a window shows it again`);
      orphanTimer = setTimeout(cancel, request.stopAfterWindowCloseMs ?? STOP_AFTER_WINDOW_CLOSE_MS);
    });
    process.on(WINDOW_BACK_SIGNAL, () => clearTimeout(orphanTimer));
    // A closed terminal or a logged-out session is not a reason to stop the agent.
    process.on('SIGHUP', () => undefined);
    const task = await runner.start(request.spec);
    taskId = task.id;
    io.ack({ kind: 'started', row: task.row, pid: process.pid });
    if (cancelRequested) void runner.cancel(task.id);
    row = await task.done;
    clearTimeout(orphanTimer);
  } catch (err) {
    io.ack({ kind: 'failed', error: errorMessage(err) });
    collector.dispose();
    runner.dispose();
    await journal.close();
    return 1;
  }
  collector.dispose();
  runner.dispose();
  await journal.close();
  if (request.compact && journal.logBytes > request.compact.afterBytes) startDetached(request.compact.command, request.compact.args);
  return exitCodeOf(row);
}

/**
 * Each read of the agent's pipes is a new 64 KB buffer outside V8's heap, and V8 collects them
 * only once tens of MB of such memory have piled up: an agent printing fast would make the
 * supervisor's RSS double. With `--expose-gc` (launchSupervisor passes it), a collection every
 * few MB of output keeps it near an idle Node's (docs/BENCHMARKS.md).
 */
const GC_EVERY_OUTPUT_BYTES = 2 * 1024 * 1024;
const GC_CHECK_MS = 10;

function collectGarbageAsOutputFlows(runner: TaskRunner): { dispose(): void } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return { dispose: () => undefined };
  let collectedAt = 0;
  // Output can flow at hundreds of MB/s: look often (progress events are coalesced to 250 ms).
  const timer = setInterval(() => {
    const bytes = runner.list().reduce((n, t) => n + (t.progress.output_bytes ?? 0), 0);
    if (bytes - collectedAt < GC_EVERY_OUTPUT_BYTES) return;
    collectedAt = bytes;
    gc();
  }, GC_CHECK_MS);
  timer.unref();
  return { dispose: () => clearInterval(timer) };
}

/** 0 for success, the agent's exit code, 130 for cancelled, else 1. */
export function exitCodeOf(row: TaskRow): number {
  if (row.status === 'success') return 0;
  if (row.status === 'cancelled') return 130;
  return row.exit_code !== null && row.exit_code > 0 ? row.exit_code : 1;
}

function startDetached(command: string, args: readonly string[]): void {
  try {
    // The editor's Electron runs as Node only with this set (it was dropped for the agent).
    const child = spawn(command, args, { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_AS_NODE_ENV]: '1' } });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // The next process that writes the store compacts it.
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
