/**
 * Merging the WorkerResults of one segment (all workers that ran the same plan shape together)
 * into one set of figures. Histograms are decoded and added — never averaged (STYLE §9):
 * - per stage, one cumulative histogram over all workers and intervals → percentiles;
 * - per time bucket (1 s, aligned on the earliest measured start), one histogram per stage
 *   over all workers → the per-interval p50/p99 series used by the report and the gate.
 * Ledger counts are exact sums. Synchronous; JS histograms only (garbage-collected).
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { emptyLedger, type LedgerCounts } from '../../../loadgen/src/ledger.js';
import { buildJsHistogram, type Histogram } from '../../../loadgen/src/stats/histogram.js';
import { mergeEncoded, percentiles, type Percentiles } from '../../../loadgen/src/stats/period.js';
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';

/** One aligned interval over all workers: encoded merged histograms per stage. */
export interface MergedInterval {
  readonly startMs: number;
  readonly endMs: number;
  readonly histograms: Readonly<Record<Stage, string>>;
}

/** One point of the time series (per bucket, all workers). Rates are per second. */
export interface SeriesPoint {
  /** Seconds since the segment's measured start (bucket end). */
  readonly t: number;
  readonly sentPerSec: number;
  readonly deliveredPerSec: number;
  readonly ackedPerSec: number;
  /** e2eCorrected p50/p99 of this interval (µs), 0 when the interval had no deliveries. */
  readonly p50Us: number;
  readonly p99Us: number;
}

/** Per-interval percentiles of one stage (µs), only intervals with samples; used by `compare`. */
export interface StageSeries {
  readonly p50: readonly number[];
  readonly p90: readonly number[];
  readonly p99: readonly number[];
}

export interface MergedSegment {
  readonly workers: number;
  readonly startedMs: number;
  readonly measureStartMs: number;
  readonly endedMs: number;
  readonly ledger: LedgerCounts;
  readonly targetRatePerSec: number;
  readonly achievedRatePerSec: number;
  readonly generatorBound: boolean;
  readonly maxScheduleLagUs: number;
  readonly peakConnections: number;
  readonly maxRssBytes: number;
  /** Longest drain of any worker, and whether one ended while messages were still completing. */
  readonly drain?: { readonly waitedMs: number; readonly stillProgressing: boolean };
  readonly stages: Readonly<Record<Stage, Percentiles>>;
  /** Cumulative merged histogram per stage (compressed base64, V2) so reports and gates can recompute. */
  readonly histograms: Readonly<Record<Stage, string>>;
  readonly intervals: readonly MergedInterval[];
  readonly series: readonly SeriesPoint[];
  readonly gating: Readonly<Partial<Record<Stage, StageSeries>>>;
  readonly metricsUrls: readonly string[];
}

export const INTERVAL_MS = 1000;


/** Exact sum of ledgers (errorsByCode merged by code). */
export function sumLedgers(ledgers: Iterable<LedgerCounts>): LedgerCounts {
  const out = emptyLedger();
  for (const l of ledgers) {
    for (const k of Object.keys(out) as (keyof LedgerCounts)[]) {
      if (k === 'errorsByCode') continue;
      (out[k] as number) += (l[k] as number | undefined) ?? 0;
    }
    for (const [code, n] of Object.entries(l.errorsByCode ?? {})) out.errorsByCode[code] = (out.errorsByCode[code] ?? 0) + n;
  }
  return out;
}

export function totalErrors(l: LedgerCounts): number {
  return Object.values(l.errorsByCode ?? {}).reduce((a, b) => a + b, 0);
}

