import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkedResume,
  resumedTaskName,
  interruptedNotice,
  interruptedPickItem,
  lastReadableLine,
  planRerun,
  planResume,
  recoverActions,
  sessionQuery,
} from '../../src/extension/model/recoverChoices';
import { BUILTIN_PROFILES, resolveProfiles, validateProfile, type ProfileEntry } from '../../src/extension/model/agentProfiles';
import { T0, taskRow } from './helpers/taskRows';

const interrupted = taskRow({ status: 'interrupted', finished_at: T0 + 192_000, exit_code: null, error: 'Interrupted: owner process is gone.' });
const claude: ProfileEntry = { kind: 'ok', name: 'claude', source: 'built-in', profile: BUILTIN_PROFILES[0] };

test('the activation notice', () => {
  assert.equal(interruptedNotice(1), '1 agent task was interrupted: the process that ran it stopped (a crash, a reboot, kill -9). Resume its session?');
  assert.equal(interruptedNotice(3), '3 agent tasks were interrupted: the processes that ran them stopped (a crash, a reboot, kill -9). Resume their sessions?');
});

test('last readable line: Claude events rendered, bookkeeping skipped, cut first line ignored', () => {
  const log = [
    '{"type":"system","subtype":"init","session_id":"s1","model":"m"}',
    '{"type":"assistant","message":{"content":[{"type":"text","text":"Looking at the tests.\\nRunning them now."}]}}',
    '{"type":"stream_event","event":{}}',
    '',
  ].join('\n');
  assert.equal(lastReadableLine('claude-stream-json', log, false), 'Running them now.');
  assert.equal(lastReadableLine('text', 'one\n\x1b[32mtwo\x1b[0m\r\n\n', false), 'two');
  assert.equal(lastReadableLine('text', 'partial line only', true), null);
  assert.equal(lastReadableLine('text', '', false), null);
  assert.equal(lastReadableLine('text', `${'y'.repeat(300)}\n`, false), `${'y'.repeat(159)}…`);
});

test('picker item: name, when, how long it ran, last line', () => {
  assert.deepEqual(interruptedPickItem(interrupted, T0 + 192_000 + 5 * 60_000, 'Running them now.'), {
    label: 'Fix the flaky test',
    description: 'claude · interrupted 5 min ago · had run 3m 12s',
    detail: '› Running them now.',
  });
  assert.equal(interruptedPickItem({ ...interrupted, output_bytes: 0 }, T0, null).detail, '(no output)');
  assert.equal(interruptedPickItem(interrupted, T0, null).detail, '(output not readable)');
});

test('resume: needs a session id and a profile with resumeArgs using ${sessionId}', () => {
  assert.deepEqual(planResume(interrupted, claude), { kind: 'resume', profile: BUILTIN_PROFILES[0], sessionId: 'sess-1' });
  assert.deepEqual(planResume({ ...interrupted, session_id: null }, claude), { kind: 'impossible', reason: 'Resume is not available: the agent never reported a session ID.' });
  assert.deepEqual(planResume(interrupted, undefined), { kind: 'impossible', reason: 'Resume is not available: no agent profile "claude" is defined (agentTasks.agents.claude).' });
  const noResume = validateProfile('claude', { command: 'claude', args: ['-p', '${prompt}'] }, 'user');
  assert.deepEqual(planResume(interrupted, noResume), {
    kind: 'impossible',
    reason: 'Resume is not available: the profile "claude" has no "resumeArgs" (agentTasks.agents.claude.resumeArgs).',
  });
  const noSession = validateProfile('claude', { command: 'claude', args: [], resumeArgs: ['--continue'] }, 'user');
  assert.equal(planResume(interrupted, noSession).kind, 'impossible');
  const invalid = validateProfile('claude', {}, 'user');
  assert.deepEqual(planResume(interrupted, invalid), { kind: 'impossible', reason: 'agentTasks.agents.claude (user settings): "command" is missing.' });
});

