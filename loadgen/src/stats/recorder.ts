// Per-stage interval HdrHistograms for one worker. Single-threaded; record() is synchronous and
// allocation-free. Values are µs; they are rounded to integers and clamped to
// [0, HISTOGRAM_RANGE.highestTrackableValueUs] (negative values — clock skew — and overflows are
// counted in `clamped`, never thrown).
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { buildRecordingHistogram, type Histogram } from './histogram.js';
import { HISTOGRAM_RANGE, STAGES, type Stage } from './stages.js';

/** One closed interval: every stage's histogram, compressed base64 (HdrHistogram V2 encoding). */
export interface IntervalSnapshot {
  /** Interval bounds, ms since the epoch. */
  readonly startMs: number;
  readonly endMs: number;
  readonly histograms: Readonly<Record<Stage, string>>;
}

export interface StageRecorderOptions {
  /** Interval start, ms since the epoch. */
  readonly startMs: number;
  /** Default true; see histogram.ts for the trade-off. */
  readonly useWebAssembly?: boolean;
}

const MAX_US = HISTOGRAM_RANGE.highestTrackableValueUs;

export class StageRecorder {
  readonly #interval: Record<Stage, Histogram>;
  readonly #cumulative: Record<Stage, Histogram>;
  #startMs: number;
  #clamped = 0;
  #closed = false;

  constructor(options: StageRecorderOptions) {
    const wasm = options.useWebAssembly ?? true;
    this.#interval = Object.fromEntries(STAGES.map((s) => [s, buildRecordingHistogram(wasm)])) as Record<Stage, Histogram>;
    this.#cumulative = Object.fromEntries(STAGES.map((s) => [s, buildRecordingHistogram(wasm)])) as Record<Stage, Histogram>;
    this.#startMs = options.startMs;
  }

  /** Values that were out of range and clamped. */
  get clamped(): number {
    return this.#clamped;
  }

  /**
   * Record one latency sample, µs. The loadgen is an open model: latencies are taken from the
   * intended send time, so coordinated omission is already visible and is never corrected again.
   */
  record(stage: Stage, valueUs: number): void {
    this.#interval[stage].recordValue(this.#clamp(valueUs));
  }

  /**
   * The open interval's histogram of `stage`, to read percentiles without encoding/decoding (e.g.
   * progress lines and HDR gauges). Read-only view: do not record into it or keep it across
   * cutInterval(), which resets it.
   */
  peek(stage: Stage): Readonly<Histogram> {
    this.#assertOpen();
    return this.#interval[stage];
  }

  /** Close the current interval at `nowMs`: encode, fold into the cumulative histograms, reset. */
  cutInterval(nowMs: number): IntervalSnapshot {
    this.#assertOpen();
    const histograms = {} as Record<Stage, string>;
    for (const stage of STAGES) {
      const h = this.#interval[stage];
      h.startTimeStampMsec = this.#startMs;
      h.endTimeStampMsec = nowMs;
      histograms[stage] = encodeIntoCompressedBase64(h);
      this.#cumulative[stage].add(h);
      h.reset();
    }
    const snapshot = { startMs: this.#startMs, endMs: nowMs, histograms };
    this.#startMs = nowMs;
    return snapshot;
  }

  /** Everything recorded in intervals already cut, per stage, compressed base64. */
  cumulative(): Record<Stage, string> {
    this.#assertOpen();
    const out = {} as Record<Stage, string>;
    for (const stage of STAGES) out[stage] = encodeIntoCompressedBase64(this.#cumulative[stage]);
    return out;
  }

  /** Free the histograms (required for WASM memory). The recorder is unusable afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stage of STAGES) {
      this.#interval[stage].destroy();
      this.#cumulative[stage].destroy();
    }
  }

  #clamp(valueUs: number): number {
    const v = Math.round(valueUs);
    if (v >= 0 && v <= MAX_US) return v;
    this.#clamped++;
    return v > MAX_US ? MAX_US : 0; // NaN also lands on 0
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('StageRecorder is closed');
  }
}
