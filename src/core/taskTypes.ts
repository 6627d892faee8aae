import type { GitRunState } from './gitSnapshot';

/** The journal's row shape and the inputs of its operations. Column names are the public names (CLI --json uses them). */

/**
 * A run is live while its owner works on it: `running`; `needs_input`, while the agent waits for
 * an answer to a permission request or a question (`pending_requests`); `waiting`, while a usage
 * limit holds it until `resume_at`. The rest are terminal.
 */
export type TaskStatus = 'running' | 'needs_input' | 'waiting' | 'success' | 'failed' | 'cancelled' | 'interrupted';
export const TASK_STATUSES: readonly TaskStatus[] = ['running', 'needs_input', 'waiting', 'success', 'failed', 'cancelled', 'interrupted'];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['success', 'failed', 'cancelled', 'interrupted'];
export type LiveStatus = 'running' | 'needs_input' | 'waiting';
export const LIVE_STATUSES: readonly LiveStatus[] = ['running', 'needs_input', 'waiting'];

/** True while the run's owner works on it (its death makes it interrupted). */
export function isLive(status: TaskStatus): status is LiveStatus {
  return status === 'running' || status === 'needs_input' || status === 'waiting';
}

export type OutputFormat = 'text' | 'claude-stream-json' | 'codex-json' | 'gemini-stream-json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'claude-stream-json', 'codex-json', 'gemini-stream-json'];

/** How an interrupted row was resolved. */
export type Resolution = 'resumed' | 'restarted' | 'dismissed';

/** Who runs a task: one store instance in one process. */
export interface OwnerIdentity {
  /** Unique per store instance (uuid). */
  readonly id: string;
  readonly pid: number;
  /** Wall-clock ms when the owner process started, as read from the OS; null when the OS does not tell. */
  readonly startedAt: number | null;
  /** Its start in clock ticks since boot (Linux), compared exactly; null elsewhere. */
  readonly startTicks: number | null;
  readonly host: string;
}

export interface TaskRow {
  id: string;
  name: string;
  agent: string | null;
  command: string;
  args: string[];
  cwd: string;
  workspace: string | null;
  prompt: string | null;
  format: OutputFormat;
  status: TaskStatus;
  started_at: number;
  finished_at: number | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  session_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  cache_creation_tokens: number | null;
  cost_usd: number | null;
  output_bytes: number;
  log_path: string | null;
  owner_id: string;
  owner_pid: number;
  owner_started_at: number | null;
  owner_host: string;
  child_pid: number | null;
  child_started_at: number | null;
  heartbeat_at: number | null;
  resolved_at: number | null;
  resolution: Resolution | null;
  parent_id: string | null;
  owner_start_ticks: number | null;
  child_start_ticks: number | null;
  /** Tool calls the agent was not allowed to make, in order, at most MAX_PERMISSION_DENIALS; [] when none. */
  permission_denials: PermissionDenial[];
  /** How many denials there were in all (may exceed `permission_denials.length`); 0 when none. */
  permission_denial_count: number;
  /** The latest rate-limit status the agent reported (Claude's `rate_limit_event`), else null. */
  rate_limit: RateLimitStatus | null;
  /** What the agent asked and waits for, oldest first; [] when nothing is open. */
  pending_requests: PendingRequest[];
  /** While `waiting`: when the run resumes (ms since the epoch), else null. */
  resume_at: number | null;
  /** The run's git snapshots (start, end), its worktree, or why it has none; null for rows from before snapshots, and until the first is recorded. */
  git: GitRunState | null;
}

/**
 * A permission request or a question the agent waits on. Everything in it came from the agent:
 * untrusted text, shown as plain text and never run. `input` is the tool's input as sent (capped).
 */
export interface PendingRequest {
  /** The agent's id for the request (unique within the run). */
  id: string;
  kind: 'permission' | 'question';
  /** The tool's name (`Bash`, `Edit`, `AskUserQuestion`, …), ≤ 100 chars. */
  tool: string;
  /** One short line: the command, the file, the question, ≤ 200 chars. */
  summary: string;
  input: Record<string, unknown>;
  /** The agent's own rules for "always allow" (answered back verbatim); [] when none. */
  suggestions: unknown[];
  /** For a question: what is asked, with its options. */
  questions?: PendingQuestion[];
  /** When the agent asked (ms since the epoch). */
  asked_at: number;
}

export interface PendingQuestion {
  question: string;
  header: string | null;
  options: { label: string; description: string | null }[];
  multiSelect: boolean;
}

/** An answer to a pending request, from any window or the CLI. The first one journaled wins. */
export interface RequestAnswer {
  behavior: 'allow' | 'deny';
  /** With allow: also allow what the agent suggested, for the rest of the session. */
  always?: boolean;
  /** With deny: what the agent is told. */
  message?: string;
  /** For a question: the answer to each question (question text → the chosen labels or free text). */
  answers?: Record<string, string>;
}

