/**
 * The gate's decision (`relaybench gate`), pure: from per-trial values, each normalised by that
 * trial's own kafka-direct reference (relay pX ÷ reference pX), to a verdict per stage and
 * percentile and one for the gate.
 *
 *   effect = Hodges–Lehmann NEW ÷ BASE over the valid trials, with its `level` interval
 *   regression  ⇔ the whole interval lies above the threshold (low > threshold)
 *   improvement ⇔ the whole interval lies below 1 ÷ threshold
 *
 * The thresholds are set from A/A runs (same build on both sides): above the largest effect
 * such runs estimate, so noise alone does not clear them. A side without enough valid trials
 * for an interval makes the gate invalid (exit 2), never a pass.
 *
 * A pass must also mean something: when no row is a regression but a p50 interval still reaches
 * above `resolution` (+50 % by default), the trials were too noisy to rule out a large regression
 * — the gate is inconclusive (invalid, exit 2), not a pass. Measured: one A/B gate (+2 ms on every
 * client→relay hop) run while builds and unit tests loaded both cores had e2e p50 −29 % (95 % CI
 * −58 … +74 %) and was called PASS before this rule; the A/A gates' p50 intervals reached +11 … +45 %.
 */
import type { Stage } from '../../../loadgen/src/stats/stages.js';
import { hodgesLehmann, minimumAttainable, pooledLogSd, type ShiftEstimate } from './estimate.js';

export type Side = 'base' | 'new';
export type Pct = 'p50' | 'p99';

export interface TrialValue {
  /** µs, the relay path and the same trial's kafka-direct reference. */
  readonly relay: number;
  readonly reference: number;
  /** relay ÷ reference: what the gate compares. */
  readonly ratio: number;
}

/** One trial as the gate keeps it (also a row of the trials JSON). */
export interface GateTrial {
  /** Position in the run order (0-based; a rerun gets the next free index). */
  readonly index: number;
  readonly side: Side;
  /** 1 for a trial's first run, 2 for its first rerun, … */
  readonly attempt: number;
  readonly runId: string;
  readonly dir: string;
  readonly wallMs: number;
  readonly exitCode: number;
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  readonly values: Readonly<Partial<Record<Stage, Readonly<Record<Pct, TrialValue>>>>>;
}

export interface GateOptions {
  readonly stages: readonly Stage[];
  readonly thresholds: Readonly<Record<Pct, number>>;
  /** Confidence level of the interval (0.95). */
  readonly level: number;
  /** A pass needs every p50 interval's upper end at or below this ratio (else inconclusive). */
  readonly resolution?: number;
}

export const GATED_STAGES: readonly Stage[] = ['ack', 'e2eCorrected'];
export const DEFAULT_GATE: GateOptions = { stages: GATED_STAGES, thresholds: { p50: 1.05, p99: 1.15 }, level: 0.95, resolution: 1.5 };

export type GateRowVerdict = 'pass' | 'regression' | 'improvement' | 'inconclusive' | 'no-data';

export interface GateRow {
  readonly stage: Stage;
  readonly percentile: Pct;
  readonly threshold: number;
  /** Medians over the valid trials of each side (ratio to the reference). */
  readonly base: number;
  readonly new: number;
  readonly effect: ShiftEstimate;
  readonly n: { readonly base: number; readonly new: number };
  /** The trials' spread: sd of ln(ratio) within a side, pooled (estimate.ts, pooledLogSd). */
  readonly noiseSd: number;
  readonly verdict: GateRowVerdict;
}

export interface GateDecision {
  readonly verdict: 'pass' | 'regression' | 'invalid';
  readonly rows: readonly GateRow[];
  readonly invalidReasons: readonly string[];
}

export function decide(trials: readonly GateTrial[], o: GateOptions = DEFAULT_GATE): GateDecision {
  const valid = (side: Side) => trials.filter((t) => t.side === side && t.valid);
  const a = valid('base');
  const b = valid('new');
  const need = minimumAttainable(o.level);
  const invalidReasons: string[] = [];
  for (const [side, got] of [
    ['base', a.length],
    ['new', b.length],
  ] as const)
    if (got < need) invalidReasons.push(`${side}: ${got} valid trial(s); a ${pct(o.level)} interval needs at least ${need} per side`);
  const rows: GateRow[] = [];
  for (const stage of o.stages) {
    for (const percentile of ['p50', 'p99'] as const) {
      const xs = ratios(a, stage, percentile);
      const ys = ratios(b, stage, percentile);
      const threshold = o.thresholds[percentile];
      const effect = hodgesLehmann(xs, ys, o.level);
      let verdict: GateRowVerdict = 'pass';
      if (xs.length === 0 || ys.length === 0 || !effect.attainable) verdict = 'no-data';
      else if (effect.low > threshold) verdict = 'regression';
      else if (effect.high < 1 / threshold) verdict = 'improvement';
      else if (percentile === 'p50' && o.resolution !== undefined && effect.high > o.resolution) verdict = 'inconclusive';
      rows.push({
        stage,
        percentile,
        threshold,
        base: med(xs),
        new: med(ys),
        effect,
        n: { base: xs.length, new: ys.length },
        noiseSd: pooledLogSd(xs, ys),
        verdict,
      });
    }
  }
  if (invalidReasons.length === 0 && rows.every((r) => r.verdict === 'no-data'))
    invalidReasons.push('no gated stage has reference-normalised values on both sides (did every trial run the kafka-direct reference?)');
  const regression = rows.some((r) => r.verdict === 'regression');
  if (invalidReasons.length === 0 && !regression)
    for (const r of rows.filter((x) => x.verdict === 'inconclusive'))
      invalidReasons.push(
        `inconclusive: the ${pct(o.level)} interval of ${r.stage} p50 reaches ${percentChange(r.effect.high)}, above the ${percentChange(o.resolution!)} a pass must rule out — the trials were too noisy (a busy machine?); rerun, or give more trials (--budget)`,
      );
  const verdict = invalidReasons.length > 0 ? 'invalid' : regression ? 'regression' : 'pass';
  return { verdict, rows, invalidReasons };
}

function ratios(trials: readonly GateTrial[], stage: Stage, p: Pct): number[] {
  const out: number[] = [];
  for (const t of trials) {
    const v = t.values[stage]?.[p];
    if (v !== undefined && Number.isFinite(v.ratio) && v.ratio > 0) out.push(v.ratio);
  }
  return out;
}

function med(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "+12 %" for a ratio of 1.12. */
export function percentChange(ratio: number): string {
  if (!Number.isFinite(ratio)) return ratio > 0 ? '+∞ %' : '—';
  const p = (ratio - 1) * 100;
  const r = Math.abs(p) >= 10 ? Math.round(p) : Math.round(p * 10) / 10;
  return `${r >= 0 ? '+' : '−'}${Math.abs(r)} %`;
}

/** "+12 % (95 % CI +6 … +18 %)". */
export function effectText(e: ShiftEstimate, level: number): string {
  if (!Number.isFinite(e.ratio)) return 'no data';
  if (!e.attainable) return `${percentChange(e.ratio)} (no ${pct(level)} CI with these few trials)`;
  return `${percentChange(e.ratio)} (${pct(level)} CI ${percentChange(e.low).replace(' %', '')} … ${percentChange(e.high)})`;
}

const pct = (level: number) => `${Math.round(level * 1000) / 10} %`;
