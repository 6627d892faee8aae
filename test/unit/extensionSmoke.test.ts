/**
 * The extension, activated against a fake `vscode` module (helpers/fakeVscode.ts) with the fake
 * agent as its profile: activation and the recovery scan, Run, the tree, Show Output, a
 * malformed profile, Restricted Mode, deactivate with a task running, and recovery on the next
 * activation. The real-editor run is the end-to-end suite's job; this catches wiring mistakes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extension, restoreRequire, vscode } from './helpers/fakeVscodeRequire';
import { TaskStore } from '../../src/core/taskStore';
import type { TaskRow } from '../../src/core/taskTypes';
import { waitFor } from '../helpers/waitFor';

const ROOT = path.join(__dirname, '../../..');
const FAKE_AGENT = path.join(ROOT, 'test/fixtures/fakeAgent.js');

const { fake } = vscode;

let tmp: string;
let storeDir: string;
let workspaceDir: string;
let argvFile: string;

interface Activation {
  subscriptions: { dispose(): void }[];
  ready: Promise<boolean>;
}

let extensionDir: string;

/**
 * An extension folder whose dist/ holds the supervisor and the CLI as the tsc output (npm test
 * does not bundle; a stale dist/ of an earlier build must not be used either).
 */
function makeExtensionDir(): string {
  const dir = path.join(tmp, 'extension');
  const fs = require('node:fs') as typeof import('node:fs');
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  const out = path.join(__dirname, '../../src/cli');
  fs.writeFileSync(path.join(dir, 'dist', 'supervisor.js'), `require(${JSON.stringify(path.join(out, 'supervisorMain.js'))});\n`);
  fs.writeFileSync(
    path.join(dir, 'dist', 'cli.js'),
    `require(${JSON.stringify(path.join(out, 'main.js'))}).main(process.argv.slice(2)).then((c) => { process.exitCode = c; });\n`,
  );
  return dir;
}

function activate(): Activation {
  const subscriptions: { dispose(): void }[] = [];
  const context = {
    subscriptions,
    extensionPath: extensionDir,
    extensionUri: vscode.Uri.file(extensionDir),
    globalStorageUri: vscode.Uri.file(storeDir),
  };
  const api = extension.activate(context as never);
  return { subscriptions, ready: api.ready };
}

async function deactivate(a: Activation): Promise<void> {
  await extension.deactivate();
  for (const d of a.subscriptions.reverse()) d.dispose();
}

function fakeProfile(extraEnv: Record<string, string> = {}): unknown {
  return {
    command: process.execPath,
    args: [FAKE_AGENT, '-p', '${prompt}', '--session-id', '${sessionId}', '--output-format', 'stream-json'],
    resumeArgs: [FAKE_AGENT, '-p', '${prompt}', '--resume', '${sessionId}', '--output-format', 'stream-json'],
    format: 'claude-stream-json',
    env: { FAKE_AGENT_ARGV_FILE: argvFile, ...extraEnv },
  };
}


/** The id of the newest task that continues `parentId`, if any. */
async function latestChildOf(parentId: string): Promise<string | undefined> {
  const store = await TaskStore.open({ dir: storeDir, readOnly: true });
  try {
    return (await store.listTasks({ includeRunning: true, limit: 20 })).find((r) => r.parent_id === parentId)?.id;
  } finally {
    await store.close();
  }
}

async function readRow(id: string): Promise<TaskRow | undefined> {
  const store = await TaskStore.open({ dir: storeDir });
  try {
    return await store.getTask(id);
  } finally {
    await store.close();
  }
}

/** Group label → the task items under it, as the tree shows them. */
async function treeItems(): Promise<Map<string, InstanceType<typeof vscode.TreeItem>[]>> {
  const provider = fake.treeProvider!;
  const out = new Map<string, InstanceType<typeof vscode.TreeItem>[]>();
  for (const group of await provider.getChildren()) {
    const children = await provider.getChildren(group);
    out.set(provider.getTreeItem(group).label, children.map((c) => provider.getTreeItem(c)));
  }
  return out;
}

function run(args: { agent: string; prompt?: string; cwd?: string }): Promise<string | undefined> {
  return vscode.commands.executeCommand('agentTasks.run', { cwd: workspaceDir, ...args }) as Promise<string | undefined>;
}

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-ext-'));
  storeDir = path.join(tmp, 'globalStorage', 'agenttasks.agent-tasks');
  workspaceDir = path.join(tmp, 'workspace');
  argvFile = path.join(tmp, 'argv.jsonl');
  require('node:fs').mkdirSync(workspaceDir, { recursive: true });
  extensionDir = makeExtensionDir();
});