/** The agent's rate-limit status, as its stream reported it. */
export interface RateLimitStatus {
  /** `allowed`, `allowed_warning` or `rejected` (Claude). */
  status: string;
  /** When the limit resets (seconds since the epoch), when known. */
  resetsAt: number | null;
  /** Which limit (`five_hour`, `seven_day`, …), when known. */
  kind: string | null;
  /** 0..1, when known. */
  utilization: number | null;
}

/** One tool call the agent was not allowed to make (untrusted text: cleaned and capped by the parser). */
export interface PermissionDenial {
  /** The tool's name as the agent calls it (`Bash`, `Edit`, `shell`, `run_shell_command`, …), ≤ 100 chars. */
  tool: string;
  /** A short summary of its input (the command, the file path, the URL, else compact JSON), ≤ 200 chars. */
  summary: string;
}

/** What a caller supplies to start a task; the store fills in status, owner, times and the log path. */
export interface NewTask {
  /** A uuid chosen by the caller (so the caller can name the session before the row exists); generated when absent. */
  id?: string;
  name: string;
  agent?: string | null;
  command: string;
  args: string[];
  cwd: string;
  workspace?: string | null;
  prompt?: string | null;
  format?: OutputFormat;
  session_id?: string | null;
  parent_id?: string | null;
  /** Defaults to now. */
  started_at?: number;
}

/** Fields a running task learns while it runs (child pid, the agent's session id, progress). */
export interface RunningPatch {
  child_pid?: number | null;
  child_started_at?: number | null;
  child_start_ticks?: number | null;
  session_id?: string | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_tokens?: number | null;
  cache_creation_tokens?: number | null;
  cost_usd?: number | null;
  output_bytes?: number;
  rate_limit?: RateLimitStatus | null;
}

export interface TaskResult extends RunningPatch {
  status: Exclude<TaskStatus, LiveStatus>;
  exit_code?: number | null;
  signal?: string | null;
  error?: string | null;
  permission_denials?: PermissionDenial[];
  permission_denial_count?: number;
  /** Defaults to now. */
  finished_at?: number;
}

export interface ListTasksQuery {
  status?: TaskStatus | readonly TaskStatus[];
  workspace?: string;
  /** Default 50. */
  limit?: number;
  /** Only rows that started strictly before this ms timestamp (paging, newest first). */
  before?: number;
  /** History lists leave live rows out unless asked (or unless `status` names a live status). */
  includeRunning?: boolean;
}

/** What the editor's views show, read in one go (`TaskStore.readView`). */
export interface StoreView {
  /** Every live row (running, needs_input, waiting), newest first. */
  readonly running: TaskRow[];
  /** Interrupted rows not yet resumed, restarted or dismissed, newest first. */
  readonly interrupted: TaskRow[];
  /** The newest finished rows: up to the requested limit, plus as many as there are unresolved interrupted rows. */
  readonly history: TaskRow[];
  /** How many finished rows there are, archived ones included (counted without parsing the archive). */
  readonly historyTotal: number;
}

/** Fired after the store's rows changed: by this process or, after a refresh, by another one. */
export interface TasksChangeEvent {
  /** Ids of the rows that changed; empty when unknown (a full reload). */
  readonly ids: readonly string[];
  /** True when the change came from another process's records. */
  readonly external: boolean;
}

/** A `cancelRequest` record as the owner of the row sees it (TaskStore.onDidRequestCancel). */
export interface CancelRequest {
  readonly id: string;
  /** When it was asked (the requester's clock). */
  readonly at: number;
  /** owner_id of the store instance that asked. */
  readonly by: string;
}

/**
 * A journal that tells the owner of a run when another process asked to cancel it. TaskRunner
 * subscribes when its journal has it, and cancels its own task (SIGTERM, SIGKILL after the grace).
 */
export interface CancelRequestSource {
  readonly onDidRequestCancel: import('./lifecycle').Event<CancelRequest>;
}

export interface RetentionPolicy {
  /** Finished rows older than this many days are pruned; 0 keeps all. */
  maxAgeDays: number;
  /** At most this many finished rows are kept (newest first); 0 keeps all. */
  maxRows: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeDays: 90, maxRows: 10_000 };

/**
 * The journal operations the runner, the CLI and the extension use. `TaskStore` (taskStore.ts)
 * implements it over sql.js; every method is async and never does synchronous file I/O.
 */
export interface TaskJournal {
  readonly owner: OwnerIdentity;
  /** True when opened to read only, written by a newer version, or not writable (a read-only mount): reads work, writes reject. */
  readonly readOnly: boolean;
  /** Messages about the store's state worth showing a user (damaged file moved aside, newer version, …). */
  readonly notices: readonly string[];
  readonly onDidChangeTasks: import('./lifecycle').Event<TasksChangeEvent>;

