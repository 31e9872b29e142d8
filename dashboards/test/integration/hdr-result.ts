import { mergeSnapshots, percentiles } from '../../../loadgen/src/stats/period.js';
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';

/**
 * Finds the WorkerResult in the loadgen CLI's stdout: a JSON line that is the result itself, or
 * wraps it as `{ "result": … }` (any `event`). Returns the merged HDR e2eCorrected p99 (seconds)
 * over the measured window and that window; throws with the expected shape when absent.
 */
export function hdrP99FromLoadgenStdout(stdout: string, stage: 'e2eCorrected' = 'e2eCorrected'): { p99Seconds: number; count: number; measureStartMs: number; endedMs: number } {
  let result: WorkerResult | undefined;
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const o = JSON.parse(t) as Partial<WorkerResult> & { result?: WorkerResult };
      const candidate = Array.isArray(o.intervals) ? (o as WorkerResult) : o.result !== undefined && Array.isArray(o.result.intervals) ? o.result : undefined;
      if (candidate !== undefined) result = candidate;
    } catch {
      // not JSON
    }
  }
  if (result === undefined) throw new Error('relaybench loadgen printed no WorkerResult JSON line (expected a line with "intervals", or {"result": {...}}) — adapt hdrP99FromLoadgenStdout to its output');
  const merged = mergeSnapshots(result.intervals)[stage];
  const p = percentiles(merged);
  const first = result.intervals[0];
  const last = result.intervals.at(-1);
  return { p99Seconds: p.p99 / 1e6, count: p.count, measureStartMs: first?.startMs ?? result.measureStartMs, endedMs: last?.endMs ?? result.endedMs };
}
