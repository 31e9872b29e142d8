/**
 * What one worker run holds from its first connect to its result: the ledger, metrics, target,
 * recorder, the users and who writes to whom, and the few values the phases change. Built in one
 * place so LocalWorker's #run reads as its phases, and each phase takes the run rather than a
 * dozen arguments.
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { Ledger } from '../ledger.js';
import { LoadgenMetrics, serveMetrics } from '../metrics.js';
import type { Clock } from '../rate/clock.js';
import { createSizeSampler } from '../rate/distributions.js';
import { createPrng, type Prng } from '../rate/prng.js';
import { StageRecorder } from '../stats/recorder.js';
import type { Stage } from '../stats/stages.js';
import type { Target } from '../driver/target.js';
import { DelayQueue } from '../users/delay-queue.js';
import type { MeasurementSink } from '../users/sink.js';
import { VirtualUser, type UserHealthSink, type VirtualUserDeps } from '../users/virtual-user.js';
import { createAudience, type Audience } from './audience.js';
import type { ClientFaultRunner } from './client-faults.js';
import type { WorkerPlan, WorkerProgress } from './contract.js';
import { DisruptionLog } from './disruptions.js';
import { IntervalBook } from './interval-book.js';
import type { OpenLoop } from './open-loop.js';

/** What the phases change as the run goes. */
export interface RunState {
  phase: WorkerProgress['phase'];
  errors: number;
  peakConnections: number;
  /** Set once the client faults are armed (the measured phase), if the plan has any. */
  faults: ClientFaultRunner | null;
  /** The open loop, once sending started. */
  loop: OpenLoop | null;
}

export interface Run {
  readonly plan: WorkerPlan;
  readonly w: WorkerPlan['workload'];
  readonly startedMs: number;
  readonly ledger: Ledger;
  readonly metrics: LoadgenMetrics | null;
  readonly server: { url: string; close(): Promise<void> } | null;
  readonly target: Target;
  readonly recorder: StageRecorder;
  readonly book: IntervalBook;
  readonly readQueue: DelayQueue;
  readonly sink: MeasurementSink;
  readonly prng: Prng;
  readonly users: readonly VirtualUser[];
  readonly audience: Audience;
  readonly disruptions: DisruptionLog;
  /** Every timer of the phases, cleared when sending ends and again at the end. */
  readonly timers: Set<NodeJS.Timeout>;
  readonly state: RunState;
}

export interface RunSetupOptions {
  readonly clock: Clock;
  readonly startedMs: number;
  readonly targetFactory: (plan: WorkerPlan) => Target;
  readonly registry?: Registry;
  readonly onSample?: (stage: Stage, valueUs: number) => void;
}

/** Builds the run (serving /metrics if the plan asks); nothing connects yet. */
export async function setUpRun(plan: WorkerPlan, o: RunSetupOptions): Promise<Run> {
  const w = plan.workload;
  const relayMode = plan.mode === 'relay';
  const ledger = new Ledger({ expectDeliveredReceipts: relayMode, expectReadReceipts: relayMode });
  const registry = o.registry ?? new Registry();
  const metrics =
    plan.metricsPort >= 0 ? new LoadgenMetrics(registry, { worker: plan.workerId, runId: plan.runId ?? plan.workerId }) : null;
  const server = metrics === null ? null : await serveMetrics(registry, plan.metricsPort);
  const target = o.targetFactory(plan);
  const recorder = new StageRecorder({ startMs: o.startedMs });
  const book = new IntervalBook(recorder, plan.maxScheduleLagUs, metrics);
  const readQueue = new DelayQueue(w.readDelayMs);
  const state: RunState = { phase: 'connecting', errors: 0, peakConnections: 0, faults: null, loop: null };
  const sink = measurementSink(recorder, book, metrics, state, o.onSample);
  const prng = createPrng(w.seed);
  const disruptions = new DisruptionLog();
  const deps = { target, tokenSecret: plan.tokenSecret, ledger, sink, clock: o.clock, readQueue };
  const users = createUsers(plan, prng, deps, userHealth(disruptions, state));
  metrics?.users.set(w.users);
  const audience = createAudience(w.recipients, w.users, prng);
  const timers = new Set<NodeJS.Timeout>();
  const common = { plan, w, startedMs: o.startedMs, ledger, metrics, server, target, recorder, book, readQueue, sink };
  return { ...common, prng, users, audience, disruptions, timers, state };
}

function measurementSink(
  recorder: StageRecorder,
  book: IntervalBook,
  metrics: LoadgenMetrics | null,
  state: RunState,
  tap: RunSetupOptions['onSample'],
): MeasurementSink {
  return {
    latency: (stage, us) => {
      recorder.record(stage, us);
      tap?.(stage, us);
      metrics?.observe(stage, us);
    },
    sent: () => book.countSent(),
    acked: () => book.countAcked(),
    delivered: () => book.countDelivered(),
    error: (code) => {
      state.errors++;
      metrics?.error(code);
    },
  };
}

/** Disruptions go to the run's log and, once armed, to the client faults (a fault waits for them). */
function userHealth(disruptions: DisruptionLog, state: RunState): UserHealthSink {
  return {
    disrupted: (userId, code, atMs) => {
      disruptions.disrupted(userId, code, atMs);
      state.faults?.disrupted(userId, code, atMs);
    },
    working: (userId, atMs) => {
      disruptions.working(userId, atMs);
      state.faults?.working(userId, atMs);
    },
    reconnected: (userId, atMs) => state.faults?.reconnected(userId, atMs),
  };
}

type UserDeps = Omit<VirtualUserDeps, 'plaintext' | 'maxInFlight' | 'health'>;

/** The plan's users; their plaintexts are slices of one random pool, sized by the workload's distribution. */
function createUsers(plan: WorkerPlan, prng: Prng, deps: UserDeps, health: UserHealthSink): VirtualUser[] {
  const w = plan.workload;
  const sizes = createSizeSampler(w.sizes.kind === 'lognormal' ? { ...w.sizes, minBytes: 1 } : w.sizes, prng);
  const maxBytes = w.sizes.kind === 'fixed' ? w.sizes.bytes : w.sizes.maxBytes;
  const pool = new Uint8Array(randomBytes(maxBytes));
  const all = { ...deps, plaintext: () => pool.subarray(0, sizes()), maxInFlight: w.maxInFlightPerUser ?? 1000, health };
  return Array.from({ length: w.users }, (_, i) => new VirtualUser(`${plan.userPrefix}${i}`, all));
}
