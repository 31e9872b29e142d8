import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from './clock.js';
import { createRecipientPicker, createSizeSampler, searchCdf, zipfCdf } from './distributions.js';
import { createPrng } from './prng.js';
import { createSchedule } from './schedule.js';

test('prng: deterministic per seed, different across seeds, in [0,1) with mean ≈ 0.5', () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const c = createPrng(43);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b.next()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 1000 }, () => c.next()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('clock: manual clock moves only when told; system clock is epoch-based and monotonic', () => {
  const clock = new ManualClock(5_000_000);
  clock.advanceMs(2);
  assert.equal(clock.nowUs(), 5_002_000);
  assert.equal(clock.monotonicMs(), 2);
  assert.throws(() => clock.advanceUs(-1), RangeError);
  const t1 = systemClock.nowUs();
  const t2 = systemClock.nowUs();
  assert.ok(t2 >= t1);
  assert.ok(Math.abs(t1 / 1000 - Date.now()) < 60_000, 'µs since the epoch');
});

test('schedule constant: exact spacing from startUs', () => {
  const s = createSchedule({ kind: 'constant', ratePerSec: 250, startUs: 1_000_000, seed: 1 });
  const times = Array.from({ length: 1000 }, () => s.next());
  assert.equal(times[0], 1_000_000);
  for (let i = 1; i < times.length; i++) assert.equal(times[i], 1_000_000 + i * 4000);
  assert.equal(s.produced, 1000);
});

test('schedule poisson: mean rate within 1% over 100k arrivals, CV of gaps ≈ 1, deterministic', () => {
  const rate = 5000;
  const s = createSchedule({ kind: 'poisson', ratePerSec: rate, startUs: 0, seed: 7 });
  const n = 100_000;
  let prev = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const t = s.next();
    assert.ok(t >= prev);
    const gap = t - prev;
    sum += gap;
    sumSq += gap * gap;
    prev = t;
  }
  const mean = sum / n;
  const cv = Math.sqrt(sumSq / n - mean * mean) / mean;
  const observedRate = n / (prev / 1e6);
  assert.ok(Math.abs(observedRate / rate - 1) < 0.01, `rate ${observedRate}`);
  assert.ok(Math.abs(cv - 1) < 0.02, `cv ${cv}`);
  const again = createSchedule({ kind: 'poisson', ratePerSec: rate, startUs: 0, seed: 7 });
  const other = createSchedule({ kind: 'poisson', ratePerSec: rate, startUs: 0, seed: 8 });
  const first = createSchedule({ kind: 'poisson', ratePerSec: rate, startUs: 0, seed: 7 }).next();
  assert.equal(again.next(), first);
  assert.notEqual(other.next(), first);
});

test('schedule ramp: about half the full-rate arrivals during the ramp, full rate afterwards', () => {
  for (const kind of ['constant', 'poisson'] as const) {
    const rate = 10_000;
    const rampUpMs = 10_000;
    const s = createSchedule({ kind, ratePerSec: rate, rampUpMs, startUs: 0, seed: 3 });
    let inRamp = 0;
    let afterRamp = 0;
    for (;;) {
      const t = s.next();
      if (t < rampUpMs * 1000) inRamp++;
      else if (t < 2 * rampUpMs * 1000) afterRamp++;
      else break;
    }
    const full = (rate * rampUpMs) / 1000; // 100k
    assert.ok(Math.abs(inRamp / (full / 2) - 1) < 0.02, `${kind} ramp ${inRamp}`);
    assert.ok(Math.abs(afterRamp / full - 1) < 0.02, `${kind} after ${afterRamp}`);
  }
  // The rate grows linearly: the first half of the ramp carries a quarter of its arrivals (Λ(T/2) = R·T/8).
  const s = createSchedule({ kind: 'constant', ratePerSec: 1000, rampUpMs: 1000, startUs: 0, seed: 0 });
  let firstHalf = 0;
  for (let t = s.next(); t < 1_000_000; t = s.next()) if (t < 500_000) firstHalf++;
  assert.ok(Math.abs(firstHalf - 125) <= 1, `first half of ramp ${firstHalf}`);
});

test('schedule rejects a non-positive rate', () => {
  assert.throws(() => createSchedule({ kind: 'constant', ratePerSec: 0, startUs: 0, seed: 0 }), RangeError);
});

test('recipients: uniform never picks the sender and covers everyone else evenly', () => {
  const p = createRecipientPicker({ kind: 'uniform', users: 5 }, createPrng(1));
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 40_000; i++) counts[p.pick(2)]!++;
  assert.equal(counts[2], 0);
  for (const i of [0, 1, 3, 4]) assert.ok(Math.abs(counts[i]! / 10_000 - 1) < 0.05, `user ${i}: ${counts[i]}`);
});

test('recipients: zipf frequencies follow 1/(k+1)^s; CDF search is exact at the edges', () => {
  const cdf = zipfCdf(4, 1);
  assert.equal(cdf[3], 1);
  assert.equal(searchCdf(cdf, 0), 0);
  assert.equal(searchCdf(cdf, 0.999999), 3);
  assert.equal(searchCdf(cdf, cdf[0]!), 1, 'u equal to cdf[0] belongs to the next rank');
  const users = 100;
  const p = createRecipientPicker({ kind: 'zipf', users, s: 1 }, createPrng(9));
  const counts = new Array<number>(users).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[p.pick(99)]!++;
  let h = 0;
  for (let k = 1; k < users; k++) h += 1 / k; // ranks 0..98 (sender 99 rejected)
  assert.ok(Math.abs(counts[0]! / n / (1 / h) - 1) < 0.03, `rank0 ${counts[0]}`);
  assert.ok(Math.abs(counts[1]! / counts[0]! - 0.5) < 0.03);
  assert.equal(counts[99], 0);
  const hot = createRecipientPicker({ kind: 'zipf', users: 3, s: 5 }, createPrng(2));
  for (let i = 0; i < 1000; i++) assert.notEqual(hot.pick(0), 0);
});

test('sizes: fixed, uniform bounds, lognormal median and clamping', () => {
  assert.equal(createSizeSampler({ kind: 'fixed', bytes: 200 }, createPrng(0))(), 200);
  const u = createSizeSampler({ kind: 'uniform', minBytes: 10, maxBytes: 12 }, createPrng(0));
  const seen = new Set(Array.from({ length: 1000 }, u));
  assert.deepEqual([...seen].sort(), [10, 11, 12]);
  const ln = createSizeSampler({ kind: 'lognormal', medianBytes: 300, sigma: 1, minBytes: 50, maxBytes: 4000 }, createPrng(5));
  const xs = Array.from({ length: 50_001 }, ln).sort((a, b) => a - b);
  assert.ok(Math.abs(xs[25_000]! / 300 - 1) < 0.05, `median ${xs[25_000]}`);
  assert.equal(xs[0], 50);
  assert.equal(xs[xs.length - 1], 4000);
  assert.ok(xs.every(Number.isInteger));
});
