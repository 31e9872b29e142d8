import type { Histogram } from '../../loadgen/src/stats/histogram.js';
import { bucketBoundsAround } from '../../bench/src/prometheus/cross-check.js';

/**
 * Where Prometheus' `histogram_quantile(q, …)` must lie, given the HDR histogram of the same
 * samples. Prometheus sees only what it scraped: `promCount` of the HDR histogram's `totalCount`
 * samples (the ones recorded after its last scrape are missing; it can never see more). Without
 * this the check compared two different populations: a p99 rank has ~1 % of the samples above it,
 * and a burst of slow ones in a window edge moved it across a bucket boundary (CI: HDR 53.0 ms,
 * Prometheus 48.4 ms, one bucket below).
 *
 * histogram_quantile picks the first bucket whose cumulative count reaches q·promCount and
 * interpolates inside it, so its answer lies in the bucket of the value at rank r = ⌈q·promCount⌉
 * of what it saw. Dropping m = totalCount − promCount samples from the HDR population moves the
 * value at rank r to somewhere between the HDR values at ranks r and r + m. The HDR values are
 * exact to 3 significant digits (±0.1 %). Throws when promCount is out of [1, totalCount].
 */
export function quantileBounds(
  hdr: Histogram,
  promCount: number,
  q: number,
  les: readonly number[],
): { lowerSeconds: number; upperSeconds: number; missing: number } {
  const total = hdr.totalCount;
  if (!Number.isInteger(promCount) || promCount < 1 || promCount > total)
    throw new Error(`Prometheus counted ${promCount} samples; the HDR histogram holds ${total}: not the same samples`);
  const missing = total - promCount;
  const rank = Math.max(1, Math.ceil(q * promCount));
  const lowUs = valueAtRank(hdr, rank) * 0.999 - 1;
  const highUs = valueAtRank(hdr, rank + missing) * 1.001 + 1;
  return {
    lowerSeconds: bucketBoundsAround(Math.max(0, lowUs) / 1e6, les).lower,
    upperSeconds: bucketBoundsAround(highUs / 1e6, les).upper,
    missing,
  };
}

/** The HDR value (its unit) of the sample at 1-based `rank` in sorted order. */
export function valueAtRank(h: Histogram, rank: number): number {
  // getValueAtPercentile counts to floor(p/100·total + 0.5) samples: exactly `rank` here.
  return h.getValueAtPercentile((100 * rank) / h.totalCount);
}
