import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
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
import { OUTPUT_FORMATS } from '../../src/core/taskTypes';

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

test('built-in claude expands to the documented argv, with the prompt on stdin and nowhere else', () => {
  const prompt = '- fix "this"; rm -rf / && echo $HOME\nsecond line ${sessionId}';
  const e = expandProfile(builtin('claude'), 'start', { ...VARS, prompt });
  assert.equal(e.command, 'claude');
  assert.deepEqual(e.args, ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-prompt-tool', 'stdio', '--session-id', 'sess-1']);
  assert.equal(e.stdin, prompt, 'the prompt byte for byte, placeholders in it untouched');
  assert.equal(e.interactive, true, 'it asks: requests go to the journal, the prompt is its first user message');
  assert.equal(e.format, 'claude-stream-json');
  assert.equal(e.shell, false);
  assert.equal('AGENT_TASKS_PROMPT' in e.env, false, 'not in the environment either (128 KB per string there too)');
  assert.equal(e.env.AGENT_TASKS_SESSION_ID, 'sess-1');
});

test('built-in claude resume and codex start/resume argv', () => {
  const resume = expandProfile(builtin('claude'), 'resume', VARS);
  assert.deepEqual(resume.args, ['-p', '--resume', 'sess-1', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-prompt-tool', 'stdio']);
  assert.equal(resume.interactive, true);
  assert.equal(resume.stdin, 'Fix it');
  // The sandbox that lets edits and commands run; -s and --skip-git-repo-check are `exec` options, before `resume`; `-` reads the prompt from stdin.
  const codex = expandProfile(builtin('codex'), 'start', VARS);
  assert.deepEqual(codex.args, ['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', '-']);
  assert.equal(codex.stdin, 'Fix it');
  const codexResume = expandProfile(builtin('codex'), 'resume', VARS);
  assert.deepEqual(codexResume.args, ['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', 'resume', 'sess-1', '-']);
  assert.equal(codexResume.stdin, 'Fix it');
  assert.equal(builtin('codex').command, 'codex');
  assert.equal(builtin('codex').format, 'codex-json');
});

test('built-in gemini: headless stream-json with a fixed model, yolo approvals, our session id; resume by id; the prompt on stdin, no -p', () => {
  const prompt = 'two\nlines "and" $(quotes)';
  const e = expandProfile(builtin('gemini'), 'start', { ...VARS, prompt });
  assert.equal(e.command, 'gemini');
  assert.deepEqual(e.args, ['-m', 'gemini-2.5-flash', '--output-format', 'stream-json', '--approval-mode', 'yolo', '--session-id', 'sess-1']);
  assert.equal(e.stdin, prompt);
  assert.equal(e.format, 'gemini-stream-json');
  assert.equal(e.shell, false);
  const resume = expandProfile(builtin('gemini'), 'resume', VARS);
  assert.deepEqual(resume.args, ['-m', 'gemini-2.5-flash', '--resume', 'sess-1', '--output-format', 'stream-json', '--approval-mode', 'yolo']);
  assert.equal(resume.stdin, 'Fix it');
});

test('built-ins: claude, codex, gemini, in that order, each valid as a user profile and able to resume', () => {
  assert.deepEqual(BUILTIN_PROFILES.map((p) => p.name), ['claude', 'codex', 'gemini']);
  for (const p of BUILTIN_PROFILES) {
    assert.equal(p.source, 'built-in');
    assert.ok((OUTPUT_FORMATS as readonly string[]).includes(p.format), p.name);
    // The same checks a user's copy of it goes through.
    const copy = ok(validateProfile(p.name, { command: p.command, args: [...p.args], resumeArgs: p.resumeArgs, format: p.format, promptInput: p.promptInput, interactive: p.interactive }, 'user'));
    assert.deepEqual({ ...copy, source: 'built-in' }, p);
    assert.ok(p.resumeArgs?.includes('${sessionId}'), `${p.name} resumes by session id`);
    assert.equal(usesPrompt(p), true, p.name);
    assert.equal(usesPrompt(p, 'resume'), true, p.name);
    // The prompt goes on stdin, for new runs and resumes: never on the command line.
    assert.equal(p.promptInput, 'stdin', p.name);
    for (const args of [p.args, p.resumeArgs ?? []]) assert.deepEqual(args.filter((a) => a.includes('${prompt}')), [], p.name);
  }
});

test('promptInput: "argument" by default (a profile with ${prompt} in args works as before), "stdin" puts the prompt on stdin only', () => {
  const old = ok(validateProfile('old', { command: 'claude', args: ['-p', '${prompt}', '--session-id', '${sessionId}'] }, 'user'));
  assert.equal(old.promptInput, 'argument');
  const e = expandProfile(old, 'start', VARS);
  assert.deepEqual(e.args, ['-p', 'Fix it', '--session-id', 'sess-1']);
  assert.equal(e.stdin, null, 'no stdin: /dev/null, as before');
  assert.equal(e.env.AGENT_TASKS_PROMPT, 'Fix it');
  assert.equal(ok(validateProfile('arg', { command: 'x', args: ['${prompt}'], promptInput: 'argument' }, 'user')).promptInput, 'argument');
  // A plain command that never mentions the prompt is not asked for one…
  assert.equal(usesPrompt(ok(validateProfile('make', { command: 'make' }, 'user'))), false);
  // …but a stdin profile always is, even with no placeholder anywhere.
  const stdin = ok(validateProfile('agent', { command: 'my-agent', args: ['--stdin'], resumeArgs: ['--resume', '${sessionId}'], promptInput: 'stdin' }, 'user'));
  assert.equal(stdin.promptInput, 'stdin');
  assert.equal(usesPrompt(stdin), true);
  assert.equal(usesPrompt(stdin, 'resume'), true);
  const s = expandProfile(stdin, 'resume', { ...VARS, prompt: '-n 1' });
  assert.deepEqual(s.args, ['--resume', 'sess-1']);
  assert.equal(s.stdin, '-n 1');
  assert.equal('AGENT_TASKS_PROMPT' in s.env, false);
  // A shell profile may take it on stdin too: the shell never sees it.
  const sh = ok(validateProfile('sh', { command: 'my-agent --stdin | tee -a agent.log', shell: true, promptInput: 'stdin' }, 'user'));
  assert.equal(expandProfile(sh, 'start', VARS).stdin, 'Fix it');
});

test('promptInput: "stdin" refuses ${prompt} in args, resumeArgs and env, naming the setting; a bad value is named too', () => {
  assert.equal(
    problem(validateProfile('claude', { command: 'claude', args: ['-p', '${prompt}'], promptInput: 'stdin' }, 'user')),
    'agentTasks.agents.claude (user settings): "args[1]" cannot use ${prompt}: "promptInput" is "stdin", so the prompt goes on the agent\'s standard input; remove ${prompt}, or set "promptInput": "argument".',
  );
  assert.match(
    problem(validateProfile('my agent', { command: 'a', resumeArgs: ['--resume', '${sessionId}', '--prompt=${prompt}'], env: { P: '${prompt}' }, promptInput: 'stdin' }, 'workspace')),
    /^agentTasks\.agents\["my agent"\] \(workspace settings\): "resumeArgs\[2\]" cannot use \$\{prompt\}: "promptInput" is "stdin".*; "env\.P" cannot use \$\{prompt\}: "promptInput" is "stdin"/,
  );
  assert.equal(
    problem(validateProfile('a', { command: 'a', promptInput: 'pipe' }, 'user')),
    'agentTasks.agents.a (user settings): "promptInput" must be "argument" or "stdin", not string "pipe".',
  );
  assert.match(problem(validateProfile('a', { command: 'a', promptInput: true }, 'user')), /"promptInput" must be "argument" or "stdin", not boolean true/);
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
    `agentTasks.agents.a (user settings): "args" must be an array of strings, not string "p"; "format" must be one of ${OUTPUT_FORMATS.map((f) => `"${f}"`).join(', ')}, not string "json"; "shell" must be true or false, not string "yes".`,
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
  // Gemini takes a preset id (`--session-id`), so it is journaled before the run starts, as Claude's.
  assert.equal(passesSessionId(builtin('gemini')), true);
  assert.equal(passesSessionId(builtin('gemini'), 'resume'), true);
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
  assert.deepEqual(r.entries.map((e) => `${e.name}:${e.kind}:${e.source}`), ['claude:ok:user', 'gemini:ok:built-in', 'tests:ok:user']);
  const claude = ok(r.entries[0]);
  assert.equal(claude.command, '/opt/claude');
  assert.equal(claude.resumeArgs, undefined, 'no field-by-field merge with the built-in');
  assert.equal(claude.format, 'text');
  assert.deepEqual(r.problems, []);
});

test('resolveProfiles: a non-object setting is reported and ignored', () => {
  const r = resolveProfiles({ user: ['claude'] }, true);
  assert.deepEqual(r.entries.map((e) => e.name), ['claude', 'codex', 'gemini']);
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
  assert.deepEqual(orderForPicking(r.entries, 'tests').map((e) => e.name), ['tests', 'claude', 'codex', 'gemini']);
  assert.deepEqual(orderForPicking(r.entries, 'gemini').map((e) => e.name), ['gemini', 'claude', 'codex', 'tests']);
  assert.deepEqual(orderForPicking(r.entries, 'nope').map((e) => e.name), ['claude', 'codex', 'gemini', 'tests']);
});

test('profileCommandPreview', () => {
  // `< ${prompt}`: the prompt is written to its standard input.
  assert.equal(profileCommandPreview(builtin('claude')), 'claude -p --input-format stream-json --output-format stream-json --verbose --permission-prompt-tool stdio --session-id ${sessionId} < ${prompt}');
  assert.equal(profileCommandPreview(builtin('claude'), 'resume'), 'claude -p --resume ${sessionId} --input-format stream-json --output-format stream-json --verbose --permission-prompt-tool stdio < ${prompt}');
  assert.equal(profileCommandPreview(builtin('codex')), 'codex exec --json -s workspace-write --skip-git-repo-check - < ${prompt}');
  assert.equal(profileCommandPreview(builtin('codex'), 'resume'), 'codex exec --json -s workspace-write --skip-git-repo-check resume ${sessionId} - < ${prompt}');
  assert.equal(profileCommandPreview(builtin('gemini')), 'gemini -m gemini-2.5-flash --output-format stream-json --approval-mode yolo --session-id ${sessionId} < ${prompt}');
  assert.equal(profileCommandPreview(builtin('gemini'), 'resume'), 'gemini -m gemini-2.5-flash --resume ${sessionId} --output-format stream-json --approval-mode yolo < ${prompt}');
  assert.equal(profileCommandPreview(ok(validateProfile('c', { command: 'claude', args: ['-p', '${prompt}'] }, 'user'))), 'claude -p ${prompt}');
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

// --- Shells and interpreters given a script as an argument ---------------------------------

function refused(command: string, args: string[], field = 'args'): string {
  return problem(validateProfile('p', { command, [field]: args }, 'user'));
}

function accepted(command: string, args: string[]): AgentProfile {
  return ok(validateProfile('p', { command, args }, 'user'));
}

test('sh -c "echo ${prompt}" is refused with the message shell: true gets, naming the profile and the way out', () => {
  assert.equal(
    refused('sh', ['-c', 'echo ${prompt}']),
    'agentTasks.agents.p (user settings): "args[1]" cannot use ${prompt} in the script that sh -c runs (sh would parse it): ' +
      'use the environment variable AGENT_TASKS_PROMPT instead, quoted ("$AGENT_TASKS_PROMPT"), ' +
      'or pass ${prompt} as an argument of its own after the script and a name for $0, read as "$1" (["-c", "agent \\"$1\\"", "sh", "${prompt}"]).',
  );
  assert.match(refused('bash', ['-c', 'cd ${workspaceFolder} && make']), /"args\[1\]" cannot use \$\{workspaceFolder\} in the script that bash -c runs .*AGENT_TASKS_WORKSPACE_FOLDER/);
  assert.match(refused('bash', ['-c', 'agent ${prompt}'], 'resumeArgs'), /"resumeArgs\[1\]" cannot use \$\{prompt\} in the script that bash -c runs/);
  // The placeholders that are ids stay allowed.
  accepted('sh', ['-c', 'agent --session ${sessionId} --task ${taskId}']);
});

test('sh family: -c alone or in a flag block, the first operand after the options is the script', () => {
  for (const shell of ['sh', 'bash', 'zsh', 'dash', 'ksh', '/bin/bash', '/usr/local/bin/zsh', 'C:\\Program Files\\Git\\bin\\bash.exe']) {
    const name = shell.split(/[\\/]/).pop()!.replace(/\.exe$/, '');
    for (const args of [
      ['-c', 'echo ${prompt}'],
      ['-lc', 'echo ${prompt}'],
      ['-ec', 'echo "${prompt}"'],
      ['-c', '-e', 'echo ${prompt}'],
      ['-o', 'pipefail', '-c', 'echo ${prompt}'],
      ['--login', '-c', '--', 'echo ${prompt}'],
    ]) {
      assert.match(refused(shell, args), new RegExp(`"args\\[${args.length - 1}\\]" cannot use \\$\\{prompt\\} in the script that ${name} -c runs`), `${shell} ${args.join(' ')}`);
    }
    // The safe pattern: the prompt as $1 (after the script and $0), or from the environment.
    accepted(shell, ['-c', 'echo "$1"', 'sh', '${prompt}']);
    accepted(shell, ['-lc', 'agent "$1" "$2"', 'sh', '${prompt}', '${workspaceFolder}']);
    accepted(shell, ['-c', 'agent "$AGENT_TASKS_PROMPT"']);
    accepted(shell, ['-o', 'pipefail', '-c', 'agent "$1" | tee log', '${prompt}', '${prompt}']);
    // Without -c the operand is a script file and the rest are its arguments.
    accepted(shell, ['./run-agent.sh', '${prompt}']);
    accepted(shell, ['-e', '${workspaceFolder}/run-agent.sh', '${prompt}']);
  }
  // A prompt where the shell still reads options could be one ("-c…").
  assert.match(refused('bash', ['${prompt}']), /"args\[0\]" cannot start with \$\{prompt\} here: bash still reads its own options at that point/);
});

test('fish: -c, --command and --command=, other operands are $argv', () => {
  assert.match(refused('fish', ['-c', 'echo ${prompt}']), /"args\[1\]" cannot use \$\{prompt\} in the script that fish -c runs .*as \$AGENT_TASKS_PROMPT/);
  assert.match(refused('fish', ['-lc', 'echo ${prompt}']), /"args\[1\]" cannot use \$\{prompt\} in the script that fish -c runs/);
  assert.match(refused('fish', ['--command', 'echo ${prompt}']), /"args\[1\]" .*fish --command runs/);
  assert.match(refused('/usr/bin/fish', ['--command=echo ${prompt}']), /"args\[0\]" .*fish --command runs/);
  // fish reads options up to the first operand: $argv goes after "--".
  assert.match(refused('fish', ['-c', 'agent $argv[1]', '${prompt}']), /"args\[2\]" cannot start with \$\{prompt\} here: fish still reads/);
  accepted('fish', ['-c', 'agent $argv[1]', '--', '${prompt}']);
  accepted('fish', ['--command', 'agent $AGENT_TASKS_PROMPT']);
});

test('cmd /c and /k: cmd parses its whole command line, in any case, with or without .exe', () => {
  const message = /"args\[2\]" cannot use \$\{prompt\} in a cmd command line \(cmd parses all of it, %AGENT_TASKS_PROMPT% included\): run the program itself as "command"/;
  for (const cmd of ['cmd', 'cmd.exe', 'CMD.EXE', 'C:\\Windows\\System32\\cmd.exe']) {
    for (const flag of ['/c', '/C', '/k', '/K']) assert.match(refused(cmd, [flag, 'agent', '${prompt}']), message, `${cmd} ${flag}`);
    assert.match(refused(cmd, ['/d', '/s', '/c', 'cd ${workspaceFolder} && build']), /"args\[3\]" cannot use \$\{workspaceFolder\} in a cmd command line/);
    accepted(cmd, ['/c', 'build.bat', '--id', '${taskId}']);
  }
});

test('powershell and pwsh: -Command (any prefix, any case) and everything after it, -EncodedCommand; -File args are values', () => {
  for (const ps of ['powershell', 'powershell.exe', 'pwsh', 'PWSH.EXE', 'C:\\Program Files\\PowerShell\\7\\pwsh.exe']) {
    const name = ps.split(/[\\/]/).pop()!.toLowerCase().replace(/\.exe$/, '');
    for (const args of [
      ['-Command', 'Write-Output ${prompt}'],
      ['-command', 'agent', '${prompt}'],
      ['-c', 'agent "${prompt}"'],
      ['-NoProfile', '-ExecutionPolicy', 'Bypass', '-Command', 'agent ${prompt}'],
    ]) {
      assert.match(refused(ps, args), new RegExp(`"args\\[${args.length - 1}\\]" cannot use \\$\\{prompt\\} in the script that ${name} -Command runs .*as \\$env:AGENT_TASKS_PROMPT`), `${ps} ${args.join(' ')}`);
    }
    assert.match(refused(ps, ['-EncodedCommand', '${prompt}']), /-EncodedCommand runs/);
    assert.match(refused(ps, ['-ec', '${prompt}']), /-EncodedCommand runs/);
    accepted(ps, ['-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', 'agent.ps1', '${prompt}', '${workspaceFolder}']);
    accepted(ps, ['-NoProfile', '-Command', 'agent $env:AGENT_TASKS_PROMPT']);
    accepted(ps, ['-CommandWithArgs', 'agent $args[0]', '${prompt}']);
  }
  // Windows PowerShell runs a first operand as a command; pwsh runs it as a script file.
  assert.match(refused('powershell', ['-NoProfile', 'agent ${prompt}']), /"args\[1\]" cannot use \$\{prompt\} in the script that powershell runs/);
  accepted('pwsh', ['agent.ps1', '${prompt}']);
});

test('node -e/--eval/-p/--print: the script is refused, and so is a prompt where node still reads options', () => {
  for (const node of ['node', '/usr/bin/node', 'node.exe']) {
    for (const flag of ['-e', '--eval', '-p', '--print', '-pe']) {
      assert.match(refused(node, [flag, 'run(`${prompt}`)']), new RegExp(`"args\\[1\\]" cannot use \\$\\{prompt\\} in the script that node ${flag} runs .*as process\\.env\\.AGENT_TASKS_PROMPT`));
    }
    assert.match(refused(node, ['--eval=run("${prompt}")']), /"args\[0\]" .*node --eval runs/);
    // Options are still read after the script: a prompt "--eval=…" would replace it.
    assert.match(refused(node, ['-e', 'console.log(process.argv[1])', '${prompt}']), /"args\[2\]" cannot start with \$\{prompt\} here: node still reads its own options at that point, .*put "--" before it/);
    accepted(node, ['-e', 'console.log(process.argv[1])', '--', '${prompt}']);
    accepted(node, ['agent.js', '-p', '${prompt}']);
    accepted(node, ['--require', './setup.js', '${workspaceFolder}/agent.js', '-e', '${prompt}']);
  }
});

test('python -c, perl -e/-E, ruby -e', () => {
  for (const py of ['python', 'python3', 'python3.12', '/usr/bin/python3', 'python.exe', 'py']) {
    assert.match(refused(py, ['-c', 'print("${prompt}")']), /"args\[1\]" cannot use \$\{prompt\} in the script that .* -c runs .*os\.environ\["AGENT_TASKS_PROMPT"\]/, py);
    assert.match(refused(py, ['-I', '-c', 'print("${prompt}")']), /"args\[2\]"/);
    assert.match(refused(py, ['-Ic', 'print("${prompt}")']), /"args\[1\]"/);
    assert.match(refused(py, ['-cprint("${prompt}")']), /"args\[0\]"/);
    assert.match(refused(py, ['-m', '${prompt}']), /"args\[1\]" cannot contain \$\{prompt\}: .* -m runs it as a command/);
    assert.match(refused(py, ['${prompt}']), /cannot start with \$\{prompt\} here/);
    // -c ends python's options: what follows is sys.argv.
    accepted(py, ['-c', 'import sys; agent(sys.argv[1])', '${prompt}']);
    accepted(py, ['agent.py', '${prompt}']);
    accepted(py, ['-m', 'agent', '--prompt', '${prompt}']);
  }
  for (const flag of ['-e', '-E', '-ne', '-wle', '-l012e', '-0777ne', '-pe']) {
    assert.match(refused('perl', [flag, 'print "${prompt}"']), /"args\[1\]" cannot use \$\{prompt\} in the script that perl -[eE] runs .*as \$ENV\{AGENT_TASKS_PROMPT\}/, flag);
  }
  assert.match(refused('perl', ['-i.bak', '-pe', 's/x/${prompt}/', 'notes.txt']), /"args\[2\]" .*perl -e runs/);
  assert.match(refused('perl', ['-e', 'print $ARGV[0]', '${prompt}']), /"args\[2\]" cannot start with \$\{prompt\} here: perl still reads/);
  assert.match(refused('perl', ['-ne', 'print', '--', '${prompt}']), /"args\[3\]" cannot use \$\{prompt\} as a file for perl -n\/-p/);
  accepted('perl', ['-e', 'print $ARGV[0]', '--', '${prompt}']);
  accepted('perl', ['agent.pl', '${prompt}']);
  assert.match(refused('ruby', ['-e', 'puts "${prompt}"']), /"args\[1\]" cannot use \$\{prompt\} in the script that ruby -e runs .*as ENV\["AGENT_TASKS_PROMPT"\]/);
  assert.match(refused('/usr/bin/ruby', ['-rjson', '-e', 'puts "${prompt}"']), /"args\[2\]"/);
  assert.match(refused('ruby', ['-e', 'puts ARGV[0]', '${prompt}']), /"args\[2\]" cannot start with \$\{prompt\} here/);
  accepted('ruby', ['-e', 'puts ARGV[0]', '--', '${prompt}']);
  accepted('ruby', ['agent.rb', '${prompt}']);
});

test('env in front of a shell or interpreter is seen through', () => {
  assert.match(refused('env', ['bash', '-c', 'echo ${prompt}']), /"args\[2\]" cannot use \$\{prompt\} in the script that bash -c runs/);
  assert.match(refused('/usr/bin/env', ['-i', 'PATH=/bin', 'HOME=${workspaceFolder}', '/bin/sh', '-ec', 'echo ${prompt}']), /"args\[5\]" .*sh -c runs/);
  assert.match(refused('env', ['-u', 'HOME', '--', 'python3', '-c', 'print("${prompt}")']), /"args\[5\]" .*python3 -c runs/);
  assert.match(refused('env', ['env', 'node', '-e', '${prompt}']), /"args\[3\]" .*node -e runs/);
  // -S splits its string into arguments.
  assert.match(refused('env', ['-S', 'agent ${prompt}']), /"args\[1\]" cannot use \$\{prompt\} in the string that env -S splits/);
  assert.match(refused('env', ['-S', 'bash -c', 'echo ${prompt}']), /"args\[2\]" .*bash -c runs/);
  assert.match(refused('env', ['${prompt}']), /"args\[0\]" cannot start with \$\{prompt\} here: env still reads/);
  assert.match(refused('env', ['--', '${prompt}']), /"args\[1\]" cannot contain \$\{prompt\}: env runs it as a command/);
  accepted('env', ['bash', '-c', 'echo "$1"', 'sh', '${prompt}']);
  accepted('env', ['PROMPT=${prompt}', 'agent', '${prompt}']);
});

test('other programs get the prompt as one plain argument, whatever their flags look like', () => {
  for (const command of ['agent', 'claude', 'bashful', 'nodemon', 'my-sh', './sh-wrapper']) {
    accepted(command, ['-c', '${prompt}']);
    accepted(command, ['-e', 'x ${prompt}', '${prompt}']);
  }
  // A shell: true profile reports the shell problem once, not twice.
  assert.equal(problem(validateProfile('p', { command: 'bash', args: ['-c', 'echo ${prompt}'], shell: true }, 'user')).split('cannot use').length, 2);
});

test('usesPrompt sees AGENT_TASKS_PROMPT in the script a shell or interpreter runs', () => {
  assert.equal(usesPrompt(accepted('bash', ['-c', 'agent "$AGENT_TASKS_PROMPT"'])), true);
  assert.equal(usesPrompt(accepted('node', ['-e', 'agent(process.env.AGENT_TASKS_PROMPT)'])), true);
  assert.equal(usesPrompt(accepted('bash', ['-c', 'agent "$1"', 'sh', '${prompt}'])), true);
  assert.equal(usesPrompt(accepted('bash', ['-c', 'make'])), false);
  assert.equal(usesPrompt(accepted('bash', ['run.sh', '$AGENT_TASKS_PROMPT'])), false);
});

test('the accepted patterns really keep the prompt from being parsed', { skip: process.platform === 'win32' }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-profiles-'));
  try {
    const run = (profile: AgentProfile, prompt: string): string => {
      const e = expandProfile(profile, 'start', { ...VARS, prompt, workspaceFolder: dir });
      const r = spawnSync(e.command, e.args, { cwd: dir, env: { ...process.env, ...e.env }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const prompt = 'hello; touch X $(touch Y) `touch Z`';
    assert.equal(run(accepted('sh', ['-c', 'echo "$1"', 'sh', '${prompt}']), prompt), prompt);
    assert.equal(run(accepted('/bin/sh', ['-c', 'echo "$AGENT_TASKS_PROMPT"']), prompt), prompt);
    const evalPrompt = '--eval=require("fs").writeFileSync("X", "")';
    assert.equal(run(accepted(process.execPath, ['-e', 'console.log(process.argv[1])', '--', '${prompt}']), evalPrompt), evalPrompt);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('interactive: a boolean, only with claude-stream-json and the prompt on stdin, never through a shell', () => {
  const good = ok(validateProfile('ask', { command: 'claude', args: ['-p'], format: 'claude-stream-json', promptInput: 'stdin', interactive: true }, 'user'));
  assert.equal(good.interactive, true);
  assert.equal(expandProfile(good, 'start', VARS).interactive, true);
  assert.equal(expandProfile(ok(validateProfile('plain', { command: 'claude', args: ['-p'], promptInput: 'stdin' }, 'user')), 'start', VARS).interactive, false);
  assert.match(problem(validateProfile('a', { command: 'claude', format: 'claude-stream-json', promptInput: 'stdin', interactive: 'yes' }, 'user')), /"interactive" must be true or false/);
  assert.match(problem(validateProfile('b', { command: 'codex', format: 'codex-json', promptInput: 'stdin', interactive: true }, 'user')), /"interactive" needs "format": "claude-stream-json"/);
  assert.match(problem(validateProfile('c', { command: 'claude', args: ['${prompt}'], format: 'claude-stream-json', interactive: true }, 'user')), /"interactive" needs "promptInput": "stdin"/);
  assert.match(problem(validateProfile('d', { command: 'claude', format: 'claude-stream-json', promptInput: 'stdin', shell: true, interactive: true }, 'user')), /cannot go with "shell": true/);
});

test('worktree: a boolean; true makes runs start in a new worktree by default, absent or false does not', () => {
  const isolated = ok(validateProfile('iso', { command: 'claude', args: ['-p'], promptInput: 'stdin', worktree: true }, 'user'));
  assert.equal(isolated.worktree, true);
  assert.equal(ok(validateProfile('plain', { command: 'claude', args: ['-p'], promptInput: 'stdin' }, 'user')).worktree, undefined);
  assert.equal(ok(validateProfile('off', { command: 'claude', args: ['-p'], promptInput: 'stdin', worktree: false }, 'user')).worktree, undefined);
  assert.match(problem(validateProfile('bad', { command: 'claude', worktree: 'yes' }, 'user')), /"worktree" must be true or false, not string "yes"/);
  assert.equal(BUILTIN_PROFILES.some((p) => p.worktree), false, 'no built-in isolates by default');
});