after(() => {
  restoreRequire();
  rmSync(tmp, { recursive: true, force: true });
});

test('activates, runs a task, shows it in the tree and its output', async () => {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile() } };
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    assert.equal(fake.contextKeys.get('agentTasks.state'), 'ready');
    assert.deepEqual(await fake.treeProvider!.getChildren(), [], 'an empty store shows the welcome view');
    assert.equal(fake.statusBar!.visible, false);

    const prompt = 'Say "hi"; then $(exit) && rm -rf nothing\nsecond line';
    const id = await run({ agent: 'fake', prompt });
    assert.ok(id);
    const row = await waitFor('the task to finish', async () => {
      const r = await readRow(id);
      return r && r.status !== 'running' ? r : undefined;
    });
    assert.equal(row.status, 'success', row.error ?? '');
    assert.equal(row.name, 'Say "hi"; then $(exit) && rm -rf nothing');
    assert.equal(row.agent, 'fake');
    assert.equal(row.cwd, workspaceDir);
    assert.equal(row.prompt, prompt);
    assert.match(row.session_id ?? '', /^[0-9a-f-]{36}$/);
    const argv = JSON.parse(readFileSync(argvFile, 'utf8').trim().split('\n').pop()!);
    assert.deepEqual(argv, ['-p', prompt, '--session-id', row.session_id, '--output-format', 'stream-json'], 'the prompt is one argv element');

    const items = await waitFor('the tree to show the task', async () => {
      const t = await treeItems();
      return t.get('History')?.length === 1 ? t : undefined;
    });
    assert.deepEqual([...items.keys()], ['Running', 'History']);
    const item = items.get('History')![0];
    assert.equal(item.id, id);
    assert.equal(item.label, 'Say "hi"; then $(exit) && rm -rf nothing');
    assert.match(item.description ?? '', /^fake · success · [\d.]+m?s · 46 tokens · \$0\.0123$/);
    assert.equal(item.iconPath?.id, 'check');
    assert.equal(item.contextValue, 'agentTask.success.session');
    assert.equal(item.tooltip?.isTrusted, false);
    assert.equal(item.tooltip?.supportHtml, false);
    assert.match(item.tooltip?.value ?? '', /\*\*Session ID:\*\* /);

    await waitFor('the finish notification', () => fake.messages.find((m) => m.kind === 'info' && m.text.startsWith('Agent task "Say "hi"')));
    const doc = (await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'agent-tasks-output', path: `/${id}/x.log` }))) as { getText(): string };
    const text = doc.getText();
    assert.match(text, /^Agent task: Say "hi"/);
    assert.match(text, /Hello from the fake agent\./);
    assert.match(text, /Success after .* · \$0\.0123\.\n$/);
    assert.equal(text.includes('{"type"'), false, 'rendered, not raw JSON');

    assert.equal(await vscode.commands.executeCommand('agentTasks.copySessionId', id), row.session_id);
    assert.equal(vscode.env.clipboard.text, row.session_id);
  } finally {
    await deactivate(a);
  }
});

