/**
 * What the Agent Tasks scenarios (scenarios.test.ts) and `npm run demo` share: where the packaged
 * extension and the fake agent are, the `agentTasks.agents` profiles that run the fake agent, the
 * store folder of a code-server, the CLI (`agent-tasks list --json --store DIR`), and workbench
 * helpers for the Agent Tasks view (groups, inline actions, modal dialogs, the output editor).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { CodeServer } from './codeServer';
import { errorMessage, waitUntil } from './e2eSetup';
import type { TreeRow, Workbench } from './workbench';

/** The repo root (this file runs from out/test/e2e/). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const FAKE_AGENT = path.join(REPO_ROOT, 'test', 'fixtures', 'fakeAgent.js');
/** A plain-text agent that prints a numbered line every 100 ms (test/e2e/tickAgent.js). */
export const TICK_AGENT = path.join(REPO_ROOT, 'test', 'e2e', 'tickAgent.js');
/** The `ticks` profile: lines of a new session (200 × 100 ms = 20 s) and of a resumed one. */
export const TICKS_COUNT = 200;
export const TICKS_RESUME_COUNT = 50;
export const CLI_JS = path.join(REPO_ROOT, 'dist', 'cli.js');
export const EXTENSION_ID = 'agenttasks.agent-tasks';
export const STATUS_ITEM_ID = `${EXTENSION_ID}.agentTasks.status`;
export const VIEW_CONTAINER = 'Agent Tasks';
export const VIEW = 'Tasks';
export const FAKE_REPLY = 'Fixed the flaky parser test: the tokenizer now keeps the trailing newline.';
export const FAKE_COST_USD = 0.0123;

/** The packaged extension: `<repo>/agent-tasks-<version>.vsix` (`npm run package`). */
export function vsixPath(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const file = path.join(REPO_ROOT, `${pkg.name}-${pkg.version}.vsix`);
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: run \`npm run package\` first (npm run test:e2e does)`);
  return file;
}

export interface FakeProfilesOptions {
  /** The fake agent appends its argv (one JSON array a line) here. */
  argvLog: string;
  /** Sleep of the `fake` profile (ms): long enough to see it under Running. */
  sleepMs?: number;
  /** tickAgent.js (the `ticks` profile) appends its argv here. Default: `argvLog` + ".ticks". */
  ticksArgvLog?: string;
}

/**
 * `agentTasks.agents` with profiles that run test/fixtures/fakeAgent.js under this Node
 * (process.execPath: the extension host spawns it by absolute path):
 *   fake          a Claude-like run: init, `sleepMs` of work, the reply, cost $0.0123
 *   fake-slow     the same, but works for 10 minutes (to cancel it)
 *   fake-fail     exits with code 3 after printing an error to stderr
 *   fake-missing  a command that does not exist
 *   ticks         test/e2e/tickAgent.js, plain text: "tick i of 200" every 100 ms (20 s), then "done";
 *                 resumed, 50 lines (5 s)
 * Every profile resumes with `--resume ${sessionId}`.
 */
