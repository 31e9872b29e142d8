import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mannWhitney, median, normalCdf, uDistribution } from './mann-whitney.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('R documentation example: wilcox.test(x, y, alternative = "greater") gives W = 35, p = 0.1272', () => {
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];
  // R's W is the U of its first argument; we test "second > first", so swap the arguments.
  const r = mannWhitney(y, x);
  assert.equal(r.u, 35);
  assert.equal(r.method, 'exact');
  close(r.pGreater, 0.1272, 0.00005, 'p');
});

test('fully separated samples: exact p = 1 / C(n + m, n)', () => {
  close(mannWhitney([1, 2, 3], [4, 5, 6]).pGreater, 1 / 20, 1e-12, '3 vs 3');
  close(mannWhitney([1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14]).pGreater, 1 / 3432, 1e-12, '7 vs 7');
  assert.equal(mannWhitney([4, 5, 6], [1, 2, 3]).pGreater, 1);
  close(mannWhitney([4, 5, 6], [1, 2, 3]).pLess, 1 / 20, 1e-12, 'lower tail');
});

test('U distribution is symmetric and sums to C(n + m, n)', () => {
  const d = uDistribution(4, 6);
  assert.equal(d.length, 25);
  assert.equal(
    d.reduce((a, b) => a + b, 0),
    210,
  );
  for (let k = 0; k < d.length; k++) assert.equal(d[k], d[d.length - 1 - k]);
});

test('normal approximation agrees with the exact test on larger samples', () => {
  const x = Array.from({ length: 30 }, (_, i) => i * 1.37 + 0.01);
  const y = Array.from({ length: 30 }, (_, i) => i * 1.37 + 6.02);
  const exact = mannWhitney(x, y); // N = 60: exact
  const withTie = mannWhitney([...x, 1000], [...y, 1000]); // a tie forces the normal path
  assert.equal(exact.method, 'exact');
  assert.equal(withTie.method, 'normal');
  close(withTie.pGreater, exact.pGreater, 0.01, 'p');
});

test('identical samples are not significant; normalCdf and median sanity', () => {
  const a = [5, 5, 5, 5, 5];
  assert.equal(mannWhitney(a, a).pGreater, 1);
  close(mannWhitney([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]).pGreater, 0.5, 0.1, 'same values');
  close(normalCdf(0), 0.5, 1e-7, 'Φ(0)');
  close(normalCdf(1.959964), 0.975, 1e-6, 'Φ(1.96)');
  close(normalCdf(-2.326348), 0.01, 1e-6, 'Φ(-2.33)');
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});
