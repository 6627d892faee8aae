/**
 * End-to-end scenarios: the packaged Agent Tasks .vsix in a real code-server, driven through the
 * web workbench in headless Chromium, with test/fixtures/fakeAgent.js as the agent — and, in
 * scenario 7, the REAL Claude Code CLI against the scripted mock model server (realClaude.ts).
 *
 *   npm run test:e2e        (packages the extension, compiles, runs this file)
 *
 * One code-server + one browser for the trusted scenarios (sequential subtests sharing them), a
 * second code-server for the untrusted workspace. Screenshots go to $E2E_OUT (default
 * /tmp/agent-tasks-e2e-out); with E2E_UPDATE_MEDIA=1 the best ones are copied to docs/media/.
 * Everything started here is stopped in after() by pid, even when a scenario fails.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CodeServer, RUN_TOKEN_ENV, processesWithEnv } from './codeServer';
import { E2ETools, PhaseTimer, defaultLog, ensureE2ETools, errorMessage, sleep, waitUntil } from './e2eSetup';
import { Workbench } from './workbench';
import { scrubbedAgentEnv, startRealClaude, type RealClaude } from './realClaude';
import { makeRepo } from '../helpers/gitRepo';
import {
  FAKE_COST_USD,
  FAKE_REPLY,
  REPO_ROOT,
  STATUS_ITEM_ID,
  TICKS_COUNT,
  TICKS_RESUME_COUNT,
  VIEW,
  VIEW_CONTAINER,
  activeEditorText,
  clearNotifications,
  clickInlineAction,
  expectedTickLines,
  fakeProfiles,
  listRows,
  pidAlive,
  readArgvLog,
  readLogLines,
  runCli,
  storeDir,
  vsixPath,
  waitForStoreRow,
  waitForTaskInGroup,
  collapsedGroups,
  ensureTasksView,
  widenSideBar,
  type StoreRow,
} from './agentTasksFixture';

/** Scenario 7's profile (the real Claude Code CLI against the mock model) and the command its model asks for. */
const CLAUDE_PROFILE = 'claude-real';
/** The built-in claude profile as it is: it asks (scenario 8). */
const CLAUDE_ASKING_PROFILE = 'claude-asks';
const CLAUDE_SHELL = 'echo hi > f.txt';

/**
 * Scenario 9's profile: appends a line to README.md once the run's start snapshot exists (its
 * ref, named by AGENT_TASKS_TASK_ID), so the edit is the run's own change whatever the
 * machine's speed. Plain Node; the prompt is its argument (unused), so Run Agent Task… asks for one.
 */
const EDIT_PROFILE = 'edit-readme';
const EDIT_LINE = 'A line the agent added.';
const EDIT_SCRIPT = [
  "const fs = require('fs'), cp = require('child_process');",
  "const ref = 'refs/agent-tasks/' + process.env.AGENT_TASKS_TASK_ID + '/start';",
  'const until = Date.now() + 30000;',
  '(function wait() {',
  "  if (cp.spawnSync('git', ['rev-parse', '-q', '--verify', ref]).status === 0) {",
  `    fs.appendFileSync('README.md', ${JSON.stringify(EDIT_LINE + '\n')});`,
  "    console.log('edited README.md');",
  '    return;',
  '  }',
  "  if (Date.now() > until) { console.error('no start snapshot after 30 s'); process.exit(3); }",
  '  setTimeout(wait, 50);',
  '})();',
].join('\n');

/** The notification of a run whose supervisor died (one run), and what its Resume tells the session (agentTasks.resumePrompt's default in package.json). */
const INTERRUPTED_NOTICE_TEXT = '1 agent task was interrupted: the process that ran it stopped (a crash, a reboot, kill -9). Resume its session?';
const INTERRUPTED_NOTICE = /agent tasks? (was|were) interrupted/;
const DEFAULT_RESUME_PROMPT = 'You were interrupted. Continue where you left off.';

const OUT_DIR = process.env.E2E_OUT ?? path.join(os.tmpdir(), 'agent-tasks-e2e-out');
const MEDIA_DIR = path.join(REPO_ROOT, 'docs', 'media');
const log = defaultLog;
const timer = new PhaseTimer(log);
/** Cropped screenshots for docs/media/ are written to $E2E_OUT/media/ and copied with E2E_UPDATE_MEDIA=1. */
const MEDIA_OUT = path.join(OUT_DIR, 'media');

fs.mkdirSync(OUT_DIR, { recursive: true });

/** A scenario's body: timed, and on failure a screenshot `FAIL-<name>.png` plus the toasts in the error. */
async function scenario(name: string, wb: () => Workbench | undefined, fn: () => Promise<void>): Promise<void> {
  await timer.phase(name, async () => {
    try {
      await fn();
    } catch (err) {
      const w = wb();
      await shot(w, `FAIL-${name.replace(/\W+/g, '-')}.png`);
      const toasts = w ? await w.notifications().catch(() => []) : [];
      if (err instanceof Error && toasts.length) err.message += `\n(notifications shown: ${JSON.stringify(toasts.map((t) => t.message))})`;
      throw err;
    }
  });
}

/** A cropped screenshot for the docs (the part of the 1400x900 window that matters). */
async function mediaShot(wb: Workbench, name: string, clip: { x: number; y: number; width: number; height: number }): Promise<void> {
  fs.mkdirSync(MEDIA_OUT, { recursive: true });
  await wb.page.screenshot({ path: path.join(MEDIA_OUT, name), clip, timeout: 30_000 }).catch((err: unknown) => log(`media ${name}: ${errorMessage(err)}`));
}

async function shot(wb: Workbench | undefined, name: string): Promise<void> {
  if (!wb) return;
  try {
    await wb.page.mouse.move(1, 1);
    await wb.screenshot(path.join(OUT_DIR, name));
  } catch (err) {
    log(`screenshot ${name} failed: ${errorMessage(err)}`);
  }
}

/** Moves the mouse out of the way and waits until no hover is shown (a hover intercepts clicks). */
async function calmMouse(wb: Workbench): Promise<void> {
  await wb.page.mouse.move(1, 1);
  await waitUntil('no hover over the workbench', async () => (await wb.page.locator('.workbench-hover').count()) === 0 || !(await wb.page.locator('.workbench-hover').first().isVisible()), { timeoutMs: 5_000, intervalMs: 100 }).catch(() => undefined);
}

async function pick(wb: Workbench, label: string | RegExp, options: { filter?: string; timeoutMs?: number } = {}): Promise<void> {
  await calmMouse(wb);
  await wb.pickQuickItem(label, options);
}

/** Runs "Agent Tasks: Run Agent Task…", picks `profile`, types `prompt`. */
async function runFromPalette(wb: Workbench, profile: string, prompt: string): Promise<void> {
  await wb.runCommand('Agent Tasks: Run Agent Task…');
  await pick(wb, profile, { filter: profile, timeoutMs: 20_000 });
  await wb.typeInInput(prompt, { timeoutMs: 15_000 });
}