test('a profile with "promptInput": "stdin": the prompt reaches the agent on stdin for a run, a rerun and a resume, and is never in its argv', async () => {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  const promptFile = path.join(tmp, 'prompts.jsonl');
  const profile = {
    command: process.execPath,
    args: [FAKE_AGENT, '-p', '--session-id', '${sessionId}', '--output-format', 'stream-json'],
    resumeArgs: [FAKE_AGENT, '-p', '--resume', '${sessionId}', '--output-format', 'stream-json'],
    format: 'claude-stream-json',
    promptInput: 'stdin',
    env: { FAKE_AGENT_ARGV_FILE: argvFile, FAKE_AGENT_PROMPT_FILE: promptFile, FAKE_AGENT_ECHO_ENV: 'AGENT_TASKS_PROMPT' },
  };
  fake.settings['agentTasks.agents'] = { globalValue: { stdin: profile } };
  const finished = (id: string): Promise<TaskRow> =>
    waitFor(`task ${id} to finish`, async () => {
      const r = await readRow(id);
      return r && r.status !== 'running' ? r : undefined;
    });
  const lastPrompt = (): { prompt: string; from: string } => JSON.parse(readFileSync(promptFile, 'utf8').trim().split('\n').pop()!);
  const lastArgv = (): string[] => JSON.parse(readFileSync(argvFile, 'utf8').trim().split('\n').pop()!);
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    const prompt = '- fix the bug\n- then "run" the tests; $(true)';
    const id = await run({ agent: 'stdin', prompt });
    assert.ok(id);
    const row = await finished(id);
    assert.equal(row.status, 'success', row.error ?? '');
    assert.equal(row.prompt, prompt, 'the row keeps the prompt');
    assert.equal(row.name, '- fix the bug');
    assert.deepEqual(lastPrompt(), { prompt, from: 'stdin' });
    assert.deepEqual(lastArgv(), ['-p', '--session-id', row.session_id, '--output-format', 'stream-json'], 'no prompt in the argv');
    assert.deepEqual(row.args, [FAKE_AGENT, '-p', '--session-id', row.session_id, '--output-format', 'stream-json']);
    assert.match(readFileSync(row.log_path!, 'utf8'), /^ENV AGENT_TASKS_PROMPT=unset$/m, 'nor in the environment');

    const rerunId = (await vscode.commands.executeCommand('agentTasks.rerun', id)) as string;
    const rerun = await finished(rerunId);
    assert.equal(rerun.status, 'success', rerun.error ?? '');
    assert.equal(rerun.parent_id, id);
    assert.deepEqual(lastPrompt(), { prompt, from: 'stdin' }, 'Run Again sends the same prompt on stdin');

    // An interrupted run of this profile, resumed with a message that starts with "-".
    const store = await TaskStore.open({ dir: storeDir });
    const interruptedId = 'b0000000-0000-4000-8000-00000000000a';
    try {
      await store.finishTask(
        interruptedId,
        { status: 'interrupted', error: 'Interrupted: test', exit_code: null, signal: null },
        { id: interruptedId, name: 'was cut off', agent: 'stdin', command: process.execPath, args: row.args, cwd: workspaceDir, workspace: workspaceDir, prompt, format: 'claude-stream-json', session_id: row.session_id },
      );
    } finally {
      await store.close();
    }
    const followUp = '- go on\n- and finish';
    const resumedId = (await vscode.commands.executeCommand('agentTasks.recover', { taskId: interruptedId, action: 'resumeWithMessage', prompt: followUp, stopAgent: true })) as string;
    assert.ok(resumedId, fake.messages.map((m) => m.text).join('\n'));
    const resumed = await finished(resumedId);
    assert.equal(resumed.status, 'success', resumed.error ?? '');
    assert.equal(resumed.session_id, row.session_id, 'the same session continues');
    assert.equal(resumed.prompt, followUp);
    assert.deepEqual(lastPrompt(), { prompt: followUp, from: 'stdin' });
    assert.deepEqual(lastArgv(), ['-p', '--resume', row.session_id, '--output-format', 'stream-json']);
  } finally {
    await deactivate(a);
  }
});

test('a malformed profile: a message naming the setting, and the attempt is journaled', async () => {
  fake.reset();
  fake.settings['agentTasks.agents'] = { globalValue: { bad: { args: ['x'], format: 'json' } } };
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    assert.equal(await run({ agent: 'bad', prompt: 'p' }), undefined);
    const error = await waitFor('the error', () => fake.messages.find((m) => m.kind === 'error'));
    assert.equal(error.text, 'agentTasks.agents.bad (user settings): "command" is missing; "format" must be one of "text", "claude-stream-json", "codex-json", "gemini-stream-json", not string "json".');
    const items = await waitFor('the failed attempt in the tree', async () => {
      const t = await treeItems();
      return t.get('History')?.find((i) => i.label === 'bad: invalid agent profile');
    });
    assert.match(items.description ?? '', /^bad · failed to start · /);
    assert.equal(items.iconPath?.id, 'error');

    fake.messages = [];
    await run({ agent: 'missing', prompt: 'p' });
    const missing = await waitFor('the error', () => fake.messages.find((m) => m.kind === 'error'));
    assert.equal(missing.text, 'No agent profile "missing" is defined: add it to agentTasks.agents (agentTasks.agents.missing).');

    fake.messages = [];
    fake.settings['agentTasks.agents'] = { globalValue: { nothere: { command: path.join(tmp, 'no-such-agent'), args: ['${prompt}'] } } };
    const id = await run({ agent: 'nothere', prompt: 'p' });
    assert.ok(id, 'a missing command is a run that fails');
    const failed = await waitFor('the spawn failure', () => fake.messages.find((m) => m.kind === 'error'));
    assert.match(failed.text, /^Agent task "p" failed: Command not found: ".*no-such-agent" \(is it installed and on PATH\?\)\. Check agentTasks\.agents\.nothere\.command\.$/);
  } finally {
    await deactivate(a);
  }
});

