import type { Database, SqlValue, Statement } from 'sql.js';
import type { SegmentInfo } from './historyArchive';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { parseGitRunState, type GitRunState } from './gitSnapshot';
import { LIVE_STATUSES, type NewTask, type OwnerIdentity, type PendingRequest, type PermissionDenial, type RateLimitStatus, type RequestAnswer, type Resolution, type RunningPatch, type TaskResult, type TaskRow } from './taskTypes';

/**
 * The journal's record types and how each one changes the in-memory database. Replay must be
 * deterministic and idempotent: every process applies the same records in log order and reaches
 * the same rows, and a record read twice (after a log rotation) changes nothing the second time.
 * So every record carries its own timestamps, and transitions are guarded by the row's status.
 */

export const RECORD_VERSION = 1;

/** Task ids name log files: letters, digits, `_` and `-` only, so no id can reach outside the logs folder. */
const SAFE_TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Throws for an id that could not name a log file (SAFE_TASK_ID). */
export function checkTaskId(id: string): void {
  if (!SAFE_TASK_ID.test(id)) throw new Error(`Invalid task id: ${JSON.stringify(id)}`);
}

/** Where task `id`'s output log lives in the store folder `dir`. */
export function taskLogPath(dir: string, id: string): string {
  checkTaskId(id);
  return path.join(dir, 'logs', `${id}.log`);
}

/** Another process started a run of the same agent session first (two windows resuming one task). */
export class SessionTakenError extends Error {}

export function sessionTakenMessage(session: string): string {
  return `Another window or process is already running agent session ${session}: two agents must not work on one session.`;
}

/** The row a start record carries: everything known before the child is spawned. */
export function runningRow(task: NewTask, owner: OwnerIdentity, logPath: (id: string) => string, now: number): TaskRow {
  const id = task.id ?? randomUUID();
  return {
    id,
    name: task.name,
    agent: task.agent ?? null,
    command: task.command,
    args: [...task.args],
    cwd: task.cwd,
    workspace: task.workspace ?? null,
    prompt: task.prompt ?? null,
    format: task.format ?? 'text',
    status: 'running',
    started_at: task.started_at ?? now,
    finished_at: null,
    exit_code: null,
    signal: null,
    error: null,
    session_id: task.session_id ?? null,
    input_tokens: null,
    output_tokens: null,
    cache_read_tokens: null,
    cache_creation_tokens: null,
    cost_usd: null,
    output_bytes: 0,
    log_path: logPath(id),
    owner_id: owner.id,
    owner_pid: owner.pid,
    owner_started_at: owner.startedAt,
    owner_host: owner.host,
    child_pid: null,
    child_started_at: null,
    heartbeat_at: now,
    resolved_at: null,
    resolution: null,
    parent_id: task.parent_id ?? null,
    owner_start_ticks: owner.startTicks,
    child_start_ticks: null,
    permission_denials: [],
    permission_denial_count: 0,
    rate_limit: null,
    pending_requests: [],
    resume_at: null,
    git: null,
  };
}

/** The SQL test for a live row (running, needs_input, waiting). */
export const LIVE_SQL = `status IN (${LIVE_STATUSES.map((s) => `'${s}'`).join(',')})`;
/** And for a finished one. Like `<>`, NOT IN lets SQLite walk the started_at index for history pages. */
export const NOT_LIVE_SQL = `status NOT IN (${LIVE_STATUSES.map((s) => `'${s}'`).join(',')})`;

interface RecordBase {
  v: number;
  /** owner_id of the writer. */
  by: string;
}

