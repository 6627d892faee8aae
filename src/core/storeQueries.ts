import type { SqlValue } from 'sql.js';
import type { ArchiveCache, SegmentInfo } from './historyArchive';
import { LIVE_SQL, NOT_LIVE_SQL, type JournalStatements } from './journalOps';
import { isLive, type ListTasksQuery, type StoreView, type TaskRow, type TaskStatus } from './taskTypes';

/**
 * Reading the journal: the hot rows in memory, and archive segments only when a query reaches
 * past them. Counts never parse a segment when the listing can answer (row counts per status).
 */

/** Live rows of every process; more than this many at once is not a real situation. */
export const RUNNING_LIMIT = 500;

export type CountQuery = Omit<ListTasksQuery, 'limit' | 'before'>;

function statusesOf(query: Omit<ListTasksQuery, 'limit'>): readonly TaskStatus[] | undefined {
  if (query.status === undefined) return undefined;
  return typeof query.status === 'string' ? [query.status] : query.status;
}

export function whereClause(query: Omit<ListTasksQuery, 'limit'>): { sql: string; params: SqlValue[] } {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  const statuses = statusesOf(query);
  if (statuses === undefined && !query.includeRunning) {
    // Not "status IN (all terminal ones)": that makes SQLite sort every row instead of walking the started_at index.
    clauses.push(NOT_LIVE_SQL);
  } else if (statuses !== undefined) {
    clauses.push(`status IN (${statuses.map(() => '?').join(',')})`);
    params.push(...statuses);
  }
  if (query.workspace !== undefined) {
    clauses.push('workspace = ?');
    params.push(query.workspace);
  }
  if (query.before !== undefined) {
    clauses.push('started_at < ?');
    params.push(query.before);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Archived rows are finished and resolved: a query for live rows only never needs them. */
export function archiveMayMatch(query: Omit<ListTasksQuery, 'limit'>): boolean {
  const statuses = statusesOf(query);
  return statuses === undefined || statuses.some((st) => !isLive(st));
}

function newestFirst(a: TaskRow, b: TaskRow): number {
  return b.started_at - a.started_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The newest `limit` rows of a query over the hot rows and, when they are not enough, the archive. */
export function newestRows(stmts: JournalStatements, archive: ArchiveCache, query: Omit<ListTasksQuery, 'limit'>, limit: number): Promise<TaskRow[]> {
  return newestRowsWhere(stmts, archive, whereClause(query), limit, archiveMayMatch(query), query.before);
}

/** The same for a hand-written WHERE clause. */
export async function newestRowsWhere(
  stmts: JournalStatements,
  archive: ArchiveCache,
  where: { sql: string; params: SqlValue[] },
  limit: number,
  useArchive: boolean,
  before?: number,
): Promise<TaskRow[]> {
  const sql = `SELECT * FROM task_history ${where.sql} ORDER BY started_at DESC, id DESC LIMIT ?`;
  const hot = stmts.all(sql, [...where.params, limit]);
  const segments = useArchive ? stmts.segments().filter((seg) => before === undefined || seg.oldest_started < before) : [];
  if (segments.length === 0) return hot;
  const older = await archive.query(segments, sql, [...where.params, limit], (rows, next) => {
    const all = [...hot, ...rows].sort(newestFirst);
    return all.length >= limit && next.newest_started < all[limit - 1].started_at;
  });
  const seen = new Set(hot.map((r) => r.id));
  return [...hot, ...older.filter((r) => !seen.has(r.id))].sort(newestFirst).slice(0, limit);
}

/**
 * How many archived rows a count query matches, from the listing alone where it can: every row
 * when unfiltered, the per-status counts for a status filter. Only a workspace filter (or a
 * segment listed before per-status counts existed) parses segments.
 */
export async function archivedCount(segments: readonly SegmentInfo[], archive: ArchiveCache, query: CountQuery): Promise<number> {
  if (!archiveMayMatch(query)) return 0;
  const statuses = statusesOf(query);
  let total = 0;
  const toParse: SegmentInfo[] = [];
  for (const seg of segments) {
    if (query.workspace !== undefined) toParse.push(seg);
    else if (statuses === undefined) total += seg.rows;
    else if (seg.statuses) total += statuses.reduce((n, st) => n + (seg.statuses?.[st] ?? 0), 0);
    else toParse.push(seg);
  }
  if (toParse.length) {
    const where = whereClause(query);
    total += await archive.scalarSum(toParse, `SELECT count(*) FROM task_history ${where.sql}`, where.params);
  }
  return total;
}

export async function countRows(stmts: JournalStatements, archive: ArchiveCache, query: CountQuery): Promise<number> {
  const where = whereClause(query);
  const hot = Number(stmts.scalar(`SELECT count(*) FROM task_history ${where.sql}`, where.params));
  return hot + (await archivedCount(stmts.segments(), archive, query));
}

/**
 * Everything the tree, its badge, the context keys and the status bar show, from one catch-up.
 * `historyLimit` counts history rows besides the unresolved interrupted ones.
 */
export async function readStoreView(stmts: JournalStatements, archive: ArchiveCache, historyLimit: number): Promise<StoreView> {
  const running = stmts.all(`SELECT * FROM task_history WHERE ${LIVE_SQL} ORDER BY started_at DESC, id DESC LIMIT ?`, [RUNNING_LIMIT]);
  const interrupted = stmts.all(`SELECT * FROM task_history WHERE status = 'interrupted' AND resolved_at IS NULL ORDER BY started_at DESC, id DESC`);
  // Unresolved interrupted rows are finished rows too, and are shown in their own group: ask for that many more.
  const history = await newestRows(stmts, archive, {}, Math.max(1, historyLimit + interrupted.length));
  const historyTotal = await countRows(stmts, archive, {});
  return { running, interrupted, history, historyTotal };
}
