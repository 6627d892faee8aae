// Claude's argv helpers, shared by the agents harness and the e2e suite (which cannot import harness.ts).

/** Claude's argv without the two-way stdio flags of its built-in (`--input-format stream-json`, `--permission-prompt-tool stdio`): a plain -p run. */
export function withoutTwoWayFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if ((args[i] === '--input-format' && args[i + 1] === 'stream-json') || (args[i] === '--permission-prompt-tool' && args[i + 1] === 'stdio')) i++;
    else out.push(args[i]);
  }
  return out;
}
