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
  const bases = new Map([
    ['t:0', 10],
    ['t:1', 3],
    ['u:0', 0],
  ]);
  assert.deepEqual(
    recordOffsets(records, (t, p) => bases.get(`${t}:${p}`)),
    [10, 3, 11, 0, 12, 4],
  );
});

test('-1 where the client chose the partition or the answer named no offset', () => {
  const records = [r('t', undefined, 'a'), r('t', 2, 'b'), r('t', 3, 'c')];
  assert.deepEqual(
    recordOffsets(records, (_t, p) => (p === 3 ? -1 : undefined)),
    [-1, -1, -1],
  );
});
