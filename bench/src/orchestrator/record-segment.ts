// A segment's results → its summary (objectives, fault recoveries, resources) and its log lines.
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { segmentFaults } from '../faults/recovery.js';
import { resourceLine } from '../resources/accounting.js';
import type { MergedSegment } from '../results/merge.js';
import type { SegmentIntervals } from '../results/store.js';
import type { SegmentSummary } from '../results/summary.js';
import { summarizeSegment } from '../results/summarize.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { SegmentContext } from './run-segment.js';
import type { SegmentSpec } from './segments.js';

/** The segments summarised so far, in order, with their intervals (for the run folder). */
export interface RecordedSegments {
  readonly done: SegmentSummary[];
  readonly intervals: SegmentIntervals[];
}

/** Summarises one segment's results into `done`; true when the run stops after it (a ramp step that broke). */
export async function recordSegment(
  s: Scenario,
  { seg, faultLog, meter }: Pick<SegmentContext, 'seg' | 'faultLog' | 'meter'>,
  results: WorkerResult[],
  { done, intervals }: RecordedSegments,
  log: (line: string) => void,
): Promise<boolean> {
  const {
    merged,
    summary: measured,
    intervals: segIntervals,
  } = summarizeSegment(s.objectives, seg, results, (m) =>
    seg.mode === 'relay' && s.faults.length > 0
      ? segmentFaults({
          segment: seg.name,
          faults: s.faults,
          startAtMs: faultLog.startAtMs,
          events: faultLog.events,
          results,
          merged: m,
          ledger: m.ledger,
          objectives: s.objectives,
        })
      : undefined,
  );
  // Deliveries recorded in the measured intervals (the ledger also counts the warm-up's sends).
  const resources = await meter.sampler?.result(merged.stages.e2eCorrected.count);
  const summary = resources === undefined ? measured : { ...measured, resources };
  if (resources !== undefined) log(`segment ${seg.name}: cpu over ${Math.round(resources.windowMs / 1000)} s: ${resourceLine(resources)}`);
  done.push(summary);
  intervals.push(segIntervals);
  log(segmentLine(seg, merged, summary));
  if (seg.stopWhenBroken && (!summary.held || merged.generatorBound)) {
    log(`ramp: ${seg.name} did not hold; stopping the ramp here`);
    return true;
  }
  return false;
}

function segmentLine(seg: SegmentSpec, merged: MergedSegment, summary: SegmentSummary): string {
  return `segment ${seg.name}: sent ${merged.ledger.sent} delivered ${merged.ledger.delivered} lost ${merged.ledger.lost} · ${merged.achievedRatePerSec}/${merged.targetRatePerSec} msg/s · e2e p99 ${(merged.stages.e2eCorrected.p99 / 1000).toFixed(1)} ms${seg.mode === 'relay' ? ` · objectives ${summary.held ? 'held' : 'BROKEN'}` : ''}${merged.generatorBound ? ' · GENERATOR-BOUND' : ''}`;
}
