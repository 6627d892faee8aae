import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, crc32ForTests } from '../../src/core/crc32';
import { decodeRecords, encodeRecord } from '../../src/core/journalLog';

test('the table crc32 (older runtimes) agrees with the native one and the standard check value', () => {
  assert.equal(crc32ForTests.jsCrc32(Buffer.from('123456789')), 0xcbf43926);
  for (let i = 0; i < 50; i++) {
    const data = randomBytes(i * 37);
    assert.equal(crc32ForTests.jsCrc32(data), crc32(data));
  }
});

test('decodeRecords: whole records, damage followed by a record is skipped, an unfinished tail is left pending', () => {
  const a = encodeRecord({ n: 1 });
  const b = encodeRecord({ n: 2, text: 'ü'.repeat(100) });
  const c = encodeRecord({ n: 3 });
  const garbage = randomBytes(33);
  const log = Buffer.concat([a, garbage, b, c.subarray(0, 10)]);
  const got = decodeRecords(log);
  assert.deepEqual(got.records, [{ n: 1 }, { n: 2, text: 'ü'.repeat(100) }]);
  assert.equal(got.skippedBytes, garbage.length);
  assert.equal(got.consumed, a.length + garbage.length + b.length);
  assert.equal(got.pendingBytes, 10);
  // Once the tail is complete it decodes.
  assert.deepEqual(decodeRecords(c).records, [{ n: 3 }]);
});

test('a flipped bit inside a record is caught by its checksum', () => {
  const rec = encodeRecord({ status: 'success' });
  rec[rec.length - 3] ^= 0x01;
  const got = decodeRecords(Buffer.concat([rec, encodeRecord({ ok: true })]));
  assert.deepEqual(got.records, [{ ok: true }]);
  assert.equal(got.skippedBytes, rec.length);
});
