import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

/** The compiled CLI (out/test/helpers → out/src/cli/main.js). */
export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

/**
 * Runs `agent-tasks ARGS` to completion, collecting its output. In the system's temporary folder
 * unless told otherwise: a run started in this repository's folder would snapshot it (git refs).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd: string = os.tmpdir()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
