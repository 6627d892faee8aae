/**
 * The manifest (package.json) against the ids the code uses, the identity the docs and the
 * end-to-end tests rely on, and the menus' `when` clauses against the tree's context values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { OUTPUT_FORMATS, type TaskRow } from '../../src/core/taskTypes';
import { BUILTIN_PROFILES, PROMPT_INPUTS, profileCommandPreview } from '../../src/extension/model/agentProfiles';
import { Commands, ContextKeys, TASKS_VIEW_ID, VIEW_CONTAINER_ID } from '../../src/extension/model/ids';
import { taskContextValue } from '../../src/extension/model/taskPresentation';
import { DEFAULT_RESUME_PROMPT } from '../../src/extension/model/settings';
import { T0, taskRow } from './helpers/taskRows';

const ROOT = path.join(__dirname, '../../..');

interface MenuItem {
  command: string;
  when?: string;
  group?: string;
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributes = pkg.contributes;

test('identity', () => {
  assert.equal(pkg.name, 'agent-tasks');
  assert.equal(pkg.publisher, 'agenttasks');
  assert.equal(pkg.displayName, 'Agent Tasks');
  assert.equal(pkg.main, './dist/extension.js');
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.equal(pkg.engines.vscode, '^1.96.0');
  assert.ok(pkg.activationEvents.includes('onStartupFinished'));
  assert.ok(pkg.scripts.package.startsWith('vsce package'));
  assert.equal(pkg.scripts['vscode:prepublish'], 'node esbuild.mjs --production');
  assert.ok(existsSync(path.join(ROOT, 'LICENSE')));
});

test('the icon is a 128×128 PNG', () => {
  const png = readFileSync(path.join(ROOT, pkg.icon));
  assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
  assert.equal(png.readUInt32BE(16), 128);
  assert.equal(png.readUInt32BE(20), 128);
});

test('view container and view', () => {
  const [container] = contributes.viewsContainers.activitybar;
  assert.equal(container.id, VIEW_CONTAINER_ID);
  assert.equal(container.title, 'Agent Tasks');
  assert.match(readFileSync(path.join(ROOT, container.icon), 'utf8'), /^<svg /);
  assert.deepEqual(contributes.views[VIEW_CONTAINER_ID].map((v: { id: string }) => v.id), [TASKS_VIEW_ID]);
  const welcome = contributes.viewsWelcome.find((w: { when: string }) => w.when === `${ContextKeys.state} == ready`);
  assert.match(welcome.contents, /\[Run Agent Task\]\(command:agentTasks\.run\)/);
});

test('commands: exactly the ids the code registers, titled, in the "Agent Tasks" category', () => {
  const declared = contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual(declared, Object.values(Commands).sort());
  for (const c of contributes.commands) assert.equal(c.category, 'Agent Tasks', c.command);
  const title = (id: string): string => contributes.commands.find((c: { command: string }) => c.command === id).title;
  assert.equal(title(Commands.run), 'Run Agent Task…');
  assert.equal(title(Commands.recover), 'Recover Interrupted Task…');
  assert.equal(title(Commands.cancel), 'Cancel Task');
  assert.equal(title(Commands.showOutput), 'Show Output');
  assert.equal(title(Commands.dismiss), 'Dismiss');
  assert.equal(title(Commands.rerun), 'Run Again');
  assert.equal(title(Commands.copySessionId), 'Copy Session ID');
  assert.equal(title(Commands.clearHistory), 'Clear History…');
  assert.equal(title(Commands.refresh), 'Refresh');
});

test('menus only name declared commands', () => {
  const declared = new Set(contributes.commands.map((c: { command: string }) => c.command));
  for (const [menu, items] of Object.entries(contributes.menus as Record<string, MenuItem[]>)) {
    for (const item of items) assert.ok(declared.has(item.command), `${menu}: ${item.command}`);
  }
});

/** The commands the tree offers for a row, by evaluating the menus' `viewItem =~ /…/` clauses. */
function itemCommands(row: TaskRow, own: boolean, inline: boolean): string[] {
  const value = taskContextValue(row, own);
  const items = (contributes.menus['view/item/context'] as MenuItem[]).filter((i) => (i.group ?? '').startsWith('inline') === inline);
  return items
    .filter((i) => {
      assert.match(i.when ?? '', new RegExp(`^view == ${TASKS_VIEW_ID.replace('.', '\\.')} && viewItem =~ /`));
      const m = /viewItem =~ \/(.+)\/$/.exec(i.when ?? '');
      assert.ok(m, i.when);
      return new RegExp(m[1]).test(value);
    })
    .map((i) => i.command.replace('agentTasks.', ''));
}

