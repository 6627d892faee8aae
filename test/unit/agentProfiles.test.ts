import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUILTIN_PROFILES,
  expandProfile,
  orderForPicking,
  passesSessionId,
  profileCommandPreview,
  profileSettingPath,
  resolveDefaultAgent,
  resolveProfiles,
  usesPrompt,
  validateProfile,
  type AgentProfile,
  type ProfileEntry,
} from '../../src/extension/model/agentProfiles';
import { parseBoolean, parseRetention } from '../../src/extension/model/settings';

const VARS = { prompt: 'Fix it', sessionId: 'sess-1', workspaceFolder: '/ws', taskId: 'task-1' };

function ok(entry: ProfileEntry): AgentProfile {
  assert.equal(entry.kind, 'ok', entry.kind !== 'ok' ? entry.problem : '');
  return (entry as Extract<ProfileEntry, { kind: 'ok' }>).profile;
}

function problem(entry: ProfileEntry): string {
  assert.notEqual(entry.kind, 'ok');
  return (entry as Exclude<ProfileEntry, { kind: 'ok' }>).problem;
}

function builtin(name: string): AgentProfile {
  const p = BUILTIN_PROFILES.find((b) => b.name === name);
  assert.ok(p);
  return p;
}

test('built-in claude expands to the documented argv, with the prompt as one element', () => {
  const prompt = 'fix "this"; rm -rf / && echo $HOME\nsecond line ${sessionId}';
  const e = expandProfile(builtin('claude'), 'start', { ...VARS, prompt });
  assert.equal(e.command, 'claude');
  assert.deepEqual(e.args, ['-p', prompt, '--output-format', 'stream-json', '--verbose', '--session-id', 'sess-1']);
  assert.equal(e.format, 'claude-stream-json');
  assert.equal(e.shell, false);
});

test('built-in claude resume and codex start/resume argv', () => {
  assert.deepEqual(expandProfile(builtin('claude'), 'resume', VARS).args, ['-p', 'Fix it', '--resume', 'sess-1', '--output-format', 'stream-json', '--verbose']);
  assert.deepEqual(expandProfile(builtin('codex'), 'start', VARS).args, ['exec', '--json', 'Fix it']);
  assert.deepEqual(expandProfile(builtin('codex'), 'resume', VARS).args, ['exec', 'resume', 'sess-1', '--json', 'Fix it']);
  assert.equal(builtin('codex').format, 'codex-json');
});

test('expansion sets the AGENT_TASKS_* variables and substitutes env values', () => {
  const p = ok(validateProfile('x', { command: 'x', args: [], env: { FOLDER: '${workspaceFolder}/sub', PLAIN: 'v' } }, 'user'));
  const e = expandProfile(p, 'start', VARS);
  assert.deepEqual(e.env, {
    FOLDER: '/ws/sub',
    PLAIN: 'v',
    AGENT_TASKS_TASK_ID: 'task-1',
    AGENT_TASKS_SESSION_ID: 'sess-1',
    AGENT_TASKS_WORKSPACE_FOLDER: '/ws',
    AGENT_TASKS_PROMPT: 'Fix it',
  });
  const noPrompt = expandProfile(p, 'start', { ...VARS, prompt: null });
  assert.equal('AGENT_TASKS_PROMPT' in noPrompt.env, false);
});

test('a placeholder inside an element keeps the element whole', () => {
  const p = ok(validateProfile('x', { command: '${workspaceFolder}/bin/agent', args: ['--prompt=${prompt}', '--id=${taskId}'] }, 'user'));
  const e = expandProfile(p, 'start', { ...VARS, prompt: 'a b  c' });
  assert.equal(e.command, '/ws/bin/agent');
  assert.deepEqual(e.args, ['--prompt=a b  c', '--id=task-1']);
});

test('resume without resumeArgs throws naming the setting', () => {
  const p = ok(validateProfile('tests', { command: 'npm', args: ['test'] }, 'user'));
  assert.throws(() => expandProfile(p, 'resume', VARS), /agentTasks\.agents\.tests\.resumeArgs is not set/);
});

test('missing args and format default to [] and text; shell defaults to false', () => {
  const p = ok(validateProfile('make', { command: 'make' }, 'user'));
  assert.deepEqual(p.args, []);
  assert.equal(p.format, 'text');
  assert.equal(p.shell, false);
  assert.deepEqual(p.env, {});
  assert.equal(p.resumeArgs, undefined);
});