async function statusBarAria(wb: Workbench): Promise<{ ariaLabel: string; text: string; className: string } | undefined> {
  const item = wb.page.locator(`.statusbar .statusbar-item[id="${STATUS_ITEM_ID}"]`);
  if ((await item.count()) === 0) return undefined;
  return item.first().evaluate(
    (el) => ({ ariaLabel: (el.querySelector('[aria-label]') ?? el).getAttribute('aria-label') ?? '', text: (el.innerText ?? '').trim(), className: el.className }),
    null,
  );
}

async function waitForStatusBar(wb: Workbench, what: string, pred: (s: { ariaLabel: string; text: string; className: string } | undefined) => boolean, timeoutMs = 20_000): Promise<void> {
  let last: unknown;
  await waitUntil(
    `the Agent Tasks status bar item: ${what}`,
    async () => {
      last = await statusBarAria(wb);
      return pred(last as { ariaLabel: string; text: string; className: string } | undefined);
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)}; last: ${JSON.stringify(last ?? '(hidden)')}`);
  });
}

async function hoverTaskTooltip(wb: Workbench, match: string | RegExp): Promise<string> {
  return wb.hoverText(wb.treeRow(match, { view: VIEW }).locator('.monaco-icon-label, .label-name').first(), { timeoutMs: 10_000 });
}

/** True when `pid` is a live process of this code-server running dist/supervisor.js. */
function isSupervisorProcess(server: CodeServer, pid: number): boolean {
  const proc = server.processTree().find((p) => p.pid === pid);
  return !!proc && proc.cmdline.some((a) => /[\\/]dist[\\/]supervisor\.js$/.test(a));
}

/** Waits until a task log has at least `n` lines. */
async function waitForLogLines(logPath: string | null, n: number, timeoutMs = 15_000): Promise<void> {
  await waitUntil(`${n} lines in the task log ${String(logPath)}`, () => logPath !== null && fs.existsSync(logPath) && readLogLines(logPath).length >= n, { timeoutMs, intervalMs: 100 });
}

/** A background sampler of the workbench (every 250 ms, through reloads); `stop()` ends it. */
function sampleWorkbench(probe: () => Promise<string[]>): { readonly seen: string[]; stop(): Promise<void> } {
  const seen = new Set<string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        for (const s of await probe()) seen.add(s);
      } catch {
        // The page is reloading: sample again.
      }
      await sleep(250);
    }
  })();
  return {
    get seen() {
      return [...seen];
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Records every interrupted notification toast and every "interrupted" status bar state shown while it runs. */
function watchForInterruptedNotices(wb: Workbench): { readonly seen: string[]; stop(): Promise<void> } {
  return sampleWorkbench(async () => {
    const found = (await wb.notifications()).filter((t) => /interrupted/i.test(t.message)).map((t) => `notification: ${t.message}`);
    const sb = await statusBarAria(wb);
    if (sb && /interrupted/i.test(sb.ariaLabel)) found.push(`status bar: ${sb.ariaLabel}`);
    return found;
  });
}

/** Records every question shown while it runs: a QuickPick or InputBox, a modal dialog. */
function watchForQuestions(wb: Workbench): { readonly seen: string[]; stop(): Promise<void> } {
  return sampleWorkbench(async () => {
    const found: string[] = [];
    const quick = wb.page.locator('.quick-input-widget').first();
    if ((await quick.count()) > 0 && (await quick.isVisible())) found.push(`quick input: ${(await quick.innerText()).replace(/\s+/g, ' ').slice(0, 300)}`);
    const dialog = wb.page.locator('.monaco-dialog-box').first();
    if ((await dialog.count()) > 0 && (await dialog.isVisible())) found.push(`dialog: ${(await dialog.innerText()).replace(/\s+/g, ' ').slice(0, 300)}`);
    return found;
  });
}

/** Every message in the notification center (toasts that hid themselves included). */
async function notificationCenterMessages(wb: Workbench): Promise<string[]> {
  await calmMouse(wb);
  await wb.runCommand('Notifications: Show Notifications');
  const center = wb.page.locator('.notifications-center').first();
  await center.waitFor({ state: 'visible', timeout: 10_000 });
  const messages = await center.locator('.notification-list-item-message').evaluateAll((els) => els.map((e) => (e.innerText ?? '').replace(/\s+/g, ' ').trim()), null);
  await wb.pressKey('Escape');
  await center.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  return messages;
}

/** "Developer: Reload Window" from the palette; returns once the new page's workbench is shown. */
async function reloadWindowFromPalette(wb: Workbench): Promise<void> {
  const OLD = '__agentTasksE2eOldPage';
  await wb.page.evaluate((key) => {
    (globalThis as Record<string, unknown>)[key] = true;
  }, OLD);
  await wb.runCommand('Developer: Reload Window');
  await waitUntil('the page to reload after "Developer: Reload Window"', async () => (await wb.page.evaluate((key) => (globalThis as Record<string, unknown>)[key] === true, OLD).catch(() => true)) === false, { timeoutMs: 60_000, intervalMs: 200 });
  await wb.waitForWorkbench();
}

// 6 min for the scenarios, plus room for a first run's install of Claude Code (~240 MB) in before().
describe('Agent Tasks in code-server (trusted workspace)', { timeout: 12 * 60_000 }, () => {
  let tools: E2ETools;
  let cs: CodeServer | undefined;
  let wb: Workbench | undefined;
  let store = '';
  let argvLog = '';
  let ticksArgvLog = '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-e2e-scenarios-'));
  /** Scenario 7: the real Claude Code CLI and its mock model server (undefined when it could not be set up: then only scenario 7 fails). */
  let claude: RealClaude | undefined;
  let claudeSetupError = '';

  before(async () => {
    tools = await timer.phase('tools', () => ensureE2ETools({ log }));
    // Before code-server starts: its user settings are read once (a later settings.json edit was not
    // picked up by the running workbench), so the profile needs the mock's port now.
    await timer.phase('claude CLI + mock model server', async () => {
      try {
        claude = await startRealClaude({
          root: path.join(tmp, 'claude'),
          // The model asks for Bash; a plain `claude -p` may not run it; then the model answers.
          steps: [{ kind: 'shell', command: CLAUDE_SHELL, text: 'I will create the file.' }, { kind: 'text', text: 'I could not create f.txt: running Bash was not allowed.' }],
          log,
        });
        log(`claude ${claude.tool.version}: ${claude.tool.bin} (${claude.tool.reused ? 'cached' : 'installed'}), mock model on ${claude.server.origin}`);
      } catch (err) {
        claudeSetupError = errorMessage(err);
        log(`the real Claude Code CLI is not available, scenario 7 will fail: ${claudeSetupError}`);
      }
    });
    const vsix = vsixPath();
    argvLog = path.join(tmp, 'fake-agent-argv.jsonl');
    ticksArgvLog = path.join(tmp, 'tick-agent-argv.jsonl');
    const workspace = path.join(tmp, 'workspace');
    // A git repository with one commit: runs in it journal snapshots (scenario 9 shows their changes).
    await makeRepo(workspace, { 'README.md': '# e2e workspace\n' });
    cs = await timer.phase('code-server + vsix', () =>
      CodeServer.start({
        tools,
        vsix: [vsix],
        trust: 'trusted',
        workspace,
        settings: {
          'agentTasks.agents': {
            ...fakeProfiles({ argvLog, ticksArgvLog, sleepMs: 8000 }),
            [EDIT_PROFILE]: { command: process.execPath, args: ['-e', EDIT_SCRIPT, '--', '${prompt}'], format: 'text' },
            ...(claude ? { [CLAUDE_PROFILE]: claude.plainProfile, [CLAUDE_ASKING_PROFILE]: claude.profile } : {}),
          },
          'agentTasks.defaultAgent': 'fake',
        },
        // No real credential, agent config or proxy of the machine reaches an agent (scenario 7 runs a real one).
        env: scrubbedAgentEnv(),
        log,
      }),
    );
    store = storeDir(cs);
    wb = await timer.phase('chromium', () => Workbench.launch(tools, { log }));
    await timer.phase('open workbench', () => wb!.open(cs!.workspaceUrl()));
    await timer.phase('activation (welcome view)', async () => {
      await wb!.openViewContainer(VIEW_CONTAINER);
      await waitUntil(
        'the Agent Tasks welcome view ("No agent tasks yet") — the store opened',
        async () => /No agent tasks yet/.test(await wb!.page.locator('.part.sidebar').first().innerText()),
        { timeoutMs: 60_000, intervalMs: 300 },
      );
    });
  });

  after(async () => {
    await wb?.close().catch((err: unknown) => log(`closing chromium: ${errorMessage(err)}`));
    await claude?.close().catch((err: unknown) => log(`closing the mock model server: ${errorMessage(err)}`));
    if (cs) {
      const token = cs.runToken;
      await cs.stop().catch((err: unknown) => log(`stopping code-server: ${errorMessage(err)}`));
      const left = processesWithEnv(RUN_TOKEN_ENV, token).filter((p) => p.state !== 'Z');
      if (left.length) log(`WARNING: processes left after stop(): ${left.map((p) => p.pid).join(', ')}`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    log(`timings so far:\n${timer.report()}`);
  });

  const PROMPT1 = 'Fix the flaky parser test';
  let task1: StoreRow | undefined;

  test('1. run from the palette: Running + status bar 1, then History success with its cost; the CLI agrees', async () => {
    await scenario('scenario 1', () => wb, async () => {
      const w = wb!;
      await runFromPalette(w, 'fake', PROMPT1);
      await waitForTaskInGroup(w, PROMPT1, 'Running', { timeoutMs: 15_000 });
      await waitForStatusBar(w, '1 agent task running', (s) => !!s && /1 agent task running/.test(s.ariaLabel) && /\b1\b/.test(s.text), 15_000);
      await shot(w, '1-running.png');
      const row = await waitForTaskInGroup(w, PROMPT1, 'History', { timeoutMs: 40_000, extra: /success/ });
      assert.match(row.ariaLabel, /\$0\.0123/, `the History row shows the cost: ${row.ariaLabel}`);
      await waitForStatusBar(w, 'hidden (nothing running, nothing interrupted)', (s) => s === undefined || !/running/.test(s.ariaLabel), 10_000);
      await w.waitForNotification(/finished/, { timeoutMs: 10_000 });
      await clearNotifications(w);
      await shot(w, '1-history.png');

      task1 = await waitForStoreRow(store, `"${PROMPT1}" success`, (r) => r.name === PROMPT1 && r.status === 'success');
      assert.equal(task1.cost_usd, FAKE_COST_USD);
      assert.equal(task1.exit_code, 0);
      assert.equal(task1.agent, 'fake');
      assert.ok(task1.session_id, 'the row has a session id');
      const argv = readArgvLog(argvLog);
      assert.equal(argv.length, 1, `the fake agent ran once: ${JSON.stringify(argv)}`);
      assert.deepEqual(argv[0].slice(argv[0].indexOf('--session-id'), argv[0].indexOf('--session-id') + 2), ['--session-id', task1.session_id]);
      assert.equal(argv[0][argv[0].indexOf('-p') + 1], PROMPT1, 'the prompt is one argv element');
    });
  });

  test('6. Show Output on a finished task shows the readable log (rendered text, not raw JSON)', async () => {
    await scenario('scenario 6', () => wb, async () => {
      const w = wb!;
      assert.ok(task1, 'scenario 1 must have produced a finished task');
      await clickInlineAction(w, PROMPT1, 'Show Output');
      let seen = { title: '', text: '' };
      await waitUntil(
        'the output editor with the rendered reply',
        async () => {
          seen = await activeEditorText(w);
          return seen.text.includes(FAKE_REPLY) ? seen : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 300 },
      ).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; editor ${JSON.stringify(seen.title)}: ${JSON.stringify(seen.text.slice(0, 1500))}`);
      });
      assert.match(seen.title, new RegExp(PROMPT1), 'the tab is titled by the task');
      assert.match(seen.text, /Agent task: Fix the flaky parser test/);
      assert.doesNotMatch(seen.text, /"type"\s*:\s*"(assistant|result|system)"/, `raw stream-json in the output view:\n${seen.text}`);
      assert.match(seen.text, /\$0\.0123/, 'the footer shows the cost');
      await shot(w, '6-output.png');
      await mediaShot(w, 'output.png', { x: 0, y: 0, width: 1400, height: 290 });
      await w.runCommand('View: Close All Editors');
    });
  });

  test('3. cancel a running task from its inline action: its supervisor stops it, cancelled in the tree and the store, agent and supervisor gone', async () => {
    await scenario('scenario 3', () => wb, async () => {
      const w = wb!;
      const prompt = 'Rewrite the build scripts (cancel me)';
      await runFromPalette(w, 'fake-slow', prompt);
      await waitForTaskInGroup(w, prompt, 'Running', { timeoutMs: 15_000 });
      const running = await waitForStoreRow(store, 'the slow task running with a child pid', (r) => r.name === prompt && r.status === 'running' && r.child_pid !== null);
      const pid = running.child_pid!;
      const supervisor = running.owner_pid;
      assert.ok(pidAlive(pid), `the agent (pid ${pid}) runs`);
      assert.ok(running.owner_id.startsWith('supervisor:'), `a supervisor owns the run: owner_id ${running.owner_id}`);
      assert.ok(isSupervisorProcess(cs!, supervisor), `the row's owner_pid ${supervisor} is a dist/supervisor.js process`);
      await shot(w, '3-before-cancel.png');
      await clickInlineAction(w, prompt, 'Cancel Task');
      await waitForTaskInGroup(w, prompt, 'History', { timeoutMs: 20_000, extra: /cancelled/ });
      const row = await waitForStoreRow(store, 'the slow task finished', (r) => r.id === running.id && r.status !== 'running');
      assert.equal(row.status, 'cancelled', `cancelled: ${JSON.stringify({ status: row.status, error: row.error, signal: row.signal })}`);
      assert.equal(row.owner_pid, supervisor, 'its supervisor recorded the end');
      await waitUntil(`the cancelled agent pid ${pid} to be gone`, () => !pidAlive(pid), { timeoutMs: 10_000 });
      await waitUntil(`its supervisor pid ${supervisor} to exit`, () => !pidAlive(supervisor), { timeoutMs: 10_000 });
      await shot(w, '3-cancelled.png');
    });
  });

  test('4. a failing task (exit 3) and a profile whose command does not exist: failed, with the error shown', async () => {
    await scenario('scenario 4', () => wb, async () => {
      const w = wb!;
      await clearNotifications(w);
      const failPrompt = 'Make the tests pass (will fail)';
      await runFromPalette(w, 'fake-fail', failPrompt);
      await waitForTaskInGroup(w, failPrompt, 'History', { timeoutMs: 30_000, extra: /failed \(exit 3\)/ });
      const toast = await w.waitForNotification(/failed/, { timeoutMs: 15_000 });
      assert.equal(toast.severity, 'error', `an error notification: ${JSON.stringify(toast)}`);
      const failRow = await waitForStoreRow(store, 'the failing task failed', (r) => r.name === failPrompt && r.status === 'failed');
      assert.equal(failRow.exit_code, 3);
      const tip = await hoverTaskTooltip(w, failPrompt);
      assert.match(tip, /Exit code:\s*3/, `tooltip: ${tip}`);
      await shot(w, '4-failed-tooltip.png');
      await clearNotifications(w);

      const missingPrompt = 'Use an agent that is not installed';
      await runFromPalette(w, 'fake-missing', missingPrompt);
      await waitForTaskInGroup(w, missingPrompt, 'History', { timeoutMs: 30_000, extra: /failed/ });
      const missingToast = await w.waitForNotification(/failed/, { timeoutMs: 15_000 });
      assert.match(missingToast.message, /agentTasks\.agents\.fake-missing\.command/, `the notification names the setting: ${missingToast.message}`);
      const missingRow = await waitForStoreRow(store, 'the missing-command task failed', (r) => r.name === missingPrompt && r.status === 'failed');
      assert.ok(missingRow.error, 'the row records why it failed');
      assert.match(missingRow.error!, /ENOENT|not found|does not exist|no such file/i, `error: ${missingRow.error}`);
      const tip2 = await hoverTaskTooltip(w, missingPrompt);
      assert.match(tip2, /Error:/, `tooltip shows the error: ${tip2}`);
      assert.match(tip2, /ENOENT|not found|does not exist|no such file/i, `tooltip: ${tip2}`);
      await w.page.screenshot({ path: path.join(OUT_DIR, '4-missing-command.png'), timeout: 30_000 });

      await clearNotifications(w);
    });
  });

  /**
   * 2a/2b: a `ticks` run (a line every 100 ms for 20 s) survives the end of the window that
   * started it — its supervisor owns it. `end` ends that window (SIGKILL of the extension host +
   * page reload, or "Developer: Reload Window"); the next window must show the run Running, with no
   * interrupted notification, and the run must end `success` with every line in its log, in order.
   */
  async function runSurvivesWindowEnd(tag: string, prompt: string, end: (w: Workbench, server: CodeServer) => Promise<void>): Promise<void> {
    const w = wb!;
    const server = cs!;
    await clearNotifications(w);
    await runFromPalette(w, 'ticks', prompt);
    await waitForTaskInGroup(w, prompt, 'Running', { timeoutMs: 15_000 });
    const running = await waitForStoreRow(store, `"${prompt}" running with its agent`, (r) => r.name === prompt && r.status === 'running' && r.child_pid !== null && r.session_id !== null);
    assert.ok(running.owner_id.startsWith('supervisor:'), `a supervisor owns the run: owner_id ${running.owner_id}`);
    const supervisor = running.owner_pid;
    const agentPid = running.child_pid!;
    assert.ok(isSupervisorProcess(server, supervisor), `the row's owner_pid ${supervisor} is a dist/supervisor.js process`);
    await waitForLogLines(running.log_path, 10); // the run is under way (about a second of output)
    const watch = watchForInterruptedNotices(w);
    try {
      await end(w, server);
      await ensureTasksView(w);
      await widenSideBar(w, 280).catch((err: unknown) => log(`could not widen the side bar: ${errorMessage(err)}`));
      // The new window shows the run as Running (the status bar counts every running task).
      await waitForTaskInGroup(w, prompt, 'Running', { timeoutMs: 60_000 });
      await waitForStatusBar(w, '1 agent task running', (s) => !!s && /1 agent task running/.test(s.ariaLabel), 20_000);
      const linesNow = readLogLines(running.log_path).length;
      assert.ok(pidAlive(agentPid) && pidAlive(supervisor), `the agent (pid ${agentPid}) and its supervisor (pid ${supervisor}) still run`);
      assert.ok(linesNow < TICKS_COUNT + 2, `the run is still going when the new window shows it (${linesNow} lines so far)`);
      log(`${tag}: the new window shows the run Running after ${linesNow - 1} of ${TICKS_COUNT} lines`);
      await shot(w, `${tag}-still-running.png`);

      // It ends as it would have without the reload.
      await waitForTaskInGroup(w, prompt, 'History', { timeoutMs: 60_000, extra: /success/ });
      const done = await waitForStoreRow(store, `"${prompt}" success`, (r) => r.id === running.id && r.status !== 'running');
      assert.equal(done.status, 'success', `the run ended success: ${JSON.stringify({ status: done.status, error: done.error, resolution: done.resolution })}`);
      assert.equal(done.exit_code, 0);
      assert.equal(done.resolution, null);
      assert.equal(done.owner_pid, supervisor, 'the same supervisor owned the run to its end');
      const lines = readLogLines(done.log_path);
      assert.deepEqual(lines, expectedTickLines(running.session_id!, 'new', TICKS_COUNT), 'the log holds every line, in order');
      assert.equal(done.output_bytes, fs.statSync(done.log_path!).size, 'output_bytes is the log size');
      await waitUntil(`the supervisor pid ${supervisor} to exit after the run`, () => !pidAlive(supervisor), { timeoutMs: 10_000 });
      assert.ok(!pidAlive(agentPid), `the agent pid ${agentPid} is gone`);
      await shot(w, `${tag}-success.png`);
    } finally {
      await watch.stop();
    }
    const center = await notificationCenterMessages(w);
    const seen = [...new Set([...watch.seen, ...center.filter((m) => /interrupted/i.test(m))])];
    assert.deepEqual(seen, [], `no interrupted notification (notification center: ${JSON.stringify(center)})`);
    await clearNotifications(w);
  }

  test('2a. SIGKILL the extension host during a 20 s run, reload the page: still Running, no interrupted notice; it ends success with every line of its log in order', async () => {
    await scenario('scenario 2a', () => wb, async () => {
      await runSurvivesWindowEnd('2a', 'Refactor the parser (extension host will be killed)', async (w, server) => {
        const killed = await server.killExtensionHost('SIGKILL');
        await server.waitForExtensionHost({ exclude: killed, timeoutMs: 30_000 });
        await w.reload();
      });
    });
  });

  test('2b. "Developer: Reload Window" during a 20 s run: still Running, no interrupted notice; it ends success with every line of its log in order', async () => {
    await scenario('scenario 2b', () => wb, async () => {
      await runSurvivesWindowEnd('2b', 'Update the changelog (window will be reloaded)', async (w, server) => {
        const before = server.extensionHostPids();
        await reloadWindowFromPalette(w);
        const after = await server.waitForExtensionHost({ exclude: before, timeoutMs: 60_000 });
        const oldLeft = before.filter((pid) => pidAlive(pid));
        log(`2b: Reload Window: extension host ${before.join(', ')} → ${after}${oldLeft.length ? ` (old one(s) ${oldLeft.join(', ')} still alive)` : ' (the old one exited)'}`);
      });
    });
  });

  test('2c. SIGKILL the supervisor during a 20 s run, reload: Interrupted + notification; its Resume runs the same session again, nothing else asked (user actions counted)', async () => {
    await scenario('scenario 2c', () => wb, async () => {
      const w = wb!;
      const server = cs!;
      const prompt = 'Migrate the database layer (supervisor will be killed)';
      await clearNotifications(w);
      await runFromPalette(w, 'ticks', prompt);
      await waitForTaskInGroup(w, prompt, 'Running', { timeoutMs: 15_000 });
      const running = await waitForStoreRow(store, `"${prompt}" running with its agent and a session`, (r) => r.name === prompt && r.status === 'running' && r.child_pid !== null && r.session_id !== null);
      const sessionId = running.session_id!;
      const agentPid = running.child_pid!;
      const supervisor = running.owner_pid;
      assert.ok(running.owner_id.startsWith('supervisor:'), `a supervisor owns the run: owner_id ${running.owner_id}`);
      assert.ok(isSupervisorProcess(server, supervisor), `the row's owner_pid ${supervisor} is a dist/supervisor.js process`);
      await waitForLogLines(running.log_path, 10);

      await server.killPid(supervisor, 'SIGKILL');
      log(`2c: SIGKILLed the supervisor pid ${supervisor}; its agent pid ${agentPid} ${pidAlive(agentPid) ? 'lives on (orphaned)' : 'died with it'}`);
      assert.ok(pidAlive(agentPid), `the agent pid ${agentPid} outlives its supervisor (tickAgent.js ignores EPIPE), so Resume must stop it`);
      await w.reload();
      await ensureTasksView(w);
      await widenSideBar(w, 280).catch((err: unknown) => log(`could not widen the side bar: ${errorMessage(err)}`));
      await waitForTaskInGroup(w, prompt, 'Interrupted', { timeoutMs: 60_000 });
      const toast = await w.waitForNotification(INTERRUPTED_NOTICE, { timeoutMs: 30_000 });
      assert.equal(toast.message, INTERRUPTED_NOTICE_TEXT);
      assert.equal(toast.severity, 'warning', `a warning: ${JSON.stringify(toast)}`);
      assert.deepEqual(toast.buttons, ['Resume', 'Recover…', 'Dismiss']);
      await waitForStatusBar(w, 'warns: 1 interrupted agent task to recover', (s) => !!s && /1 interrupted agent task to recover/.test(s.ariaLabel), 20_000);
      const bg = await w.page
        .locator(`.statusbar .statusbar-item[id="${STATUS_ITEM_ID}"]`)
        .first()
        .evaluate((el) => (el.getAttribute('style') ?? '') + ' ' + el.className, null);
      assert.match(bg, /warning|background-color/i, `the status bar item has the warning background: ${bg}`);
      const interrupted = await waitForStoreRow(store, 'the run interrupted', (r) => r.id === running.id && r.status === 'interrupted' && r.resolved_at === null);
      await shot(w, '2c-interrupted.png');

      // From the notification to the same session running again, counting what the user does.
      const userActions: string[] = [];
      const questions = watchForQuestions(w);
      let resumed: StoreRow;
      try {
        userActions.push('click "Resume" in the notification');
        await w.clickNotificationButton(INTERRUPTED_NOTICE, 'Resume');
        resumed = await waitForStoreRow(store, `a run of session ${sessionId} whose parent_id is ${interrupted.id}`, (r) => r.parent_id === interrupted.id && r.child_pid !== null, 30_000);
        await waitUntil('the resumed agent to print its first line', () => fs.existsSync(resumed.log_path ?? '') && readLogLines(resumed.log_path)[0] === `start ${sessionId} resumed`, { timeoutMs: 15_000, intervalMs: 200 });
      } finally {
        await questions.stop();
      }
      log(`2c: user actions from the notification to the session running again: ${userActions.length} (${userActions.join('; ')})`);
      assert.deepEqual(questions.seen, [], 'Resume asked nothing more (no QuickPick, InputBox or dialog)');
      assert.ok(userActions.length <= 2, `at most two user actions from the notification to the session running again: ${JSON.stringify(userActions)}`);

      // The same session, continued with agentTasks.resumePrompt, the orphaned agent stopped first.
      assert.equal(resumed.session_id, sessionId, 'the resumed run keeps the session id');
      const argv = readArgvLog(ticksArgvLog).filter((a) => a.includes(sessionId));
      assert.equal(argv.length, 2, `the agent ran twice with session ${sessionId}: ${JSON.stringify(argv)}`);
      assert.deepEqual(argv[0].slice(argv[0].indexOf('--session-id'), argv[0].indexOf('--session-id') + 2), ['--session-id', sessionId]);
      assert.deepEqual(argv[1].slice(argv[1].indexOf('--resume'), argv[1].indexOf('--resume') + 2), ['--resume', sessionId], `the second run resumes: ${JSON.stringify(argv[1])}`);
      assert.ok(!argv[1].includes('--session-id'), `a resumed run does not pass --session-id: ${JSON.stringify(argv[1])}`);
      assert.equal(argv[1][argv[1].indexOf('-p') + 1], DEFAULT_RESUME_PROMPT, 'told agentTasks.resumePrompt (its default)');
      assert.equal(resumed.prompt, DEFAULT_RESUME_PROMPT);
      assert.ok(!pidAlive(agentPid), `the orphaned agent pid ${agentPid} was stopped before the session resumed`);
      const old = listRows(store).find((r) => r.id === interrupted.id)!;
      assert.ok(old.resolved_at !== null, 'the interrupted row is resolved');
      assert.equal(old.resolution, 'resumed');
      const resumedName = `${prompt} (resumed)`;
      assert.equal(resumed.name, resumedName);
      assert.ok(resumed.owner_id.startsWith('supervisor:'), `a supervisor owns the resumed run too: ${resumed.owner_id}`);
      await waitForTaskInGroup(w, resumedName, 'Running', { timeoutMs: 15_000 });
      const original = new RegExp(`${prompt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?! \\(resumed\\))`);
      await waitForTaskInGroup(w, original, 'History', { timeoutMs: 15_000, extra: /interrupted \(resumed\)/ });
      await shot(w, '2c-resumed.png');
      await mediaShot(w, 'tree.png', { x: 0, y: 0, width: 880, height: 250 });

      // The resumed session runs to its end (50 lines, 5 s).
      await waitForTaskInGroup(w, resumedName, 'History', { timeoutMs: 30_000, extra: /success/ });
      const finished = await waitForStoreRow(store, 'the resumed run finished', (r) => r.id === resumed.id && r.status !== 'running');
      assert.equal(finished.status, 'success');
      assert.deepEqual(readLogLines(finished.log_path), expectedTickLines(sessionId, 'resumed', TICKS_RESUME_COUNT));
      await clearNotifications(w);
    });
  });

  test('7. the REAL Claude Code CLI (offline, mock model): a denied Bash call is "success, 1 action denied" with a warning in the tree, tooltip, notification → agentTasks.agents, output and store', async () => {
    await scenario('scenario 7', () => wb, async () => {
      const w = wb!;
      const server = cs!;
      if (!claude) throw new Error(`the real Claude Code CLI could not be set up in before(): ${claudeSetupError}`);
      const prompt = 'Create f.txt containing hi';
      await clearNotifications(w);
      await w.runCommand('View: Close All Editors');

      await runFromPalette(w, CLAUDE_PROFILE, prompt);
      const row = await waitForTaskInGroup(w, prompt, 'History', { timeoutMs: 120_000, extra: /success, 1 action denied/ });
      assert.match(row.ariaLabel, /success, 1 action denied/, `the History row's aria label: ${row.ariaLabel}`);
      assert.ok(row.text.includes(`${CLAUDE_PROFILE} · success, 1 action denied`), `the row's description: ${row.text}`);
      log(`scenario 7 row: aria-label ${JSON.stringify(row.ariaLabel)}, text ${JSON.stringify(row.text)}`);

      // The row's icon: the warning codicon in the list's warning colour (not the check of a plain success).
      const icon = await w
        .treeRow(prompt, { view: VIEW })
        .locator('.custom-view-tree-node-item-icon')
        .first()
        .evaluate((el) => ({ className: el.className, style: el.getAttribute('style') ?? '' }), null);
      assert.match(icon.className, /\bcodicon-warning\b/, `the row's icon: ${JSON.stringify(icon)}`);
      assert.doesNotMatch(icon.className, /\bcodicon-check\b/, `the row's icon: ${JSON.stringify(icon)}`);
      // VS Code writes the resolved colour (e.g. "color: rgb(102, 115, 9)"): compare it with the theme's list.warningForeground.
      const warningColor = await w.page.evaluate(() => {
        type El = { style: { color: string }; remove(): void };
        const g = globalThis as unknown as { document: { querySelector(s: string): { appendChild(e: El): void }; createElement(tag: string): El }; getComputedStyle(e: El): { color: string } };
        const probe = g.document.createElement('span');
        probe.style.color = 'var(--vscode-list-warningForeground)';
        // The theme's colours are CSS variables of the workbench element.
        g.document.querySelector('.monaco-workbench').appendChild(probe);
        const color = g.getComputedStyle(probe).color;
        probe.remove();
        return color;
      }, null);
      assert.ok(icon.style.replace(/\s+/g, '').includes(`color:${warningColor.replace(/\s+/g, '')}`), `the icon has the warning colour ${warningColor}: ${JSON.stringify(icon)}`);

      // The finish notification: a warning naming the denied call, with Open Agent Settings.
      const toast = await w.waitForNotification(/1 action denied/, { timeoutMs: 15_000 });
      assert.equal(toast.severity, 'warning', `a warning notification: ${JSON.stringify(toast)}`);
      assert.match(
        toast.message,
        /^Agent task "Create f\.txt containing hi" finished in [^,]+, but 1 action denied: Bash: echo hi > f\.txt\. Allow the tools it needs in the agent's profile \(agentTasks\.agents\)\.$/,
        `the notification: ${toast.message}`,
      );
      assert.deepEqual(toast.buttons, ['Open Agent Settings', 'Show Output']);
      await shot(w, '7-denied-notification.png');

      // The tooltip lists the denied call.
      const tip = await hoverTaskTooltip(w, prompt);
      assert.match(tip, /Status:\s*success, 1 action denied/, `tooltip: ${tip}`);
      assert.match(tip, /1 action denied\s*\(the agent's permission settings did not allow them\):/, `tooltip: ${tip}`);
      assert.match(tip, /Bash: echo hi > f\.txt/, `the tooltip lists the call: ${tip}`);
      log(`scenario 7 tooltip:\n${tip}`);
      await w.page.screenshot({ path: path.join(OUT_DIR, '7-denied-tooltip.png'), timeout: 30_000 });
      await calmMouse(w);

      // Open Agent Settings → the Settings editor, searching agentTasks.agents.
      await w.clickNotificationButton(/1 action denied/, 'Open Agent Settings');
      // Code 1.139 opens the Settings editor in a modal editor over the workbench (`.monaco-modal-editor-block`, not in `.part.editor`).
      const modal = w.page.locator('.monaco-modal-editor-block').first();
      const settingsEditor = modal.locator('.settings-editor').first();
      let settings = { visible: false, query: '', titles: [] as string[] };
      await waitUntil(
        'the Settings editor searching "agentTasks.agents"',
        async () => {
          const visible = (await settingsEditor.count()) > 0 && (await settingsEditor.isVisible());
          const query = visible ? ((await settingsEditor.locator('.settings-header .suggest-input-container .view-lines').first().textContent({ timeout: 1_000 }).catch(() => '')) ?? '') : '';
          const titles = visible
            ? await settingsEditor.locator('.settings-body .setting-item-title').evaluateAll((els) => els.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()), null)
            : [];
          settings = { visible, query: query.replace(/[\s\u00a0]+/g, ' ').trim(), titles };
          return settings.query === 'agentTasks.agents' && titles.includes('Agent Tasks: Agents');
        },
        { timeoutMs: 20_000, intervalMs: 300 },
      ).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; seen: ${JSON.stringify(settings)}`);
      });
      log(`scenario 7: the Settings editor shows ${JSON.stringify(settings.titles)} for ${JSON.stringify(settings.query)}`);
      // Its title may render after the settings list (a cold machine showed '' at first).
      let modalTitles: string[] = [];
      await waitUntil(
        'the modal editor to be titled "Settings"',
        async () => {
          modalTitles = (await modal.locator('.label-name').allTextContents().catch(() => [] as string[])).map((t) => t.trim());
          return modalTitles.includes('Settings');
        },
        { timeoutMs: 10_000, intervalMs: 250 },
      ).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; the modal editor's titles: ${JSON.stringify(modalTitles)}`);
      });
      await shot(w, '7-agent-settings.png');
      // The palette does not open over the modal (F1 goes nowhere): close it with its own button.
      await modal.locator('.action-label[aria-label^="Close Modal Editor"]').first().click({ timeout: 10_000 });
      await waitUntil('the Settings modal to close', async () => (await modal.count()) === 0 || !(await modal.isVisible()), { timeoutMs: 10_000, intervalMs: 200 });

      // The output view's header names the denied call.
      await clickInlineAction(w, prompt, 'Show Output');
      let out = { title: '', text: '' };
      await waitUntil(
        'the output editor with the Denied: line',
        async () => {
          out = await activeEditorText(w);
          return /Denied:/.test(out.text);
        },
        { timeoutMs: 20_000, intervalMs: 300 },
      ).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; editor ${JSON.stringify(out.title)}: ${JSON.stringify(out.text.slice(0, 1500))}`);
      });
      assert.match(out.text, /^Denied: +1 action denied \(the agent's permission settings did not allow them; see agentTasks\.agents\)$/m, out.text);
      assert.match(out.text, /^ +Bash: echo hi > f\.txt$/m, out.text);
      await shot(w, '7-denied-output.png');
      await w.runCommand('View: Close All Editors');

      // The store (through the CLI), the workspace, and the network.
      const stored = await waitForStoreRow(store, `"${prompt}" success`, (r) => r.name === prompt && r.status === 'success');
      assert.deepEqual(stored.permission_denials, [{ tool: 'Bash', summary: CLAUDE_SHELL }]);
      assert.equal(stored.permission_denial_count, 1);
      assert.equal(stored.agent, CLAUDE_PROFILE);
      assert.equal(stored.exit_code, 0);
      assert.ok(stored.session_id, 'the row has the session id');
      assert.equal(fs.existsSync(path.join(server.workspace, 'f.txt')), false, 'the denied command did not run: no f.txt in the workspace');
      const modelRequests = claude.server.modelRequests().length;
      assert.ok(modelRequests >= 2, `Claude asked the mock model twice (the tool call, then the answer): ${modelRequests}`);
      assert.deepEqual(claude.strayRequests(), [], 'Claude tried to reach something besides the mock model endpoint');
      log(`scenario 7: ${modelRequests} model requests, no stray request; cost ${String(stored.cost_usd)}`);
    });
  });

  test('8. the REAL Claude Code CLI asks (the built-in profile): Needs input in the tree and the status bar, the notification\'s Allow runs the command, then Running, then success (user actions counted)', async () => {
    await scenario('scenario 8', () => wb, async () => {
      const w = wb!;
      const server = cs!;
      if (!claude) throw new Error(`the real Claude Code CLI could not be set up in before(): ${claudeSetupError}`);
      const prompt = 'Create g.txt containing hi';
      const command = 'echo hi > g.txt';
      // The tool call, then an answer slow enough to see the run back under Running.
      claude.server.setScript([{ kind: 'shell', command, text: 'I will create the file.' }, { kind: 'slow', seconds: 4, text: 'Created g.txt.' }]);
      await clearNotifications(w);
      await runFromPalette(w, CLAUDE_ASKING_PROFILE, prompt);

      const asking = await waitForTaskInGroup(w, prompt, 'Needs input', { timeoutMs: 120_000, extra: /needs input/ });
      log(`scenario 8: ${JSON.stringify(asking.ariaLabel)}`);
      await waitForStatusBar(w, 'a task that needs input', (s) => !!s && /1 agent task needs input/.test(s.ariaLabel), 20_000);
      const toast = await w.waitForNotification(/asks to use Bash/, { timeoutMs: 20_000 });
      assert.equal(toast.message, `${prompt} asks to use Bash: ${command}`);
      assert.deepEqual(toast.buttons.slice(0, 1), ['Allow']);
      assert.ok(toast.buttons.includes('Deny') && toast.buttons.includes('Show'), `the buttons: ${JSON.stringify(toast.buttons)}`);
      assert.equal(fs.existsSync(path.join(server.workspace, 'g.txt')), false, 'nothing ran before the answer');
      await shot(w, '8-needs-input.png');

      const userActions: string[] = [];
      await w.clickNotificationButton(/asks to use Bash/, 'Allow');
      userActions.push('click "Allow" in the notification');
      await waitForTaskInGroup(w, prompt, 'Running', { timeoutMs: 20_000 });
      await waitForTaskInGroup(w, prompt, 'History', { timeoutMs: 60_000, extra: /success/ });
      log(`scenario 8: user actions from the request to the command running: ${userActions.length} (${userActions.join('; ')})`);
      assert.equal(userActions.length, 1);

      const stored = await waitForStoreRow(store, `"${prompt}" success`, (r) => r.name === prompt && r.status === 'success');
      assert.deepEqual(stored.permission_denials, []);
      assert.deepEqual(stored.pending_requests, []);
      assert.equal(fs.readFileSync(path.join(server.workspace, 'g.txt'), 'utf8'), 'hi\n', 'the allowed command ran in the workspace');
      assert.deepEqual(claude.strayRequests(), [], 'Claude tried to reach something besides the mock model endpoint');
      await clearNotifications(w);
    });
  });

  test('9. a run in a git workspace: its changed file shows under it in the tree; clicking the file opens a diff editor', async () => {
    await scenario('scenario 9', () => wb, async () => {
      const w = wb!;
      const server = cs!;
      const prompt = 'Add a line to the project notes';
      await clearNotifications(w);
      await w.runCommand('View: Close All Editors');
      await runFromPalette(w, EDIT_PROFILE, prompt);
      await waitForTaskInGroup(w, prompt, 'History', { timeoutMs: 30_000, extra: /success/ });
      const stored = await waitForStoreRow(store, `"${prompt}" success`, (r) => r.name === prompt && r.status === 'success');
      const git = stored.git as { root?: string; start?: { tree: string } | null; end?: { tree: string } | null; unavailable?: string | null } | null;
      assert.ok(git?.start && git.end, `the run journaled its start and end snapshots: ${JSON.stringify(git)}`);
      assert.equal(fs.readFileSync(path.join(server.workspace, 'README.md'), 'utf8'), `# e2e workspace\n${EDIT_LINE}\n`, 'the agent edited the file');

      // The task expands (a click on its twistie: a click on the row itself shows its output).
      const taskRow = w.treeRow(prompt, { view: VIEW });
      await calmMouse(w);
      await taskRow.locator('.monaco-tl-twistie').first().click({ timeout: 10_000 });
      let rows: Awaited<ReturnType<Workbench['treeRows']>> = [];
      const change = await waitUntil(
        'README.md under the task, modified, one line added',
        async () => {
          rows = await w.treeRows({ view: VIEW });
          const at = rows.findIndex((r) => r.level === 2 && (r.ariaLabel || r.text).includes(prompt));
          const child = at < 0 ? undefined : rows.slice(at + 1).find((r) => r.level === 3 && /README\.md/.test(r.ariaLabel || r.text));
          return child && /README\.md, modified, 1 line added, 0 removed/.test(child.ariaLabel) ? child : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      ).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; rows: ${JSON.stringify(rows.map((r) => `${'  '.repeat(r.level - 1)}${r.ariaLabel || r.text}`))}`);
      });
      assert.match(change.text, /README\.md\s*\+1 \u22120/, `the change row shows its counts: ${change.text}`);
      await shot(w, '9-changes.png');

      // A click on the file opens the diff of the run's start and end snapshots (no task hover over it).
      await calmMouse(w);
      await w.treeRow(/README\.md/, { view: VIEW }).locator('.label-name').first().click({ timeout: 10_000 });
      const diffEditor = w.page.locator('.part.editor .monaco-diff-editor').first();
      await diffEditor.waitFor({ state: 'visible', timeout: 20_000 });
      let seen = { title: '', text: '' };
      await waitUntil(
        "the diff editor showing the agent's line",
        async () => {
          const title = (await w.page.locator('.part.editor .editor-group-container.active .tab.active').first().innerText().catch(() => '')).trim();
          // Whitespace collapsed: a narrow editor word-wraps the line ("A line \nthe \nagent …").
          const text = ((await diffEditor.innerText().catch(() => '')) ?? '').replace(/\u00a0/g, ' ').replace(/\s+/g, ' ');
          seen = { title, text };
          return text.includes(EDIT_LINE) && title.includes('README.md') ? seen : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 300 },
      ).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; seen: ${JSON.stringify({ title: seen.title, text: seen.text.slice(0, 1500) })}`);
      });
      assert.match(seen.title, new RegExp(`README\\.md \\(${prompt}\\) start \u2194 end`), `the diff is titled after the file and the task: ${seen.title}`);
      await shot(w, '9-diff.png');
      await mediaShot(w, 'changes.png', { x: 0, y: 0, width: 1400, height: 200 });
      await w.runCommand('View: Close All Editors');
    });
  });

  test('tree: a group that gets its first task is shown expanded (no click needed)', () => {
    assert.deepEqual(
      collapsedGroups,
      [],
      'EXTENSION BUG (src/extension/tasksView.ts groupItem): a group (Running/History) first rendered empty, with ' +
        'TreeItemCollapsibleState.None and the stable id agentTasks.group.<kind>, stays COLLAPSED in VS Code once it gets ' +
        'rows through a root refresh (a task moving between groups): VS Code keeps the old node state for the same id. ' +
        'The scenarios above expanded it by a click. Seen: ' + JSON.stringify(collapsedGroups),
    );
  });
});