export type JournalRecord =
  | (RecordBase & { op: 'start'; row: TaskRow })
  | (RecordBase & { op: 'update'; id: string; set: RunningPatch })
  | (RecordBase & { op: 'heartbeat'; ids: string[]; at: number })
  | (RecordBase & { op: 'finish'; id: string; set: FinishFields; row?: TaskRow })
  /** `nonce` tells this record apart when several processes interrupt the same rows at once. */
  | (RecordBase & { op: 'interrupt'; ids: string[]; at: number; reason: string | null; nonce?: string })
  | (RecordBase & { op: 'resolve'; id: string; at: number; how: Resolution })
  | (RecordBase & { op: 'prune'; ids: string[] })
  | (RecordBase & { op: 'archive'; segment: SegmentInfo; ids: string[] })
  | (RecordBase & { op: 'dropSegment'; name: string })
  /**
   * Someone (`agent-tasks cancel`, another window) asks the owner of a running row to cancel it.
   * It changes no row: the owner's store sees it on a catch-up and fires onDidRequestCancel, and
   * the owner records the end (`cancelled`) with an ordinary finish. Written with `v: 1`: a version
   * that does not know the op classifies it 'invalid' and skips it (see classifyRecord).
   */
  | (RecordBase & { op: 'cancelRequest'; id: string; at: number })
  /** The run's owner: the agent asked (a permission request or a question) and waits. The row becomes `needs_input`. */
  | (RecordBase & { op: 'ask'; id: string; at: number; request: PendingRequest })
  /**
   * Anyone (a window, `agent-tasks answer`, the owner on a timeout): an answer to an open request.
   * Only the first answer of a request changes the row (it closes the request; with none left
   * open the row is `running` again); the owner relays that one to the agent. `nonce` tells the
   * writer whether its record was that first one.
   */
  | (RecordBase & { op: 'answer'; id: string; at: number; request: string; answer: RequestAnswer; nonce: string })
  /** The run's owner: a request the agent withdrew or can no longer take an answer for. */
  | (RecordBase & { op: 'closeRequest'; id: string; at: number; request: string; reason: string })
  /** The run's owner: a live run moves between `running` and `waiting` (a usage limit, until `resume_at`). */
  | (RecordBase & { op: 'phase'; id: string; at: number; status: 'running' | 'waiting'; resume_at: number | null })
  /** The run's owner, or whoever recovers it: the run's git state, whole (snapshots, worktree, or why none). */
  | (RecordBase & { op: 'git'; id: string; at: number; git: GitRunState });

export type FinishFields = RunningPatch &
  Required<Pick<TaskResult, 'status' | 'finished_at'>> &
  Pick<TaskResult, 'exit_code' | 'signal' | 'error' | 'permission_denials' | 'permission_denial_count'>;

export const COLUMNS = [
  'id', 'name', 'agent', 'command', 'args', 'cwd', 'workspace', 'prompt', 'format', 'status',
  'started_at', 'finished_at', 'exit_code', 'signal', 'error', 'session_id', 'input_tokens',
  'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'cost_usd', 'output_bytes',
  'log_path', 'owner_id', 'owner_pid', 'owner_started_at', 'owner_host', 'child_pid',
  'child_started_at', 'heartbeat_at', 'resolved_at', 'resolution', 'parent_id',
  'owner_start_ticks', 'child_start_ticks', 'permission_denials', 'permission_denial_count',
  'rate_limit', 'pending_requests', 'resume_at', 'git',
] as const satisfies readonly (keyof TaskRow)[];

const PATCH_COLUMNS = [
  'child_pid', 'child_started_at', 'child_start_ticks', 'session_id', 'input_tokens', 'output_tokens',
  'cache_read_tokens', 'cache_creation_tokens', 'cost_usd', 'output_bytes', 'rate_limit',
] as const satisfies readonly (keyof RunningPatch)[];

const FINISH_COLUMNS = [
  ...PATCH_COLUMNS, 'status', 'finished_at', 'exit_code', 'signal', 'error', 'permission_denials', 'permission_denial_count',
] as const;

/** A column's value as SQLite keeps it: arrays as JSON; no denials as NULL (rows of older versions have NULL too). */
function columnToSql(column: string, value: unknown): SqlValue {
  if (value === undefined) return null;
  switch (column) {
    case 'args':
      return JSON.stringify(value ?? []);
    case 'permission_denials':
      return Array.isArray(value) && value.length > 0 ? JSON.stringify(value) : null;
    case 'permission_denial_count':
      return typeof value === 'number' && value > 0 ? value : null;
    case 'rate_limit':
      return value === null ? null : JSON.stringify(value);
    case 'pending_requests':
      return Array.isArray(value) && value.length > 0 ? JSON.stringify(value) : null;
    case 'git':
      return value === null ? null : JSON.stringify(value);
    default:
      return value as SqlValue;
  }
}

