/**
 * A small stand-in for the `vscode` module: enough of the API for the extension to activate,
 * register its view and commands, run tasks and render its tree, in plain Node. It records
 * what the extension showed (messages, context keys, tree refreshes) for the tests to check.
 * It is not VS Code: the end-to-end suite runs the real thing.
 */
import * as path from 'node:path';
import { Emitter } from '../../../src/core/lifecycle';
import { readFile } from 'node:fs/promises';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private readonly inner = new Emitter<T>();
  readonly event = this.inner.event;
  fire(e: T): void {
    this.inner.fire(e);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

export class Disposable {
  constructor(private readonly fn: () => void) {}
  dispose(): void {
    this.fn();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    readonly query = '',
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static from(c: { scheme: string; path: string; query?: string }): Uri {
    return new Uri(c.scheme, c.path, c.query ?? '');
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.posix.join(base.path, ...parts));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}:${this.path}${this.query ? `?${this.query}` : ''}`;
  }
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}
export class MarkdownString {
  isTrusted = true;
  supportHtml = true;
  supportThemeIcons = true;
  constructor(readonly value: string) {}
}
export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}
export class TreeItem {
  id?: string;
  description?: string;
  iconPath?: ThemeIcon;
  tooltip?: MarkdownString;
  contextValue?: string;
  resourceUri?: Uri;
  command?: unknown;
  accessibilityInformation?: unknown;
  constructor(
    readonly label: string,
    readonly collapsibleState: TreeItemCollapsibleState,
  ) {}
}
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ProgressLocation {
  Notification = 15,
}
export enum TextEditorRevealType {
  Default = 0,
}
export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}
export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}
export class Selection extends Range {}

/** What the tests read and steer. */
export const fake = {
  settings: {} as Record<string, { globalValue?: unknown; workspaceValue?: unknown }>,
  trusted: true,
  workspaceFolders: [] as { uri: Uri; name: string; index: number }[],
  messages: [] as { kind: 'info' | 'warning' | 'error'; text: string }[],
  /** Answers for the next showWarningMessage/showErrorMessage/showInformationMessage calls (by substring of the text). */
  answers: [] as { match: string; choose: string | Promise<string> }[],
  contextKeys: new Map<string, unknown>(),
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  treeProvider: undefined as
    | { getChildren(e?: unknown): Promise<unknown[]> | unknown[]; getTreeItem(e: unknown): TreeItem; onDidChangeTreeData: (l: Listener<unknown>) => unknown }
    | undefined,
  treeView: undefined as { badge?: { value: number; tooltip: string }; expand(element: unknown): void } | undefined,
  treeChanges: [] as unknown[],
  statusBar: undefined as { text: string; tooltip: unknown; visible: boolean; backgroundColor?: ThemeColor } | undefined,
  contentProviders: new Map<string, { provideTextDocumentContent(uri: Uri): Promise<string> | string }>(),
  log: [] as string[],
  /** What the user does with an input box made by createInputBox, once it is shown; unset: presses Escape. */
  inputBox: undefined as ((box: FakeInputBox) => void) | undefined,
  reset(): void {
    this.inputBox = undefined;
    this.settings = {};
    this.trusted = true;
    this.workspaceFolders = [];
    this.messages = [];
    this.answers = [];
    this.contextKeys.clear();
    this.commands.clear();
    this.treeProvider = undefined;
    this.treeView = undefined;
    this.treeChanges = [];
    this.statusBar = undefined;
    this.contentProviders.clear();
    this.log = [];
  },
};

function message(kind: 'info' | 'warning' | 'error') {
  return async (text: string, ...rest: unknown[]): Promise<string | undefined> => {
    fake.messages.push({ kind, text });
    const i = fake.answers.findIndex((a) => text.includes(a.match));
    if (i < 0) return undefined;
    const [answer] = fake.answers.splice(i, 1);
    const buttons = rest.filter((r): r is string => typeof r === 'string');
    // A promise: the user clicks later (the test resolves it once it has looked around).
    const choice = await answer.choose;
    return buttons.includes(choice) ? choice : undefined;
  };
}

const logChannel = (level: string) => (...args: unknown[]) => fake.log.push(`${level} ${args.map(String).join(' ')}`);

export const window = {
  createOutputChannel: () => ({ info: logChannel('info'), warn: logChannel('warn'), error: logChannel('error'), debug: logChannel('debug'), trace: logChannel('trace'), show() {}, dispose() {} }),
  createTreeView: (_id: string, options: { treeDataProvider: NonNullable<typeof fake.treeProvider> }) => {
    fake.treeProvider = options.treeDataProvider;
    options.treeDataProvider.onDidChangeTreeData((e) => fake.treeChanges.push(e));
    const expanded = new EventEmitter<{ element: unknown }>();
    // expand(): what VS Code tells the extension when the user expands a node.
    const view = { badge: undefined, onDidExpandElement: expanded.event, expand: (element: unknown) => expanded.fire({ element }), dispose() {} };
    fake.treeView = view;
    return view;
  },
  createStatusBarItem: () => {
    const item = {
      text: '',
      tooltip: undefined as unknown,
      visible: false,
      name: '',
      command: '',
      backgroundColor: undefined as ThemeColor | undefined,
      accessibilityInformation: undefined as unknown,
      show() {
        item.visible = true;
      },
      hide() {
        item.visible = false;
      },
      dispose() {},
    };
    fake.statusBar = item;
    return item;
  },
  showInformationMessage: message('info'),
  showWarningMessage: message('warning'),
  showErrorMessage: message('error'),
  showQuickPick: async () => undefined,
  showInputBox: async () => undefined,
  createInputBox: (): FakeInputBox => new FakeInputBox(),
  showWorkspaceFolderPick: async () => undefined,
  withProgress: async (_o: unknown, task: () => Promise<unknown>) => task(),
  setStatusBarMessage: () => new Disposable(() => undefined),
  showTextDocument: async (doc: { lineCount: number }) => ({ document: doc, selection: undefined, revealRange() {} }),
};

const RESTRICTED_SETTINGS = ['agentTasks.agents', 'agentTasks.defaultAgent'];

const configurationEmitter = new EventEmitter<{ affectsConfiguration(s: string): boolean }>();
const trustEmitter = new EventEmitter<void>();

export const workspace = {
  get isTrusted() {
    return fake.trusted;
  },
  get workspaceFolders() {
    return fake.workspaceFolders.length ? fake.workspaceFolders : undefined;
  },
  getWorkspaceFolder: (uri: Uri) => fake.workspaceFolders.find((f) => uri.fsPath === f.uri.fsPath || uri.fsPath.startsWith(f.uri.fsPath + '/')),
  getConfiguration: (section: string) => ({
    get: (key: string) => {
      const s = fake.settings[`${section}.${key}`];
      return s?.workspaceValue ?? s?.globalValue;
    },
    inspect: (key: string) => {
      const full = `${section}.${key}`;
      const value = { key: full, ...fake.settings[full] };
      // Like VS Code: in Restricted Mode the workspace values of restricted settings are not given out.
      if (!fake.trusted && RESTRICTED_SETTINGS.includes(full)) {
        delete value.workspaceValue;
      }
      return value;
    },
  }),
  workspaceFile: undefined as Uri | undefined,
  fs: {
    readFile: async (uri: Uri): Promise<Uint8Array> => readFile(uri.fsPath),
  },
  onDidChangeConfiguration: configurationEmitter.event,
  onDidGrantWorkspaceTrust: trustEmitter.event,
  /** What VS Code does when the user trusts the workspace. */
  grantTrust: () => {
    fake.trusted = true;
    trustEmitter.fire();
  },
  fireConfigurationChange: (key: string) => configurationEmitter.fire({ affectsConfiguration: (s: string) => key.startsWith(s) }),
  registerTextDocumentContentProvider: (scheme: string, provider: { provideTextDocumentContent(uri: Uri): Promise<string> }) => {
    fake.contentProviders.set(scheme, provider);
    return new Disposable(() => fake.contentProviders.delete(scheme));
  },
  onDidCloseTextDocument: () => new Disposable(() => undefined),
  openTextDocument: async (uri: Uri) => {
    const text = await fake.contentProviders.get(uri.scheme)!.provideTextDocumentContent(uri);
    return { uri, lineCount: text.split('\n').length, getText: () => text };
  },
};

export const commands = {
  registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
    if (fake.commands.has(id)) throw new Error(`command ${id} already registered`);
    fake.commands.set(id, fn);
    return new Disposable(() => fake.commands.delete(id));
  },
  executeCommand: async (id: string, ...args: unknown[]) => {
    if (id === 'setContext') {
      fake.contextKeys.set(args[0] as string, args[1]);
      return undefined;
    }
    const fn = fake.commands.get(id);
    return fn ? fn(...args) : undefined;
  },
};

export const env = { clipboard: { text: '', async writeText(t: string) { env.clipboard.text = t; } } };

/** window.createInputBox: the test scripts the user through `fake.inputBox` (type, press a button, accept). */
export class FakeInputBox {
  title: string | undefined;
  prompt: string | undefined;
  placeholder: string | undefined;
  value = '';
  validationMessage: string | undefined;
  ignoreFocusOut = false;
  buttons: readonly { iconPath: unknown; tooltip?: string }[] = [];
  private readonly accepted = new EventEmitter<void>();
  private readonly hidden = new EventEmitter<void>();
  private readonly changed = new EventEmitter<string>();
  private readonly triggered = new EventEmitter<{ iconPath: unknown; tooltip?: string }>();
  readonly onDidAccept = this.accepted.event;
  readonly onDidHide = this.hidden.event;
  readonly onDidChangeValue = this.changed.event;
  readonly onDidTriggerButton = this.triggered.event;
  show(): void {
    const script = fake.inputBox;
    setImmediate(() => (script ? script(this) : this.hide()));
  }
  hide(): void {
    this.hidden.fire();
  }
  dispose(): void {}
  /** The user's actions. */
  type(text: string): void {
    this.value = text;
    this.changed.fire(text);
  }
  press(index: number): void {
    this.triggered.fire(this.buttons[index]);
  }
  accept(): void {
    this.accepted.fire();
  }
}
