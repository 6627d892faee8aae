/**
 * Every id the manifest (package.json) and the code share. A unit test checks the manifest
 * against these, so a renamed command cannot silently lose its menu entries.
 */
export const EXTENSION_ID = 'agenttasks.agent-tasks';
export const VIEW_CONTAINER_ID = 'agentTasks';
export const TASKS_VIEW_ID = 'agentTasks.tasks';
/** VS Code generates `<view id>.focus` for every view. */
export const FOCUS_TASKS_VIEW_COMMAND = `${TASKS_VIEW_ID}.focus`;

export const Commands = {
  run: 'agentTasks.run',
  recover: 'agentTasks.recover',
  cancel: 'agentTasks.cancel',
  showOutput: 'agentTasks.showOutput',
  dismiss: 'agentTasks.dismiss',
  rerun: 'agentTasks.rerun',
  copySessionId: 'agentTasks.copySessionId',
  clearHistory: 'agentTasks.clearHistory',
  refresh: 'agentTasks.refresh',
  showLog: 'agentTasks.showLog',
  answer: 'agentTasks.answer',
  // What a run changed (issue 13): on a changed file, on a task, on a worktree task.
  openChange: 'agentTasks.openChange',
  openChangeWithCurrent: 'agentTasks.openChangeWithCurrent',
  revertFile: 'agentTasks.revertFile',
  openChanges: 'agentTasks.openChanges',
  copyPatch: 'agentTasks.copyPatch',
  applyWorktree: 'agentTasks.applyWorktree',
  openWorktree: 'agentTasks.openWorktree',
  removeWorktree: 'agentTasks.removeWorktree',
} as const;

/** Registered but not contributed: the tree's "Show more" item runs it. */
export const SHOW_MORE_HISTORY_COMMAND = 'agentTasks.tasks.showMore';

/** Context keys the manifest's `when` clauses read. */
export const ContextKeys = {
  /** 'loading' | 'ready' | 'failed' */
  state: 'agentTasks.state',
  hasInterrupted: 'agentTasks.hasInterrupted',
  hasNeedsInput: 'agentTasks.hasNeedsInput',
} as const;

export const OUTPUT_SCHEME = 'agent-tasks-output';
/** Read-only documents with an agent request's details. */
export const REQUEST_SCHEME = 'agent-tasks-request';
/** Read-only documents of a file as a run's snapshot holds it (the left and right of its diffs). */
export const SNAPSHOT_SCHEME = 'agent-tasks-snapshot';