// Not a test: with E2E_UPDATE_MEDIA=1, the chosen screenshots of this run replace docs/media's.
if (process.env.E2E_UPDATE_MEDIA === '1') {
  after(() => {
    fs.mkdirSync(MEDIA_DIR, { recursive: true });
    for (const name of ['tree.png', 'recover.png', 'output.png', 'changes.png']) {
      const from = path.join(MEDIA_OUT, name);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(MEDIA_DIR, name));
      else log(`media: ${from} missing, docs/media/${name} not updated`);
    }
  });
}

describe('Agent Tasks in an untrusted workspace', { timeout: 3 * 60_000 }, () => {
  let cs: CodeServer | undefined;
  let wb: Workbench | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-e2e-untrusted-'));
  const argvLog = path.join(tmp, 'ws-agent-argv.jsonl');

  after(async () => {
    await wb?.close().catch((err: unknown) => log(`closing chromium: ${errorMessage(err)}`));
    await cs?.stop().catch((err: unknown) => log(`stopping code-server: ${errorMessage(err)}`));
    fs.rmSync(tmp, { recursive: true, force: true });
    log(`timings:\n${timer.report()}`);
  });

  test('5. a profile from WORKSPACE settings is refused with an explanation; the history still shows', async () => {
    await scenario('scenario 5', () => wb, async () => {
      const tools = await ensureE2ETools({ log });
      const workspace = path.join(tmp, 'untrusted-repo');
      fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(workspace, 'README.md'), '# a cloned repository nobody reviewed\n');
      const wsProfiles = fakeProfiles({ argvLog, sleepMs: 0 }) as Record<string, unknown>;
      fs.writeFileSync(
        path.join(workspace, '.vscode', 'settings.json'),
        JSON.stringify({ 'agentTasks.agents': { 'ws-agent': wsProfiles.fake }, 'agentTasks.defaultAgent': 'ws-agent' }, null, 2),
      );
      cs = await CodeServer.start({ tools, vsix: [vsixPath()], trust: 'untrusted', workspace, log });
      // History from before: a task journaled by the CLI into the extension's store (no browser
      // yet, so no extension host runs).
      const store = storeDir(cs);
      fs.mkdirSync(store, { recursive: true });
      const historyName = 'Earlier task from the CLI';
      runCli(['run', '--store', store, '--name', historyName, '--cwd', workspace, '--', process.execPath, path.join(REPO_ROOT, 'test', 'fixtures', 'fakeAgent.js'), '-p', 'hello', '--output-format', 'stream-json'], { timeoutMs: 60_000 });
      assert.equal(listRows(store)[0]?.name, historyName);

      wb = await Workbench.launch(tools, { log });
      await wb.open(cs.workspaceUrl());
      assert.ok(await waitUntil('"Restricted Mode" in the status bar', () => wb!.isRestrictedMode(), { timeoutMs: 30_000 }));
      await wb.openViewContainer(VIEW_CONTAINER);
      await waitForTaskInGroup(wb, historyName, 'History', { timeoutMs: 60_000, extra: /success/ });

      await wb.runCommand('Agent Tasks: Run Agent Task…');
      let labels: string[] = [];
      await waitUntil('the profile picker', async () => {
        labels = await wb!.quickPickItems();
        return labels.length > 0 ? labels : undefined;
      }, { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 500));
      labels = await wb.quickPickItems();
      await shot(wb, '5-untrusted-picker.png');
      const listed = labels.some((l) => /ws-agent/.test(l));
      let explained = false;
      if (listed) {
        // The documented path: the profile is listed as blocked, and picking it explains why.
        const wsRow = wb.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: 'ws-agent' }).first();
        const wsRowText = (await wsRow.innerText()).replace(/\s+/g, ' ');
        assert.match(wsRowText, /not used in Restricted Mode/, `the picker marks the workspace profile: ${wsRowText}`);
        await pick(wb, 'ws-agent', { filter: 'ws-agent' });
        const toast = await wb.waitForNotification(/not trusted/, { timeoutMs: 15_000 });
        assert.match(toast.message, /workspace's settings/, toast.message);
        assert.ok(toast.buttons.some((b) => /Manage Workspace Trust/.test(b)), `buttons: ${JSON.stringify(toast.buttons)}`);
        await new Promise((r) => setTimeout(r, 800)); // let the picker fade out and the toast settle
        await shot(wb, '5-untrusted-refused.png');
        explained = true;
      } else {
        await wb.dismissQuickInput();
      }
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(readArgvLog(argvLog), [], 'the workspace profile never ran');
      const rows = listRows(store);
      assert.equal(rows.length, 1, `nothing new was journaled: ${JSON.stringify(rows.map((r) => r.name))}`);
      await waitForTaskInGroup(wb, historyName, 'History', { timeoutMs: 5_000 });

      // Control: once the folder is trusted, the same workspace profile is offered (so the file
      // was read, and only trust kept it out).
      await clearNotifications(wb);
      await wb.grantWorkspaceTrust();
      await wb.runCommand('Agent Tasks: Run Agent Task…');
      let trustedLabels: string[] = [];
      await waitUntil('ws-agent in the profile picker after trusting the folder', async () => {
        trustedLabels = await wb!.quickPickItems();
        return trustedLabels.some((l) => /ws-agent/.test(l));
      }, { timeoutMs: 20_000 }).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; rows: ${JSON.stringify(trustedLabels)}`);
      });
      await wb.dismissQuickInput();
      assert.deepEqual(readArgvLog(argvLog), [], 'the workspace profile still never ran');

      assert.ok(
        explained,
        'EXTENSION BUG (src/extension/config.ts layers() + model/agentProfiles.ts resolveProfiles): in Restricted Mode the ' +
          'workspace profile "ws-agent" is silently missing from the Run Agent Task picker (rows: ' + JSON.stringify(labels) + ') and ' +
          'nothing explains why. VS Code itself drops workspace values of settings listed in capabilities.untrustedWorkspaces.' +
          'restrictedConfigurations (inspect().workspaceValue is undefined while untrusted), so the "blocked" entries with ' +
          'their explanation are never produced outside unit tests. The profile is refused (never ran, nothing journaled), and ' +
          'after trusting the folder it is offered.',
      );
    });
  });
});
