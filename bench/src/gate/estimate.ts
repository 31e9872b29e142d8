/**
 * The gate's estimate: how much larger NEW is than BASE, with a confidence interval, from one
 * value per trial (e.g. relay p50 ÷ that trial's kafka-direct p50).
 *
 * Hodges–Lehmann shift on the log scale: d_ij = ln(new_j) − ln(base_i) for every pair; the
 * estimate is median(d), and the interval [d_(k), d_(mn+1−k)] (sorted, 1-based) is the set of
 * shifts the two-sided Mann–Whitney test does not reject — exact (rank counts) for small
 * samples, normal approximation beyond. Reported as a ratio: exp(d) = 1.12 is "+12 %".
 * The interval exists only when the smallest attainable p (2 / C(m+n, m)) is below 1 − level:
 * `attainable` says so, and `planTrials` never picks fewer trials than that.
 * Pure; no dependencies beyond the U distribution.
 */
import { median, normalCdf, uDistribution } from './mann-whitney.js';

export interface ShiftEstimate {
  /** exp(HL estimate): NEW ÷ BASE. */
  readonly ratio: number;
  /** Interval bounds as ratios (−∞/+∞ → 0 / Infinity when not attainable). */
  readonly low: number;
  readonly high: number;
  /** Confidence actually achieved (exact intervals are conservative: ≥ the level asked). */
  readonly coverage: number;
  readonly attainable: boolean;
}

/** Rank k (1-based) of the lower bound for samples of m and n at `level`; 0 = no interval. */
export function criticalRank(m: number, n: number, level: number): { k: number; coverage: number } {
  const tail = (1 - level) / 2;
  if (m + n <= 60) {
    const dist = uDistribution(n, m);
    const total = dist.reduce((a, b) => a + b, 0);
    let cum = 0;
    let k = 0;
    for (let u = 0; u < dist.length; u++) {
      if ((cum + dist[u]!) / total > tail) break;
      cum += dist[u]!;
      k = u + 1;
    }
    return { k, coverage: 1 - (2 * cum) / total };
  }
  const sd = Math.sqrt((m * n * (m + n + 1)) / 12);
  const z = inverseNormal(1 - tail);
  const k = Math.max(0, Math.floor((m * n) / 2 - z * sd));
  return { k, coverage: k === 0 ? 0 : 1 - 2 * normalCdf((k - 0.5 - (m * n) / 2) / sd) };
}

export function hodgesLehmann(base: readonly number[], candidate: readonly number[], level = 0.95): ShiftEstimate {
  const lx = base.filter((v) => v > 0).map(Math.log);
  const ly = candidate.filter((v) => v > 0).map(Math.log);
  if (lx.length === 0 || ly.length === 0) return { ratio: NaN, low: 0, high: Infinity, coverage: 0, attainable: false };
  const d: number[] = [];
  for (const y of ly) for (const x of lx) d.push(y - x);
  d.sort((a, b) => a - b);
  const { k, coverage } = criticalRank(lx.length, ly.length, level);
  const ratio = Math.exp(median(d));
  if (k === 0) return { ratio, low: 0, high: Infinity, coverage: 0, attainable: false };
  return { ratio, low: Math.exp(d[k - 1]!), high: Math.exp(d[d.length - k]!), coverage, attainable: true };
}

/** Smallest one-sided exact Mann–Whitney p with m and n trials: 1 / C(m+n, m). */
export function smallestP(m: number, n: number): number {
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (n + i)) / i;
  return 1 / c;
}

export interface TrialPlanInput {
  /** The effect the gate should catch (ratio, 1.10 = +10 %). */
  readonly mde: number;
  /** The ratio a change must clear with its whole interval (the threshold). */
  readonly threshold: number;
  /** Trial-to-trial spread of ln(value) on one side (from A/A runs). */
  readonly noiseSd: number;
  readonly level: number;
  /** Wall time of one trial and the budget for all of them (ms). */
  readonly trialMs: number;
  readonly budgetMs: number;
  /** Never fewer than this per side (the interval must exist), never more than max. */
  readonly minPerSide?: number;
  readonly maxPerSide?: number;
}

export interface TrialPlan {
  readonly perSide: number;
  /** Smallest effect detected in ~90 % of gates with `perSide` trials (ratio). */
  readonly detectable: number;
  /** Whether the budget forced fewer trials than the MDE asks for. */
  readonly budgetBound: boolean;
  readonly estimatedMs: number;
}

/**
 * Trials per side for the stated MDE and budget. Power model: the interval's lower bound sits
 * ≈ (z_{level} ) · SE below the estimate, SE = sd · √(2/n) ÷ √0.955 (HL's efficiency), so
 * an effect is caught 90 % of the time when ln(effect) ≥ ln(threshold) + (z_level + z_0.90)·SE.
 */
export function planTrials(p: TrialPlanInput): TrialPlan {
  const min = Math.max(p.minPerSide ?? 5, minimumAttainable(p.level));
  const max = p.maxPerSide ?? 20;
  const fit = Math.max(min, Math.min(max, Math.floor(p.budgetMs / (2 * p.trialMs))));
  let n = min;
  while (n < fit && detectableWith(n, p) > p.mde) n++;
  return {
    perSide: n,
    detectable: detectableWith(n, p),
    budgetBound: n === fit && detectableWith(n, p) > p.mde,
    estimatedMs: 2 * n * p.trialMs,
  };
}

export function detectableWith(n: number, p: Pick<TrialPlanInput, 'threshold' | 'noiseSd' | 'level'>): number {
  const se = (p.noiseSd * Math.sqrt(2 / n)) / Math.sqrt(0.955);
  return Math.exp(Math.log(p.threshold) + (inverseNormal(1 - (1 - p.level) / 2) + inverseNormal(0.9)) * se);
}

/**
 * The trials' own noise: the sd of ln(value) within each side, pooled over both (NaN without two
 * values on a side). `--noise-sd` is this figure assumed before the trials; the report sets the
 * measured one beside it, so a gate on a quiet machine does not understate what it could see.
 */
export function pooledLogSd(...sides: readonly (readonly number[])[]): number {
  let squares = 0;
  let df = 0;
  for (const xs of sides) {
    if (xs.length < 2) continue;
    const logs = xs.map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    squares += logs.reduce((a, x) => a + (x - mean) ** 2, 0);
    df += logs.length - 1;
  }
  return df === 0 ? NaN : Math.sqrt(squares / df);
}

/** Fewest trials per side for which an interval at `level` exists. */
export function minimumAttainable(level: number): number {
  for (let n = 2; n < 30; n++) if (criticalRank(n, n, level).k > 0) return n;
  return 30;
}

/** Φ⁻¹ by bisection on normalCdf (plenty for planning; |error| < 1e-6). */
export function inverseNormal(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
