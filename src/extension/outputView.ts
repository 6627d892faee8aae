/**
 * "Show Output": a task's log as a read-only document on the `agent-tasks-output:` scheme,
 * rendered readable (Claude stream-json and Codex JSONL become text) and following the task live
 * while it runs. The log is read incrementally and asynchronously (model/logDocument.ts), and
 * only its last few MB are shown. Every run is owned by a supervisor process: updates come from
 * the store (progress at heartbeats, the end) and from a watch of the log file while it runs.
 */
import { watch, type FSWatcher } from 'node:fs';
import * as vscode from 'vscode';
import { Disposable } from '../core/lifecycle';
import { isLive, type TaskRow } from '../core/taskTypes';
import type { AgentTasksContext, Services } from './context';
import { errorMessage } from './errors';
import { OUTPUT_SCHEME } from './model/ids';
import { LogDocument, outputFooter, outputHeader } from './model/logDocument';
import { taskLabel } from './model/taskPresentation';

const REFRESH_DEBOUNCE_MS = 300;

/** One open output document. */
class OpenLog {
  row: TaskRow | undefined;
  doc: LogDocument | undefined;
  watcher: FSWatcher | undefined;
  timer: NodeJS.Timeout | undefined;
  loaded: Promise<void> | undefined;
  /** Why the row could not be read (the journal did not open). */
  problem: string | undefined;
  /** Refreshes run one at a time. */
  chain: Promise<void> = Promise.resolve();

  constructor(
    readonly uri: vscode.Uri,
    readonly taskId: string,
  ) {}

  dispose(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}

export class OutputView extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this._onDidChange.event;
  private readonly logs = new Map<string, OpenLog>();

  constructor(private readonly ctx: AgentTasksContext) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(OUTPUT_SCHEME, this));
    this._register(
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme !== OUTPUT_SCHEME) return;
        const key = doc.uri.toString();
        this.logs.get(key)?.dispose();
        this.logs.delete(key);
      }),
    );
    this._register({ dispose: () => this.logs.forEach((log) => log.dispose()) });
  }

  attach(services: Services): void {
    this._register(
      services.store.onDidChangeTasks((e) => {
        const ids = new Set(e.ids);
        for (const log of this.logs.values()) if (ids.size === 0 || ids.has(log.taskId)) this.schedule(log);
      }),
    );
  }

  /** `agent-tasks-output:/<task id>/<label>.log`: the tab shows the label; `.log` gives Log highlighting. */
  uriFor(row: TaskRow): vscode.Uri {
    const safe = taskLabel(row).replace(/[\\/:*?"<>|\x00-\x1f]+/g, ' ').trim().slice(0, 60) || 'output';
    return vscode.Uri.from({ scheme: OUTPUT_SCHEME, path: `/${row.id}/${safe}.log` });
  }

  async show(row: TaskRow): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(this.uriFor(row));
    const editor = await vscode.window.showTextDocument(doc, { preview: false });
    // Most people open a log for its end: how it finished, or what it is doing now.
    const end = new vscode.Position(Math.max(0, doc.lineCount - 1), 0);
    editor.selection = new vscode.Selection(end, end);
    editor.revealRange(new vscode.Range(end, end), vscode.TextEditorRevealType.Default);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const key = uri.toString();
    let log = this.logs.get(key);
    if (!log) {
      const taskId = uri.path.split('/')[1] ?? '';
      log = new OpenLog(uri, taskId);
      this.logs.set(key, log);
      log.loaded = this.refresh(log);
    }
    await log.loaded;
    return this.render(log);
  }

  private render(log: OpenLog): string {
    const row = log.row;
    if (log.problem !== undefined) return `${log.problem}\n`;
    if (!row) return `Agent task ${log.taskId} is not in the task history (it may have been removed by Clear History or the retention settings).\n`;
    const body = log.doc?.body ?? '';
    const note = log.doc?.truncationNote() ?? '';
    const separator = body === '' || body.endsWith('\n') ? '' : '\n';
    return outputHeader(row) + note + body + separator + outputFooter(row, Date.now(), { emptyBody: body === '' });
  }

  private schedule(log: OpenLog): void {
    clearTimeout(log.timer);
    log.timer = setTimeout(() => {
      void this.refresh(log).then(() => this._onDidChange.fire(log.uri));
    }, REFRESH_DEBOUNCE_MS);
  }

  /** Reads the row and the new part of the log. */
  private refresh(log: OpenLog): Promise<void> {
    log.chain = log.chain.then(async () => {
      try {
        const services = await this.ctx.services();
        const row = await services.store.getTask(log.taskId);
        log.row = row;
        log.problem = undefined;
        if (!row) return;
        log.doc ??= new LogDocument(row.log_path ?? services.store.logPathFor(row.id), row.format);
        if (isLive(row.status)) await log.doc.update();
        else await log.doc.end();
        this.updateWatcher(log, row);
      } catch (err) {
        log.problem = `Could not read the output of agent task ${log.taskId}: ${errorMessage(err)}`;
        this.ctx.log.warn(log.problem);
      }
    });
    return log.chain;
  }

  /** A running task: watch its log file itself (its output reaches the store only at heartbeats). */
  private updateWatcher(log: OpenLog, row: TaskRow): void {
    if (!isLive(row.status)) {
      log.watcher?.close();
      log.watcher = undefined;
      return;
    }
    if (log.watcher || !log.doc?.file) return;
    try {
      log.watcher = watch(log.doc.file, { persistent: false }, () => this.schedule(log));
      log.watcher.on('error', () => {
        log.watcher?.close();
        log.watcher = undefined;
      });
    } catch {
      // No log file yet: the store's change events (heartbeats) still refresh the view.
    }
  }
}