test('Restricted Mode: profiles from workspace settings do not run', async () => {
  fake.reset();
  fake.trusted = false;
  // VS Code hides this value from inspect() in Restricted Mode (the fake does too): the extension
  // finds the profile in the folder's settings file, to explain why it does not run.
  fake.settings['agentTasks.agents'] = { workspaceValue: { wsonly: fakeProfile() } };
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  mkdirSync(path.join(workspaceDir, '.vscode'), { recursive: true });
  writeFileSync(
    path.join(workspaceDir, '.vscode', 'settings.json'),
    `{\n  // from the cloned repository\n  "agentTasks.agents": ${JSON.stringify({ wsonly: fakeProfile() })},\n}\n`,
  );
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    const before = readFileSync(argvFile, 'utf8');
    assert.equal(await run({ agent: 'wsonly', prompt: 'p' }), undefined);
    const warning = await waitFor('the explanation', () => fake.messages.find((m) => m.kind === 'warning'));
    assert.match(warning.text, /^The agent profile "wsonly" comes from this workspace's settings .* This workspace is not trusted/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(readFileSync(argvFile, 'utf8'), before, 'nothing ran');
  } finally {
    rmSync(path.join(workspaceDir, '.vscode'), { recursive: true, force: true });
    await deactivate(a);
  }
});

test('a run outlives its window (deactivate, reactivate: still Running, no notice); its supervisor killed, the next activation offers recovery', async () => {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile({ FAKE_AGENT_SLEEP_MS: '60000' }) } };
  let a = activate();
  let id: string | undefined;
  try {
    assert.equal(await a.ready, true);
    id = await run({ agent: 'fake', prompt: 'Long job' });
    assert.ok(id);
    await waitFor('the status bar', () => fake.statusBar!.visible && fake.statusBar!.text === '$(sync~spin) 1');
    const running = await waitFor('the running row', async () => {
      const t = await treeItems();
      return t.get('Running')?.[0];
    });
    assert.equal(running.contextValue, 'agentTask.running.own.session');
    assert.equal(running.iconPath?.id, 'sync~spin');
  } finally {
    await deactivate(a);
  }
  const still = await readRow(id!);
  assert.equal(still?.status, 'running', 'closing the window stops nothing');
  assert.notEqual(still?.owner_pid, process.pid, 'a supervisor process owns the run');

  // The next window (a reload) shows it Running, and nothing is interrupted.
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile() } };
  a = activate();
  try {
    assert.equal(await a.ready, true);
    const adopted = await waitFor('the adopted running row', async () => (await treeItems()).get('Running')?.[0]);
    assert.equal(adopted.contextValue, 'agentTask.running.session', 'shown, run by another process');
    assert.equal(fake.messages.filter((m) => m.kind === 'warning').length, 0, 'no interrupted notice');
    await waitFor('the status bar', () => fake.statusBar!.text === '$(sync~spin) 1');
  } finally {
    await deactivate(a);
  }

  // Its supervisor dies (kill -9): the run is interrupted and the next window offers it.
  process.kill(still!.owner_pid, 'SIGKILL');
  await waitFor('the supervisor to die', () => {
    try {
      process.kill(still!.owner_pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile() } };
  // The one user action after the notice shows: its Resume button, clicked once the state was checked.
  let clickResume!: (button: string) => void;
  fake.answers.push({ match: 'was interrupted', choose: new Promise<string>((resolve) => (clickResume = resolve)) });
  a = activate();
  try {
    assert.equal(await a.ready, true);
    const stopped = await readRow(id!);
    assert.equal(stopped?.status, 'interrupted');
    const notice = await waitFor('the recovery notification', () => fake.messages.find((m) => m.kind === 'warning'));
    assert.equal(notice.text, '1 agent task was interrupted: the process that ran it stopped (a crash, a reboot, kill -9). Resume its session?');
    const items = await waitFor('the Interrupted group', async () => {
      const t = await treeItems();
      return t.get('Interrupted')?.length === 1 ? t : undefined;
    });
    assert.equal(items.get('Interrupted')![0].contextValue, 'agentTask.interrupted.unresolved.session');
    assert.deepEqual(fake.treeView!.badge, { value: 1, tooltip: '1 interrupted agent task to recover' });
    await waitFor('the status bar warning', () => fake.statusBar!.text === '$(warning) 1' && fake.statusBar!.backgroundColor?.id === 'statusBarItem.warningBackground');

    clickResume('Resume');
    const resumedId = await waitFor('the resumed run', async () => (await readRow(id!))?.resolution === 'resumed' && (await latestChildOf(id!)));
    assert.ok(resumedId);
    const resumed = await waitFor('the resumed run to finish', async () => {
      const r = await readRow(resumedId);
      return r && r.status !== 'running' ? r : undefined;
    });
    assert.equal(resumed.status, 'success', resumed.error ?? '');
    assert.equal(resumed.parent_id, id);
    assert.equal(resumed.session_id, stopped?.session_id, 'the same session continues');
    const argv = JSON.parse(readFileSync(argvFile, 'utf8').trim().split('\n').pop()!);
    assert.deepEqual(argv, ['-p', 'You were interrupted. Continue where you left off.', '--resume', stopped?.session_id, '--output-format', 'stream-json']);
    const original = await readRow(id!);
    assert.equal(original?.resolution, 'resumed');
    await waitFor('the Interrupted group to go', async () => ((await treeItems()).has('Interrupted') ? undefined : true));
    assert.equal(fake.treeView!.badge, undefined);
  } finally {
    await deactivate(a);
  }
});

