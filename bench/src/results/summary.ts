/**
 * summary.json: the versioned result of one run (schemaVersion 1). Everything the report, the
 * CI comment, junit.xml and `compare` need, plus the cumulative encoded histograms per stage so
 * figures can be recomputed. Interval histograms live in the `<stage>.hlog` files beside it.
 * Latencies in µs.
 */
import type { LedgerCounts } from '../../../loadgen/src/ledger.js';
import type { Percentiles } from '../../../loadgen/src/stats/period.js';
import type { Stage } from '../../../loadgen/src/stats/stages.js';
import type { FaultEvent } from '../../../loadgen/src/worker/contract.js';
import type { FaultRecovery, SegmentFaults } from '../faults/recovery.js';
import type { Verdict } from '../gate/evaluate.js';
import type { GeneratorPriority } from '../orchestrator/generator-priority.js';
import type { ResourceUsage } from '../resources/accounting.js';
import type { MergedSegment, SeriesPoint, StageSeries } from './merge.js';

export const SUMMARY_SCHEMA_VERSION = 1;

export type RunStatus = 'pass' | 'fail' | 'invalid' | 'interrupted';

/** One segment as stored: the merged figures (without per-interval histograms) plus its verdicts. */
export interface SegmentSummary extends Omit<MergedSegment, 'intervals' | 'metricsUrls'> {
  readonly name: string;
  readonly mode: 'relay' | 'kafka-direct';
  readonly relays: number;
  readonly durationMs: number;
  readonly objectives: readonly Verdict[];
  /** All objectives of this segment passed. */
  readonly held: boolean;
  /** Fault scenarios: the timeline (faults and recoveries) and the recovery figures per fault. Absent in older files. */
  readonly faults?: readonly FaultEvent[];
  readonly recoveries?: readonly FaultRecovery[];
  /** CPU and peak RSS per process role over the measured window (absent without /proc, or in older files). */
  readonly resources?: ResourceUsage;
}

/** A timeline event of the run, with the segment it happened in. */
export interface RunFaultEvent extends FaultEvent {
  readonly segment: string;
}

export interface ReferenceSummary {
  readonly segment: string;
  readonly stages: Readonly<Record<Stage, Percentiles>>;
  /** relay ÷ kafka-direct per stage present in both (e.g. e2eCorrected p99 ratio 3.2). */
  readonly ratios: Readonly<Partial<Record<Stage, { readonly p50: number; readonly p90: number; readonly p99: number }>>>;
}

export interface RunSummary {
  readonly schemaVersion: typeof SUMMARY_SCHEMA_VERSION;
  readonly kind: 'relaybench-run';
  readonly runId: string;
  readonly createdAt: string;
  readonly scenario: { readonly name: string; readonly description: string; readonly file: string; readonly config: unknown };
  readonly versions: { readonly relaybench: string; readonly node: string; readonly kafka: string | null; readonly prometheus: string | null };
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly memoryBytes: number; readonly os: string; readonly arch: string };
  /** `client`: the Kafka client of the message path (absent in runs before it could be chosen: kafkajs). */
  readonly kafka: { readonly provider: string; readonly brokers: number; readonly partitions: number; readonly client?: string };
  /** `crossCheck`: Prometheus' histogram_quantile and counters over the first relay segment, beside the HDR p99. */
  readonly prometheus: { readonly status: string; readonly url: string | null; readonly crossCheck?: unknown };
  readonly status: RunStatus;
  readonly exitCode: number;
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  readonly generatorBound: boolean;
  /** The segment the top-level figures and the gate series come from. */
  readonly primary: string;
  /** Summed over every relay segment. */
  readonly ledger: LedgerCounts;
  readonly rate: { readonly targetPerSec: number; readonly achievedPerSec: number };
  /** Primary segment's merged percentiles per stage. */
  readonly stages: Readonly<Record<Stage, Percentiles>>;
  readonly histograms: Readonly<Record<Stage, string>>;
  readonly series: readonly SeriesPoint[];
  readonly gating: Readonly<Partial<Record<Stage, StageSeries>>>;
  /** Every verdict of every segment. */
  readonly objectives: readonly Verdict[];
  readonly segments: readonly SegmentSummary[];
  readonly reference: ReferenceSummary | null;
  readonly ramp: { readonly highestRateHeldPerSec: number | null; readonly steps: readonly { readonly ratePerSec: number; readonly held: boolean }[] } | null;
  /** Every segment's fault timeline and recovery figures (empty without `faults:`; absent in older files). */
  readonly faults?: readonly RunFaultEvent[];
  readonly recoveries?: readonly FaultRecovery[];
  /** The primary segment's resource accounting (null without it; absent in older files). */
  readonly resources?: ResourceUsage | null;
  /** How the local workers were scheduled (orchestrator/generator-priority.ts); null for remote workers, absent in older files. */
  readonly generatorPriority?: Omit<GeneratorPriority, 'prefix'> | null;
  readonly notes: readonly string[];
}

export function segmentSummary(
  spec: { name: string; mode: 'relay' | 'kafka-direct'; relays: number; durationMs: number },
  merged: MergedSegment,
  objectives: readonly Verdict[],
  faults?: SegmentFaults,
): SegmentSummary {
  return {
    name: spec.name,
    mode: spec.mode,
    relays: spec.relays,
    workers: merged.workers,
    durationMs: spec.durationMs,
    startedMs: merged.startedMs,
    measureStartMs: merged.measureStartMs,
    endedMs: merged.endedMs,
    targetRatePerSec: merged.targetRatePerSec,
    achievedRatePerSec: merged.achievedRatePerSec,
    generatorBound: merged.generatorBound,
    maxScheduleLagUs: merged.maxScheduleLagUs,
    peakConnections: merged.peakConnections,
    maxRssBytes: merged.maxRssBytes,
    ...(merged.drain === undefined ? {} : { drain: merged.drain }),
    ledger: merged.ledger,
    stages: merged.stages,
    histograms: merged.histograms,
    series: merged.series,
    gating: merged.gating,
    objectives,
    held: objectives.every((v) => v.pass),
    ...(faults === undefined ? {} : { faults: faults.events, recoveries: faults.recoveries }),
  };
}
