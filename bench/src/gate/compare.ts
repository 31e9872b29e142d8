/**
 * The regression gate (`relaybench compare BASE NEW`). For each stage and percentile:
 *
 *   change = median(NEW samples) ÷ median(BASE samples)
 *   regression ⇔ change > threshold  AND  one-sided Mann–Whitney p(NEW > BASE) < alpha
 *
 * Samples are per-trial percentiles when both sides have ≥ 3 trials (repeated runs; the robust
 * choice), otherwise per-interval percentiles (1 s merged histograms) pooled over the trials —
 * these are autocorrelated, so the p-value is optimistic; the ratio threshold is what keeps a
 * noisy machine from failing the gate, and thresholds should be set from A/A runs.
 * When every trial on both sides carries the in-run kafka-direct reference for the stage, each
 * trial's samples are first divided by that trial's reference percentile: the gate then
 * compares the relay's overhead ratio, which survives a faster or slower machine. In that mode,
 * stages the reference does not have (the relay hops) are still shown but not gated
 * (`gated: false`): their absolute times are not comparable across machines.
 * Any invalid trial (lost > 0, generator-bound, nothing sent) makes the comparison invalid.
 * Pure and synchronous.
 */
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';
import type { Comparable, Trial } from './comparable.js';
import { mannWhitney, median } from './mann-whitney.js';

export interface CompareOptions {
  /** Ratio above which a p50 change counts (default 1.10). */
  readonly thresholdP50: number;
  /** Ratio above which a p99 change counts (default 1.15). */
  readonly thresholdP99: number;
  /** Significance level of the one-sided test (default 0.01). */
  readonly alpha: number;
  /** Stages to gate (default: every stage with data on both sides, schedule lag excluded). */
  readonly stages?: readonly Stage[];
  /** Minimum trials per side to compare per trial (default 3). */
  readonly minTrials?: number;
}

export const DEFAULT_COMPARE: CompareOptions = { thresholdP50: 1.1, thresholdP99: 1.15, alpha: 0.01 };

export type RowVerdict = 'pass' | 'regression' | 'improvement' | 'no-data';

export interface CompareRow {
  readonly stage: Stage;
  readonly percentile: 'p50' | 'p99';
  /** Medians of the samples: µs, or a ratio to the reference when `normalized`. */
  readonly base: number;
  readonly new: number;
  readonly change: number;
  readonly threshold: number;
  readonly pValue: number;
  readonly samples: { readonly base: number; readonly new: number };
  readonly normalized: boolean;
  /** Whether this row can fail the gate. */
  readonly gated: boolean;
  readonly verdict: RowVerdict;
}

export interface CompareReport {
  readonly scenario: string;
  readonly base: { readonly sources: readonly string[]; readonly trials: number };
  readonly new: { readonly sources: readonly string[]; readonly trials: number };
  readonly method: 'trials' | 'intervals';
  readonly options: CompareOptions;
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  readonly rows: readonly CompareRow[];
  readonly verdict: 'pass' | 'regression' | 'invalid';
}

const GATE_EXCLUDED: ReadonlySet<Stage> = new Set(['scheduleLag']);

export function compareRuns(base: Comparable, candidate: Comparable, options: CompareOptions = DEFAULT_COMPARE): CompareReport {
  const invalidReasons = [...invalid('BASE', base.trials), ...invalid('NEW', candidate.trials)];
  const minTrials = options.minTrials ?? 3;
  const method = base.trials.length >= minTrials && candidate.trials.length >= minTrials ? 'trials' : 'intervals';
  const stages = options.stages ?? STAGES.filter((s) => !GATE_EXCLUDED.has(s) && hasData(base.trials, s) && hasData(candidate.trials, s));
  const rows: CompareRow[] = [];
  const allTrials = [...base.trials, ...candidate.trials];
  const referenceMode = allTrials.every((t) => t.reference !== null);
  for (const stage of stages) {
    const normalized = referenceMode && allTrials.every((t) => refValue(t, stage, 'p50') > 0 && refValue(t, stage, 'p99') > 0);
    const gated = !referenceMode || normalized;
    for (const percentile of ['p50', 'p99'] as const) {
      const threshold = percentile === 'p50' ? options.thresholdP50 : options.thresholdP99;
      const a = samplesOf(base.trials, stage, percentile, method, normalized);
      const b = samplesOf(candidate.trials, stage, percentile, method, normalized);
      if (a.length === 0 || b.length === 0) {
        rows.push({ stage, percentile, base: NaN, new: NaN, change: NaN, threshold, pValue: NaN, samples: { base: a.length, new: b.length }, normalized, gated, verdict: 'no-data' });
        continue;
      }
      const ma = median(a);
      const mb = median(b);
      const change = ma > 0 ? mb / ma : mb > 0 ? Infinity : 1;
      const test = mannWhitney(a, b);
      let verdict: RowVerdict = 'pass';
      if (change > threshold && test.pGreater < options.alpha) verdict = 'regression';
      else if (change < 1 / threshold && test.pLess < options.alpha) verdict = 'improvement';
      rows.push({ stage, percentile, base: ma, new: mb, change: round4(change), threshold, pValue: test.pGreater, samples: { base: a.length, new: b.length }, normalized, gated, verdict });
    }
  }
  const valid = invalidReasons.length === 0;
  return {
    scenario: candidate.scenario,
    base: { sources: base.sources, trials: base.trials.length },
    new: { sources: candidate.sources, trials: candidate.trials.length },
    method,
    options,
    valid,
    invalidReasons,
    rows,
    verdict: !valid ? 'invalid' : rows.some((r) => r.gated && r.verdict === 'regression') ? 'regression' : 'pass',
  };
}

function invalid(side: string, trials: readonly Trial[]): string[] {
  const out: string[] = [];
  for (const t of trials) {
    if (!t.valid || t.generatorBound || t.ledger.lost > 0) {
      const reasons = [...t.invalidReasons];
      if (t.ledger.lost > 0 && !reasons.some((r) => r.includes('lost'))) reasons.push(`${t.ledger.lost} message(s) lost`);
      if (t.generatorBound && !reasons.some((r) => r.includes('generator-bound'))) reasons.push('generator-bound');
      out.push(`${side} ${t.runId}: ${reasons.join('; ') || 'invalid run'}`);
    }
  }
  return out;
}

function hasData(trials: readonly Trial[], stage: Stage): boolean {
  return trials.every((t) => (t.stages[stage]?.count ?? 0) > 0);
}

function refValue(t: Trial, stage: Stage, percentile: 'p50' | 'p99'): number {
  const p = t.reference?.stages[stage];
  return p === undefined || p.count === 0 ? 0 : p[percentile];
}

function samplesOf(trials: readonly Trial[], stage: Stage, percentile: 'p50' | 'p99', method: 'trials' | 'intervals', normalized: boolean): number[] {
  const out: number[] = [];
  for (const t of trials) {
    const div = normalized ? refValue(t, stage, percentile) : 1;
    if (method === 'trials') {
      const v = t.stages[stage]?.[percentile];
      if (v !== undefined && (t.stages[stage]?.count ?? 0) > 0) out.push(v / div);
    } else {
      for (const v of t.gating[stage]?.[percentile] ?? []) out.push(v / div);
    }
  }
  return out;
}

const round4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : x);
