/** True when signal 0 reaches `pid` (it exists, zombies included, and is ours to signal). */
export function signalZeroSucceeds(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