test('malformed profiles: every problem named, with the setting path and scope', () => {
  assert.equal(problem(validateProfile('a', {}, 'user')), 'agentTasks.agents.a (user settings): "command" is missing.');
  assert.equal(problem(validateProfile('a', { command: 42 }, 'workspace')), 'agentTasks.agents.a (workspace settings): "command" must be a string, not number 42.');
  assert.equal(problem(validateProfile('a', { command: '  ' }, 'user')), 'agentTasks.agents.a (user settings): "command" is empty.');
  assert.equal(problem(validateProfile('a', 'claude', 'user')), 'agentTasks.agents.a (user settings): must be an object like { "command": "…", "args": ["…"] }, not string "claude".');
  assert.equal(
    problem(validateProfile('a', { command: 'x', args: 'p', format: 'json', shell: 'yes' }, 'user')),
    'agentTasks.agents.a (user settings): "args" must be an array of strings, not string "p"; "format" must be one of "text", "claude-stream-json", "codex-json", not string "json"; "shell" must be true or false, not string "yes".',
  );
  assert.equal(problem(validateProfile('a', { command: 'x', args: ['ok', 3] }, 'user')), 'agentTasks.agents.a (user settings): "args[1]" must be a string, not number 3.');
  assert.equal(problem(validateProfile('a', { command: 'x', env: { K: 1 } }, 'user')), 'agentTasks.agents.a (user settings): "env.K" must be a string.');
  assert.equal(problem(validateProfile('a', { command: 'x', resumeArgs: {} }, 'user')), 'agentTasks.agents.a (user settings): "resumeArgs" must be an array of strings, not an object.');
});

test('a malformed profile keeps what can be journaled (command, format)', () => {
  const entry = validateProfile('a', { command: 'agent', format: 'codex-json', args: 5 }, 'user');
  assert.equal(entry.kind, 'invalid');
  assert.equal(entry.kind === 'invalid' && entry.command, 'agent');
  assert.equal(entry.kind === 'invalid' && entry.format, 'codex-json');
});

test('unknown placeholders and ${prompt} in command are refused', () => {
  assert.match(problem(validateProfile('a', { command: 'x', args: ['${promt}'] }, 'user')), /"args\[0\]" has an unknown placeholder \$\{promt\} \(known: \$\{prompt\}, \$\{sessionId\}, \$\{workspaceFolder\}, \$\{taskId\}\)/);
  assert.match(problem(validateProfile('a', { command: 'x ${prompt}' }, 'user')), /"command" cannot contain \$\{prompt\}/);
});

test('shell profiles refuse ${prompt} and ${workspaceFolder} on the command line, not in env', () => {
  assert.match(
    problem(validateProfile('sh', { command: 'agent', args: ['${prompt}'], shell: true }, 'user')),
    /"args\[0\]" cannot use \$\{prompt\} in a "shell": true profile .*AGENT_TASKS_PROMPT/,
  );
  assert.match(problem(validateProfile('sh', { command: 'cd ${workspaceFolder} && agent', shell: true }, 'user')), /AGENT_TASKS_WORKSPACE_FOLDER/);
  const p = ok(validateProfile('sh', { command: 'agent "$AGENT_TASKS_PROMPT" --id ${taskId}', shell: true, env: { P: '${prompt}' } }, 'user'));
  const e = expandProfile(p, 'start', VARS);
  assert.equal(e.command, 'agent "$AGENT_TASKS_PROMPT" --id task-1');
  assert.equal(e.shell, true);
  assert.equal(e.env.P, 'Fix it');
  assert.equal(e.env.AGENT_TASKS_PROMPT, 'Fix it');
});

test('usesPrompt and passesSessionId', () => {
  assert.equal(usesPrompt(builtin('claude')), true);
  assert.equal(passesSessionId(builtin('claude')), true);
  assert.equal(passesSessionId(builtin('codex')), false);
  assert.equal(passesSessionId(builtin('codex'), 'resume'), true);
  assert.equal(usesPrompt(ok(validateProfile('t', { command: 'npm', args: ['test'] }, 'user'))), false);
  assert.equal(usesPrompt(ok(validateProfile('t', { command: 'agent "$AGENT_TASKS_PROMPT"', shell: true }, 'user'))), true);
  assert.equal(usesPrompt(ok(validateProfile('t', { command: 'agent', args: ['$AGENT_TASKS_PROMPT'] }, 'user'))), false);
});

test('profileSettingPath quotes names that are not plain words', () => {
  assert.equal(profileSettingPath('claude'), 'agentTasks.agents.claude');
  assert.equal(profileSettingPath('claude', 'command'), 'agentTasks.agents.claude.command');
  assert.equal(profileSettingPath('my agent'), 'agentTasks.agents["my agent"]');
});

test('resolveProfiles: built-ins, user replaces built-in whole, null removes, order kept', () => {
  const r = resolveProfiles({ user: { claude: { command: '/opt/claude', args: ['-p', '${prompt}'] }, codex: null, tests: { command: 'npm', args: ['test'] } } }, true);
  assert.deepEqual(r.entries.map((e) => `${e.name}:${e.kind}:${e.source}`), ['claude:ok:user', 'tests:ok:user']);
  const claude = ok(r.entries[0]);
  assert.equal(claude.command, '/opt/claude');
  assert.equal(claude.resumeArgs, undefined, 'no field-by-field merge with the built-in');
  assert.equal(claude.format, 'text');
  assert.deepEqual(r.problems, []);
});

