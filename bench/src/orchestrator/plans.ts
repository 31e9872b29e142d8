/**
 * WorkerPlans for one segment: the scenario's users and rate split evenly over the workers,
 * a distinct user prefix per run × segment × worker (no two workers, segments or runs share a
 * user, even on a reused Kafka), one common start instant, a distinct seed per worker.
 * Client-side faults (slow-readers, reconnect-storm) go to every worker of a relay segment,
 * with absolute instants; each worker applies them to its own users.
 * Plans are validated with the loadgen's own validator before any process starts.
 */
import { createHash } from 'node:crypto';
import { validatePlan } from '../../../loadgen/src/worker/plan.js';
import type { WorkerPlan } from '../../../loadgen/src/worker/contract.js';
import { clientFaultsFor } from '../faults/spec.js';
import { DEFAULT_KAFKA_CLIENT, type KafkaClientName } from '../../../relay/kafka/src/index.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { SegmentSpec } from './segments.js';

export interface PlanContext {
  readonly runId: string;
  readonly segmentIndex: number;
  readonly relayUrls: readonly string[];
  readonly brokers: readonly string[];
  readonly tokenSecret: string;
  readonly startAtMs: number;
  /** One metrics port per worker (so Prometheus targets are known before the workers start). */
  readonly metricsPorts: readonly number[];
  /** The Kafka client of the kafka-direct reference (the relays' own). */
  readonly kafkaClient?: KafkaClientName;
}

export function workerPlans(s: Scenario, seg: SegmentSpec, ctx: PlanContext): WorkerPlan[] {
  const n = s.workers;
  const runTag = createHash('sha256').update(ctx.runId).digest('hex').slice(0, 6);
  const clientFaults = seg.mode === 'relay' ? clientFaultsFor(s.faults, ctx.startAtMs) : [];
  return Array.from({ length: n }, (_, i) => {
    const users = share(s.workload.users, n, i);
    return validatePlan({
      workerId: `${seg.name}-w${i}`,
      userPrefix: `u${runTag}-s${ctx.segmentIndex}-w${i}-`,
      mode: seg.mode,
      relays: seg.mode === 'relay' ? [...ctx.relayUrls] : [],
      brokers: [...ctx.brokers],
      tokenSecret: ctx.tokenSecret,
      sourceAddresses: [],
      workload: {
        users,
        ratePerSec: seg.ratePerSec / n,
        arrivals: s.workload.arrivals,
        rampUpMs: s.workload.rampUpMs,
        durationMs: Math.round(seg.durationMs),
        warmupMs: Math.round(seg.warmupMs),
        drainMs: Math.round(s.drainMs),
        onlineFraction: s.workload.onlineFraction,
        churnPerSec: s.workload.churnPerSec,
        offlineMs: Math.round(s.workload.offlineMs),
        recipients: s.workload.recipients,
        sizes: s.workload.sizes,
        readDelayMs: Math.round(s.workload.readDelayMs),
        seed: s.workload.seed * 1000 + ctx.segmentIndex * 16 + i,
      },
      startAtMs: ctx.startAtMs,
      metricsPort: ctx.metricsPorts[i] ?? -1,
      maxScheduleLagUs: s.maxScheduleLagUs,
      runId: ctx.runId,
      routingHint: s.routingHint,
      ...(s.connectRatePerSec === undefined ? {} : { connectRatePerSec: s.connectRatePerSec }),
      ...(seg.mode === 'kafka-direct' ? { directPartitions: s.partitions, kafkaClient: ctx.kafkaClient ?? DEFAULT_KAFKA_CLIENT } : {}),
      ...(clientFaults.length === 0 ? {} : { clientFaults }),
    });
  });
}

/** Even split of `total` over `n` (the first ones get the remainder). */
function share(total: number, n: number, i: number): number {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

/** How long before the common start to launch workers: process start + connecting every user. */
export function startLeadMs(s: Scenario): number {
  const perWorkerUsers = Math.ceil(s.workload.users / s.workers);
  const connectMs = (perWorkerUsers / (s.connectRatePerSec ?? 500)) * 1000;
  return Math.round(3000 + connectMs * 1.5);
}
