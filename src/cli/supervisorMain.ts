/**
 * The entry of a run's supervisor (dist/supervisor.js): reads one SupervisorRequest on stdin,
 * answers one line on stdout, then runs the task with no terminal (src/core/supervisor.ts).
 * Started by src/core/supervisorLaunch.ts; not a command for people.
 */
import { RUN_AS_NODE_ENV } from '../core/supervisorLaunch';
import { superviseRun, type SupervisorAck, type SupervisorRequest } from '../core/supervisor';
import { exitWhenFlushed } from './common';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  // Set only so that an editor's Electron runs this as Node: the agent must not inherit it.
  delete process.env[RUN_AS_NODE_ENV];
  // Once the launcher has its answer it closes the pipes: later writes must not kill the run.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let answered = false;
  const ack = (message: SupervisorAck): void => {
    if (answered) return;
    answered = true;
    process.stdout.write(`${JSON.stringify(message)}\n`, () => {
      process.stdout.end();
      process.stderr.end();
    });
  };
  let request: SupervisorRequest;
  try {
    request = JSON.parse(await readStdin()) as SupervisorRequest;
    if (typeof request?.storeDir !== 'string' || typeof request.spec !== 'object' || request.spec === null) throw new Error('no storeDir or spec');
  } catch (err) {
    ack({ kind: 'failed', error: `The supervisor got an unreadable request (${err instanceof Error ? err.message : String(err)})` });
    return 2;
  }
  return superviseRun(request, { ack, log: (message) => (answered ? undefined : process.stderr.write(`${message}\n`)) });
}

void main().then(exitWhenFlushed, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  exitWhenFlushed(1);
});
