import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import { decode, pauseBeforeNextFetchMs } from './platformatic-consumer.js';

const record = (offsetDelta: number, key: string | null, value: string | null, headers: [string, string][] = []) => ({
  length: 0,
  attributes: 0,
  timestampDelta: BigInt(offsetDelta),
  offsetDelta,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]),
});

const batch = (firstOffset: bigint, records: ReturnType<typeof record>[], attributes = 0): RecordsBatch => ({
  firstOffset,
  length: 0,
  partitionLeaderEpoch: 0,
  magic: 2,
  crc: 0,
  attributes,
  lastOffsetDelta: records.length - 1,
  firstTimestamp: 1000n,
  maxTimestamp: 1000n,
  producerId: 1n,
  producerEpoch: 0,
  firstSequence: 0,
  records,
});

test('records from the offset asked for, with offsets, timestamps, headers, null keys and tombstones', () => {
  const { records, next } = decode(
    't',
    3,
    [batch(10n, [record(0, 'a', 'x'), record(1, 'b', null, [['h', 'v']]), record(2, null, 'z')])],
    11n,
  );
  assert.deepEqual(
    records.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.timestampMs, r.headers]),
    [
      ['11', 'b', null, 1001, { h: 'v' }],
      ['12', null, 'z', 1002, {}],
    ],
  );
  assert.ok(records.every((r) => r.topic === 't' && r.partition === 3));
  assert.equal(next, 13n);
});

test('a control batch (a transaction marker) is skipped but moves the position past it', () => {
  const { records, next } = decode('t', 0, [batch(5n, [record(0, 'a', 'x')]), batch(6n, [record(0, null, null)], 0x20)], 5n);
  assert.deepEqual(
    records.map((r) => r.offset),
    ['5'],
  );
  assert.equal(next, 7n);
});

test('no batches: the position stays', () => {
  assert.deepEqual(decode('t', 0, [], 42n), { records: [], next: 42n });
});

test('the fetch linger follows a fetch that brought records, not one whose wait ran out empty', () => {
  assert.equal(pauseBeforeNextFetchMs(1, 3), 1);
  assert.equal(pauseBeforeNextFetchMs(1, 0), 0);
  assert.equal(pauseBeforeNextFetchMs(0, 3), 0);
});
