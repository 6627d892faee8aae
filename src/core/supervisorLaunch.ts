import { spawn } from 'node:child_process';
import type { SupervisorAck, SupervisorRequest } from './supervisor';
import type { TaskRow } from './taskTypes';

/**
 * Starts a run's supervisor (supervisor.ts) as a detached process and waits for its answer: the
 * journaled running row, or why the run could not start. Never hangs: a supervisor that does not
 * answer within `timeoutMs` is killed and reported.
 */

export interface LaunchSupervisorOptions {
  /** The Node to run it with: the editor's own (`process.execPath`; ELECTRON_RUN_AS_NODE makes Electron a plain Node). */
  readonly node: string;
  /** The supervisor's entry script (dist/supervisor.js in the package). */
  readonly script: string;
  readonly request: SupervisorRequest;
  /** The supervisor's environment (the agent gets it, plus the spec's env). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default 15 s: a start waits for one durable write, which a disk stuck behind a big checkout can hold up. */
  readonly timeoutMs?: number;
}

export class SupervisorLaunchError extends Error {
  override readonly name = 'SupervisorLaunchError';
}

/** The environment variable that makes an Electron binary run as plain Node; the supervisor drops it before spawning the agent. */
export const RUN_AS_NODE_ENV = 'ELECTRON_RUN_AS_NODE';

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export function launchSupervisor(options: LaunchSupervisorOptions): Promise<{ row: TaskRow; pid: number }> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    let stdout = '';
    let stderr = '';
    // --expose-gc: supervisor.ts collects the pipes' buffers as output flows (Electron as Node takes Node's flags too).
    const child = spawn(options.node, ['--expose-gc', options.script], {
      // Its own session and process group: a dying editor, a closed terminal or a Ctrl-C there does not reach it.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...(options.env ?? process.env), [RUN_AS_NODE_ENV]: '1' },
      cwd: options.request.storeDir,
      windowsHide: true,
    });
    const done = (err: Error | undefined, value?: { row: TaskRow; pid: number }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // From now on the supervisor is on its own: nothing of this process keeps it, or is kept by it.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      child.unref();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      done(new SupervisorLaunchError(`The task's supervisor did not start within ${Math.round(timeoutMs / 1000)} s${stderrNote(stderr)}.`));
    }, timeoutMs);
    child.on('error', (err) => done(new SupervisorLaunchError(`Could not start the task's supervisor (${options.node}): ${err.message}`)));
    child.on('exit', (code, signal) => {
      // Answered first: 'exit' can come before the last stdout chunk is read.
      setImmediate(() =>
        done(new SupervisorLaunchError(`The task's supervisor exited before the task started (${signal ?? `exit code ${code}`})${stderrNote(stderr)}.`)),
      );
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const nl = stdout.indexOf('\n');
      if (nl === -1) {
        if (stdout.length > MAX_ANSWER_BYTES) done(new SupervisorLaunchError('The task’s supervisor answered with too much output.'));
        return;
      }
      let ack: SupervisorAck;
      try {
        ack = JSON.parse(stdout.slice(0, nl)) as SupervisorAck;
      } catch {
        done(new SupervisorLaunchError(`The task's supervisor answered something unexpected: ${JSON.stringify(stdout.slice(0, 200))}`));
        return;
      }
      if (ack.kind === 'started') done(undefined, { row: ack.row, pid: ack.pid });
      else done(new SupervisorLaunchError(ack.error));
    });
    child.stdin!.on('error', () => undefined); // a supervisor that died at once: 'exit' tells
    child.stdin!.end(JSON.stringify(options.request));
  });
}

/** What the supervisor said on stderr: Node's error line when it crashed, else its last line. */
function stderrNote(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const said = lines.find((l) => /^[A-Za-z]*Error\b/.test(l)) ?? lines.at(-1);
  return said ? `: ${said.slice(0, 500)}` : '';
}
