/**
 * Synthetic WorkerResults for unit and report tests: real HdrHistograms recorded with the
 * loadgen's StageRecorder (so merge, hlog and percentiles run on the real code paths) and a
 * ledger whose counts add up. Deterministic for a given seed.
 */
import type { LedgerCounts } from '../../loadgen/src/ledger.js';
import { StageRecorder } from '../../loadgen/src/stats/recorder.js';
import type { Stage } from '../../loadgen/src/stats/stages.js';
import type { IntervalCounts, WorkerPlan, WorkerResult } from '../../loadgen/src/worker/contract.js';
import { emptyLedger } from '../../loadgen/src/ledger.js';

export interface SyntheticOptions {
  readonly workerId?: string;
  readonly mode?: 'relay' | 'kafka-direct';
  readonly startMs?: number;
  readonly intervals?: number;
  readonly ratePerSec?: number;
  readonly seed?: number;
  /** Multiplies every latency; a function of the interval index for shifts inside a run. */
  readonly scale?: number | ((interval: number) => number);
  readonly lost?: number;
  readonly generatorBound?: boolean;
  /** Record storeForward samples (offline users). */
  readonly storeForward?: boolean;
}

/** Median latencies (µs) of each stage in the synthetic model. */
const MEDIAN_US: Partial<Record<Stage, number>> = {
  scheduleLag: 80,
  ack: 4_000,
  e2eCorrected: 12_000,
  e2eUncorrected: 11_000,
  deliveredReceipt: 24_000,
  readReceipt: 230_000,
  hopClientToGateway: 300,
  hopGatewayToProduce: 3_500,
  hopProduceToRouter: 5_000,
  hopRouterToGateway: 900,
  hopGatewayToClient: 400,
};

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal around `median` with a heavy-ish tail (sigma 0.5). */
function lognormal(rand: () => number, median: number): number {
  const u = Math.max(1e-12, rand());
  const v = rand();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(0.5 * z);
}

export function syntheticWorkerResult(o: SyntheticOptions = {}): WorkerResult {
  const workerId = o.workerId ?? 'w0';
  const startMs = o.startMs ?? 1_780_000_000_000;
  const n = o.intervals ?? 30;
  const rate = o.ratePerSec ?? 200;
  const rand = prng(o.seed ?? 1);
  const scaleAt = typeof o.scale === 'function' ? o.scale : () => (o.scale as number | undefined) ?? 1;
  const recorder = new StageRecorder({ startMs, useWebAssembly: false });
  const counts: IntervalCounts[] = [];
  const intervals = [];
  let sent = 0;
  for (let i = 0; i < n; i++) {
    const scale = scaleAt(i);
    for (let k = 0; k < rate; k++) {
      for (const [stage, median] of Object.entries(MEDIAN_US) as [Stage, number][]) {
        if (o.mode === 'kafka-direct' && stage.startsWith('hop')) continue;
        recorder.record(stage, lognormal(rand, stage === 'scheduleLag' ? median : median * scale));
      }
      if (o.storeForward === true && k % 10 === 0) recorder.record('storeForward', lognormal(rand, 4_000_000));
    }
    const endMs = startMs + (i + 1) * 1000;
    intervals.push(recorder.cutInterval(endMs));
    counts.push({ startMs: endMs - 1000, endMs, dispatched: rate, sent: rate, delivered: rate, acked: rate });
    sent += rate;
  }
  recorder.close();
  const lost = o.lost ?? 0;
  const ledger: LedgerCounts = {
    ...emptyLedger(),
    sent,
    acked: sent,
    delivered: sent - lost,
    deliveredReceipts: sent - lost,
    readReceipts: sent - lost,
    lost,
    errorsByCode: {},
  };
  const plan = {
    workerId,
    userPrefix: `${workerId}-u`,
    mode: o.mode ?? 'relay',
    relays: ['ws://127.0.0.1:1/'],
    brokers: ['127.0.0.1:9092'],
    tokenSecret: 'synthetic-secret-0123456789',
    sourceAddresses: [],
    workload: {
      users: 200,
      ratePerSec: rate,
      arrivals: 'poisson',
      rampUpMs: 0,
      durationMs: n * 1000,
      warmupMs: 0,
      drainMs: 1000,
      onlineFraction: 1,
      churnPerSec: 0,
      offlineMs: 0,
      recipients: { kind: 'uniform' },
      sizes: { kind: 'fixed', bytes: 200 },
      readDelayMs: 0,
      seed: o.seed ?? 1,
    },
    startAtMs: startMs,
    metricsPort: -1,
    maxScheduleLagUs: 10_000,
  } satisfies WorkerPlan;
  return {
    workerId,
    mode: o.mode ?? 'relay',
    startedMs: startMs - 2000,
    measureStartMs: startMs,
    endedMs: startMs + n * 1000 + 1000,
    plan,
    ledger,
    intervals,
    counts,
    targetRatePerSec: rate,
    achievedRatePerSec: rate,
    generatorBound: o.generatorBound ?? false,
    maxScheduleLagUs: o.generatorBound === true ? 80_000 : 900,
    peakConnections: 200,
    rssBytes: 150 * 2 ** 20,
  };
}
