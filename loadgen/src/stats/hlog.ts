// HdrHistogram interval logs (.hlog, log format 1.3) — one log per stage, readable by the standard
// tools (HistogramLogAnalyzer, HdrHistogram's HistogramLogProcessor). Timestamps in the log are
// seconds relative to the base time; the max column is reported in ms (values are µs, ratio 1000).
import { decodeFromCompressedBase64, HistogramLogReader, HistogramLogWriter } from 'hdr-histogram-js';
import type { Histogram } from './histogram.js';
import type { IntervalSnapshot } from './recorder.js';
import type { Stage } from './stages.js';

/** Max-column unit ratio: values are µs, the column shows ms. */
const MAX_VALUE_UNIT_RATIO = 1000;

export interface HlogHeader {
  /** Absolute run start, ms since the epoch ("#[StartTime: …]"). */
  readonly startTimeMs: number;
  /** Timestamps are written relative to this, ms since the epoch ("#[BaseTime: …]"); default startTimeMs. */
  readonly baseTimeMs?: number;
  /** Free-text comment lines. */
  readonly comments?: readonly string[];
}

/** Builds one .hlog text in memory. Not thread-safe; O(histogram) per append. */
export class HlogWriter {
  readonly #chunks: string[] = [];
  readonly #writer: HistogramLogWriter;
  readonly #baseTimeMs: number;

  constructor(header: HlogHeader) {
    this.#writer = new HistogramLogWriter((s) => this.#chunks.push(s));
    this.#baseTimeMs = header.baseTimeMs ?? header.startTimeMs;
    this.#writer.baseTime = this.#baseTimeMs;
    for (const c of header.comments ?? []) this.#writer.outputComment(c);
    this.#writer.outputLogFormatVersion();
    this.#writer.outputStartTime(header.startTimeMs);
    this.#writer.outputComment(`[BaseTime: ${(this.#baseTimeMs / 1000).toFixed(3)} (seconds since epoch)]`);
    this.#writer.outputLegend();
  }

  /** Append one interval (encoded histogram, bounds in ms since the epoch, optional tag without commas/spaces). */
  append(encoded: string, startMs: number, endMs: number, tag?: string): void {
    if (tag !== undefined && /[,\s]/.test(tag)) throw new RangeError(`hlog tags cannot contain commas or spaces: ${tag}`);
    const h = decodeFromCompressedBase64(encoded, 64, false);
    if (tag !== undefined) h.tag = tag;
    this.#writer.outputIntervalHistogram(h, (startMs - this.#baseTimeMs) / 1000, (endMs - this.#baseTimeMs) / 1000, MAX_VALUE_UNIT_RATIO);
  }

  toString(): string {
    return this.#chunks.join('');
  }
}

/** One .hlog text for `stage` from a worker's snapshots, optionally tagging every line. */
export function writeStageHlog(stage: Stage, snapshots: Iterable<IntervalSnapshot>, header: HlogHeader, tag?: string): string {
  const w = new HlogWriter({ ...header, comments: [`relaybench stage=${stage} unit=us`, ...(header.comments ?? [])] });
  for (const s of snapshots) w.append(s.histograms[stage], s.startMs, s.endMs, tag);
  return w.toString();
}

export interface HlogInterval {
  /** Absolute bounds, ms since the epoch (base time added back). */
  readonly startMs: number;
  readonly endMs: number;
  /** undefined when the line had no Tag= field. */
  readonly tag: string | undefined;
  readonly histogram: Histogram;
}

/** Read every interval of an .hlog text (JS histograms, 64-bit counts). Malformed lines end the read. */
export function readHlog(text: string): HlogInterval[] {
  const reader = new HistogramLogReader(text, 64, false);
  const out: HlogInterval[] = [];
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    out.push({ startMs: h.startTimeStampMsec, endMs: h.endTimeStampMsec, tag: h.tag === 'NO TAG' ? undefined : h.tag, histogram: h });
  }
  return out;
}
