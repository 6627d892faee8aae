import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * This process's peak resident set size in MiB: `VmHWM` from /proc/self/status.
 *
 * Not `process.resourceUsage().maxRSS`: on Linux a child's maxRSS carries over the peak of the
 * process that forked it (fork copies the parent's memory map with its high-water mark, and exec
 * folds that into the signal struct's maxrss), so a small child of a big parent reports the
 * parent's peak. VmHWM belongs to the current memory map, which exec replaces.
 */
export function peakRssMb(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/self/status');
  return Number(m[1]) / 1024;
}

/** fsyncs every file and folder under `dir` (and `dir` itself), so none of its data is still dirty. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(p);
    else if (entry.isFile()) await fsyncPath(p);
  }
  await fsyncPath(dir);
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
