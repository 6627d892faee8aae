/**
 * Agents that ask, in the editor: a notification for each new open request of this workspace's
 * runs (Allow / Always Allow / Deny / Show, or Answer… for a question), the Answer Request command
 * (the tree's inline action and the palette), and the read-only details document. The answer goes
 * to the journal; the run's supervisor hands the first one to the agent. It listens to the tree's
 * loads of the store, like the status bar: no state of its own beyond what it already asked about.
 */
import * as vscode from 'vscode';
import { Disposable, type Event } from '../core/lifecycle';
import type { RequestAnswer, StoreView, TaskRow } from '../core/taskTypes';
import { isOfThisWorkspace, type AgentTasksContext, type Services } from './context';
import { errorMessage } from './errors';
import { Commands, ContextKeys, REQUEST_SCHEME } from './model/ids';
import {
  ANSWER,
  answerForButton,
  openRequests,
  questionAnswerText,
  questionPicks,
  requestDetails,
  requestKey,
  requestNotice,
  SHOW,
  type OpenRequest,
  type QuestionPick,
} from './model/requestPrompt';
import { taskLabel } from './model/taskPresentation';

export class RequestPrompts extends Disposable implements vscode.TextDocumentContentProvider {
  private services: Services | undefined;
  private open: OpenRequest[] = [];
  /** Requests this window has notified about (each once), while they are open. */
  private readonly notified = new Set<string>();
  private readonly detailTexts = new Map<string, string>();

  constructor(private readonly ctx: AgentTasksContext) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(REQUEST_SCHEME, this));
    this._register(vscode.commands.registerCommand(Commands.answer, (arg?: unknown) => this.answerCommand(arg)));
  }

  attach(services: Services, views: { onDidLoad: Event<StoreView>; lastView: StoreView | undefined }): void {
    this.services = services;
    this._register(views.onDidLoad((view) => this.show(view)));
    if (views.lastView) this.show(views.lastView);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.detailTexts.get(uri.path) ?? 'This request is no longer open.';
  }

  private show(view: StoreView): void {
    this.open = openRequests(view.running);
    void this.ctx.setContext(ContextKeys.hasNeedsInput, this.open.length > 0);
    const keys = new Set(this.open.map(requestKey));
    for (const key of [...this.notified]) if (!keys.has(key)) this.notified.delete(key);
    for (const open of this.open) {
      const key = requestKey(open);
      if (this.notified.has(key) || !this.concernsThisWindow(open.row)) continue;
      this.notified.add(key);
      void this.notify(open);
    }
  }

  /** The window that started the run, or any window of its workspace, tells. */
  private concernsThisWindow(row: TaskRow): boolean {
    return this.services?.runs.get(row.id) !== undefined || isOfThisWorkspace(row);
  }

  private async notify(open: OpenRequest): Promise<void> {
    const { message, buttons } = requestNotice(open);
    const choice = await vscode.window.showWarningMessage(message, ...buttons);
    await this.act(open, choice);
  }

  private async act(open: OpenRequest, choice: string | undefined): Promise<void> {
    try {
      if (choice === undefined) return;
      if (choice === SHOW) {
        await this.showDetails(open);
        const { buttons } = requestNotice(open);
        const next = await vscode.window.showQuickPick(buttons.filter((b) => b !== SHOW), { title: `Answer: ${taskLabel(open.row)}`, placeHolder: 'What does the agent get?' });
        await this.act(open, next);
        return;
      }
      const answer = choice === ANSWER ? await this.askQuestions(open) : answerForButton(choice);
      if (answer) await this.submit(open, answer);
    } catch (err) {
      void vscode.window.showErrorMessage(`Agent Tasks could not answer: ${errorMessage(err)}`);
    }
  }

  private async submit(open: OpenRequest, answer: RequestAnswer): Promise<void> {
    const services = await this.ctx.services();
    const outcome = await services.store.answerRequest(open.row.id, open.request.id, answer);
    if (!outcome.ok) void vscode.window.showInformationMessage(outcome.reason);
  }

  /** Each question as a QuickPick of its options, plus a typed answer. */
  private async askQuestions(open: OpenRequest): Promise<RequestAnswer | undefined> {
    const answers: Record<string, string> = {};
    for (const question of open.request.questions ?? []) {
      const items: (vscode.QuickPickItem & QuestionPick)[] = questionPicks(question);
      const title = `${taskLabel(open.row)} asks`;
      const picked = question.multiSelect
        ? await vscode.window.showQuickPick(items, { title, placeHolder: question.question, canPickMany: true, ignoreFocusOut: true })
        : await vscode.window.showQuickPick(items, { title, placeHolder: question.question, ignoreFocusOut: true }).then((p) => (p ? [p] : undefined));
      if (!picked) return undefined;
      const typed = picked.some((p) => p.freeText) ? await vscode.window.showInputBox({ title, prompt: question.question, ignoreFocusOut: true }) : undefined;
      if (picked.some((p) => p.freeText) && typed === undefined) return undefined;
      const text = questionAnswerText(question, picked.filter((p) => !p.freeText).map((p) => p.label), typed);
      if (text === undefined) return undefined;
      answers[question.question] = text;
    }
    return { behavior: 'allow', answers };
  }

  private async showDetails(open: OpenRequest): Promise<void> {
    const uri = vscode.Uri.from({ scheme: REQUEST_SCHEME, path: `/${open.row.id}/${encodeURIComponent(open.request.id)}.txt` });
    this.detailTexts.set(uri.path, requestDetails(open));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: true });
  }

  /** Answer Request…: the tree item's open request, else a pick of every open one. */
  private async answerCommand(arg?: unknown): Promise<void> {
    const rowId = rowIdOf(arg);
    let candidates = this.open.filter((o) => rowId === undefined || o.row.id === rowId);
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage(rowId === undefined ? 'No agent task is waiting for an answer.' : 'This task has no open request.');
      return;
    }
    if (candidates.length > 1) {
      const items = candidates.map((o) => ({ label: `${o.request.tool}: ${o.request.summary}`, description: taskLabel(o.row), open: o }));
      const picked = await vscode.window.showQuickPick(items, { title: 'Answer which request?' });
      if (!picked) return;
      candidates = [picked.open];
    }
    const open = candidates[0];
    const { buttons } = requestNotice(open);
    const choice = await vscode.window.showQuickPick(buttons, { title: `${taskLabel(open.row)}: ${open.request.tool}`, placeHolder: open.request.summary });
    await this.act(open, choice);
  }
}

/** A tree node or a row passed by a menu, else undefined. */
function rowIdOf(arg: unknown): string | undefined {
  const row = (arg as { row?: TaskRow } | undefined)?.row ?? (arg as TaskRow | undefined);
  return typeof row?.id === 'string' ? row.id : undefined;
}

