import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SegmentInfo } from '../../src/core/historyArchive';
import { segmentsToDrop } from '../../src/core/retention';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4);

function seg(name: string, rows: number, daysAgo: number): SegmentInfo {
  const t = NOW - daysAgo * DAY;
  return { name, rows, oldest_started: t - DAY, newest_started: t, newest_finished: t, statuses: null };
}

test('segments to drop: all for "everything"; too old as a whole; the oldest past the row limit, counting the hot rows', () => {
  const segments = [seg('b', 100, 50), seg('a', 100, 100), seg('c', 100, 10)];
  assert.deepEqual(segmentsToDrop(segments, 0, NOW, 'everything').map((s) => s.name), ['a', 'b', 'c'], 'oldest first');
  assert.deepEqual(segmentsToDrop(segments, 0, NOW, { maxAgeDays: 60, maxRows: 0 }).map((s) => s.name), ['a']);
  // 250 rows allowed, 50 hot: 200 for segments, so the oldest of the three goes.
  assert.deepEqual(segmentsToDrop(segments, 50, NOW, { maxAgeDays: 0, maxRows: 250 }).map((s) => s.name), ['a']);
  assert.deepEqual(segmentsToDrop(segments, 50, NOW, { maxAgeDays: 0, maxRows: 150 }).map((s) => s.name), ['a', 'b']);
  assert.deepEqual(segmentsToDrop(segments, 500, NOW, { maxAgeDays: 0, maxRows: 150 }).map((s) => s.name), ['a', 'b', 'c'], 'hot rows alone exceed the limit');
  assert.deepEqual(segmentsToDrop(segments, 0, NOW, { maxAgeDays: 0, maxRows: 0 }), [], '0 keeps all');
  assert.deepEqual(segmentsToDrop(segments, 0, NOW, { maxAgeDays: 60, maxRows: 200 }).map((s) => s.name), ['a'], 'age and rows together');
});
