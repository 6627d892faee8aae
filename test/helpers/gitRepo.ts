/** Temporary git repositories for the snapshot tests: real git, a fixed identity, no user config. */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** An identity and no global/system config, so a developer's own git settings cannot change what a test sees. */
export const GIT_TEST_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Runs git in `cwd` (synchronously: test set-up only) and returns its trimmed stdout. */
export function gitSync(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_TEST_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A new repository in `dir` holding `files`, committed unless `commit` is false. */
export async function makeRepo(dir: string, files: Record<string, string | Buffer>, options: { commit?: boolean } = {}): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  gitSync(dir, 'init', '-q', '-b', 'main');
  await writeFiles(dir, files);
  if (options.commit !== false) {
    gitSync(dir, 'add', '-A');
    gitSync(dir, 'commit', '-q', '-m', 'initial');
  }
  return dir;
}

export async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fsp.writeFile(path.join(dir, name), content);
  }
}

/**
 * A Node script for a run's child: it waits until the run's start snapshot exists (its ref), so
 * what it then does is the run's own change whatever the machine's speed, and then runs `body`
 * (with `fs`, `path` and `cp` = child_process in scope) in its cwd.
 */
export function changeScript(repo: string, taskId: string, body: string): string {
  const ref = path.join(gitSync(repo, 'rev-parse', '--path-format=absolute', '--git-common-dir'), 'refs', 'agent-tasks', taskId, 'start');
  return `const fs = require('fs'), path = require('path'), cp = require('child_process');
const until = Date.now() + 20000;
(function wait() {
  if (fs.existsSync(${JSON.stringify(ref)})) { ${body}; return; }
  if (Date.now() > until) { console.error('no start snapshot'); process.exit(3); }
  setTimeout(wait, 10);
})();`;
}
