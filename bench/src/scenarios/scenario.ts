import type { WorkloadShape } from '../../../loadgen/src/worker/contract.js';
import type { FaultSpec } from '../faults/spec.js';
import type { Objective } from './objectives.js';

/**
 * A validated, frozen scenario (loader.ts builds it from a YAML file). Rates and user counts are
 * totals over all workers; the orchestrator splits them into one WorkerPlan per worker.
 * Times in ms unless the name says Us.
 */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Absolute path of the file it came from. */
  readonly file: string;
  readonly brokers: 1 | 3;
  readonly partitions: number;
  readonly relays: number;
  readonly workers: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Warm-up of the run's first segment when longer than warmupMs (firstSegmentWarmupMs). */
  readonly firstWarmupMs: number | undefined;
  readonly drainMs: number;
  readonly maxScheduleLagUs: number;
  readonly connectRatePerSec: number | undefined;
  readonly routingHint: boolean;
  readonly workload: ScenarioWorkload;
  readonly objectives: readonly Objective[];
  readonly reference: 'kafka-direct' | undefined;
  readonly phases: readonly ScenarioPhase[];
  readonly ramp: ScenarioRamp | undefined;
  /** Faults of a fault scenario, in file order (empty otherwise); offsets from the segment start. */
  readonly faults: readonly FaultSpec[];
}

/**
 * The workload shape a scenario names, over all workers (users and ratePerSec are totals; the
 * plans split them per worker). The fields are the workers' own (WorkloadShape), not a copy.
 */
export type ScenarioWorkload = Pick<
  WorkloadShape,
  | 'users'
  | 'ratePerSec'
  | 'arrivals'
  | 'rampUpMs'
  | 'onlineFraction'
  | 'churnPerSec'
  | 'offlineMs'
  | 'recipients'
  | 'sizes'
  | 'readDelayMs'
  | 'seed'
>;

/** One phase of a phased scenario (scale-out); unset fields inherit the scenario's. */
export interface ScenarioPhase {
  readonly name: string;
  readonly relays: number;
  readonly ratePerSec: number;
  readonly durationMs: number;
}

/** Rate steps from `fromPerSec` to `toPerSec`; stops at the first step that breaks an objective. */
export interface ScenarioRamp {
  readonly fromPerSec: number;
  readonly stepPerSec: number;
  readonly toPerSec: number;
  readonly stepDurationMs: number;
}

/**
 * The first segment's warm-up: `firstWarmup` when it is longer than `warmup`.
 * A run starts its broker and relays fresh, and they are slower until their JIT compilers have
 * compiled the hot paths (the broker's compilers settle ≈ 40 s into its life). On a ramp's first
 * step (300 msg/s) a 5 s warm-up measured the broker at 0.61 core and e2e p99 45 ms; 30 s,
 * 0.29–0.41 core and 17–35 ms (docs/measurements.md, "Early morning of 2026-12-07"). Later
 * segments find the system warm.
 */
export function firstSegmentWarmupMs(warmupMs: number, firstWarmupMs: number | undefined): number {
  return Math.max(warmupMs, firstWarmupMs ?? 0);
}
