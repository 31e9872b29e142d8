// Mergeable results: histograms travel encoded (compressed base64) and are merged by decoding and
// adding counts. Percentiles are computed only from a merged histogram — never averaged.
// All functions are synchronous and return GC-managed JS histograms (no destroy() needed).
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { buildJsHistogram, type Histogram } from './histogram.js';
import { STAGES, type Stage } from './stages.js';
import type { IntervalSnapshot } from './recorder.js';

/** Decode and add every encoded histogram into one. Throws on an undecodable string. */
export function mergeEncoded(encoded: Iterable<string>): Histogram {
  const merged = buildJsHistogram();
  for (const e of encoded) merged.add(decodeFromCompressedBase64(e, 64, false));
  return merged;
}

/** Merge any number of snapshots (across intervals and/or workers) into one histogram per stage. */
export function mergeSnapshots(snapshots: Iterable<IntervalSnapshot>): Record<Stage, Histogram> {
  const list = [...snapshots];
  return Object.fromEntries(STAGES.map((s) => [s, mergeEncoded(list.map((x) => x.histograms[s]))])) as Record<Stage, Histogram>;
}

export interface Percentiles {
  readonly count: number;
  /** µs (the histogram's unit), at 3 significant digits. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Summary of a histogram; all zeros when it is empty. */
export function percentiles(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: h.mean,
  };
}
