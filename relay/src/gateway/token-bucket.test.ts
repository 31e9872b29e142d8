import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './token-bucket.js';

test('token bucket: the burst passes, then frames are refused, then a flood is closed', () => {
  const b = new TokenBucket(100, 200, 0);
  for (let i = 0; i < 200; i++) assert.equal(b.take(0), 'ok');
  // max(20, 200 / 20) = 20 strikes
  for (let i = 0; i < 20; i++) assert.equal(b.take(0), 'refuse');
  assert.equal(b.take(0), 'close');
});

test('token bucket: slightly over the rate is refused now and then but never closed', () => {
  const b = new TokenBucket(1000, 1000, 0);
  let refused = 0;
  // 1,050 frames/s for 20 s: 5 % over the rate.
  for (let i = 0; i < 21_000; i++) {
    const v = b.take(i / 1.05);
    assert.notEqual(v, 'close', `frame ${i}`);
    if (v === 'refuse') refused++;
  }
  assert.ok(refused > 0 && refused < 1100, `refused ${refused}`);
});

test('token bucket: twice the rate is closed within about a second once the burst is gone', () => {
  const b = new TokenBucket(1000, 2000, 0);
  let closedAt = -1;
  for (let i = 0; i < 20_000 && closedAt < 0; i++) if (b.take(i / 2) === 'close') closedAt = i / 2;
  assert.ok(closedAt > 2000 && closedAt < 4000, `closed at ${closedAt} ms`);
});

test('token bucket: a charged frame makes the next frames wait until its work is paid for', () => {
  const b = new TokenBucket(100, 200, 0);
  assert.equal(b.take(0), 'ok');
  b.charge(512); // 199 tokens left, 512 charged: −313, bounded at −burst = −200
  assert.equal(b.take(0), 'refuse');
  // 200 + 1 tokens back take 2.01 s at 100/s; at 2 s the bucket is still short by one.
  assert.equal(b.take(2000), 'refuse');
  assert.equal(b.take(2030), 'ok');
});
