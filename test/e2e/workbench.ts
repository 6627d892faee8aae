/**
 * Playwright helpers for the VS Code web workbench served by code-server,
 * driven in Debian's headless Chromium. Selectors were checked against
 * Code 1.139.1 (code-server 4.139.1); see docs/E2E.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProcInfo, descendantsOf, isRunning, readProcessTable, terminateProcesses } from './codeServer';
import { E2ETools, Logger, PwBrowserContext, PwLocator, PwPage, defaultLog, errorMessage, waitUntil, withTimeout } from './e2eSetup';

export interface WorkbenchLaunchOptions {
  /** Default true. */
  headless?: boolean;
  /** Default 1400x900. */
  viewport?: { width: number; height: number };
  /** Extra Chromium flags (added to CHROMIUM_ARGS). */
  extraArgs?: string[];
  /** Default timeout for every Playwright action/wait (ms). Default 15 s. */
  defaultTimeoutMs?: number;
  log?: Logger;
}

export interface TreeRow {
  ariaLabel: string;
  text: string;
  /** aria-level (1 = top level). */
  level: number;
  /** true/false for expandable rows, undefined for leaves. */
  expanded: boolean | undefined;
  selected: boolean;
}

export interface NotificationToast {
  message: string;
  source: string;
  buttons: string[];
  /** 'info' | 'warning' | 'error' | '' (from the severity icon). */
  severity: string;
}

export interface StatusBarItem {
  id: string;
  ariaLabel: string;
  text: string;
}

/** Where to look for a status bar item: its element id (`<publisher>.<name>.<itemId>`), its aria-label, its text, or a CSS selector. */
export type StatusBarQuery = { id: string } | { ariaLabel: string | RegExp } | { text: string | RegExp } | { selector: string };

const WORKBENCH = '.monaco-workbench';
const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = '.quick-input-widget .quick-input-box input';
const QUICK_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';
const TOASTS = '.notifications-toasts .notification-toast';
const HOVER = '.workbench-hover, .monaco-hover:not(.hidden)';

export class Workbench {
  /** Console errors and page errors seen so far (for debugging failures). */
  readonly consoleErrors: string[] = [];