test('rerun: through the profile, verbatim when it is gone, refused when the argv names the old session', () => {
  assert.deepEqual(planRerun(interrupted, claude), { kind: 'profile', profile: BUILTIN_PROFILES[0] });
  const cli = taskRow({ agent: null, command: 'make', args: ['test'], session_id: null, format: 'text', prompt: null });
  assert.deepEqual(planRerun(cli, undefined), { kind: 'verbatim', command: 'make', args: ['test'], format: 'text', stdin: null });
  assert.deepEqual(planRerun(interrupted, undefined), {
    kind: 'impossible',
    reason: 'The agent profile "claude" is no longer defined (agentTasks.agents.claude), and the task\'s command line names its old session, so it cannot be run again as it was.',
  });
  const fromCli = taskRow({ prompt: null, session_id: 'learned', command: 'claude', args: ['-p', 'hello', '--output-format', 'stream-json', '--verbose'] });
  assert.deepEqual(planRerun(fromCli, claude), { kind: 'verbatim', command: 'claude', args: fromCli.args, format: 'claude-stream-json', stdin: null }, 'the CLI row keeps its own prompt');
  // A row whose prompt went on stdin (its argv does not hold it), its profile gone: verbatim, with the prompt on stdin again.
  const codexArgs = ['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', '-'];
  const onStdin = taskRow({ agent: 'codex', command: 'codex', args: codexArgs, prompt: '- fix it', session_id: 'thread-1', format: 'codex-json' });
  assert.deepEqual(planRerun(onStdin, undefined), { kind: 'verbatim', command: 'codex', args: codexArgs, format: 'codex-json', stdin: '- fix it' });
  // A prompt that was an argument is not given twice.
  const asArgument = taskRow({ agent: 'mine', command: 'agent', args: ['--task', '- fix it'], prompt: '- fix it', session_id: null, format: 'text' });
  assert.deepEqual(planRerun(asArgument, undefined), { kind: 'verbatim', command: 'agent', args: ['--task', '- fix it'], format: 'text', stdin: null });
  const blocked = resolveProfiles({ workspace: { mine: { command: 'x' } } }, false).entries.find((e) => e.name === 'mine');
  assert.equal(planRerun(taskRow({ agent: 'mine' }), blocked).kind, 'impossible');
});

test('recover actions: resume (with the default message, or one you type) only when possible, with the reason otherwise', () => {
  const all = recoverActions(interrupted, planResume(interrupted, claude), planRerun(interrupted, claude), 'Go on.');
  assert.deepEqual(all.items.map((i) => i.action), ['resume', 'resumeWithMessage', 'restart', 'openLog', 'dismiss']);
  assert.deepEqual(all.items.map((i) => i.label), [
    '$(debug-continue) Resume session',
    '$(comment) Resume with a message…',
    '$(debug-restart) Restart from scratch',
    '$(output) Open Log',
    '$(close) Dismiss',
  ]);
  assert.equal(all.items[0].detail, 'Continue session sess-1 with claude where it stopped, telling it "Go on."');
  assert.equal(all.items[2].detail, 'Run the same command and prompt again in /home/me/project, in a new session');
  assert.equal(all.items[3].detail, 'See what it did before it stopped (2048 bytes)');
  assert.match(recoverActions(interrupted, planResume(interrupted, claude), planRerun(interrupted, claude)).items[0].detail, /telling it "You were interrupted\. Continue where you left off\."$/);
  assert.deepEqual(all.notes, []);
  const noSession = { ...interrupted, session_id: null };
  const some = recoverActions(noSession, planResume(noSession, claude), planRerun(noSession, claude));
  assert.deepEqual(some.items.map((i) => i.action), ['restart', 'openLog', 'dismiss']);
  assert.deepEqual(some.notes, ['Resume is not available: the agent never reported a session ID.']);
});

