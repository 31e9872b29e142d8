/**
 * `relaybench compare BASE NEW`: the change per stage and percentile,
 *
 *   change = median(NEW samples) ÷ median(BASE samples)
 *
 * - Fewer than `minTrials` trials on a side (e.g. one run each): DESCRIPTIVE. The changes are
 *   shown (per-interval percentiles, 1 s merged histograms, pooled over the trials), but no
 *   regression is called: the intervals of one run are not independent samples — they share the
 *   run's JIT, GC, page cache, broker state and neighbours — so any test over them measures the
 *   run, not the change. Exit 0; `relaybench gate` is the decision.
 * - ≥ `minTrials` trials per side (repeated runs): per-trial percentiles, the effect is the
 *   Hodges–Lehmann NEW ÷ BASE with its interval at level 1 − 2·alpha (as `gate`), and
 *   regression ⇔ the whole interval lies above the threshold. When that interval cannot exist
 *   with these trial counts (3 against 3 at alpha 0.01), the verdict says so and stays descriptive.
 * When every trial on both sides carries the in-run kafka-direct reference for the stage, each
 * trial's samples are first divided by that trial's reference percentile (the relay's overhead
 * ratio survives a faster or slower machine); stages the reference lacks are shown, not gated.
 * BASE and NEW from different machines (core count, CPU model): absolute times are never
 * compared — only reference-normalised rows get a change.
 * A baseline file as BASE is named in the report with its runs' age beside NEW's (said, not gated).
 * Any invalid trial (lost > 0, generator-bound, nothing sent) makes the comparison invalid.
 * Pure and synchronous.
 */
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';
import { clientDifference, sameMachine, schedulerDifference, type Comparable, type Trial } from './comparable.js';
import { hodgesLehmann, minimumAttainable } from './estimate.js';
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
  /** Minimum trials per side to compare per trial (default: the fewest for which the interval exists). */
  readonly minTrials?: number;
}

export const DEFAULT_COMPARE: CompareOptions = { thresholdP50: 1.1, thresholdP99: 1.15, alpha: 0.01 };

export type RowVerdict = 'pass' | 'regression' | 'improvement' | 'no-data' | 'changed' | 'not-comparable';

export interface CompareRow {
  readonly stage: Stage;
  readonly percentile: 'p50' | 'p99';
  /** Medians of the samples: µs, or a ratio to the reference when `normalized`. */
  readonly base: number;
  readonly new: number;
  readonly change: number;
  /** The interval of the change (trials method with enough trials), else NaN. */
  readonly low: number;
  readonly high: number;
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
  readonly verdict: 'pass' | 'regression' | 'invalid' | 'descriptive';
  /** Why no regression could be called (descriptive verdict). */
  readonly cannotDecide: string | null;
  readonly sameMachine: boolean;
  /** How each side's workers were scheduled, when the sides differ (shown, not gated). */
  readonly workersScheduled: { readonly base: string; readonly new: string } | null;
  /** Which Kafka client each side's relays used, when the sides differ (shown, not gated). */
  readonly kafkaClient: { readonly base: string; readonly new: string } | null;
  /** When BASE is a baseline file: how much older its runs are than NEW's (shown, not gated). */
  readonly baseline: BaselineAge | null;
}

export interface BaselineAge {
  readonly path: string;
  readonly note: string;
  /** The newest of the baseline's runs. */
  readonly madeAt: string;
  /** From that run to NEW's newest (negative when NEW is older); NaN when a side's times are unknown. */
  readonly daysBeforeNew: number;
  /** At least STALE_BASELINE_DAYS old. */
  readonly stale: boolean;
}

/**
 * A baseline this much older than NEW's runs is named as possibly stale. Not a verdict: a build
 * that changed what a run measures makes a baseline stale at once, and a quiet week leaves it
 * good; the date only tells the reader to ask (on 2026-12-08 a two-day-old baseline was 34 %
 * slower than the code it guarded, docs/measurements.md, "the committed baseline again").
 */
export const STALE_BASELINE_DAYS = 7;
const DAY_MS = 86_400_000;

function baselineAge(base: Comparable, candidate: Comparable): BaselineAge | null {
  if (base.baseline == null) return null;
  const newest = (trials: readonly Trial[]) => Math.max(...trials.map((t) => Date.parse(t.createdAt)).filter(Number.isFinite));
  const made = newest(base.trials);
  const days = (newest(candidate.trials) - made) / DAY_MS;
  return {
    path: base.baseline.path,
    note: base.baseline.note,
    madeAt: Number.isFinite(made) ? new Date(made).toISOString() : '',
    daysBeforeNew: Number.isFinite(days) ? days : Number.NaN,
    stale: days >= STALE_BASELINE_DAYS,
  };
}

const GATE_EXCLUDED: ReadonlySet<Stage> = new Set(['scheduleLag']);