export function fakeProfiles(options: FakeProfilesOptions): Record<string, unknown> {
  const node = process.execPath;
  const args = [FAKE_AGENT, '-p', '${prompt}', '--session-id', '${sessionId}', '--output-format', 'stream-json', '--verbose'];
  const resumeArgs = [FAKE_AGENT, '-p', '${prompt}', '--resume', '${sessionId}', '--output-format', 'stream-json', '--verbose'];
  const env = (extra: Record<string, string>): Record<string, string> => ({ FAKE_AGENT_ARGV_FILE: options.argvLog, FAKE_AGENT_REPLY: FAKE_REPLY, ...extra });
  return {
    fake: { command: node, args, resumeArgs, format: 'claude-stream-json', env: env({ FAKE_AGENT_SLEEP_MS: String(options.sleepMs ?? 6000) }) },
    'fake-slow': { command: node, args, resumeArgs, format: 'claude-stream-json', env: env({ FAKE_AGENT_SLEEP_MS: '600000' }) },
    'fake-fail': {
      command: node,
      args,
      resumeArgs,
      format: 'claude-stream-json',
      env: env({ FAKE_AGENT_EXIT_CODE: '3', FAKE_AGENT_IS_ERROR: '1', FAKE_AGENT_ERROR_MESSAGE: 'The fake agent gave up: tests still fail.', FAKE_AGENT_STDERR: 'fake agent: giving up with exit code 3\n' }),
    },
    'fake-missing': { command: '/nonexistent/bin/agent-that-does-not-exist', args: ['-p', '${prompt}'], format: 'text' },
    ticks: {
      command: node,
      args: [TICK_AGENT, '-p', '${prompt}', '--session-id', '${sessionId}'],
      resumeArgs: [TICK_AGENT, '-p', '${prompt}', '--resume', '${sessionId}'],
      format: 'text',
      env: {
        TICK_AGENT_ARGV_FILE: options.ticksArgvLog ?? `${options.argvLog}.ticks`,
        TICK_AGENT_COUNT: String(TICKS_COUNT),
        TICK_AGENT_RESUME_COUNT: String(TICKS_RESUME_COUNT),
        TICK_AGENT_INTERVAL_MS: '100',
      },
    },
  };
}

/** The extension's task store of a code-server: its global storage folder. */
export function storeDir(cs: CodeServer): string {
  return path.join(cs.userDataDir, 'User', 'globalStorage', EXTENSION_ID);
}

/** A journal row as `agent-tasks list --json` prints it (the journal's column names). */
export interface StoreRow {
  id: string;
  name: string;
  agent: string | null;
  status: string;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  session_id: string | null;
  cost_usd: number | null;
  child_pid: number | null;
  /** The run's owner: its supervisor's pid, and an id starting with "supervisor:". */
  owner_pid: number;
  owner_id: string;
  log_path: string | null;
  output_bytes: number;
  parent_id: string | null;
  resolved_at: number | null;
  resolution: string | null;
  prompt: string | null;
  args: string[];
  [key: string]: unknown;
}

/** `node dist/cli.js <args>`: stdout (throws with stderr on a non-zero exit). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  if (!fs.existsSync(CLI_JS)) throw new Error(`${CLI_JS} does not exist: run \`npm run package\` (or \`npm run build\`) first`);
  try {
    return execFileSync(process.execPath, [CLI_JS, ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 30_000, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`agent-tasks ${args.join(' ')} failed: ${errorMessage(err)}\nstdout: ${e.stdout ?? ''}\nstderr: ${e.stderr ?? ''}`);
  }
}

/** `agent-tasks list --json --store DIR` (every status, newest first). */
export function listRows(store: string): StoreRow[] {
  return JSON.parse(runCli(['list', '--json', '--limit', '500', '--store', store])) as StoreRow[];
}

