/**
 * `npm run demo`: the packaged extension in a real code-server, with a demo workspace and the
 * fake agent (test/fixtures/fakeAgent.js) as the default agent profile, trusted. Prints the URL to
 * open; Ctrl-C (SIGINT) or SIGTERM stops code-server and everything it started, and removes the
 * temp folders.
 *
 * Profiles: `fake` (answers after 8 s, $0.0123), `fake-slow` (works for 10 min: cancel it, or
 * reload the window to see recovery), `fake-fail` (exit code 3), `fake-missing` (no such
 * command), plus the built-in `claude` and `codex` if those CLIs are installed.
 *
 * Environment: DEMO_EXIT_AFTER_S=N stops by itself after N seconds (for checking the script).
 * While the demo runs it holds the e2e harness's code-server lock: `npm run test:e2e` waits for it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CodeServer } from './codeServer';
import { defaultLog, ensureE2ETools, errorMessage } from './e2eSetup';
import { fakeProfiles, storeDir, vsixPath } from './agentTasksFixture';

const log = defaultLog;

async function main(): Promise<number> {
  let tools;
  try {
    tools = await ensureE2ETools({ log });
  } catch (err) {
    process.stderr.write(`\n${errorMessage(err)}\n`);
    return 2;
  }
  const vsix = vsixPath();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-demo-'));
  const workspace = path.join(tmp, 'demo-project');
  fs.mkdirSync(path.join(workspace, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(workspace, 'README.md'),
    [
      '# Agent Tasks demo',
      '',
      'Open the **Agent Tasks** view in the activity bar, then run **Agent Tasks: Run Agent Task…**',
      '(F1) and pick a profile. The agent here is a fake Claude Code (test/fixtures/fakeAgent.js):',
      '',
      '- `fake` answers after 8 seconds and costs $0.0123;',
      '- `fake-slow` works for 10 minutes: cancel it from its row, or reload the window',
      '  (F1 → Developer: Reload Window) while it runs to see it interrupted and offered for recovery;',
      '- `fake-fail` exits with code 3; `fake-missing` is a command that does not exist.',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(workspace, 'src', 'parser.ts'), 'export function parse(text: string): string[] {\n  return text.split("\\n");\n}\n');

  const cs = await CodeServer.start({
    tools,
    vsix: [vsix],
    trust: 'trusted',
    workspace,
    settings: {
      'agentTasks.agents': fakeProfiles({ argvLog: path.join(tmp, 'fake-agent-argv.jsonl'), sleepMs: 8000 }),
      'agentTasks.defaultAgent': 'fake',
      'workbench.startupEditor': 'readme',
    },
    log,
  });

  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      log(`${why}: stopping the demo`);
      await cs.stop().catch((err: unknown) => log(`stop: ${errorMessage(err)}`));
      fs.rmSync(tmp, { recursive: true, force: true });
    })());
  const stopped = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(sig).then(resolve));
    const after = Number(process.env.DEMO_EXIT_AFTER_S ?? '0');
    if (after > 0) setTimeout(() => void stop(`DEMO_EXIT_AFTER_S=${after}`).then(resolve), after * 1000);
  });

  const url = cs.workspaceUrl();
  process.stdout.write(
    [
      '',
      'Agent Tasks demo is running.',
      '',
      `  Open:        ${url}`,
      `  Workspace:   ${workspace}`,
      `  Task store:  ${storeDir(cs)}`,
      `  CLI:         node dist/cli.js list --store '${storeDir(cs)}'`,
      `  Server log:  ${cs.logFile}`,
      '',
      'The server listens on 127.0.0.1 only (from another machine: ssh -L ' + `${cs.port}:127.0.0.1:${cs.port}` + ').',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await stopped;
  log('demo stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
