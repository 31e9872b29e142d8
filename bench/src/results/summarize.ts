/**
 * One segment's WorkerResults → its SegmentSummary and merged intervals: merge (decode + add),
 * objectives on relay segments, the stored shape. Shared by `run` (local or remote workers) and
 * `collect` (results read back from Kafka), so both produce the same figures from the same inputs.
 */
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { evaluateAll } from '../gate/evaluate.js';
import type { Objective } from '../scenarios/objectives.js';
import { mergeWorkerResults, type MergedSegment } from './merge.js';
import type { SegmentIntervals } from './store.js';
import { segmentSummary, type SegmentSummary } from './summary.js';

export interface SegmentShape {
  readonly name: string;
  readonly mode: 'relay' | 'kafka-direct';
  readonly relays: number;
  readonly durationMs: number;
}

/** `faults`: a fault scenario's per-segment verdicts, computed by the caller from the merged figures. */
export function summarizeSegment(
  objectives: readonly Objective[],
  seg: SegmentShape,
  results: readonly WorkerResult[],
  faults?: (merged: MergedSegment) => Parameters<typeof segmentSummary>[3],
): { merged: MergedSegment; summary: SegmentSummary; intervals: SegmentIntervals } {
  const merged = mergeWorkerResults(results);
  const verdicts = seg.mode === 'relay' ? evaluateAll(objectives, merged, seg.name) : [];
  const summary = segmentSummary({ name: seg.name, mode: seg.mode, relays: seg.relays, durationMs: seg.durationMs }, merged, verdicts, faults?.(merged));
  return { merged, summary, intervals: { segment: seg.name, intervals: merged.intervals } };
}