test('tree menus by context value', () => {
  const running = taskRow({ status: 'running', finished_at: null });
  const unresolved = taskRow({ status: 'interrupted' });
  const dismissed = taskRow({ status: 'interrupted', resolved_at: T0, resolution: 'dismissed' });
  const noSession = taskRow({ session_id: null });
  assert.deepEqual(itemCommands(running, true, true), ['cancel', 'showOutput']);
  assert.deepEqual(itemCommands(running, false, false), ['showOutput', 'copySessionId', 'cancel']);
  assert.deepEqual(itemCommands(unresolved, false, true), ['recover', 'dismiss', 'showOutput']);
  assert.deepEqual(itemCommands(unresolved, false, false), ['showOutput', 'rerun', 'copySessionId', 'recover', 'dismiss']);
  assert.deepEqual(itemCommands(dismissed, false, false), ['showOutput', 'rerun', 'copySessionId']);
  assert.deepEqual(itemCommands(taskRow(), false, true), ['showOutput']);
  assert.deepEqual(itemCommands(noSession, false, false), ['showOutput', 'rerun']);
  assert.deepEqual(itemCommands(taskRow({ status: 'failed' }), false, false), ['showOutput', 'rerun', 'copySessionId']);
});

test('settings: names, types, defaults, descriptions', () => {
  const props = contributes.configuration.properties;
  assert.deepEqual(Object.keys(props).sort(), [
    'agentTasks.agents',
    'agentTasks.autoResume',
    'agentTasks.defaultAgent',
    'agentTasks.history.maxAgeDays',
    'agentTasks.history.maxEntries',
    'agentTasks.onWindowClose',
    'agentTasks.permissions.timeoutMinutes',
    'agentTasks.resumeAfterUsageLimit',
    'agentTasks.resumePrompt',
    'agentTasks.snapshots.enabled',
    'agentTasks.statusBar.enabled',
  ]);
  for (const [key, schema] of Object.entries(props as Record<string, { description?: string; markdownDescription?: string }>)) {
    assert.ok(schema.description || schema.markdownDescription, `${key} has a description`);
  }
  assert.equal(props['agentTasks.history.maxAgeDays'].default, 90);
  assert.equal(props['agentTasks.history.maxEntries'].default, 10000);
  assert.equal(props['agentTasks.statusBar.enabled'].default, true);
  assert.equal(props['agentTasks.defaultAgent'].default, 'claude');
  assert.equal(props['agentTasks.autoResume'].default, false);
  assert.equal(props['agentTasks.onWindowClose'].default, 'keepRunning');
  assert.equal(props['agentTasks.permissions.timeoutMinutes'].default, 0);
  assert.equal(props['agentTasks.resumeAfterUsageLimit'].default, true);
  assert.equal(props['agentTasks.snapshots.enabled'].default, true);
  assert.deepEqual(props['agentTasks.onWindowClose'].enum, ['keepRunning', 'stop']);
  assert.equal(props['agentTasks.resumePrompt'].default, DEFAULT_RESUME_PROMPT, 'the manifest and the code agree');
  const profile = props['agentTasks.agents'].additionalProperties.anyOf[0];
  assert.deepEqual(profile.required, ['command']);
  assert.deepEqual(profile.properties.format.enum, [...OUTPUT_FORMATS]);
  assert.deepEqual(profile.properties.args.items, { type: 'string' });
  // Every field validateProfile reads is in the schema (additionalProperties: false would flag it otherwise).
  assert.deepEqual(Object.keys(profile.properties).sort(), ['args', 'command', 'env', 'format', 'interactive', 'promptInput', 'resumeArgs', 'shell', 'worktree']);
  assert.deepEqual(profile.properties.promptInput.enum, [...PROMPT_INPUTS]);
  assert.equal(profile.properties.promptInput.default, 'argument', 'a profile that says nothing keeps its prompt where ${prompt} stands');
  assert.equal(profile.properties.promptInput.enumDescriptions.length, PROMPT_INPUTS.length);
});

test('the settings and the README name every built-in profile with its command lines', () => {
  const props = contributes.configuration.properties;
  const agents: string = props['agentTasks.agents'].markdownDescription;
  const defaultAgent: string = props['agentTasks.defaultAgent'].markdownDescription;
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const p of BUILTIN_PROFILES) {
    for (const mode of ['start', 'resume'] as const) {
      const line = profileCommandPreview(p, mode);
      assert.ok(agents.includes(`\`${line}\``), `agentTasks.agents describes ${p.name} (${mode}): ${line}`);
      assert.ok(readme.includes(`\`${line}\``), `README.md lists ${p.name} (${mode}): ${line}`);
    }
    assert.ok(defaultAgent.includes(`\`${p.name}\``), `agentTasks.defaultAgent names the built-in ${p.name}`);
  }
  assert.ok(BUILTIN_PROFILES.some((p) => p.name === props['agentTasks.defaultAgent'].default), 'the default agent is a built-in');
});

test('restricted configurations for untrusted workspaces', () => {
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['agentTasks.agents', 'agentTasks.defaultAgent', 'agentTasks.autoResume']);
});

test('.vscodeignore is an allow-list', () => {
  const lines = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  assert.equal(lines[0], '**');
  for (const needed of ['!package.json', '!README.md', '!LICENSE', '!dist/extension.js', '!dist/sql-wasm.wasm', `!${pkg.icon}`]) assert.ok(lines.includes(needed), needed);
});
