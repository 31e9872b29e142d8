import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJsHistogram } from '../../loadgen/src/stats/histogram.js';
import { quantileBounds, valueAtRank } from './quantile-bounds.js';

const LES = [0.01, 0.02, 0.03, 0.05, 0.075, 0.1];

/** 980 samples at 10 ms, then 20 at 53 ms: the p99 rank of 1,000 sits on the first slow one. */
function population(): ReturnType<typeof buildJsHistogram> {
  const h = buildJsHistogram();
  for (let i = 0; i < 980; i++) h.recordValue(10_000);
  for (let i = 0; i < 20; i++) h.recordValue(53_000);
  return h;
}

test('valueAtRank returns the sample at that rank', () => {
  const h = population();
  assert.ok(Math.abs(valueAtRank(h, 980) - 10_000) <= 10);
  assert.ok(Math.abs(valueAtRank(h, 981) - 53_000) <= 53);
  assert.ok(Math.abs(valueAtRank(h, 1000) - 53_000) <= 53);
});

test('the same samples on both sides: one bucket, the one holding the HDR value', () => {
  const b = quantileBounds(population(), 1000, 0.99, LES);
  assert.deepEqual(b, { lowerSeconds: 0.05, upperSeconds: 0.075, missing: 0 });
});

test('samples Prometheus did not scrape widen the range by their rank, no more', () => {
  // 15 of the slow samples missing: the p99 rank of 985 lands on a fast one or a slow one.
  const b = quantileBounds(population(), 985, 0.99, LES);
  assert.deepEqual(b, { lowerSeconds: 0, upperSeconds: 0.075, missing: 15 });
  // 1 missing: still only slow samples can sit at rank ⌈0.99·999⌉ = 990.
  assert.deepEqual(quantileBounds(population(), 999, 0.99, LES), { lowerSeconds: 0.05, upperSeconds: 0.075, missing: 1 });
});

test('Prometheus counting more samples than the HDR histogram is an error, not a wider bound', () => {
  assert.throws(() => quantileBounds(population(), 1001, 0.99, LES), /counted 1001 samples; the HDR histogram holds 1000/);
  assert.throws(() => quantileBounds(population(), 0, 0.99, LES), /counted 0 samples/);
});
