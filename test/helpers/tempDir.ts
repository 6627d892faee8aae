import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh folder under the OS temp dir; removed by the returned cleanup. */
export async function makeTempDir(prefix = 'agent-tasks-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

export function sampleTask(n = 0, extra: Record<string, unknown> = {}) {
  return {
    name: `task ${n}`,
    agent: 'claude',
    command: 'claude',
    args: ['-p', `prompt ${n}`, '--output-format', 'stream-json'],
    cwd: '/home/dev/project',
    workspace: '/home/dev/project',
    prompt: `prompt ${n}`,
    format: 'claude-stream-json' as const,
    ...extra,
  };
}