export function rowToSql(row: TaskRow): SqlValue[] {
  return COLUMNS.map((c) => columnToSql(c, row[c]));
}

export function rowFromSql(obj: Record<string, SqlValue>): TaskRow {
  const row = { ...obj } as unknown as TaskRow;
  const args = parseJsonArray(obj.args);
  row.args = args.map(String);
  row.permission_denials = parseJsonArray(obj.permission_denials).filter(isDenial);
  row.permission_denial_count = Math.max(typeof obj.permission_denial_count === 'number' ? obj.permission_denial_count : 0, row.permission_denials.length);
  row.rate_limit = parseRateLimit(obj.rate_limit);
  row.pending_requests = parseJsonArray(obj.pending_requests).filter(isPendingRequest);
  // Rows of archive segments written before schema 5 have no such column.
  row.resume_at = typeof obj.resume_at === 'number' ? obj.resume_at : null;
  // And before schema 6, none has `git`.
  row.git = typeof obj.git === 'string' ? parseGitRunState(parseJson(obj.git)) : null;
  return row;
}

function parseRateLimit(value: SqlValue | undefined): RateLimitStatus | null {
  if (typeof value !== 'string') return null;
  try {
    const r = JSON.parse(value) as Partial<RateLimitStatus> | null;
    if (typeof r !== 'object' || r === null || typeof r.status !== 'string') return null;
    const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { status: r.status, resetsAt: num(r.resetsAt), kind: typeof r.kind === 'string' ? r.kind : null, utilization: num(r.utilization) };
  } catch {
    return null;
  }
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}

function parseJsonArray(value: SqlValue | undefined): unknown[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function isDenial(value: unknown): value is PermissionDenial {
  const d = value as Partial<PermissionDenial> | null;
  return typeof d === 'object' && d !== null && typeof d.tool === 'string' && typeof d.summary === 'string';
}

function isPendingRequest(value: unknown): value is PendingRequest {
  const r = value as Partial<PendingRequest> | null;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.tool === 'string' && typeof r.summary === 'string';
}

function placeholders(n: number): string {
  return new Array(n).fill('?').join(',');
}

/** Prepared statements for one database, freed with it. */
export class JournalStatements {
  private readonly cache = new Map<string, Statement>();

  constructor(readonly db: Database) {}

  run(sql: string, params: SqlValue[]): number {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      // Statements with a variable id list are not worth keeping.
      if (!sql.includes('/*list*/')) this.cache.set(sql, stmt);
    }
    try {
      stmt.run(params);
    } finally {
      if (!this.cache.has(sql)) stmt.free();
    }
    return this.db.getRowsModified();
  }

  /** One row by a cached statement (the hot lookups). */
  get(sql: string, params: SqlValue[]): TaskRow | undefined {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    try {
      stmt.bind(params);
      return stmt.step() ? rowFromSql(stmt.getAsObject()) : undefined;
    } finally {
      stmt.reset();
    }
  }

  all(sql: string, params: SqlValue[] = []): TaskRow[] {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const rows: TaskRow[] = [];
      while (stmt.step()) rows.push(rowFromSql(stmt.getAsObject()));
      return rows;
    } finally {
      stmt.free();
    }
  }

  segments(): SegmentInfo[] {
    return (
      this.db.exec('SELECT name, rows, oldest_started, newest_started, newest_finished, statuses FROM archive_segments')[0]?.values.map(
        ([name, rows, oldest_started, newest_started, newest_finished, statuses]) =>
          ({ name, rows, oldest_started, newest_started, newest_finished, statuses: parseStatuses(statuses) }) as SegmentInfo,
      ) ?? []
    );
  }

  scalar(sql: string, params: SqlValue[] = []): SqlValue {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      return stmt.step() ? stmt.get()[0] : null;
    } finally {
      stmt.free();
    }
  }

  free(): void {
    for (const s of this.cache.values()) s.free();
    this.cache.clear();
  }
}