test('before Resume: the session is looked for as the row’s agent, in the profile’s environment over the base one', () => {
  const resume = planResume(interrupted, claude);
  assert.deepEqual(sessionQuery(interrupted, resume, { HOME: '/home/me', PATH: '/usr/bin' }), {
    format: 'claude-stream-json',
    command: 'claude',
    sessionId: 'sess-1',
    cwd: '/home/me/project',
    env: {
      HOME: '/home/me',
      PATH: '/usr/bin',
      AGENT_TASKS_TASK_ID: interrupted.id,
      AGENT_TASKS_SESSION_ID: 'sess-1',
      AGENT_TASKS_WORKSPACE_FOLDER: interrupted.workspace ?? interrupted.cwd,
    },
  });
  const mine = validateProfile(
    'claude',
    { command: 'claude', args: [], resumeArgs: ['--resume', '${sessionId}'], format: 'claude-stream-json', env: { CLAUDE_CONFIG_DIR: '${workspaceFolder}/.claude-here', HOME: '/srv/agent' } },
    'user',
  );
  const query = sessionQuery(interrupted, planResume(interrupted, mine), { HOME: '/home/me', CLAUDE_CONFIG_DIR: '/etc/claude' });
  assert.equal(query?.env.HOME, '/srv/agent', 'the profile’s env wins');
  assert.equal(query?.env.CLAUDE_CONFIG_DIR, `${interrupted.workspace ?? interrupted.cwd}/.claude-here`, 'with its placeholders expanded');
  assert.equal(sessionQuery({ ...interrupted, session_id: null }, planResume({ ...interrupted, session_id: null }, claude), {}), null, 'nothing to look for when Resume is impossible anyway');
});

test('a session the agent no longer has: no Resume, Restart first, with the reason', () => {
  const resume = planResume(interrupted, claude);
  const reason = 'Claude Code has no transcript of session sess-1 under ~/.claude/projects, so resuming it would fail ("No conversation found").';
  const gone = checkedResume(resume, { state: 'missing', reason });
  assert.deepEqual(gone, { kind: 'impossible', reason: `Resume is not available: ${reason}`, sessionMissing: true });
  assert.equal(checkedResume(resume, { state: 'found', path: '/home/me/.claude/projects/p/sess-1.jsonl' }), resume);
  assert.equal(checkedResume(resume, { state: 'unknown', detail: 'could not read ~/.claude/projects: EACCES' }), resume, 'unsure: Resume stays');
  const impossible = planResume({ ...interrupted, session_id: null }, claude);
  assert.equal(checkedResume(impossible, { state: 'missing', reason }), impossible, 'an earlier reason stays the reason');

  const actions = recoverActions(interrupted, gone, planRerun(interrupted, claude));
  assert.deepEqual(actions.items.map((i) => i.action), ['restart', 'openLog', 'dismiss']);
  assert.equal(actions.items[0].label, '$(debug-restart) Restart from scratch');
  assert.equal(actions.items[0].detail, 'Run the same command and prompt again in /home/me/project, in a new session (the old one is gone)');
  assert.deepEqual(actions.notes, [
    'Resume is not available: Claude Code has no transcript of session sess-1 under ~/.claude/projects, so resuming it would fail ("No conversation found").',
  ]);
  const found = recoverActions(interrupted, checkedResume(resume, { state: 'found', path: '/x' }), planRerun(interrupted, claude));
  assert.deepEqual(found.items.map((i) => i.action), ['resume', 'resumeWithMessage', 'restart', 'openLog', 'dismiss']);
  assert.equal(found.items[2].detail, 'Run the same command and prompt again in /home/me/project, in a new session');
});

test('a resumed run is named after the task it continues, marked once', () => {
  assert.equal(resumedTaskName('Migrate the database layer'), 'Migrate the database layer (resumed)');
  assert.equal(resumedTaskName('Migrate the database layer (resumed)'), 'Migrate the database layer (resumed)');
});
