import { readFileSync } from 'node:fs';
import { mergeSnapshots, percentiles } from '../../../loadgen/src/stats/period.js';
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';
import type { Histogram } from '../../../loadgen/src/stats/histogram.js';

/**
 * Finds the WorkerResult in the loadgen CLI's stdout: a JSON line that is the result itself, or
 * wraps it as `{ "result": … }` or names its file as `{ "event": "done", "result": "<path>" }`. Returns the merged HDR e2eCorrected
 * histogram (µs) over the measured window, its p99 (seconds) and that window; throws with the expected shape when absent.
 */
export function hdrP99FromLoadgenStdout(
  stdout: string,
  stage: 'e2eCorrected' = 'e2eCorrected',
): { histogram: Histogram; p99Seconds: number; count: number; measureStartMs: number; endedMs: number } {
  let result: WorkerResult | undefined;
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const o = JSON.parse(t) as Partial<WorkerResult> & { result?: WorkerResult | string };
      // The CLI's last line is {"event":"done","result":"<path of the result file>"}.
      const inner = typeof o.result === 'string' ? (JSON.parse(readFileSync(o.result, 'utf8')) as WorkerResult) : o.result;
      const candidate = Array.isArray(o.intervals)
        ? (o as WorkerResult)
        : inner !== undefined && Array.isArray(inner.intervals)
          ? inner
          : undefined;
      if (candidate !== undefined) result = candidate;
    } catch {
      // not JSON
    }
  }
  if (result === undefined)
    throw new Error(
      'relaybench loadgen printed no WorkerResult JSON line (expected a line with "intervals", or {"result": {...}}) — adapt hdrP99FromLoadgenStdout to its output',
    );
  const merged = mergeSnapshots(result.intervals)[stage];
  const p = percentiles(merged);
  const first = result.intervals[0];
  const last = result.intervals.at(-1);
  return {
    histogram: merged,
    p99Seconds: p.p99 / 1e6,
    count: p.count,
    measureStartMs: first?.startMs ?? result.measureStartMs,
    endedMs: last?.endMs ?? result.endedMs,
  };
}