export function compareRuns(base: Comparable, candidate: Comparable, options: CompareOptions = DEFAULT_COMPARE): CompareReport {
  const invalidReasons = [...invalid('BASE', base.trials), ...invalid('NEW', candidate.trials)];
  const level = 1 - 2 * options.alpha;
  const attainable = minimumAttainable(level);
  const minTrials = options.minTrials ?? attainable;
  const method = base.trials.length >= minTrials && candidate.trials.length >= minTrials ? 'trials' : 'intervals';
  const decides = method === 'trials' && base.trials.length >= attainable && candidate.trials.length >= attainable;
  const machine = sameMachine(base.machine, candidate.machine);
  const stages = options.stages ?? STAGES.filter((s) => !GATE_EXCLUDED.has(s) && hasData(base.trials, s) && hasData(candidate.trials, s));
  const allTrials = [...base.trials, ...candidate.trials];
  const referenceMode = allTrials.every((t) => t.reference !== null);
  const ctx: RowContext = { base, candidate, options, method, decides, machine, level };
  const rows: CompareRow[] = [];
  for (const stage of stages) {
    const normalized = referenceMode && allTrials.every((t) => refValue(t, stage, 'p50') > 0 && refValue(t, stage, 'p99') > 0);
    const gated = (!referenceMode || normalized) && (machine || normalized);
    for (const percentile of ['p50', 'p99'] as const) rows.push(compareRow(ctx, stage, percentile, normalized, gated));
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
    verdict: !valid
      ? 'invalid'
      : !decides
        ? 'descriptive'
        : rows.some((r) => r.gated && r.verdict === 'regression')
          ? 'regression'
          : 'pass',
    cannotDecide: decides ? null : cannotDecideText(method, base, candidate, minTrials, attainable, level, options.alpha),
    sameMachine: machine,
    workersScheduled: schedulerDifference(base.trials, candidate.trials),
    kafkaClient: clientDifference(base.trials, candidate.trials),
    baseline: baselineAge(base, candidate),
  };
}

/** What every row of one comparison shares. */
interface RowContext {
  readonly base: Comparable;
  readonly candidate: Comparable;
  readonly options: CompareOptions;
  readonly method: CompareReport['method'];
  /** Enough trials on both sides for an interval at `level`. */
  readonly decides: boolean;
  readonly machine: boolean;
  readonly level: number;
}

/** One stage's p50 or p99: medians, their ratio and, when the trials decide, the interval and verdict. */
function compareRow(ctx: RowContext, stage: Stage, percentile: 'p50' | 'p99', normalized: boolean, gated: boolean): CompareRow {
  const threshold = percentile === 'p50' ? ctx.options.thresholdP50 : ctx.options.thresholdP99;
  const a = samplesOf(ctx.base.trials, stage, percentile, ctx.method, normalized);
  const b = samplesOf(ctx.candidate.trials, stage, percentile, ctx.method, normalized);
  const empty = { low: NaN, high: NaN, threshold, pValue: NaN, samples: { base: a.length, new: b.length }, normalized, gated };
  if (a.length === 0 || b.length === 0) return { stage, percentile, base: NaN, new: NaN, change: NaN, ...empty, verdict: 'no-data' };
  const ma = median(a);
  const mb = median(b);
  if (!ctx.machine && !normalized) return { stage, percentile, base: ma, new: mb, change: NaN, ...empty, verdict: 'not-comparable' };
  const change = ma > 0 ? mb / ma : mb > 0 ? Infinity : 1;
  if (!ctx.decides) {
    return { stage, percentile, base: ma, new: mb, change: round4(change), ...empty, verdict: change > threshold ? 'changed' : 'pass' };
  }
  const e = hodgesLehmann(a, b, ctx.level);
  let verdict: RowVerdict = 'pass';
  if (e.attainable && e.low > threshold) verdict = 'regression';
  else if (e.attainable && e.high < 1 / threshold) verdict = 'improvement';
  return {
    stage,
    percentile,
    base: ma,
    new: mb,
    change: round4(change),
    low: round4(e.low),
    high: round4(e.high),
    threshold,
    pValue: mannWhitney(a, b).pGreater,
    samples: { base: a.length, new: b.length },
    normalized,
    gated,
    verdict,
  };
}

/** Why no regression can be called: one run's intervals are not independent, or too few trials for the interval. */
function cannotDecideText(
  method: CompareReport['method'],
  base: Comparable,
  candidate: Comparable,
  minTrials: number,
  attainable: number,
  level: number,
  alpha: number,
): string {
  return method === 'intervals'
    ? `${Math.min(base.trials.length, candidate.trials.length)} trial(s) on a side: the 1 s intervals of one run are not independent samples (they share its JIT, GC, broker state and neighbours), so no regression is called from them; run \`relaybench gate BASE NEW\` (or give ≥ ${minTrials} runs per side)`
    : `a ${Math.round(level * 1000) / 10} % interval needs ≥ ${attainable} trials per side (the smallest attainable p with ${base.trials.length} against ${candidate.trials.length} is above alpha ${alpha}); run \`relaybench gate BASE NEW\``;
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

function samplesOf(
  trials: readonly Trial[],
  stage: Stage,
  percentile: 'p50' | 'p99',
  method: 'trials' | 'intervals',
  normalized: boolean,
): number[] {
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
