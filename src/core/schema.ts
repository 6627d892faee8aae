import type { Database } from 'sql.js';

/**
 * Numbered migrations. Each runs in one transaction and records its number in
 * `PRAGMA user_version`. Append new ones; never edit a released one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the journal
  `
  CREATE TABLE task_history (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    agent TEXT,
    command TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '[]',
    cwd TEXT NOT NULL,
    workspace TEXT,
    prompt TEXT,
    format TEXT NOT NULL DEFAULT 'text',
    status TEXT NOT NULL CHECK (status IN ('running','success','failed','cancelled','interrupted')),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    exit_code INTEGER,
    signal TEXT,
    error TEXT,
    session_id TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_creation_tokens INTEGER,
    cost_usd REAL,
    output_bytes INTEGER NOT NULL DEFAULT 0,
    log_path TEXT,
    owner_id TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_started_at INTEGER,
    owner_host TEXT NOT NULL,
    child_pid INTEGER,
    child_started_at INTEGER,
    heartbeat_at INTEGER,
    resolved_at INTEGER,
    resolution TEXT,
    parent_id TEXT
  );
  CREATE INDEX task_history_status ON task_history(status, started_at, id);
  CREATE INDEX task_history_started ON task_history(started_at, id);
  CREATE TABLE store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
  `,
  // 2: old finished history moves to archive segments (historyArchive.ts)
  `
  CREATE TABLE archive_segments (
    name TEXT PRIMARY KEY NOT NULL,
    rows INTEGER NOT NULL,
    oldest_started INTEGER NOT NULL,
    newest_started INTEGER NOT NULL,
    newest_finished INTEGER NOT NULL
  );
  `,
  // 3: process start times in clock ticks since boot (they do not move when the wall clock is
  // stepped, as btime-derived wall times do), and each segment's row count per status (so that
  // counts never parse a segment)
  `
  ALTER TABLE task_history ADD COLUMN owner_start_ticks INTEGER;
  ALTER TABLE task_history ADD COLUMN child_start_ticks INTEGER;
  ALTER TABLE archive_segments ADD COLUMN statuses TEXT;
  `,
  // 4: the tool calls the agent was not allowed to make (a JSON array of {tool, summary}, capped)
  // and how many there were in all; the latest rate-limit status the agent reported (JSON)
  `
  ALTER TABLE task_history ADD COLUMN permission_denials TEXT;
  ALTER TABLE task_history ADD COLUMN permission_denial_count INTEGER;
  ALTER TABLE task_history ADD COLUMN rate_limit TEXT;
  `,
  // 5: agents that ask. Two live statuses besides 'running': 'needs_input' (a permission request
  // or a question waits for an answer) and 'waiting' (a usage limit; the run resumes at
  // resume_at). The open requests (JSON array) and the resume time. SQLite cannot change a CHECK
  // constraint in place, so the table is rebuilt (the documented way: new table, copy, rename).
  `
  CREATE TABLE task_history_v5 (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    agent TEXT,
    command TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '[]',
    cwd TEXT NOT NULL,
    workspace TEXT,
    prompt TEXT,
    format TEXT NOT NULL DEFAULT 'text',
    status TEXT NOT NULL CHECK (status IN ('running','needs_input','waiting','success','failed','cancelled','interrupted')),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    exit_code INTEGER,
    signal TEXT,
    error TEXT,
    session_id TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_creation_tokens INTEGER,
    cost_usd REAL,
    output_bytes INTEGER NOT NULL DEFAULT 0,
    log_path TEXT,
    owner_id TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_started_at INTEGER,
    owner_host TEXT NOT NULL,
    child_pid INTEGER,
    child_started_at INTEGER,
    heartbeat_at INTEGER,
    resolved_at INTEGER,
    resolution TEXT,
    parent_id TEXT,
    owner_start_ticks INTEGER,
    child_start_ticks INTEGER,
    permission_denials TEXT,
    permission_denial_count INTEGER,
    rate_limit TEXT,
    pending_requests TEXT,
    resume_at INTEGER
  );
  INSERT INTO task_history_v5 SELECT *, NULL, NULL FROM task_history;
  DROP TABLE task_history;
  ALTER TABLE task_history_v5 RENAME TO task_history;
  CREATE INDEX task_history_status ON task_history(status, started_at, id);
  CREATE INDEX task_history_started ON task_history(started_at, id);
  `,
  // 6: what a run changed: its git snapshots at start and end (JSON, gitSnapshot.ts GitRunState)
  `
  ALTER TABLE task_history ADD COLUMN git TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return Number(db.exec('PRAGMA user_version')[0].values[0][0]);
}

/** Applies the migrations the database lacks (from `from`, when the caller read it already); returns how many ran. */
export function migrate(db: Database, from: number = schemaVersion(db)): number {
  for (let v = from; v < MIGRATIONS.length; v++) {
    db.exec('BEGIN');
    try {
      db.exec(MIGRATIONS[v]);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new Error(`task journal migration ${v + 1} failed: ${(err as Error).message}`);
    }
  }
  return MIGRATIONS.length - from;
}

/** Settings that make the in-memory copy fast: durability comes from the journal log, not from SQLite. */
export function tuneInMemory(db: Database): void {
  db.exec('PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;');
}
