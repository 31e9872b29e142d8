/**
 * Objective expressions: `<metric> <op> <value>`, parsed and checked against the metric's kind
 * before anything runs (STYLE §12), evaluated later on merged data (gate/evaluate.ts).
 *
 *   metric  := pNN(stage) | max(stage) | mean(stage)       latency, value needs a unit: us|ms|s
 *            | sent | acked | delivered | lost | duplicated | reordered | unacked | misdelivered
 *            | decryptFailures | redelivered | unexpected | errors                 count, no unit
 *            | achievedRatio                    achieved ÷ target rate, a plain number (0.95)
 *   op      := <= | < | >= | > | ==
 *   pNN     := p50, p90, p99, p99.9, p999 (= p99.9), any p<0..100>
 *
 * Examples: `p99(e2eCorrected) <= 250ms`, `lost == 0`, `achievedRatio >= 0.95`.
 */
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';

export const COUNTERS = [
  'sent',
  'acked',
  'delivered',
  'deliveredReceipts',
  'readReceipts',
  'lost',
  'unacked',
  'duplicated',
  'redelivered',
  'reordered',
  'misdelivered',
  'unexpected',
  'decryptFailures',
  'errors',
] as const;
export type Counter = (typeof COUNTERS)[number];

export const OPS = ['<=', '<', '>=', '>', '=='] as const;
export type Op = (typeof OPS)[number];

export type ObjectiveMetric =
  | { readonly kind: 'latency'; readonly stat: 'percentile'; readonly percentile: number; readonly stage: Stage }
  | { readonly kind: 'latency'; readonly stat: 'max' | 'mean'; readonly stage: Stage }
  | { readonly kind: 'count'; readonly counter: Counter }
  | { readonly kind: 'ratio'; readonly name: 'achievedRatio' };

export interface Objective {
  /** The expression as written (normalised spacing). */
  readonly expr: string;
  readonly metric: ObjectiveMetric;
  readonly op: Op;
  /** µs for latency metrics; a plain number otherwise. */
  readonly threshold: number;
}

/** Thrown by parseObjective; the loader turns it into RB_SCENARIO_OBJECTIVE with the field path. */
export class ObjectiveSyntaxError extends Error {}

const UNIT_US = { us: 1, µs: 1, ms: 1000, s: 1_000_000 } as const;
const EXPR = /^\s*([A-Za-z][A-Za-z0-9_.]*(?:\(\s*[A-Za-z0-9_]+\s*\))?)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*([A-Za-zµ%]*)\s*$/;
const LATENCY_FN = /^(p\d+(?:\.\d+)?|max|mean)\(\s*([A-Za-z0-9_]+)\s*\)$/;

export function parseObjective(text: string): Objective {
  const m = EXPR.exec(text);
  if (m === null)
    throw new ObjectiveSyntaxError(
      `cannot parse ${JSON.stringify(text)}: expected "<metric> <op> <value>", e.g. "p99(e2eCorrected) <= 250ms" or "lost == 0"`,
    );
  const [, metricText, opText, numText, unitText] = m as unknown as [string, string, Op, string, string];
  const metric = parseMetric(metricText);
  const value = Number(numText);
  let threshold: number;
  if (metric.kind === 'latency') {
    if (unitText === '')
      throw new ObjectiveSyntaxError(`${JSON.stringify(text)}: a latency threshold needs a unit (us, ms or s), e.g. ${numText}ms`);
    const ratio = UNIT_US[unitText as keyof typeof UNIT_US];
    if (ratio === undefined) throw new ObjectiveSyntaxError(`${JSON.stringify(text)}: unknown unit "${unitText}" (use us, ms or s)`);
    if (value < 0) throw new ObjectiveSyntaxError(`${JSON.stringify(text)}: a latency threshold cannot be negative`);
    threshold = value * ratio;
  } else {
    if (unitText !== '')
      throw new ObjectiveSyntaxError(
        `${JSON.stringify(text)}: ${metricText} is a ${metric.kind}, it takes a plain number (no unit "${unitText}")`,
      );
    if (metric.kind === 'count' && (!Number.isInteger(value) || value < 0))
      throw new ObjectiveSyntaxError(`${JSON.stringify(text)}: ${metricText} is a count, compare it with a whole number ≥ 0`);
    threshold = value;
  }
  return { expr: `${metricText.replace(/\s+/g, '')} ${opText} ${numText}${unitText}`, metric, op: opText, threshold };
}

function parseMetric(text: string): ObjectiveMetric {
  const fn = LATENCY_FN.exec(text.replace(/\s+/g, ''));
  if (fn !== null) {
    const [, name, stageText] = fn as unknown as [string, string, string];
    if (!(STAGES as readonly string[]).includes(stageText))
      throw new ObjectiveSyntaxError(`unknown stage "${stageText}" (stages: ${STAGES.join(', ')})`);
    const stage = stageText as Stage;
    if (name === 'max' || name === 'mean') return { kind: 'latency', stat: name, stage };
    const digits = name.slice(1);
    const percentile = digits === '999' ? 99.9 : digits === '9999' ? 99.99 : Number(digits);
    if (!(percentile > 0 && percentile <= 100)) throw new ObjectiveSyntaxError(`percentile ${name} is out of range (p0 < p ≤ p100)`);
    return { kind: 'latency', stat: 'percentile', percentile, stage };
  }
  if ((COUNTERS as readonly string[]).includes(text)) return { kind: 'count', counter: text as Counter };
  if (text === 'achievedRatio') return { kind: 'ratio', name: 'achievedRatio' };
  throw new ObjectiveSyntaxError(
    `unknown metric "${text}" (use pNN(stage), max(stage), mean(stage), achievedRatio, or a count: ${COUNTERS.join(', ')})`,
  );
}

/** Label of a latency stat for tables: "p99", "p99.9", "max". */
export function metricLabel(metric: ObjectiveMetric): string {
  if (metric.kind === 'count') return metric.counter;
  if (metric.kind === 'ratio') return metric.name;
  return metric.stat === 'percentile' ? `p${metric.percentile}(${metric.stage})` : `${metric.stat}(${metric.stage})`;
}

export function compare(actual: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '<=':
      return actual <= threshold;
    case '<':
      return actual < threshold;
    case '>=':
      return actual >= threshold;
    case '>':
      return actual > threshold;
    case '==':
      return actual === threshold;
  }
}
