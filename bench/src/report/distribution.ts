/**
 * Percentile-distribution points of a histogram for the classic HdrHistogram plot: x is
 * 1 / (1 − q) on a log axis (1 = p0, 10 = p90, 100 = p99, 1000 = p99.9), y the latency.
 * Five points per halving of the remaining tail (as HdrHistogram's percentile output), up to the
 * last percentile the sample count supports, then the max.
 */
import type { Histogram } from '../../../loadgen/src/stats/histogram.js';

export interface DistributionPoint {
  /** 1 / (1 − q). */
  readonly x: number;
  /** Percentile, 0..100. */
  readonly percentile: number;
  /** µs. */
  readonly valueUs: number;
}

export function percentileDistribution(h: Histogram, ticksPerHalf = 5): DistributionPoint[] {
  if (h.totalCount === 0) return [];
  const out: DistributionPoint[] = [];
  const limit = Math.max(2, h.totalCount);
  for (let k = 0; ; k++) {
    const tail = Math.pow(0.5, k / ticksPerHalf);
    const x = 1 / tail;
    if (x > limit) break;
    const percentile = (1 - tail) * 100;
    out.push({ x: round(x), percentile: round(percentile), valueUs: h.getValueAtPercentile(percentile) });
  }
  out.push({ x: round(limit), percentile: 100, valueUs: h.maxValue });
  return out;
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;
