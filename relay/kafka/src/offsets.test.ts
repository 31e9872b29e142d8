import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordOffsets } from './offsets.js';

const r = (topic: string, partition: number | undefined, key: string) => ({
  topic,
  key,
  value: null,
  ...(partition === undefined ? {} : { partition }),
});

test('each record gets its partition’s base offset plus its place among that partition’s records, in send order', () => {
  const records = [r('t', 0, 'a'), r('t', 1, 'b'), r('t', 0, 'c'), r('u', 0, 'd'), r('t', 0, 'e'), r('t', 1, 'f')];
  const answers = [
    { topic: 't', partition: 0, baseOffset: '10' }, // kafkajs: a string
    { topic: 't', partition: 1, baseOffset: 3n }, // @platformatic/kafka: a bigint
    { topic: 'u', partition: 0, baseOffset: 0 },
  ];
  assert.deepEqual(recordOffsets(records, answers), [10, 3, 11, 0, 12, 4]);
});

test('-1 where the client chose the partition or the answer named no offset', () => {
  const records = [r('t', undefined, 'a'), r('t', 2, 'b'), r('t', 3, 'c')];
  const answers = [
    { topic: 't', partition: 2, baseOffset: undefined },
    { topic: 't', partition: 3, baseOffset: -1n },
  ];
  assert.deepEqual(recordOffsets(records, answers), [-1, -1, -1]);
});