  /**
   * Inserts a `running` row; resolves once the row is durable. Idempotent on `id`. With
   * `exclusiveSession`, rejects when another live run of `task.session_id` exists or lands first.
   */
  startTask(task: NewTask, options?: { exclusiveSession?: boolean }): Promise<TaskRow>;
  /** Records what a running task learned (child pid, session id, progress). Not fsync'd: survives a process kill, not a power cut. */
  updateRunning(id: string, patch: RunningPatch): Promise<void>;
  /** Marks the given running rows as alive now. */
  heartbeat(ids: readonly string[]): Promise<void>;
  /** Overwrites the row with its terminal state; durable when it resolves. Records the task even if its start was never seen (`fallback`). */
  finishTask(id: string, result: TaskResult, fallback?: NewTask): Promise<TaskRow>;
  /** Marks running rows whose owner is provably dead as `interrupted`; returns the rows it marked. */
  markRunningAsInterrupted(): Promise<TaskRow[]>;
  /** Marks this owner's own running rows as interrupted (a clean shutdown that could not wait for them). */
  interruptOwnTasks(ids: readonly string[], reason: string): Promise<TaskRow[]>;
  listUnresolvedInterruptedTasks(): Promise<TaskRow[]>;
  resolveInterrupted(id: string, how: Resolution): Promise<TaskRow | undefined>;
  getTask(id: string): Promise<TaskRow | undefined>;
  listTasks(query?: ListTasksQuery): Promise<TaskRow[]>;
  countTasks(query?: Omit<ListTasksQuery, 'limit' | 'before'>): Promise<number>;
  listZeroOutputSuccesses(limit?: number): Promise<TaskRow[]>;
  /** True when a running row exists for this session id (or, without one, for this workspace). */
  hasInFlightTask(query: { sessionId?: string; workspace?: string }): Promise<boolean>;
  /** Where a task's output log lives (inside the store folder, 0600). */
  logPathFor(id: string): string;
  /** Fired when a notice is added after open (damage found mid-query, a full disk). */
  readonly onDidAddNotice: import('./lifecycle').Event<string>;
  /** Everything the views show, from one catch-up. */
  readView(options: { historyLimit: number }): Promise<StoreView>;
  /** Reads other processes' new records; fires onDidChangeTasks when anything changed. */
  refresh(): Promise<void>;
  /**
   * Asks the owner of a running row, whichever process it is, to cancel it: appends a durable
   * `cancelRequest` record. The owner's store fires onDidRequestCancel on its next catch-up (this
   * store's own rows: before this resolves). It changes no row; the owner records `cancelled`.
   */
  requestCancel(id: string): Promise<void>;
  /** Fired when a catch-up reads a cancel request for a running row this store instance owns. */
  readonly onDidRequestCancel: import('./lifecycle').Event<CancelRequest>;
  /**
   * Records the run's git state (its snapshots, its worktree, or why it has none), whole: the
   * writer merges what it knows. Durable when it resolves. Any row, live or finished (recovery
   * records the end snapshot of an interrupted run).
   */
  recordGit(id: string, git: GitRunState): Promise<void>;
}

/** An answer as the owner of the run relays it: the first one journaled for its request. */
export interface RequestAnswered {
  readonly id: string;
  readonly request: string;
  readonly answer: RequestAnswer;
  /** owner_id of the store instance that answered. */
  readonly by: string;
  readonly at: number;
}

/** What answering a request came to: refused with the reason, or the row as it is after the answer. */
export type AnswerOutcome = { readonly ok: true; readonly row: TaskRow } | { readonly ok: false; readonly reason: string };

/**
 * The journal of agents that ask. The owner of a run journals each request (`needs_input`) and
 * relays to its agent the first answer journaled for it, by anyone; `pollAnswers` reads what
 * other processes wrote since the last call (the owner calls it while requests are open).
 */
export interface RequestJournal {
  recordRequest(id: string, request: PendingRequest): Promise<void>;
  closeRequest(id: string, requestId: string, reason: string): Promise<void>;
  /** Journals an answer; `ok` only when it is the first answer of that open request. */
  answerRequest(id: string, requestId: string, answer: RequestAnswer): Promise<AnswerOutcome>;
  setPhase(id: string, status: 'running' | 'waiting', resumeAt: number | null): Promise<void>;
  pollAnswers(): Promise<void>;
  /** The first answer to an open request of a run this journal owns, in log order. */
  readonly onDidAnswer: import('./lifecycle').Event<RequestAnswered>;
}

/** True for a journal that records requests and phases (TaskStore, AppendOnlyJournal). */
export function isRequestJournal(journal: object): journal is RequestJournal {
  const j = journal as Partial<RequestJournal>;
  return typeof j.recordRequest === 'function' && typeof j.answerRequest === 'function' && typeof j.setPhase === 'function' && typeof j.pollAnswers === 'function';
}

/** What a TaskRunner writes: the journal of the process that owns its runs (TaskStore, or a supervisor's AppendOnlyJournal). */
export type RunJournal = Pick<TaskJournal, 'owner' | 'startTask' | 'updateRunning' | 'heartbeat' | 'finishTask' | 'interruptOwnTasks' | 'logPathFor' | 'recordGit'>;
