// One segment of a run: its workers start sending at a common instant, with the segment's faults,
// its resource window, its progress view and a hard deadline; everything it holds is released.
import { join } from 'node:path';
import type { KafkaCluster } from '../../../testbed/kafka/cluster.js';
import type { PrometheusServer, SegmentTargets } from '../prometheus/index.js';
import type { FaultEvent, Worker, WorkerPlan, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { startFaults, type FaultFleet, type FaultRun } from '../faults/executor.js';
import { readRelayCounters } from '../resources/relay-counters.js';
import { ResourceSampler } from '../resources/sampler.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { RunConfig } from './config.js';
import type { Interruption } from './interruption.js';
import { startLeadMs, workerPlans } from './plans.js';
import { createProgressView, type ProgressView } from './progress.js';
import { workerScrapeTargets } from './run-prometheus.js';
import { runProcesses, type RelayProcess } from './run-processes.js';
import { segmentWallMs, type SegmentSpec } from './segments.js';

/** What a segment needs of the relay tier (run.ts's Fleet). */
export interface SegmentFleet extends FaultFleet {
  readonly relays: readonly (RelayProcess & { readonly url: string })[];
  readonly failed: Promise<never>;
  metricsUrls(): string[];
}

/** What a segment needs of the run's collaborators (run.ts's RunDeps). */
export interface SegmentDeps {
  freePorts(count: number): Promise<number[]>;
  createWorker(id: string, dir: string): Worker;
  readonly stderr: NodeJS.WriteStream;
}

export interface SegmentContext {
  readonly seg: SegmentSpec;
  readonly index: number;
  readonly runId: string;
  readonly dir: string;
  readonly kafka: KafkaCluster;
  readonly fleet: SegmentFleet;
  readonly tokenSecret: string;
  readonly prometheus: PrometheusServer | undefined;
  readonly running: Worker[];
  readonly log: (line: string) => void;
  readonly notes: string[];
  readonly interruption: Interruption;
  /** Filled by runSegment for the fault executor's timeline (relay segments of a fault scenario). */
  readonly faultLog: { startAtMs: number; events: FaultEvent[] };
  /** Set by runSegment: the measured window's resource sampler (closed at the send end). */
  readonly meter: { sampler: ResourceSampler | undefined };
  /** A relay segment with an alongside reference: the reference's workers, counted in its CPU. */
  readonly alongsideWorkers?: readonly Worker[];
  /** The alongside reference itself: its workers go here; no sampler and no progress view of its own. */
  readonly companionOf?: Worker[];
}

/** What a running segment holds; released in runSegment's `finally`. */
interface Held {
  /** The hard deadline. */
  timer?: NodeJS.Timeout;
  /** The resource window's start and end. */
  readonly edges: NodeJS.Timeout[];
  faultRun?: FaultRun;
  /** The view starts after the last log line of the segment, so a TTY bar is not interleaved. */
  view?: ProgressView;
  /** Every worker's result came in. */
  completed: boolean;
}

export async function runSegment(cfg: RunConfig, deps: SegmentDeps, c: SegmentContext): Promise<WorkerResult[]> {
  const s = cfg.scenario;
  const ports = await deps.freePorts(s.workers);
  const lead = startLeadMs(s);
  const startAtMs = Date.now() + lead;
  c.faultLog.startAtMs = startAtMs;
  const plans = workerPlans(s, c.seg, {
    runId: c.runId,
    segmentIndex: c.index,
    relayUrls: c.fleet.relays.map((r) => r.url),
    brokers: c.kafka.brokers,
    tokenSecret: c.tokenSecret,
    startAtMs,
    metricsPorts: ports,
    kafkaClient: cfg.kafkaClient,
  });
  const workers = plans.map((p) => deps.createWorker(p.workerId, join(c.dir, 'workers')));
  // Concurrent segments (an alongside reference) share `running`: each adds its own workers.
  c.running.push(...workers);
  c.companionOf?.push(...workers);
  const held: Held = { edges: [], completed: false };
  try {
    const scrape = workerScrapeTargets(c.prometheus, ports, plans, c.log);
    const faultFailed = startSegmentFaults(s, c, startAtMs, scrape, held);
    await startWorkers(workers, plans, c.interruption, held);
    c.log(`segment ${c.seg.name}: ${workers.length} worker(s) start sending in ${Math.round(lead / 1000)} s`);
    if (c.companionOf === undefined) meterWindow(c, workers, startAtMs, held);
    held.view = createProgressView({
      label: c.seg.name,
      workers: plans.length,
      stream: deps.stderr,
      enabled: cfg.progress && c.companionOf === undefined,
    });
    void scrape?.update(c.fleet.metricsUrls());
    // A hard deadline: the planned wall time plus slack; past it, workers are stopped (they still write results).
    const deadlineMs = lead + segmentWallMs(c.seg, s) + 120_000;
    const results = await workerResults(c, workers, deadlineMs, faultFailed, held);
    held.completed = true;
    return results;
  } finally {
    await release(c, held);
  }
}

/** Server-side faults fire at startAtMs + offset (checked before any worker starts); returns what rejects when one fails. */
function startSegmentFaults(
  s: Scenario,
  c: SegmentContext,
  startAtMs: number,
  scrape: SegmentTargets | undefined,
  held: Held,
): Promise<never> {
  if (c.seg.mode === 'relay' && s.faults.length > 0)
    held.faultRun = startFaults({
      faults: s.faults,
      startAtMs,
      fleet: c.fleet,
      kafka: c.kafka,
      log: c.log,
      onFleetChange: () => void scrape?.update(c.fleet.metricsUrls()),
    });
  return held.faultRun?.failed ?? new Promise<never>(() => {});
}

async function startWorkers(
  workers: readonly Worker[],
  plans: readonly WorkerPlan[],
  interruption: Interruption,
  held: Held,
): Promise<void> {
  for (const [i, w] of workers.entries()) {
    w.onProgress((p) => held.view?.update(p));
    await w.start(plans[i]!);
    // Started after the signal's stop(): stop it too (stop() is a no-op before start()).
    if (interruption.signal !== undefined) await w.stop();
  }
}

/** The measured window (warm-up end → send end) is the resource window: a sampler opened and closed on time. */
function meterWindow(c: SegmentContext, workers: readonly Worker[], startAtMs: number, held: Held): void {
  const sampler = new ResourceSampler({
    processes: () => runProcesses(c.kafka, c.fleet, [...workers, ...(c.alongsideWorkers ?? [])], c.seg.mode, c.prometheus?.pid),
    counters: () => readRelayCounters(c.fleet.metricsUrls()),
  });
  c.meter.sampler = sampler;
  const measureStartMs = startAtMs + c.seg.warmupMs;
  held.edges.push(setTimeout(() => sampler.begin(), Math.max(0, measureStartMs - Date.now())));
  held.edges.push(setTimeout(() => sampler.close(), Math.max(0, measureStartMs + c.seg.durationMs - Date.now())));
}

/** Every worker's result, unless the relays or a fault fail first; past the deadline the workers are stopped. */
async function workerResults(
  c: SegmentContext,
  workers: readonly Worker[],
  deadlineMs: number,
  faultFailed: Promise<never>,
  held: Held,
): Promise<WorkerResult[]> {
  const overrun = new Promise<void>((resolve) => (held.timer = setTimeout(resolve, deadlineMs)));
  const all = Promise.all(workers.map((w) => w.result()));
  const first = await Promise.race([all.then(() => 'done' as const), overrun.then(() => 'overrun' as const), c.fleet.failed, faultFailed]);
  clearTimeout(held.timer);
  if (first === 'overrun') {
    c.notes.push(`segment ${c.seg.name} overran its planned time by 2 minutes; its workers were stopped early`);
    c.log(`segment ${c.seg.name}: overran; stopping the workers`);
    await Promise.all(workers.map((w) => w.stop()));
  }
  return await Promise.race([all, c.fleet.failed, faultFailed]);
}

async function release(c: SegmentContext, held: Held): Promise<void> {
  // Also on failure: a pending deadline timer would keep the process alive for minutes.
  clearTimeout(held.timer);
  for (const t of held.edges) clearTimeout(t);
  c.meter.sampler?.close();
  held.view?.end();
  if (held.faultRun !== undefined) {
    // After a failure or an interruption, no waiting for recoveries still in progress.
    await held.faultRun.stop(held.completed && c.interruption.signal === undefined);
    c.faultLog.events.push(...held.faultRun.events());
  }
}
