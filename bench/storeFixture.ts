import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INSERT_SQL, rowToSql } from '../src/core/journalOps';
import { ARCHIVE_DIR, segmentName, writeSegment } from '../src/core/historyArchive';
import { newDatabase, writeSnapshot } from '../src/core/snapshot';
import { loadSqlJs } from '../src/core/sqlite';
import type { NewTask, TaskRow } from '../src/core/taskTypes';

// The benchmark's store folders: realistic rows, laid out as compaction leaves them.

const DEAD_PID = 2 ** 22 + 4242;

const PROMPT = 'Fix the flaky test in src/parser/tokenizer.test.ts, explain the root cause in two sentences, and keep the public API unchanged.';

export function sampleTask(i: number): NewTask {
  return {
    name: `Fix flaky tokenizer test #${i}`,
    agent: 'claude',
    command: 'claude',
    args: ['-p', PROMPT, '--output-format', 'stream-json', '--verbose', '--session-id', randomUUID()],
    cwd: '/home/developer/projects/acme-web',
    workspace: '/home/developer/projects/acme-web',
    prompt: PROMPT,
    format: 'claude-stream-json',
  };
}

export function historyRow(i: number, now: number, status: TaskRow['status'] = 'success'): TaskRow {
  const id = randomUUID();
  const task = sampleTask(i);
  const started = now - (i + 10) * 60_000;
  return {
    id,
    name: task.name,
    agent: 'claude',
    command: task.command,
    args: task.args,
    cwd: task.cwd,
    workspace: task.workspace!,
    prompt: PROMPT,
    format: 'claude-stream-json',
    status,
    started_at: started,
    finished_at: status === 'running' ? null : started + 95_000,
    exit_code: status === 'running' ? null : 0,
    signal: null,
    error: null,
    session_id: randomUUID(),
    input_tokens: 1200 + i,
    output_tokens: 3400,
    cache_read_tokens: 15000,
    cache_creation_tokens: 2000,
    cost_usd: 0.0421,
    output_bytes: 48_213,
    log_path: `/home/developer/.config/Code/User/globalStorage/agenttasks.agent-tasks/logs/${id}.log`,
    owner_id: randomUUID(),
    owner_pid: DEAD_PID,
    owner_started_at: now - 86_400_000,
    owner_host: os.hostname(),
    child_pid: null,
    child_started_at: null,
    heartbeat_at: started,
    resolved_at: null,
    resolution: null,
    parent_id: null,
    owner_start_ticks: null,
    child_start_ticks: null,
    permission_denials: [],
    permission_denial_count: 0,
    rate_limit: null,
    pending_requests: [],
    resume_at: null,
    git: null,
  };
}

export const HOT_KEEP = 2_000;
export const SEGMENT_ROWS = 2_000;

/**
 * A store folder as compaction leaves it after `rows` finished tasks: the newest 2,000 in the hot
 * snapshot, the rest in archive segments of 2,000 rows — plus `orphans` running rows of a dead owner.
 */
export async function makeStore(dir: string, rows: number, orphans: number): Promise<{ hotBytes: number; archiveBytes: number }> {
  await fsp.mkdir(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const SQL = await loadSqlJs();
  const db = newDatabase(SQL);
  const now = Date.now();
  const all = Array.from({ length: rows }, (_, i) => historyRow(i, now)); // i = 0 is the newest
  const hot = all.slice(0, HOT_KEEP);
  const insert = db.prepare(INSERT_SQL);
  db.exec('BEGIN');
  for (const row of hot) insert.run(rowToSql(row));
  for (let i = 0; i < orphans; i++) insert.run(rowToSql(historyRow(rows + i, now, 'running')));
  db.exec('COMMIT');
  insert.free();
  let archiveBytes = 0;
  const old = all.slice(HOT_KEEP).reverse(); // oldest first, as compaction archives them
  for (let s = 0; s * SEGMENT_ROWS < old.length; s++) {
    const seg = await writeSegment(SQL, dir, segmentName(s + 1), old.slice(s * SEGMENT_ROWS, (s + 1) * SEGMENT_ROWS));
    // As the 'archive' record lists a segment (journalOps.ts), per-status row counts included.
    db.run('INSERT INTO archive_segments (name, rows, oldest_started, newest_started, newest_finished, statuses) VALUES (?, ?, ?, ?, ?, ?)', [
      seg.name,
      seg.rows,
      seg.oldest_started,
      seg.newest_started,
      seg.newest_finished,
      seg.statuses ? JSON.stringify(seg.statuses) : null,
    ]);
    archiveBytes += (await fsp.stat(path.join(dir, ARCHIVE_DIR, seg.name))).size;
  }
  const hotBytes = await writeSnapshot(db, dir, 0, 'bench');
  db.close();
  return { hotBytes, archiveBytes };
}
