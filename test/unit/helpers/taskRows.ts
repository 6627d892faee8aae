/** A complete TaskRow with plain defaults, for the extension's view-model tests. */
import type { TaskRow } from '../../../src/core/taskTypes';

export const T0 = Date.UTC(2025, 0, 15, 14, 3, 5); // 2025-01-15 14:03:05 UTC

export function taskRow(overrides: Partial<TaskRow> = {}): TaskRow {
  return {
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    name: 'Fix the flaky test',
    agent: 'claude',
    command: 'claude',
    args: ['-p', 'Fix the flaky test', '--output-format', 'stream-json', '--verbose', '--session-id', 'sess-1'],
    cwd: '/home/me/project',
    workspace: '/home/me/project',
    prompt: 'Fix the flaky test',
    format: 'claude-stream-json',
    status: 'success',
    started_at: T0,
    finished_at: T0 + 192_000,
    exit_code: 0,
    signal: null,
    error: null,
    session_id: 'sess-1',
    input_tokens: 12,
    output_tokens: 34,
    cache_read_tokens: 56,
    cache_creation_tokens: 78,
    cost_usd: 0.0123,
    output_bytes: 2048,
    log_path: '/store/logs/a1b2c3d4-0000-4000-8000-000000000001.log',
    owner_id: 'owner-1',
    owner_pid: 4242,
    owner_started_at: T0 - 60_000,
    owner_host: 'devbox',
    child_pid: 4343,
    child_started_at: T0 + 10,
    heartbeat_at: T0 + 180_000,
    resolved_at: null,
    resolution: null,
    parent_id: null,
    owner_start_ticks: null,
    child_start_ticks: null,
    permission_denials: [],
    permission_denial_count: 0,
    rate_limit: null,
    ...overrides,
  };
}
