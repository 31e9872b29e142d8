/**
 * Per-interval bookkeeping of one worker run: cuts the StageRecorder about once a second, keeps
 * the measured intervals (warm-up ones are dropped), per-interval counts, generator-bound
 * detection from schedule lag, and the last interval's figures for progress lines and HDR gauges.
 *
 * Generator-bound rule: the schedule lag p99 of a measured interval is above maxScheduleLagUs in
 * at least `sustainIntervals` consecutive intervals (default 2) — a single GC pause is not enough,
 * a generator that cannot keep up is. Single-threaded.
 */
import type { LoadgenMetrics } from '../metrics.js';
import type { IntervalSnapshot, StageRecorder } from '../stats/recorder.js';
import { STAGES } from '../stats/stages.js';
import type { IntervalCounts } from './contract.js';

export interface IntervalFigures {
  readonly seconds: number;
  readonly sent: number;
  readonly delivered: number;
  readonly acked: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly measured: boolean;
}

/** Events per second in `f`; 0 before the first interval is cut (0 of 0 s, not NaN/s, in progress lines). */
export function perSecond(f: IntervalFigures, events: number): number {
  return f.seconds > 0 ? events / f.seconds : 0;
}

export class IntervalBook {
  readonly intervals: IntervalSnapshot[] = [];
  readonly counts: IntervalCounts[] = [];
  readonly #recorder: StageRecorder;
  readonly #maxLagUs: number;
  readonly #sustain: number;
  readonly #metrics: LoadgenMetrics | null;
  #measuring = false;
  #over = 0;
  #dispatched = 0;
  #sent = 0;
  #delivered = 0;
  #acked = 0;
  generatorBound = false;
  maxScheduleLagUs = 0;
  last: IntervalFigures = { seconds: 0, sent: 0, delivered: 0, acked: 0, p50Us: 0, p99Us: 0, measured: false };

  constructor(recorder: StageRecorder, maxLagUs: number, metrics: LoadgenMetrics | null, sustainIntervals = 2) {
    this.#recorder = recorder;
    this.#maxLagUs = maxLagUs;
    this.#metrics = metrics;
    this.#sustain = sustainIntervals;
  }

  /** At the open loop's dispatch, beside the schedule-lag sample (so both fall in one interval). */
  countDispatched(): void {
    this.#dispatched++;
  }
  countSent(): void {
    this.#sent++;
  }
  countDelivered(): void {
    this.#delivered++;
  }
  countAcked(): void {
    this.#acked++;
  }

  /** From now on intervals are measured (call right after the cut that ends the warm-up). */
  startMeasuring(): void {
    this.#measuring = true;
  }

  /** Close the current interval at `nowMs` (ms since the epoch). Percentiles are read from the live histograms (no decode). */
  cut(nowMs: number): IntervalFigures {
    const r = this.#recorder;
    const e2e = r.peek('e2eCorrected');
    const p50Us = e2e.totalCount === 0 ? 0 : e2e.getValueAtPercentile(50);
    const p99Us = e2e.totalCount === 0 ? 0 : e2e.getValueAtPercentile(99);
    const lag = r.peek('scheduleLag');
    const lagCount = lag.totalCount;
    const lagP99 = lagCount === 0 ? 0 : lag.getValueAtPercentile(99);
    const lagMax = lagCount === 0 ? 0 : lag.maxValue;
    if (this.#metrics !== null) for (const stage of STAGES) this.#metrics.setHdr(stage, r.peek(stage));
    const snap = r.cutInterval(nowMs);
    const seconds = Math.max(1e-3, (snap.endMs - snap.startMs) / 1000);
    const counts: IntervalCounts = {
      startMs: snap.startMs,
      endMs: snap.endMs,
      dispatched: this.#dispatched,
      sent: this.#sent,
      delivered: this.#delivered,
      acked: this.#acked,
    };
    this.#dispatched = this.#sent = this.#delivered = this.#acked = 0;
    if (this.#measuring) {
      this.intervals.push(snap);
      this.counts.push(counts);
      if (lagCount > 0) {
        this.maxScheduleLagUs = Math.max(this.maxScheduleLagUs, lagMax);
        this.#over = lagP99 > this.#maxLagUs ? this.#over + 1 : 0;
        if (this.#over >= this.#sustain) this.generatorBound = true;
      }
    }
    this.#metrics?.generatorBound.set(this.generatorBound ? 1 : 0);
    this.last = { seconds, sent: counts.sent, delivered: counts.delivered, acked: counts.acked, p50Us, p99Us, measured: this.#measuring };
    return this.last;
  }

  /** Sends per second over the intervals that began before `sendEndMs`, each counted up to it (the drain sends nothing). */
  achievedRatePerSec(sendEndMs: number): number {
    const measured = this.counts.filter((c) => c.startMs < sendEndMs);
    const sent = measured.reduce((a, c) => a + c.sent, 0);
    const seconds = measured.reduce((a, c) => a + (Math.min(c.endMs, sendEndMs) - c.startMs) / 1000, 0);
    return seconds > 0 ? sent / seconds : 0;
  }
}