export function mergeWorkerResults(results: readonly WorkerResult[]): MergedSegment {
  if (results.length === 0) throw new RangeError('mergeWorkerResults: no results');
  const measureStartMs = Math.min(...results.map((r) => r.measureStartMs));
  const ordered = [...bucketize(results, measureStartMs).entries()].sort((a, b) => a[0] - b[0]);
  const intervals: MergedInterval[] = ordered.map(([, e]) => ({
    startMs: e.startMs,
    endMs: e.endMs,
    histograms: Object.fromEntries(STAGES.map((s) => [s, encodeIntoCompressedBase64(e.hist[s])])) as Record<Stage, string>,
  }));
  const cumulative = Object.fromEntries(
    STAGES.map((s) => [s, mergeEncoded(results.flatMap((r) => r.intervals.map((iv) => iv.histograms[s]).filter((x): x is string => x !== undefined)))]),
  ) as Record<Stage, Histogram>;
  return {
    workers: results.length,
    startedMs: Math.min(...results.map((r) => r.startedMs)),
    measureStartMs,
    endedMs: Math.max(...results.map((r) => r.endedMs)),
    ledger: sumLedgers(results.map((r) => r.ledger)),
    targetRatePerSec: sum(results.map((r) => r.targetRatePerSec)),
    achievedRatePerSec: round1(sum(results.map((r) => r.achievedRatePerSec))),
    generatorBound: results.some((r) => r.generatorBound),
    maxScheduleLagUs: Math.max(...results.map((r) => r.maxScheduleLagUs)),
    peakConnections: sum(results.map((r) => r.peakConnections)),
    maxRssBytes: Math.max(...results.map((r) => r.rssBytes)),
    drain: { waitedMs: Math.max(0, ...results.map((r) => r.drain?.waitedMs ?? 0)), stillProgressing: results.some((r) => r.drain?.stillProgressing === true) },
    stages: Object.fromEntries(STAGES.map((s) => [s, percentiles(cumulative[s])])) as Record<Stage, Percentiles>,
    histograms: Object.fromEntries(STAGES.map((s) => [s, encodeIntoCompressedBase64(cumulative[s])])) as Record<Stage, string>,
    intervals,
    series: ordered.map(([b, e]) => seriesPoint(b, e)),
    gating: gatingSeries(ordered.map(([, e]) => e)),
    metricsUrls: results.map((r) => r.metricsUrl).filter((u): u is string => u !== undefined),
  };
}

/** Every worker's 1 s intervals (histograms) and counts added into one bucket per second of the measured window. */
interface Bucket {
  startMs: number;
  endMs: number;
  readonly hist: Record<Stage, Histogram>;
  sent: number;
  delivered: number;
  acked: number;
}

function bucketize(results: readonly WorkerResult[], measureStartMs: number): Map<number, Bucket> {
  const buckets = new Map<number, Bucket>();
  const bucket = (endMs: number, startMs: number) => {
    const b = Math.max(1, Math.round((endMs - measureStartMs) / INTERVAL_MS));
    let entry = buckets.get(b);
    if (entry === undefined) {
      entry = { startMs, endMs, hist: Object.fromEntries(STAGES.map((s) => [s, buildJsHistogram()])) as Record<Stage, Histogram>, sent: 0, delivered: 0, acked: 0 };
      buckets.set(b, entry);
    }
    entry.startMs = Math.min(entry.startMs, startMs);
    entry.endMs = Math.max(entry.endMs, endMs);
    return entry;
  };
  for (const r of results) {
    for (const iv of r.intervals) {
      const e = bucket(iv.endMs, iv.startMs);
      for (const s of STAGES) {
        const encoded = iv.histograms[s];
        if (encoded !== undefined) e.hist[s].add(decodeFromCompressedBase64(encoded, 64, false));
      }
    }
    for (const c of r.counts) {
      const e = bucket(c.endMs, c.startMs);
      e.sent += c.sent;
      e.delivered += c.delivered;
      e.acked += c.acked;
    }
  }
  return buckets;
}

function seriesPoint(b: number, e: Bucket): SeriesPoint {
  const seconds = Math.max(1e-3, (e.endMs - e.startMs) / 1000);
  const h = e.hist.e2eCorrected;
  return {
    t: b * (INTERVAL_MS / 1000),
    sentPerSec: round1(e.sent / seconds),
    deliveredPerSec: round1(e.delivered / seconds),
    ackedPerSec: round1(e.acked / seconds),
    p50Us: h.totalCount === 0 ? 0 : h.getValueAtPercentile(50),
    p99Us: h.totalCount === 0 ? 0 : h.getValueAtPercentile(99),
  };
}

/** Per stage, the p50, p90 and p99 of every non-empty second, in order. */
function gatingSeries(ordered: readonly Bucket[]): Partial<Record<Stage, StageSeries>> {
  const gating: Partial<Record<Stage, StageSeries>> = {};
  for (const s of STAGES) {
    const nonEmpty = ordered.map((e) => e.hist[s]).filter((h) => h.totalCount > 0);
    if (nonEmpty.length === 0) continue;
    gating[s] = {
      p50: nonEmpty.map((h) => h.getValueAtPercentile(50)),
      p90: nonEmpty.map((h) => h.getValueAtPercentile(90)),
      p99: nonEmpty.map((h) => h.getValueAtPercentile(99)),
    };
  }
  return gating;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const round1 = (x: number) => Math.round(x * 10) / 10;
