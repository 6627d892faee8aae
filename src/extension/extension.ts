/**
 * Entry point. activate() stays short: it builds the one owner of everything (AgentTasksContext)
 * and hands it to VS Code; the task store opens in the background and commands wait for it.
 * deactivate() stops this window's running tasks cleanly (recorded `interrupted`, durably) and
 * closes the store. No VS Code object is created when this module loads.
 */
import * as vscode from 'vscode';
import { AgentTasksContext } from './context';
import { errorMessage } from './errors';

/** What activate() returns, for scripts and the end-to-end tests. */
export interface AgentTasksApi {
  /** Resolves once the task journal is open and the recovery scan ran: true, or false when opening failed. */
  readonly ready: Promise<boolean>;
}

let current: AgentTasksContext | undefined;

export function activate(context: vscode.ExtensionContext): AgentTasksApi {
  let ctx: AgentTasksContext;
  try {
    ctx = new AgentTasksContext(context);
  } catch (err) {
    // VS Code only logs a failed activation: say it where the user looks.
    void vscode.window.showErrorMessage(`Agent Tasks failed to start: ${errorMessage(err)}`);
    throw err;
  }
  context.subscriptions.push(ctx);
  current = ctx;
  return { ready: ctx.ready.then((services) => services !== undefined) };
}

export async function deactivate(): Promise<void> {
  const ctx = current;
  current = undefined;
  await ctx?.shutdown();
}
