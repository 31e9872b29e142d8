/**
 * One-sided Mann–Whitney U test (Wilcoxon rank-sum): is `y` stochastically greater than `x`?
 *
 * U_y = Σ_i Σ_j ( [y_i > x_j] + ½ [y_i = x_j] ), which ranges 0 … n·m; large U_y means y tends
 * to be larger. p = P(U ≥ U_y) under H0 (both samples from one distribution):
 * - exact, by counting rank arrangements, when there are no ties and n + m ≤ 60 (small samples,
 *   e.g. 7 trials vs 7 — where the normal approximation is poor);
 * - otherwise the normal approximation with tie correction and continuity correction
 *   (mean n·m/2, variance n·m/12 · ((N+1) − Σ(t³ − t)/(N(N − 1)))), as R's wilcox.test(exact=FALSE).
 * No library on npm offered a maintained one-sided U test with an exact small-sample path, so
 * this is written out here and unit-tested against known values (R's documented example).
 */

export interface MannWhitneyResult {
  /** U statistic of `y` (the sample tested for being greater). */
  readonly u: number;
  /** One-sided p-value for "y > x". */
  readonly pGreater: number;
  /** One-sided p-value for "y < x". */
  readonly pLess: number;
  readonly method: 'exact' | 'normal';
}

export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) return { u: 0, pGreater: 1, pLess: 1, method: 'exact' };
  // Ranks over the pooled sample (average ranks for ties).
  const pooled = [...x.map((v) => ({ v, y: false })), ...y.map((v) => ({ v, y: true }))].sort((a, b) => a.v - b.v);
  let rankSumY = 0;
  let tieTerm = 0;
  let ties = false;
  for (let i = 0; i < pooled.length;) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1]!.v === pooled[i]!.v) j++;
    const t = j - i + 1;
    if (t > 1) {
      ties = true;
      tieTerm += t * t * t - t;
    }
    const avgRank = (i + 1 + j + 1) / 2;
    for (let k = i; k <= j; k++) if (pooled[k]!.y) rankSumY += avgRank;
    i = j + 1;
  }
  const u = rankSumY - (n * (n + 1)) / 2;
  if (!ties && m + n <= 60) {
    const dist = uDistribution(n, m); // counts of U_y = 0 … n·m
    const total = dist.reduce((a, b) => a + b, 0);
    let ge = 0;
    let le = 0;
    for (let k = 0; k < dist.length; k++) {
      if (k >= u) ge += dist[k]!;
      if (k <= u) le += dist[k]!;
    }
    return { u, pGreater: ge / total, pLess: le / total, method: 'exact' };
  }
  const N = m + n;
  const mean = (m * n) / 2;
  const variance = ((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, pGreater: 1, pLess: 1, method: 'normal' };
  const sd = Math.sqrt(variance);
  const zGreater = (u - mean - 0.5) / sd;
  const zLess = (u - mean + 0.5) / sd;
  return { u, pGreater: 1 - normalCdf(zGreater), pLess: normalCdf(zLess), method: 'normal' };
}

/**
 * Number of arrangements giving each U value for samples of size n (the "y" sample) and m:
 * c(n, m, u) = c(n − 1, m, u − m) + c(n, m − 1, u), computed bottom-up (doubles: exact up to
 * 2^53, plenty for N ≤ 60 only as ratios).
 */
export function uDistribution(n: number, m: number): number[] {
  // table[j] = distribution for (i, j) as i grows; start with i = 0: U = 0 only.
  let prev: number[][] = Array.from({ length: m + 1 }, () => [1]);
  for (let i = 1; i <= n; i++) {
    const cur: number[][] = [];
    cur[0] = [1]; // no x values: U = 0
    for (let j = 1; j <= m; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      const a = prev[j]!; // y's largest is above all m x's: shifts by j
      for (let u = 0; u < a.length; u++) row[u + j]! += a[u]!;
      const b = cur[j - 1]!; // x's largest is the largest overall: no shift
      for (let u = 0; u < b.length; u++) row[u]! += b[u]!;
      cur[j] = row;
    }
    prev = cur;
  }
  return prev[m]!;
}

/** Standard normal CDF via erfc (W. J. Cody's rational approximation is overkill; |error| < 1.2e-7 here). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

// Numerical Recipes' erfc (Chebyshev fit), fractional error < 1.2e-7 everywhere.
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