/** Waits until some row satisfies `pred` (reads the store through the CLI). */
export async function waitForStoreRow(store: string, what: string, pred: (r: StoreRow) => boolean, timeoutMs = 30_000): Promise<StoreRow> {
  let rows: StoreRow[] = [];
  return waitUntil(
    `a store row: ${what}`,
    () => {
      rows = listRows(store);
      return rows.find(pred);
    },
    { timeoutMs, intervalMs: 500 },
  ).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)}; rows: ${JSON.stringify(rows.map((r) => ({ id: r.id, name: r.name, status: r.status, resolution: r.resolution })))}`);
  });
}

/** The fake agent's argv log: one array per run. */
export function readArgvLog(file: string): string[][] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as string[]);
}

/** The lines of a task's log file (its `log_path`): stdout and stderr as the agent wrote them. */
export function readLogLines(logPath: string | null): string[] {
  if (!logPath) throw new Error('the row has no log_path');
  const text = fs.readFileSync(logPath, 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text === '' ? [] : text.split('\n');
}

/** What tickAgent.js prints for `count` lines of session `session`. */
export function expectedTickLines(session: string, mode: 'new' | 'resumed', count: number): string[] {
  return [`start ${session} ${mode}`, ...Array.from({ length: count }, (_, i) => `tick ${i + 1} of ${count}`), 'done'];
}

/** True while `pid` exists (signal 0). A zombie counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Workbench helpers for the Agent Tasks view
// ---------------------------------------------------------------------------

/** The group (level-1 row: Running / Interrupted / History) each task row is shown under. */
export function groupOfRow(rows: TreeRow[], match: string | RegExp): string | undefined {
  let group: string | undefined;
  for (const r of rows) {
    const label = r.ariaLabel || r.text;
    if (r.level === 1) {
      group = /^(Needs input|Running|Interrupted|History)\b/.exec(label)?.[1] ?? label;
      continue;
    }
    if (typeof match === 'string' ? label.includes(match) : match.test(label)) return group;
  }
  return undefined;
}

/**
 * Groups found collapsed although they had rows (e.g. "History: collapsed with 1 row(s)"), recorded
 * by waitForTaskInGroup, which then expands them the way a user would (a click on the twistie).
 */
export const collapsedGroups: string[] = [];

/** Waits until a task row matching `match` is shown under `group`; returns its row. */
export async function waitForTaskInGroup(wb: Workbench, match: string | RegExp, group: string, options: { timeoutMs?: number; extra?: RegExp } = {}): Promise<TreeRow> {
  let rows: TreeRow[] = [];
  return waitUntil(
    `task ${String(match)} under "${group}" in the Agent Tasks view${options.extra ? ` showing ${String(options.extra)}` : ''}`,
    async () => {
      rows = await wb.treeRows({ view: VIEW });
      const groupRow = rows.find((r) => r.level === 1 && new RegExp(`^${group}(?![a-z])`).test(r.ariaLabel || r.text));
      const count = Number(/(\d+)/.exec((groupRow?.text ?? '').slice(group.length))?.[1] ?? '0');
      if (groupRow && groupRow.expanded !== true && count > 0) {
        collapsedGroups.push(`"${groupRow.text}" shown collapsed (aria-expanded=${String(groupRow.expanded)}) while waiting for ${String(match)}`);
        await wb
          .treeRow(new RegExp(`^\\s*${group}(?![a-z])`), { view: VIEW })
          .locator('.monaco-tl-twistie')
          .first()
          .click({ timeout: 5_000 })
          .catch(() => undefined);
        return undefined;
      }
      if (groupOfRow(rows, match) !== group) return undefined;
      const row = rows.find((r) => r.level > 1 && (typeof match === 'string' ? (r.ariaLabel || r.text).includes(match) : match.test(r.ariaLabel || r.text)));
      if (row && options.extra && !options.extra.test(`${row.ariaLabel} ${row.text}`)) return undefined;
      return row;
    },
    { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 250 },
  ).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)}; rows: ${JSON.stringify(rows.map((r) => `${'  '.repeat(r.level - 1)}${r.ariaLabel || r.text}`))}`);
  });
}

/** Clicks an inline action (by its title, e.g. "Cancel Task") of the task row matching `match`. */
export async function clickInlineAction(wb: Workbench, match: string | RegExp, actionTitle: string): Promise<void> {
  const row = wb.treeRow(match, { view: VIEW });
  await row.hover({ timeout: 10_000 });
  const action = row.locator(`.actions .action-label[aria-label^="${actionTitle}"], .actions .action-label[title^="${actionTitle}"]`).first();
  try {
    await action.click({ timeout: 10_000 });
  } catch (err) {
    const html = await row.evaluate((el) => el.outerHTML.slice(0, 3000), null).catch(() => '(row not found)');
    throw new Error(`inline action "${actionTitle}" on the row ${String(match)} not clickable: ${errorMessage(err)}\nrow: ${html}`);
  }
}