function parseStatuses(value: SqlValue): Record<string, number> | null {
  if (typeof value !== 'string') return null;
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, number>) : null;
  } catch {
    return null;
  }
}

export const INSERT_SQL = `INSERT OR IGNORE INTO task_history (${COLUMNS.join(',')}) VALUES (${placeholders(COLUMNS.length)})`;

function idList(ids: readonly string[]): string {
  return `/*list*/ (${placeholders(ids.length)})`;
}

function setClause<K extends string>(cols: readonly K[], values: Partial<Record<K, unknown>>): { sql: string; params: SqlValue[] } {
  const present = cols.filter((c) => values[c] !== undefined);
  return {
    sql: present.map((c) => `${c} = ?`).join(', '),
    params: present.map((c) => columnToSql(c, values[c])),
  };
}

/** Applies one record; returns the ids of the rows it changed. */
export function applyRecord(s: JournalStatements, rec: JournalRecord): string[] {
  switch (rec.op) {
    case 'start':
      return s.run(INSERT_SQL, rowToSql(rec.row)) > 0 ? [rec.row.id] : [];
    case 'update': {
      const set = setClause(PATCH_COLUMNS, rec.set);
      if (!set.sql) return [];
      const n = s.run(`UPDATE task_history SET ${set.sql} WHERE id = ? AND ${LIVE_SQL}`, [...set.params, rec.id]);
      return n > 0 ? [rec.id] : [];
    }
    case 'heartbeat': {
      if (rec.ids.length === 0) return [];
      s.run(
        `UPDATE task_history SET heartbeat_at = MAX(COALESCE(heartbeat_at, 0), ?) WHERE ${LIVE_SQL} AND id IN ${idList(rec.ids)}`,
        [rec.at, ...rec.ids],
      );
      // Heartbeats change nothing a user sees.
      return [];
    }
    case 'finish': {
      const set = setClause(FINISH_COLUMNS, rec.set);
      // A finished run asks nothing and waits for nothing.
      const n = s.run(`UPDATE task_history SET ${set.sql}, pending_requests = NULL, resume_at = NULL WHERE id = ?`, [...set.params, rec.id]);
      if (n > 0) return [rec.id];
      if (!rec.row) return [];
      // A finish for a row this store never saw start still records the task.
      const row = { ...rec.row } as Record<string, unknown>;
      for (const c of FINISH_COLUMNS) if (rec.set[c] !== undefined) row[c] = rec.set[c];
      return s.run(INSERT_SQL, rowToSql(row as unknown as TaskRow)) > 0 ? [rec.id] : [];
    }
    case 'interrupt': {
      if (rec.ids.length === 0) return [];
      const before = s.all(`SELECT id FROM task_history WHERE ${LIVE_SQL} AND id IN ${idList(rec.ids)}`, rec.ids);
      if (before.length === 0) return [];
      s.run(
        `UPDATE task_history SET status = 'interrupted', finished_at = ?, error = COALESCE(?, error), pending_requests = NULL, resume_at = NULL WHERE ${LIVE_SQL} AND id IN ${idList(rec.ids)}`,
        [rec.at, rec.reason, ...rec.ids],
      );
      return before.map((r) => r.id);
    }
    case 'resolve': {
      const n = s.run(
        `UPDATE task_history SET resolved_at = ?, resolution = ? WHERE id = ? AND status = 'interrupted' AND resolved_at IS NULL`,
        [rec.at, rec.how, rec.id],
      );
      return n > 0 ? [rec.id] : [];
    }
    case 'prune': {
      if (rec.ids.length === 0) return [];
      const gone = s.all(`SELECT id FROM task_history WHERE ${PRUNABLE} AND id IN ${idList(rec.ids)}`, rec.ids);
      if (gone.length === 0) return [];
      s.run(`DELETE FROM task_history WHERE ${PRUNABLE} AND id IN ${idList(rec.ids)}`, rec.ids);
      return gone.map((r) => r.id);
    }
    case 'archive': {
      // The rows now live in the segment file, written durably before this record.
      const seg = rec.segment;
      s.run(
        `INSERT OR IGNORE INTO archive_segments (name, rows, oldest_started, newest_started, newest_finished, statuses) VALUES (?, ?, ?, ?, ?, ?)`,
        [seg.name, seg.rows, seg.oldest_started, seg.newest_started, seg.newest_finished, seg.statuses ? JSON.stringify(seg.statuses) : null],
      );
      for (let i = 0; i < rec.ids.length; i += 500) {
        const ids = rec.ids.slice(i, i + 500);
        s.run(`DELETE FROM task_history WHERE ${PRUNABLE} AND id IN ${idList(ids)}`, ids);
      }
      return [];
    }
    case 'dropSegment':
      s.run(`DELETE FROM archive_segments WHERE name = ?`, [rec.name]);
      return [];
    case 'cancelRequest':
      // A request, not a change: replaying it (once, twice, in any process) leaves every row as it was.
      return [];
    case 'ask': {
      const row = s.get(`SELECT * FROM task_history WHERE id = ? AND ${LIVE_SQL}`, [rec.id]);
      if (!row || row.pending_requests.some((r) => r.id === rec.request.id)) return [];
      const open = [...row.pending_requests, rec.request];
      s.run(`UPDATE task_history SET status = 'needs_input', pending_requests = ? WHERE id = ?`, [JSON.stringify(open), rec.id]);
      return [rec.id];
    }
    case 'answer':
    case 'closeRequest': {
      const row = s.get(`SELECT * FROM task_history WHERE id = ? AND ${LIVE_SQL}`, [rec.id]);
      if (!row || !row.pending_requests.some((r) => r.id === rec.request)) return [];
      const open = row.pending_requests.filter((r) => r.id !== rec.request);
      const status = open.length === 0 && row.status === 'needs_input' ? (row.resume_at !== null ? 'waiting' : 'running') : row.status;
      s.run(`UPDATE task_history SET status = ?, pending_requests = ? WHERE id = ?`, [status, columnToSql('pending_requests', open), rec.id]);
      return [rec.id];
    }
    case 'phase': {
      // An open request keeps the row needs_input: the phase shows again once it is answered.
      const n = s.run(
        `UPDATE task_history SET status = CASE WHEN pending_requests IS NULL THEN ? ELSE 'needs_input' END, resume_at = ? WHERE id = ? AND ${LIVE_SQL}`,
        [rec.status, rec.resume_at, rec.id],
      );
      return n > 0 ? [rec.id] : [];
    }
    case 'git': {
      const n = s.run(`UPDATE task_history SET git = ? WHERE id = ?`, [columnToSql('git', rec.git), rec.id]);
      return n > 0 ? [rec.id] : [];
    }
    default:
      return [];
  }
}

