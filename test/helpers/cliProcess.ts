import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** The compiled CLI (out/test/helpers → out/src/cli/main.js). */
export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

/** Runs `agent-tasks ARGS` to completion, collecting its output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