test('a supervisor killed while the window watches: its run becomes interrupted and is offered at once', async () => {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile({ FAKE_AGENT_SLEEP_MS: '60000' }) } };
  const a = activate();
  try {
    assert.equal(await a.ready, true);
    const id = await run({ agent: 'fake', prompt: 'Watched job' });
    const row = await waitFor('the running row with its agent', async () => {
      const r = await readRow(id!);
      return r?.child_pid ? r : undefined;
    });
    await waitFor('the tree to show it', async () => (await treeItems()).get('Running')?.length === 1);
    process.kill(row.owner_pid, 'SIGKILL');
    const notice = await waitFor('the recovery notification', () => fake.messages.find((m) => m.kind === 'warning' && /was interrupted/.test(m.text)), 15_000);
    assert.match(notice.text, /^1 agent task was interrupted/);
    assert.equal((await readRow(id!))?.status, 'interrupted');
    await waitFor('the Interrupted group', async () => (await treeItems()).get('Interrupted')?.length === 1);
    // Its agent outlived the supervisor: the window stops it (nothing logs it any more).
    await waitFor('the orphaned agent to be stopped', () => {
      try {
        process.kill(row.child_pid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 15_000);
  } finally {
    await deactivate(a);
  }
});

test('agentTasks.autoResume: an interrupted task of this workspace is resumed at start-up without a question', async () => {
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile({ FAKE_AGENT_SLEEP_MS: '60000' }) } };
  let a = activate();
  let row: TaskRow | undefined;
  try {
    assert.equal(await a.ready, true);
    const id = await run({ agent: 'fake', prompt: 'Auto job' });
    row = await waitFor('the running row with its agent', async () => {
      const r = await readRow(id!);
      return r?.child_pid ? r : undefined;
    });
  } finally {
    await deactivate(a);
  }
  process.kill(row!.owner_pid, 'SIGKILL');
  await waitFor('the supervisor to die', () => {
    try {
      process.kill(row!.owner_pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  fake.reset();
  fake.workspaceFolders = [{ uri: vscode.Uri.file(workspaceDir), name: 'workspace', index: 0 }];
  fake.settings['agentTasks.agents'] = { globalValue: { fake: fakeProfile() } };
  fake.settings['agentTasks.autoResume'] = { globalValue: true };
  a = activate();
  try {
    assert.equal(await a.ready, true);
    const resumedId = await waitFor('the resumed run', async () => (await readRow(row!.id))?.resolution === 'resumed' && (await latestChildOf(row!.id)), 20_000);
    const resumed = await waitFor('the resumed run to finish', async () => {
      const r = await readRow(resumedId);
      return r && r.status !== 'running' ? r : undefined;
    });
    assert.equal(resumed.status, 'success', resumed.error ?? '');
    assert.equal(resumed.session_id, row!.session_id);
    assert.deepEqual(fake.messages.filter((m) => m.kind === 'warning'), [], 'no question was asked');
    // Earlier tests of this file share the store and may leave interrupted tasks of the workspace too.
    await waitFor('the note that they were resumed', () =>
      fake.messages.some((m) => m.kind === 'info' && /^Agent Tasks resumed (1 interrupted task|\d+ interrupted tasks) \(agentTasks\.autoResume\)\.$/.test(m.text)),
    );
    assert.deepEqual(fake.messages.filter((m) => m.kind === 'warning'), [], 'no question was asked');
  } finally {
    await deactivate(a);
  }
});