test('resolveProfiles: a non-object setting is reported and ignored', () => {
  const r = resolveProfiles({ user: ['claude'] }, true);
  assert.deepEqual(r.entries.map((e) => e.name), ['claude', 'codex']);
  assert.deepEqual(r.problems, ['agentTasks.agents (user settings) must be an object of profiles (name → { "command": …, "args": […] }), not an array; it is ignored.']);
});

test('resolveProfiles: trusted workspace settings override user settings', () => {
  const r = resolveProfiles({ user: { a: { command: 'user-a' } }, workspace: { a: { command: 'ws-a' }, b: { command: 'ws-b' } } }, true);
  assert.equal(ok(r.entries.find((e) => e.name === 'a')!).command, 'ws-a');
  assert.equal(ok(r.entries.find((e) => e.name === 'b')!).command, 'ws-b');
});

test('resolveProfiles: untrusted workspace settings never run', () => {
  const r = resolveProfiles(
    { user: { a: { command: 'user-a' } }, workspace: { a: { command: 'evil' }, claude: { command: 'evil' }, b: { command: 'evil' } }, workspaceFolder: { c: { command: 'evil' } } },
    false,
  );
  assert.equal(ok(r.entries.find((e) => e.name === 'a')!).command, 'user-a');
  assert.equal(ok(r.entries.find((e) => e.name === 'claude')!).command, 'claude');
  const b = r.entries.find((e) => e.name === 'b')!;
  assert.equal(b.kind, 'blocked');
  assert.match(problem(b), /^The agent profile "b" comes from this workspace's settings \(agentTasks\.agents\.b\)\. This workspace is not trusted/);
  assert.equal(r.entries.find((e) => e.name === 'c')!.kind, 'blocked');
  assert.equal(JSON.stringify(r).includes('"evil"'), false);
});

test('resolveDefaultAgent: most specific trusted scope, user only when untrusted', () => {
  assert.equal(resolveDefaultAgent({}, true), 'claude');
  assert.equal(resolveDefaultAgent({ user: 'codex' }, true), 'codex');
  assert.equal(resolveDefaultAgent({ user: 'codex', workspace: 'mine' }, true), 'mine');
  assert.equal(resolveDefaultAgent({ user: 'codex', workspace: 'mine' }, false), 'codex');
  assert.equal(resolveDefaultAgent({ user: 7 }, true), 'claude');
});

test('orderForPicking puts the default first', () => {
  const r = resolveProfiles({ user: { tests: { command: 'npm' } } }, true);
  assert.deepEqual(orderForPicking(r.entries, 'tests').map((e) => e.name), ['tests', 'claude', 'codex']);
  assert.deepEqual(orderForPicking(r.entries, 'nope').map((e) => e.name), ['claude', 'codex', 'tests']);
});

test('profileCommandPreview', () => {
  assert.equal(profileCommandPreview(builtin('claude')), 'claude -p ${prompt} --output-format stream-json --verbose --session-id ${sessionId}');
  assert.equal(profileCommandPreview(builtin('codex'), 'resume'), 'codex exec resume ${sessionId} --json ${prompt}');
  assert.equal(profileCommandPreview(ok(validateProfile('x', { command: 'x', args: ['a b', '--p=${prompt}'] }, 'user'))), 'x "a b" "--p=\\${prompt}"');
});

test('retention and boolean settings: defaults, valid values, named problems', () => {
  assert.deepEqual(parseRetention({}), { value: { maxAgeDays: 90, maxRows: 10000 }, problems: [] });
  assert.deepEqual(parseRetention({ maxAgeDays: 0, maxEntries: 5 }), { value: { maxAgeDays: 0, maxRows: 5 }, problems: [] });
  assert.deepEqual(parseRetention({ maxAgeDays: '30', maxEntries: -1 }), {
    value: { maxAgeDays: 90, maxRows: 10000 },
    problems: [
      'agentTasks.history.maxAgeDays must be a whole number ≥ 0 (0 keeps everything), not "30"; using 90.',
      'agentTasks.history.maxEntries must be a whole number ≥ 0 (0 keeps everything), not -1; using 10000.',
    ],
  });
  assert.deepEqual(parseBoolean('agentTasks.statusBar.enabled', false, true), { value: false, problems: [] });
  assert.deepEqual(parseBoolean('agentTasks.statusBar.enabled', 'no', true), {
    value: true,
    problems: ['agentTasks.statusBar.enabled must be true or false, not "no"; using true.'],
  });
});