/** Waits for a modal dialog whose text matches; returns its text. */
export async function waitForDialog(wb: Workbench, match: RegExp, timeoutMs = 20_000): Promise<string> {
  const box = wb.page.locator('.monaco-dialog-box');
  let seen = '';
  return waitUntil(
    `a modal dialog matching ${String(match)}`,
    async () => {
      if ((await box.count()) === 0) return undefined;
      seen = (await box.first().innerText()).replace(/\s+/g, ' ').trim();
      return match.test(seen) ? seen : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)}; dialog: ${JSON.stringify(seen || '(none)')}`);
  });
}

export async function clickDialogButton(wb: Workbench, label: string): Promise<void> {
  await wb.page.locator('.monaco-dialog-box .dialog-buttons .monaco-button').filter({ hasText: label }).first().click({ timeout: 10_000 });
  await wb.page.locator('.monaco-dialog-box').first().waitFor({ state: 'hidden', timeout: 10_000 });
}

/** The visible text of the active editor (Monaco renders only the visible lines). */
export async function activeEditorText(wb: Workbench): Promise<{ title: string; text: string }> {
  const group = wb.page.locator('.part.editor .editor-group-container.active');
  const title = (await group.locator('.tab.active').first().innerText().catch(() => '')).trim();
  const text = await group
    .locator('.monaco-editor .view-lines')
    .first()
    .evaluate((el) => {
      const lines = Array.from(el.querySelectorAll('.view-line'));
      // Lines are absolutely positioned: sort them by their top offset.
      const withTop = lines.map((l) => ({ top: Number(/top:\s*(-?\d+)/.exec(l.getAttribute('style') ?? '')?.[1] ?? '0'), text: l.textContent ?? '' }));
      withTop.sort((a, b) => a.top - b.top);
      return withTop.map((l) => l.text.replace(/\u00a0/g, ' ')).join('\n');
    }, null);
  return { title, text };
}

/** Closes every notification toast (so they do not cover the next screenshot or click). */
export async function clearNotifications(wb: Workbench): Promise<void> {
  await wb.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
}

/** Drags the side bar's edge `by` pixels to the right (the tree's descriptions are cut otherwise). */
export async function widenSideBar(wb: Workbench, by: number): Promise<void> {
  const box = await wb.page
    .locator('.part.sidebar')
    .first()
    .evaluate((el) => {
      const r = (el as unknown as { getBoundingClientRect(): { right: number; top: number; height: number } }).getBoundingClientRect();
      return { right: r.right, y: r.top + r.height / 2 };
    }, null);
  await wb.page.mouse.move(box.right + 1, box.y);
  await wb.page.mouse.down();
  await wb.page.mouse.move(box.right + 1 + by, box.y, { steps: 8 });
  await wb.page.mouse.up();
  await wb.page.mouse.move(1, 1);
}

/**
 * Shows the Agent Tasks side bar, robustly: right after a reload the workbench restores the open
 * container, and a click on its activity bar item at that moment would close it again.
 */
export async function ensureTasksView(wb: Workbench, timeoutMs = 30_000): Promise<void> {
  const item = wb.page.locator(`.part.activitybar .action-item a.action-label[aria-label^="${VIEW_CONTAINER}"]`).first();
  const sidebar = wb.page.locator('.part.sidebar').first();
  let lastClick = 0;
  await waitUntil(
    'the Agent Tasks side bar to be visible',
    async () => {
      // The title reads "Agent Tasks: Tasks" (one view in the container: no pane header of its own).
      if ((await sidebar.isVisible()) && /Agent Tasks/i.test(await sidebar.innerText())) return true;
      if (Date.now() - lastClick > 5_000) {
        lastClick = Date.now();
        await item.click({ timeout: 5_000, force: true });
      }
      return false;
    },
    { timeoutMs, intervalMs: 300 },
  );
}