/** Finished history that retention may remove: never live rows, never unresolved interrupted ones. */
export const PRUNABLE = `${NOT_LIVE_SQL} AND NOT (status = 'interrupted' AND resolved_at IS NULL)`;

const OPS = new Set(['start', 'update', 'heartbeat', 'finish', 'interrupt', 'resolve', 'prune', 'archive', 'dropSegment', 'cancelRequest', 'ask', 'answer', 'closeRequest', 'phase', 'git']);

/**
 * Narrows what came out of a log; `newer` when a later version wrote it. Compatibility rule: a
 * record with `v` ≤ RECORD_VERSION whose op this version does not know is 'invalid' and skipped
 * (replay goes on); a record with a higher `v` makes the store read-only (`newer`). So a new op
 * that older versions may safely ignore (like `cancelRequest`, which changes no row) keeps
 * `v: 1`; RECORD_VERSION goes up only for records an older version must not skip.
 */
export function classifyRecord(value: unknown): { record: JournalRecord } | 'newer' | 'invalid' {
  if (typeof value !== 'object' || value === null) return 'invalid';
  const r = value as Partial<JournalRecord>;
  if (typeof r.v !== 'number') return 'invalid';
  if (r.v > RECORD_VERSION) return 'newer';
  if (typeof r.op !== 'string' || !OPS.has(r.op)) return 'invalid';
  return { record: r as JournalRecord };
}
