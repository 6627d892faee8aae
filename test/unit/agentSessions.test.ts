/**
 * findAgentSession over real folders laid out as Claude Code, Codex and Gemini CLI lay them out
 * (the layouts test/agents/sessions.test.ts checks against the real CLIs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { claudeProjectSlug, findAgentSession, sessionAgent, type AgentSessionQuery } from '../../src/core/agentSessions';

const ID = '74482c4a-ab35-40b6-b929-12f6985f081f';
const OTHER = '74482c4a-0000-4000-8000-000000000000';

function tempHome(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-sessions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(file: string, text = '{}\n'): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function claude(home: string, extra: Partial<AgentSessionQuery> = {}): AgentSessionQuery {
  return { format: 'claude-stream-json', command: 'claude', sessionId: ID, cwd: '/home/me/my project', env: { HOME: home }, ...extra };
}

function codex(home: string, extra: Partial<AgentSessionQuery> = {}): AgentSessionQuery {
  return { format: 'codex-json', command: 'codex', sessionId: ID, cwd: '/home/me/project', env: { HOME: home }, ...extra };
}

function gemini(home: string, extra: Partial<AgentSessionQuery> = {}): AgentSessionQuery {
  return { format: 'gemini-stream-json', command: 'gemini', sessionId: ID, cwd: '/home/me/project', env: { HOME: home }, ...extra };
}

const tilde = (...parts: string[]): string => ['~', ...parts].join(path.sep);

test('the agent is told by the format and the program: anything else is not looked for', async () => {
  assert.equal(sessionAgent('claude-stream-json', 'claude'), 'claude');
  assert.equal(sessionAgent('claude-stream-json', '/opt/node_modules/.bin/claude'), 'claude');
  assert.equal(sessionAgent('claude-stream-json', 'C:\\Tools\\Claude.EXE'), 'claude');
  assert.equal(sessionAgent('codex-json', 'codex.cmd'), 'codex');
  assert.equal(sessionAgent('gemini-stream-json', '/usr/local/bin/gemini'), 'gemini');
  assert.equal(sessionAgent('claude-stream-json', 'node'), null, 'a program that prints Claude’s format is not Claude');
  assert.equal(sessionAgent('claude-stream-json', 'my-claude-wrapper'), null);
  assert.equal(sessionAgent('codex-json', 'claude'), null);
  assert.equal(sessionAgent('text', 'claude'), null);
  assert.equal(claudeProjectSlug('/home/me/my project.v2'), '-home-me-my-project-v2');
  const home = mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-sessions-'));
  try {
    assert.deepEqual(await findAgentSession(claude(home, { command: 'node' })), { state: 'unknown' });
    assert.deepEqual(await findAgentSession(claude(home, { format: 'text' })), { state: 'unknown' });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('claude: found in the folder of the run’s cwd, or in any project folder; else missing, with where it looked', async (t) => {
  const home = tempHome(t);
  const projects = path.join(home, '.claude', 'projects');
  const reason = `Claude Code has no transcript of session ${ID} under ${tilde('.claude', 'projects')}, so resuming it would fail ("No conversation found").`;
  assert.deepEqual(await findAgentSession(claude(home)), { state: 'missing', reason }, 'no ~/.claude/projects at all');

  write(path.join(projects, '-home-me-other', `${OTHER}.jsonl`));
  write(path.join(projects, '-home-me-my-project', `${ID}.jsonl.bak`));
  assert.deepEqual(await findAgentSession(claude(home)), { state: 'missing', reason });

  const direct = write(path.join(projects, '-home-me-my-project', `${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(claude(home)), { state: 'found', path: direct });
  rmSync(direct);
  // Newer versions shorten long folder names (with a hash): any project folder will do.
  const hashed = write(path.join(projects, '-home-me-my-proj-3f2a9c', `${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(claude(home)), { state: 'found', path: hashed });
  assert.deepEqual(await findAgentSession(claude(home, { cwd: null })), { state: 'found', path: hashed });
  assert.deepEqual(await findAgentSession(claude(home, { sessionId: ID.toUpperCase() })), { state: 'missing', reason: reason.replace(ID, ID.toUpperCase()) }, 'file names are exact');
});

test('claude: CLAUDE_CONFIG_DIR replaces ~/.claude; a folder outside the home folder is named in full', async (t) => {
  const home = tempHome(t);
  write(path.join(home, '.claude', 'projects', '-home-me-my-project', `${ID}.jsonl`));
  const config = path.join(home, 'elsewhere', 'claude-config');
  const missing = await findAgentSession(claude(home, { env: { HOME: home, CLAUDE_CONFIG_DIR: config } }));
  assert.equal(missing.state, 'missing', 'the default folder is not looked at');
  assert.match(missing.state === 'missing' ? missing.reason : '', new RegExp(` under ${escape(tilde('elsewhere', 'claude-config', 'projects'))}, `));
  const found = write(path.join(config, 'projects', 'x', `${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(claude(home, { env: { HOME: home, CLAUDE_CONFIG_DIR: config } })), { state: 'found', path: found });

  const outside = tempHome(t);
  const r = await findAgentSession(claude(home, { env: { HOME: home, CLAUDE_CONFIG_DIR: outside } }));
  assert.equal(r.state, 'missing');
  assert.ok(r.state === 'missing' && r.reason.includes(` under ${path.join(outside, 'projects')}, `), JSON.stringify(r));
  // Claude Code reads `CLAUDE_CONFIG_DIR ?? ~/.claude`: set but empty, it is the run's folder; `~` is not expanded.
  const work = path.join(home, 'work');
  const inWork = write(path.join(work, 'projects', 'p', `${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(claude(home, { cwd: work, env: { HOME: home, CLAUDE_CONFIG_DIR: '' } })), { state: 'found', path: inWork });
  const literal = write(path.join(work, '~', 'cfg', 'projects', 'p', `${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(claude(home, { cwd: work, env: { HOME: home, CLAUDE_CONFIG_DIR: '~/cfg' } })), { state: 'found', path: literal });
  // Codex and Gemini CLI take an empty variable as unset.
  const rollout = write(path.join(home, '.codex', 'sessions', '2026', '01', '01', `rollout-t-${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(codex(home, { cwd: work, env: { HOME: home, CODEX_HOME: '' } })), { state: 'found', path: rollout });
});

test('codex: the rollout of the thread under sessions/YYYY/MM/DD, CODEX_HOME, else missing', async (t) => {
  const home = tempHome(t);
  const sessions = path.join(home, '.codex', 'sessions');
  const reason = `Codex has no rollout of thread ${ID} under ${tilde('.codex', 'sessions')}, so resuming it would fail ("no rollout found for thread id").`;
  assert.deepEqual(await findAgentSession(codex(home)), { state: 'missing', reason });
  write(path.join(sessions, '2026', '12', '02', `rollout-2026-12-02T15-39-52-${OTHER}.jsonl`));
  write(path.join(sessions, '2026', '12', '01', `other-${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(codex(home)), { state: 'missing', reason });
  const rollout = write(path.join(sessions, '2025', '01', '31', `rollout-2025-01-31T08-00-00-${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(codex(home)), { state: 'found', path: rollout });

  const codexHome = path.join(home, 'custom-codex');
  assert.equal((await findAgentSession(codex(home, { env: { HOME: home, CODEX_HOME: codexHome } }))).state, 'missing');
  const custom = write(path.join(codexHome, 'sessions', '2026', '03', '04', `rollout-2026-03-04T00-00-00-${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(codex(home, { env: { HOME: home, CODEX_HOME: codexHome } })), { state: 'found', path: custom });
});

test('gemini: a chat file named after the first 8 characters whose first line names the session', async (t) => {
  const home = tempHome(t);
  const chats = path.join(home, '.gemini', 'tmp', 'project', 'chats');
  const reason = `Gemini CLI has no saved chat of session ${ID} under ${tilde('.gemini', 'tmp')}, so resuming it would fail ("Error resuming session").`;
  assert.deepEqual(await findAgentSession(gemini(home)), { state: 'missing', reason });
  // Same first 8 characters, another session: not it.
  write(path.join(chats, `session-2026-12-02T15-39-${ID.slice(0, 8)}.jsonl`), `{"sessionId":"${OTHER}","projectHash":"abc"}\n{"type":"user"}\n`);
  assert.deepEqual(await findAgentSession(gemini(home)), { state: 'missing', reason });
  const file = write(path.join(chats, `session-2026-12-02T15-40-${ID.slice(0, 8)}.jsonl`), `{"sessionId":"${ID}","projectHash":"abc","kind":"main"}\n{"type":"user"}\n`);
  assert.deepEqual(await findAgentSession(gemini(home)), { state: 'found', path: file });
  rmSync(file);
  // Older versions wrote one pretty-printed JSON file.
  const legacy = write(path.join(home, '.gemini', 'tmp', '0123abcd', 'chats', `session-2025-06-01T10-00-${ID.slice(0, 8)}.json`), JSON.stringify({ sessionId: ID, messages: [] }, null, 2));
  assert.deepEqual(await findAgentSession(gemini(home)), { state: 'found', path: legacy });
  // GEMINI_CLI_HOME replaces the home folder.
  const cliHome = path.join(home, 'gemini-home');
  assert.equal((await findAgentSession(gemini(home, { env: { HOME: home, GEMINI_CLI_HOME: cliHome } }))).state, 'missing');
  const moved = write(path.join(cliHome, '.gemini', 'tmp', 'p', 'chats', `session-x-${ID.slice(0, 8)}.jsonl`), `{"sessionId":"${ID}"}\n`);
  assert.deepEqual(await findAgentSession(gemini(home, { env: { HOME: home, GEMINI_CLI_HOME: cliHome } })), { state: 'found', path: moved });
});

test('session ids are not trusted: no path is built from anything but a UUID', async (t) => {
  const home = tempHome(t);
  // A file that a traversal would reach.
  write(path.join(home, '.claude', 'projects', 'p', 'x.jsonl'));
  write(path.join(home, 'secret.jsonl'));
  for (const id of ['../../secret', '../secret', 'p/x', 'x', `${ID}\0`, `${ID}/..`, `${ID}.jsonl`, '', ` ${ID}`, '*', `${ID}|rm`]) {
    for (const query of [claude(home, { sessionId: id }), codex(home, { sessionId: id }), gemini(home, { sessionId: id })]) {
      const r = await findAgentSession(query);
      assert.equal(r.state, 'unknown', `${query.format} ${JSON.stringify(id)}: ${JSON.stringify(r)}`);
    }
  }
  assert.equal((await findAgentSession(claude(home, { sessionId: 42 as unknown as string }))).state, 'unknown');
});

test('an unreadable folder is unknown, not missing; a root that is a file is missing', async (t) => {
  const home = tempHome(t);
  const claudeDir = path.join(home, '.claude');
  mkdirSync(claudeDir, { recursive: true });
  // A link to itself cannot be opened (ELOOP), even by root.
  symlinkSync('projects', path.join(claudeDir, 'projects'));
  const loop = await findAgentSession(claude(home));
  assert.equal(loop.state, 'unknown', JSON.stringify(loop));
  assert.match(loop.state === 'unknown' ? (loop.detail ?? '') : '', /could not read .*ELOOP/);

  rmSync(path.join(claudeDir, 'projects'));
  mkdirSync(path.join(claudeDir, 'projects', 'fine'), { recursive: true });
  symlinkSync('loop', path.join(claudeDir, 'projects', 'loop'));
  assert.equal((await findAgentSession(claude(home))).state, 'unknown', 'one project folder could not be looked into');
  write(path.join(claudeDir, 'projects', 'fine', `${ID}.jsonl`));
  assert.equal((await findAgentSession(claude(home))).state, 'found', 'found elsewhere: found');

  write(path.join(home, '.codex'), 'not a folder');
  assert.equal((await findAgentSession(codex(home))).state, 'missing');

  if (process.getuid?.() !== 0 && process.platform !== 'win32') {
    const locked = path.join(home, '.gemini', 'tmp');
    mkdirSync(locked, { recursive: true });
    chmodSync(locked, 0o000);
    t.after(() => chmodSync(locked, 0o700));
    assert.equal((await findAgentSession(gemini(home))).state, 'unknown');
  }
});

test('the walk is bounded: past its entry budget or its deadline, a miss is unknown', async (t) => {
  const home = tempHome(t);
  const projects = path.join(home, '.claude', 'projects');
  for (let i = 0; i < 300; i++) mkdirSync(path.join(projects, `p${String(i).padStart(3, '0')}`), { recursive: true });
  assert.equal((await findAgentSession(claude(home))).state, 'missing', 'within the default budget');
  const capped = await findAgentSession(claude(home, { maxEntries: 50 }));
  assert.deepEqual(capped, { state: 'unknown', detail: 'more than 50 entries to look through' });
  const late = await findAgentSession(claude(home, { timeoutMs: 0 }));
  assert.deepEqual(late, { state: 'unknown', detail: 'looking for the session took longer than 0 ms' });

  const sessions = path.join(home, '.codex', 'sessions');
  for (let d = 1; d <= 20; d++) mkdirSync(path.join(sessions, '2026', '01', String(d).padStart(2, '0')), { recursive: true });
  write(path.join(sessions, '2025', '12', '31', `rollout-2025-12-31T00-00-00-${ID}.jsonl`));
  assert.equal((await findAgentSession(codex(home))).state, 'found', 'newest folders first, then the older ones');
  assert.equal((await findAgentSession(codex(home, { maxEntries: 10 }))).state, 'unknown');
});

test('HOME of the run’s environment, not of this process', async (t) => {
  const home = tempHome(t);
  const file = write(path.join(home, '.claude', 'projects', 'p', `${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(claude(home)), { state: 'found', path: file });
  const elsewhere = tempHome(t);
  assert.equal((await findAgentSession(claude(home, { env: { HOME: elsewhere } }))).state, 'missing');
  // A relative CODEX_HOME is the agent's: relative to the run's folder.
  const work = path.join(home, 'work');
  const rollout = write(path.join(work, 'codex-home', 'sessions', '2026', '01', '01', `rollout-t-${ID}.jsonl`));
  assert.deepEqual(await findAgentSession(codex(home, { cwd: work, env: { HOME: home, CODEX_HOME: 'codex-home' } })), { state: 'found', path: rollout });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