  private constructor(
    readonly context: PwBrowserContext,
    readonly page: PwPage,
    readonly userDataDir: string,
    private readonly browserProcs: ProcInfo[],
    private readonly log: Logger,
  ) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => this.consoleErrors.push(`pageerror: ${e.message}`));
  }

  /** Launches headless Debian Chromium with a fresh profile dir. */
  static async launch(tools: E2ETools, options: WorkbenchLaunchOptions = {}): Promise<Workbench> {
    const log = options.log ?? defaultLog;
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-e2e-chromium-'));
    const before = new Set(descendantsOf(process.pid).map((p) => p.pid));
    let context: PwBrowserContext;
    try {
      context = await tools.playwright.chromium.launchPersistentContext(userDataDir, {
        executablePath: tools.chromiumPath,
        headless: options.headless ?? true,
        args: [...tools.chromiumArgs, ...(options.extraArgs ?? [])],
        viewport: options.viewport ?? { width: 1400, height: 900 },
        timeout: 60_000,
        // Chromium keeps its crashpad database under $XDG_CONFIG_HOME/chromium even with
        // --user-data-dir: point it into the throwaway profile so $HOME stays untouched.
        env: { ...process.env, XDG_CONFIG_HOME: path.join(userDataDir, 'xdg-config'), XDG_CACHE_HOME: path.join(userDataDir, 'xdg-cache') },
        // we clean up ourselves (and never want Playwright to kill by signal handlers of the test runner)
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (err) {
      fs.rmSync(userDataDir, { recursive: true, force: true });
      throw new Error(`could not launch ${tools.chromiumPath}: ${errorMessage(err)}`);
    }
    // Chromium's processes are children of this Node process: remember them (pid + start time)
    const browserProcs = descendantsOf(process.pid).filter((p) => !before.has(p.pid));
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(options.defaultTimeoutMs ?? 15_000);
    log(`chromium up (${browserProcs.length} process(es), profile ${userDataDir})`);
    return new Workbench(context, page, userDataDir, browserProcs, log);
  }

  // ---- navigation -------------------------------------------------------

  /** Opens `url` (e.g. `codeServer.workspaceUrl()`) and waits for the workbench. */
  async open(url: string, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.page.goto(url, { timeout: options.timeoutMs ?? 60_000, waitUntil: 'domcontentloaded' });
    await this.waitForWorkbench(options);
  }

  /** Waits for the workbench shell (status bar and activity bar rendered). */
  async waitForWorkbench(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeout = options.timeoutMs ?? 60_000;
    await this.page.locator(`${WORKBENCH} .part.statusbar`).waitFor({ state: 'visible', timeout });
    await this.page.locator(`${WORKBENCH} .part.activitybar`).waitFor({ state: 'visible', timeout });
  }

  /** Reloads the page (starts a new extension host) and waits for the workbench. */
  async reload(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.page.reload({ timeout: options.timeoutMs ?? 60_000, waitUntil: 'domcontentloaded' });
    await this.waitForWorkbench(options);
  }

  async screenshot(file: string): Promise<string> {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    await this.page.screenshot({ path: file, timeout: 30_000 });
    return file;
  }

  /** outerHTML of the first match, cut to `max` chars: for writing selectors. */
  async debugHtml(selector: string, max = 4000): Promise<string> {
    const loc = this.page.locator(selector).first();
    if ((await loc.count()) === 0) return `(no element matches ${selector})`;
    return (await loc.evaluate((el, m) => el.outerHTML.slice(0, m), max)) as string;
  }

  // ---- keyboard / quick input --------------------------------------------

  async pressKey(key: string): Promise<void> {
    await this.page.keyboard.press(key);
  }

  /** Opens the command palette (F1) and waits for the quick input. */
  async openCommandPalette(): Promise<void> {
    const input = this.page.locator(QUICK_INPUT_BOX);
    for (let attempt = 0; attempt < 3; attempt++) {
      // Focus the workbench first: a key press on an unfocused page goes nowhere.
      // (the editor area is a neutral spot: clicking the status bar could trigger an item's command)
      if (attempt > 0) await this.page.locator(`${WORKBENCH} .part.editor`).click({ force: true, timeout: 5000 }).catch(() => undefined);
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5000 });
        return;
      } catch {
        /* retry */
      }
    }
    throw new Error('command palette did not open after F1 (3 tries)');
  }

  /**
   * Runs a command by its palette title (e.g. "Agent Tasks: Run Task" —
   * category and title as shown). Clicks the row whose label equals `title`
   * exactly; fails if no such row appears.
   */
  async runCommand(title: string, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.openCommandPalette();
    const input = this.page.locator(QUICK_INPUT_BOX);
    await input.fill(`>${title}`);
    const row = await this.waitForQuickPickRow(title, { exact: true, timeoutMs: options.timeoutMs ?? 10_000 });
    await row.click();
    await this.page
      .locator(QUICK_INPUT)
      .waitFor({ state: 'hidden', timeout: 5000 })
      .catch(() => undefined); // a command may open its own quick pick right away
  }

  /** Labels of the rows currently shown in the quick input (QuickPick or palette). */
  async quickPickItems(): Promise<string[]> {
    await this.page.locator(QUICK_INPUT).waitFor({ state: 'visible', timeout: 10_000 });
    return this.page.locator(QUICK_ROWS).evaluateAll((els) => els.map((el) => (el.querySelector('.label-name')?.innerText ?? el.getAttribute('aria-label') ?? '').replace(/\s+/g, ' ').trim()), null).catch(() => [] as string[]);
  }

  /**
   * Answers an open QuickPick: optionally types `filter` first, then clicks
   * the row whose label equals `label` (string) or matches it (RegExp).
   */
  async pickQuickItem(label: string | RegExp, options: { filter?: string; timeoutMs?: number } = {}): Promise<void> {
    await this.page.locator(QUICK_INPUT).waitFor({ state: 'visible', timeout: options.timeoutMs ?? 10_000 });
    if (options.filter !== undefined) await this.page.locator(QUICK_INPUT_BOX).fill(options.filter);
    const row = await this.waitForQuickPickRow(label, { exact: true, timeoutMs: options.timeoutMs ?? 10_000 });
    await row.click();
  }

  /** Types into an open InputBox (or the quick input filter) and presses Enter (unless submit=false). */
  async typeInInput(text: string, options: { submit?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const input = this.page.locator(QUICK_INPUT_BOX);
    await input.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 10_000 });
    await input.fill(text);
    if (options.submit ?? true) await input.press('Enter');
  }

  /** Text of the quick input's message/validation line (e.g. an InputBox validation error). */
  async quickInputMessage(): Promise<string> {
    const loc = this.page.locator('.quick-input-widget .quick-input-message');
    return (await loc.count()) ? (await loc.first().innerText()).trim() : '';
  }

  /** Closes any open quick input (Escape). */
  async dismissQuickInput(): Promise<void> {
    if (await this.page.locator(QUICK_INPUT).isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5000 });
    }
  }

  private async waitForQuickPickRow(label: string | RegExp, options: { exact: boolean; timeoutMs: number }): Promise<PwLocator> {
    const rows = this.page.locator(QUICK_ROWS);
    let seen: string[] = [];
    const index = await waitUntil(
      `quick pick row ${String(label)}`,
      async () => {
        seen = await rows.evaluateAll((els) => els.map((el) => (el.querySelector('.label-name')?.innerText ?? el.getAttribute('aria-label') ?? '').replace(/\s+/g, ' ').trim()), null);
        const i = seen.findIndex((l) => (typeof label === 'string' ? (options.exact ? l === label : l.includes(label)) : label.test(l)));
        return i >= 0 ? i + 1 : undefined; // +1 so 0 is truthy
      },
      { timeoutMs: options.timeoutMs, intervalMs: 100 },
    ).catch((err: unknown) => {
      throw new Error(`${errorMessage(err)}; rows shown: ${JSON.stringify(seen)}`);
    });
    return rows.nth(index - 1);
  }

  // ---- status bar ----------------------------------------------------------

  /** All status bar items (id, aria-label, visible text). */
  async statusBarItems(): Promise<StatusBarItem[]> {
    return this.page
      .locator('.statusbar .statusbar-item')
      .evaluateAll(
        (els) =>
          els.map((el) => ({
            id: el.id,
            ariaLabel: (el.querySelector('[aria-label]') ?? el).getAttribute('aria-label') ?? '',
            text: (el.innerText ?? '').trim(),
          })),
        null,
      );
  }

  /** Locator of one status bar item. Extension items have id `<publisher>.<name>.<itemId>` (the id given to createStatusBarItem, case kept). */
  statusBarItem(query: StatusBarQuery): PwLocator {
    if ('selector' in query) return this.page.locator(query.selector).first();
    if ('id' in query) return this.page.locator(`.statusbar .statusbar-item[id="${cssEscape(query.id)}"]`).first();
    const items = this.page.locator('.statusbar .statusbar-item');
    if ('text' in query) return items.filter({ hasText: query.text }).first();
    // aria-label = "<codicon name> <text>, <tooltip>", e.g. "beaker  smoke: 0, E2E smoke tooltip":
    // a string matches as a substring, a RegExp as a search.
    return items.filter({ has: this.page.getByLabel(query.ariaLabel) }).first();
  }

  /** Visible text of a status bar item (codicons render as empty glyphs). Waits for it to exist. */
  async statusBarText(query: StatusBarQuery, options: { timeoutMs?: number } = {}): Promise<string> {
    const loc = this.statusBarItem(query);
    await loc.waitFor({ state: 'attached', timeout: options.timeoutMs ?? 15_000 });
    return (await loc.innerText()).trim();
  }

  /** Waits until the item's text matches `expected` (string: equal; RegExp: test); returns the text. */
  async waitForStatusBarText(query: StatusBarQuery, expected: string | RegExp, options: { timeoutMs?: number } = {}): Promise<string> {
    let last: string | undefined;
    return waitUntil(
      `status bar item ${describeQuery(query)} to show ${String(expected)}`,
      async () => {
        last = await this.statusBarText(query, { timeoutMs: 2000 });
        return (typeof expected === 'string' ? last === expected : expected.test(last)) ? last : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      throw new Error(`${errorMessage(err)}; last text: ${last === undefined ? '(item not found)' : JSON.stringify(last)}`);
    });
  }

  // ---- hover -------------------------------------------------------------

  /** Hovers `target` (locator or CSS selector) and returns the hover/tooltip text. */
  async hoverText(target: PwLocator | string, options: { timeoutMs?: number } = {}): Promise<string> {
    const loc = typeof target === 'string' ? this.page.locator(target).first() : target;
    // Move away first so a hover for the same element re-triggers.
    await this.page.mouse.move(1, 1);
    await loc.hover();
    const hover = this.page.locator(HOVER).filter({ hasText: /\S/ }).last();
    await hover.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 10_000 });
    return (await hover.innerText()).trim();
  }

  // ---- views ---------------------------------------------------------------

  /**
   * Opens a view container by its activity-bar label (prefix match: the
   * aria-label carries the keybinding, e.g. "Explorer (Ctrl+Shift+E)").
   * Does nothing if it is already open.
   */
  async openViewContainer(label: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const item = this.page.locator(`.part.activitybar .action-item a.action-label[aria-label^="${cssEscape(label)}"]`).first();
    await item.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 15_000 });
    const li = this.page.locator(`.part.activitybar .action-item:has(a.action-label[aria-label^="${cssEscape(label)}"])`).first();
    const checked = (await li.getAttribute('aria-selected')) === 'true' || /\bchecked\b/.test((await li.getAttribute('class')) ?? '');
    if (!checked) await item.click();
    await this.page.locator('.part.sidebar').waitFor({ state: 'visible', timeout: options.timeoutMs ?? 15_000 });
  }

  /** Activity bar labels (for discovering the exact aria-label). */
  async activityBarLabels(): Promise<string[]> {
    return this.page.locator('.part.activitybar .action-item a.action-label[aria-label]').evaluateAll(
      (els) => els.map((e) => e.getAttribute('aria-label') ?? ''),
      null,
    );
  }

  /**
   * Tree/list rows (`.monaco-list-row`) in the side bar, or only inside the
   * view pane titled `view` (its header text, e.g. "Smoke Items").
   */
  async treeRows(options: { view?: string; container?: string } = {}): Promise<TreeRow[]> {
    return this.treeRowLocator(options).evaluateAll(
      (els) =>
        els.map((el) => {
          const expanded = el.getAttribute('aria-expanded');
          return {
            ariaLabel: el.getAttribute('aria-label') ?? '',
            text: (el.innerText ?? '').replace(/\s+/g, ' ').trim(),
            level: Number(el.getAttribute('aria-level') ?? '1'),
            expanded: expanded === null ? undefined : expanded === 'true',
            selected: el.getAttribute('aria-selected') === 'true',
          };
        }),
      null,
    );
  }

  /** Waits until some tree row's aria-label/text matches; returns all rows then. */
  async waitForTreeRow(match: string | RegExp, options: { view?: string; timeoutMs?: number } = {}): Promise<TreeRow[]> {
    let rows: TreeRow[] = [];
    return waitUntil(
      `a tree row matching ${String(match)}${options.view ? ` in view "${options.view}"` : ''}`,
      async () => {
        rows = await this.treeRows(options);
        const hit = rows.some((r) => (typeof match === 'string' ? r.ariaLabel.includes(match) || r.text.includes(match) : match.test(r.ariaLabel) || match.test(r.text)));
        return hit ? rows : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 20_000 },
    ).catch((err: unknown) => {
      throw new Error(`${errorMessage(err)}; rows: ${JSON.stringify(rows.map((r) => r.ariaLabel || r.text))}`);
    });
  }

  /** Locator of the first tree row whose aria-label or text contains/matches `match`. */
  treeRow(match: string | RegExp, options: { view?: string } = {}): PwLocator {
    return this.treeRowLocator(options).filter({ hasText: match }).first();
  }

  private treeRowLocator(options: { view?: string }): PwLocator {
    if (options.view) {
      return this.page
        .locator('.part.sidebar .pane, .part.panel .pane, .part.auxiliarybar .pane')
        .filter({ has: this.page.locator('.pane-header .title', { hasText: options.view }) })
        .first()
        .locator('.monaco-list-row');
    }
    return this.page.locator('.part.sidebar .monaco-list-row');
  }

  // ---- workspace trust -------------------------------------------------------

  /**
   * Grants trust to the open folder the way a user does: "Workspaces: Manage
   * Workspace Trust", then the editor's "Trust" button. Extensions get
   * `onDidGrantWorkspaceTrust`; the "Restricted Mode" status item goes away.
   */
  async grantWorkspaceTrust(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.runCommand('Workspaces: Manage Workspace Trust');
    const button = this.page.locator('.workspace-trust-editor .monaco-button').filter({ hasText: /^Trust$/ }).first();
    await button.click({ timeout: options.timeoutMs ?? 15_000 });
    await waitUntil(
      '"Restricted Mode" to leave the status bar',
      async () => !(await this.statusBarItems()).some((i) => /Restricted Mode/.test(i.text)),
      { timeoutMs: options.timeoutMs ?? 15_000 },
    );
  }

  /** True while the status bar shows "Restricted Mode" (untrusted workspace). */
  async isRestrictedMode(): Promise<boolean> {
    return (await this.statusBarItems()).some((i) => /Restricted Mode/.test(i.text));
  }

  // ---- notifications -------------------------------------------------------

  /** Notification toasts currently visible. */
  async notifications(): Promise<NotificationToast[]> {
    return this.page.locator(TOASTS).evaluateAll(
      (els) =>
        els.map((el) => {
          const q = (s: string) => (el.querySelector(s)?.innerText ?? '').trim();
          const icon = el.querySelector('.notification-list-item-icon');
          const cls = icon?.className ?? '';
          const severity = /codicon-error/.test(cls) ? 'error' : /codicon-warning/.test(cls) ? 'warning' : /codicon-info/.test(cls) ? 'info' : '';
          return {
            message: q('.notification-list-item-message'),
            source: q('.notification-list-item-source'),
            buttons: Array.from(el.querySelectorAll('.notification-list-item-buttons-container .monaco-button')).map((b) => (b.innerText ?? '').trim()),
            severity,
          };
        }),
      null,
    );
  }

  /** Waits for a toast whose message contains/matches `match`. */
  async waitForNotification(match: string | RegExp, options: { timeoutMs?: number } = {}): Promise<NotificationToast> {
    let seen: NotificationToast[] = [];
    return waitUntil(
      `a notification matching ${String(match)}`,
      async () => {
        seen = await this.notifications();
        return seen.find((n) => (typeof match === 'string' ? n.message.includes(match) : match.test(n.message)));
      },
      { timeoutMs: options.timeoutMs ?? 20_000 },
    ).catch((err: unknown) => {
      throw new Error(`${errorMessage(err)}; toasts: ${JSON.stringify(seen.map((n) => n.message))}`);
    });
  }

  /** Clicks button `button` on the toast whose message contains/matches `match`. */
  async clickNotificationButton(match: string | RegExp, button: string, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.waitForNotification(match, options);
    const toast = this.page.locator(TOASTS).filter({ has: this.page.locator('.notification-list-item-message', { hasText: match }) }).first();
    const btn = toast.locator('.notification-list-item-buttons-container .monaco-button').filter({ hasText: button }).first();
    await btn.click({ timeout: options.timeoutMs ?? 10_000 });
  }

  // ---- teardown --------------------------------------------------------------

  /** Closes Chromium, makes sure none of its processes survive, removes the profile dir. */
  async close(): Promise<void> {
    try {
      await withTimeout('closing chromium', this.context.close(), 15_000);
    } catch (err) {
      this.log(`chromium close: ${errorMessage(err)}; killing its processes`);
    }
    // Everything Chromium spawned is a descendant of the processes we recorded.
    const table = readProcessTable();
    const procs = [...this.browserProcs];
    for (const p of this.browserProcs) if (isRunning(p)) procs.push(...descendantsOf(p.pid, table));
    const survivors = await terminateProcesses(procs.filter(isRunning), 2000);
    if (survivors.length) this.log(`WARNING: chromium processes survived: ${survivors.map((p) => p.pid).join(', ')}`);
    fs.rmSync(this.userDataDir, { recursive: true, force: true });
  }

  /** Chromium processes launched for this workbench (pid + start time). */
  processes(): ProcInfo[] {
    return [...this.browserProcs];
  }
}

function describeQuery(q: StatusBarQuery): string {
  const [k, v] = Object.entries(q)[0] as [string, string | RegExp];
  return `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
}

function cssEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
