import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollWhileLive } from '../../src/core/storePoll';
import { waitFor } from '../helpers/waitFor';

test('the store is read every interval only while runs are live, one read at a time, and never after dispose', async () => {
  let live = false;
  let reads = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const store = {
    async refresh() {
      reads++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
    },
  };
  const poll = pollWhileLive(store, () => live, 10);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(reads, 0, 'idle: not polled');
  live = true;
  await waitFor('three reads', () => reads >= 3, 5_000, 5);
  assert.equal(maxInFlight, 1, 'a slow read is not overlapped by the next');
  live = false;
  await waitFor('the last read to end', () => inFlight === 0);
  const after = reads;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(reads, after, 'polling stops when nothing is live');
  live = true;
  poll.dispose();
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(reads, after, 'disposed: never again');
});
