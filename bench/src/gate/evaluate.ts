/**
 * Objectives evaluated on merged data: latency from the merged histogram of the stage (decoded
 * from its encoded form, so the figure is exact to the histogram's 3 digits), counts from the
 * summed ledger, achievedRatio from the summed rates. Pure and synchronous.
 */
import type { LedgerCounts } from '../../../loadgen/src/ledger.js';
import { mergeEncoded } from '../../../loadgen/src/stats/period.js';
import type { Stage } from '../../../loadgen/src/stats/stages.js';
import { compare, metricLabel, type Objective } from '../scenarios/objectives.js';
import { totalErrors } from '../results/merge.js';

export interface Evaluable {
  readonly ledger: LedgerCounts;
  readonly histograms: Readonly<Record<Stage, string>>;
  readonly targetRatePerSec: number;
  readonly achievedRatePerSec: number;
}

export interface Verdict {
  readonly objective: string;
  /** Segment the objective was evaluated on (main, a phase, a ramp step). */
  readonly segment: string;
  readonly metric: string;
  readonly kind: 'latency' | 'count' | 'ratio';
  readonly op: string;
  /** µs for latency; else a plain number. */
  readonly threshold: number;
  /** null when there was no data (an empty histogram). */
  readonly actual: number | null;
  readonly pass: boolean;
  readonly note?: string;
}

export function evaluateObjective(o: Objective, data: Evaluable, segment: string): Verdict {
  const base = { objective: o.expr, segment, metric: metricLabel(o.metric), kind: o.metric.kind, op: o.op, threshold: o.threshold };
  const m = o.metric;
  let actual: number | null;
  switch (m.kind) {
    case 'latency': {
      const h = mergeEncoded([data.histograms[m.stage]]);
      if (h.totalCount === 0) return { ...base, actual: null, pass: false, note: `no ${m.stage} samples were recorded` };
      actual = m.stat === 'percentile' ? h.getValueAtPercentile(m.percentile) : m.stat === 'max' ? h.maxValue : Math.round(h.mean);
      break;
    }
    case 'count':
      actual = m.counter === 'errors' ? totalErrors(data.ledger) : data.ledger[m.counter];
      break;
    case 'ratio':
      actual = data.targetRatePerSec > 0 ? Math.round((data.achievedRatePerSec / data.targetRatePerSec) * 1000) / 1000 : 0;
      break;
  }
  return { ...base, actual, pass: compare(actual, o.op, o.threshold) };
}

export function evaluateAll(objectives: readonly Objective[], data: Evaluable, segment: string): Verdict[] {
  return objectives.map((o) => evaluateObjective(o, data, segment));
}

/** "250 ms", "1.2 s", "830 µs" for a µs value; plain numbers for the rest. */
export function formatValue(kind: Verdict['kind'], value: number | null): string {
  if (value === null) return 'no data';
  if (kind !== 'latency') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return formatUs(value);
}

export function formatUs(us: number): string {
  if (us >= 1_000_000) return `${+(us / 1_000_000).toFixed(2)} s`;
  if (us >= 1000) return `${+(us / 1000).toFixed(us >= 100_000 ? 0 : us >= 10_000 ? 1 : 2)} ms`;
  return `${Math.round(us)} µs`;
}
