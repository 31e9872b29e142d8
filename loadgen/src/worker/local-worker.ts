/**
 * Runs one WorkerPlan in this process (STYLE §10: the same Worker interface as a remote worker).
 * Phases: connecting (paced connects, keys published, contacts' keys prefetched, initially
 * offline users go offline) → wait for startAtMs → warmup → measuring (open-loop sends; intervals
 * cut every second) → draining (offline users come back; wait until every message is complete or
 * drainMs passed) → done (ledger.finish(), WorkerResult).
 *
 * Timing: every latency is µs on this process's clock; warm-up intervals are dropped from the
 * result (the ledger still counts every message). Concurrency: one event loop; start() returns
 * once the run is under way, result() resolves at its end, stop() ends sending early and still
 * produces a result (with a short drain).
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { Ledger } from '../ledger.js';
import { LoadgenMetrics, serveMetrics } from '../metrics.js';
import { loadgenError } from '../errors.js';
import { systemClock, type Clock } from '../rate/clock.js';
import { createSizeSampler } from '../rate/distributions.js';
import { createPrng } from '../rate/prng.js';
import { createSchedule } from '../rate/schedule.js';
import { StageRecorder } from '../stats/recorder.js';
import type { Stage } from '../stats/stages.js';
import type { Target } from '../driver/target.js';
import { RelayTarget } from '../driver/relay-driver.js';
import { KafkaDirectTarget } from '../driver/kafka-direct-driver.js';
import { DelayQueue } from '../users/delay-queue.js';
import type { MeasurementSink } from '../users/sink.js';
import { VirtualUser, type UserHealthSink } from '../users/virtual-user.js';
import { createAudience } from './audience.js';
import { ClientFaultRunner } from './client-faults.js';
import { DisruptionLog } from './disruptions.js';
import type { Worker, WorkerPlan, WorkerProgress, WorkerResult } from './contract.js';
import { runConnectPhase } from './connect-phase.js';
import { drainUntilQuiet } from './drain.js';
import { IntervalBook } from './interval-book.js';
import { OpenLoop } from './open-loop.js';
import { validatePlan } from './plan.js';

export interface LocalWorkerOptions {
  readonly clock?: Clock;
  /** Builds the target for a plan (tests inject); default: relay or kafka-direct by plan.mode. */
  readonly targetFactory?: (plan: WorkerPlan) => Target;
  /** Metrics registry (default: a fresh one; never prom-client's global registry). */
  readonly registry?: Registry;
  /** Sees every latency sample as recorded (µs); for tests. Must not block. */
  readonly onSample?: (stage: Stage, valueUs: number) => void;
}

type Phase = WorkerProgress['phase'];

export function defaultTarget(plan: WorkerPlan): Target {
  return plan.mode === 'relay'
    ? new RelayTarget({ relays: plan.relays, sourceAddresses: plan.sourceAddresses, routingHint: plan.routingHint ?? true })
    : new KafkaDirectTarget({
        brokers: plan.brokers,
        workerId: plan.workerId,
        ...(plan.directPartitions === undefined ? {} : { partitions: plan.directPartitions }),
      });
}

export class LocalWorker implements Worker {
  readonly id: string;
  readonly #options: LocalWorkerOptions;
  readonly #clock: Clock;
  readonly #listeners: ((p: WorkerProgress) => void)[] = [];
  #result: Promise<WorkerResult> | null = null;
  #stopRequested = false;
  #onStop: (() => void) | null = null;

  constructor(id: string, options: LocalWorkerOptions = {}) {
    this.id = id;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  async start(planInput: WorkerPlan): Promise<void> {
    const plan = validatePlan(planInput);
    this.#result = this.#run(plan);
    this.#result.catch(() => {}); // surfaced through result()
  }

  onProgress(listener: (p: WorkerProgress) => void): void {
    this.#listeners.push(listener);
  }

  result(): Promise<WorkerResult> {
    if (this.#result === null) return Promise.reject(loadgenError('RB_LOADGEN_BAD_PLAN', 'start() was not called.'));
    return this.#result;
  }

  async stop(): Promise<void> {
    this.#stopRequested = true;
    this.#onStop?.();
  }

  #nowMs(): number {
    return this.#clock.nowUs() / 1000;
  }

  async #run(plan: WorkerPlan): Promise<WorkerResult> {
    const w = plan.workload;
    const startedMs = this.#nowMs();
    const relayMode = plan.mode === 'relay';
    const ledger = new Ledger({ expectDeliveredReceipts: relayMode, expectReadReceipts: relayMode });
    const registry = this.#options.registry ?? new Registry();
    const metrics =
      plan.metricsPort >= 0 ? new LoadgenMetrics(registry, { worker: plan.workerId, runId: plan.runId ?? plan.workerId }) : null;
    const server = metrics === null ? null : await serveMetrics(registry, plan.metricsPort);
    const target = (this.#options.targetFactory ?? defaultTarget)(plan);
    const recorder = new StageRecorder({ startMs: startedMs });
    const book = new IntervalBook(recorder, plan.maxScheduleLagUs, metrics);
    const readQueue = new DelayQueue(w.readDelayMs);
    const timers = new Set<NodeJS.Timeout>();
    let phase: Phase = 'connecting';
    let errors = 0;
    let peakConnections = 0;
    let loop: OpenLoop | null = null;
    let drain: WorkerResult['drain'];
    const plannedMs = w.warmupMs + w.durationMs;
    let startMs = Number.NaN;

    const emit = (fraction?: number): void => {
      peakConnections = Math.max(peakConnections, target.openConnections);
      metrics?.connections.set(target.openConnections);
      metrics?.syncLedger(ledger.liveCounts());
      const f = book.last;
      const p: WorkerProgress = {
        workerId: plan.workerId,
        elapsedMs: Math.round(this.#nowMs() - startedMs),
        phase,
        sentPerSec: f.sent / f.seconds,
        deliveredPerSec: f.delivered / f.seconds,
        p50Us: f.p50Us,
        p99Us: f.p99Us,
        errors,
        connected: target.openConnections,
        ...(fraction === undefined ? {} : { fraction }),
        ...(server === null ? {} : { metricsUrl: server.url }),
      };
      for (const l of this.#listeners) l(p);
    };
    const tap = this.#options.onSample;
    const sink: MeasurementSink = {
      latency: (stage, us) => {
        recorder.record(stage, us);
        tap?.(stage, us);
        metrics?.observe(stage, us);
      },
      sent: () => book.countSent(),
      acked: () => book.countAcked(),
      delivered: () => book.countDelivered(),
      error: (code) => {
        errors++;
        metrics?.error(code);
      },
    };
    const prng = createPrng(w.seed);
    const sizes = createSizeSampler(w.sizes.kind === 'lognormal' ? { ...w.sizes, minBytes: 1 } : w.sizes, prng);
    const maxBytes = w.sizes.kind === 'fixed' ? w.sizes.bytes : w.sizes.maxBytes;
    const pool = new Uint8Array(randomBytes(maxBytes));
    const disruptions = new DisruptionLog();
    let faults: ClientFaultRunner | null = null;
    const health: UserHealthSink = {
      disrupted: (userId, code, atMs) => {
        disruptions.disrupted(userId, code, atMs);
        faults?.disrupted(userId, code, atMs);
      },
      working: (userId, atMs) => {
        disruptions.working(userId, atMs);
        faults?.working(userId, atMs);
      },
      reconnected: (userId, atMs) => faults?.reconnected(userId, atMs),
    };
    const deps = {
      target,
      tokenSecret: plan.tokenSecret,
      ledger,
      sink,
      clock: this.#clock,
      readQueue,
      plaintext: () => pool.subarray(0, sizes()),
      maxInFlight: w.maxInFlightPerUser ?? 1000,
      health,
    };
    const users = Array.from({ length: w.users }, (_, i) => new VirtualUser(`${plan.userPrefix}${i}`, deps));
    metrics?.users.set(w.users);
    const audience = createAudience(w.recipients, w.users, prng);
    const connectTicker = setInterval(() => emit(), 1000);

    try {
      await target.init();
      const offline = await runConnectPhase({
        users,
        audience,
        connectRatePerSec: plan.connectRatePerSec ?? 500,
        onlineFraction: w.onlineFraction,
        prng,
        stopRequested: () => this.#stopRequested,
      });
      clearInterval(connectTicker);

      // Start together with the other workers (or now, if that instant has passed).
      const waitMs = plan.startAtMs - this.#nowMs();
      if (waitMs > 0 && !this.#stopRequested)
        await new Promise<void>((r) => {
          const t = setTimeout(r, waitMs);
          this.#onStop = () => {
            clearTimeout(t);
            r();
          };
        });
      startMs = this.#nowMs();
      const measureStartMs = startMs + w.warmupMs;
      const sendEndMs = measureStartMs + w.durationMs;
      recorder.cutInterval(startMs); // drop anything recorded while connecting
      phase = w.warmupMs > 0 ? 'warmup' : 'measuring';
      if (w.warmupMs === 0) book.startMeasuring();

      // Users offline from the start come back during the run (store and forward).
      const backOnline = (i: number, afterMs: number): void => {
        const t = setTimeout(() => {
          timers.delete(t);
          users[i]!.connect().then(
            () => offline.delete(i),
            (e) => sink.error(codeOf(e)),
          );
        }, afterMs);
        timers.add(t);
      };
      for (const i of offline) backOnline(i, w.offlineMs * (0.5 + prng.next()));

      // Client faults run on their own timers: a slow reader's resume must still come during the drain.
      if ((plan.clientFaults ?? []).length > 0) {
        faults = new ClientFaultRunner({ faults: plan.clientFaults ?? [], users, seed: w.seed, nowMs: () => this.#nowMs() });
        faults.arm();
      }

      // Interval cuts: every second, plus one exactly at the end of the warm-up.
      let nextCutMs = Math.min(startMs + 1000, w.warmupMs > 0 ? measureStartMs : Number.POSITIVE_INFINITY);
      const armCut = (): void => {
        const t = setTimeout(
          () => {
            timers.delete(t);
            const nowMs = this.#nowMs();
            book.cut(nowMs);
            emit(Math.min(1, (nowMs - startMs) / plannedMs)); // with the phase of the interval just closed
            if (phase === 'warmup' && nowMs >= measureStartMs - 1) {
              phase = 'measuring';
              book.startMeasuring();
            }
            nextCutMs = nextCutMs < measureStartMs ? Math.min(nextCutMs + 1000, measureStartMs) : nextCutMs + 1000;
            armCut();
          },
          Math.max(0, nextCutMs - this.#nowMs()),
        );
        timers.add(t);
      };
      armCut();

      // Churn: online users drop offline for offlineMs with probability churnPerSec each second.
      if (w.churnPerSec > 0) {
        const churn = setInterval(() => {
          for (let i = 0; i < users.length; i++) {
            if (offline.has(i) || !users[i]!.online || prng.next() >= w.churnPerSec) continue;
            offline.add(i);
            users[i]!.goOffline().then(
              () => backOnline(i, w.offlineMs),
              () => {},
            );
          }
        }, 1000);
        timers.add(churn);
      }

      // Open-loop sends.
      const schedule = createSchedule({
        kind: w.arrivals,
        ratePerSec: w.ratePerSec / audience.fanout,
        rampUpMs: w.rampUpMs,
        startUs: startMs * 1000,
        seed: w.seed + 1,
      });
      metrics?.targetRate.set(w.ratePerSec);
      const pickSender = (): number => {
        for (let k = 0; k < 16; k++) {
          const i = Math.floor(prng.next() * users.length);
          if (users[i]!.online) return i;
        }
        return -1;
      };
      loop = new OpenLoop({
        schedule,
        endUs: sendEndMs * 1000,
        clock: this.#clock,
        dispatch: (intendedUs) => {
          const s = pickSender();
          if (s < 0) return sink.error('RB_LOADGEN_SENDER_OFFLINE');
          for (const r of audience.recipients(s)) {
            sink.latency('scheduleLag', this.#clock.nowUs() - intendedUs);
            users[s]!.send(users[r]!.id, intendedUs);
          }
        },
      });
      const running = loop;
      this.#onStop = () => running.stop();
      if (this.#stopRequested) loop.stop();
      await loop.run();
      metrics?.targetRate.set(0);

      // Drain: everybody online, then wait for the last deliveries and receipts.
      phase = 'draining';
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      timers.clear();
      armCut();
      await Promise.all([...offline].map((i) => users[i]!.connect().catch((e) => sink.error(codeOf(e)))));
      drain = await drainUntilQuiet({
        drainMs: w.drainMs,
        nowMs: () => this.#nowMs(),
        pending: () => ledger.pending,
        progress: () => ledger.progress,
        queued: () => users.some((u) => u.queued > 0),
        reconnecting: () => users.some((u) => u.connected && !u.online),
        stopRequested: () => this.#stopRequested,
      });
    } catch (e) {
      await target.close().catch(() => {});
      recorder.close();
      await server?.close();
      throw e;
    } finally {
      faults?.finish();
      clearInterval(connectTicker);
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      loop?.stop();
      readQueue.close();
    }
    const endedMs = this.#nowMs();
    book.cut(endedMs);
    phase = 'done';
    const counts = ledger.finish();
    metrics?.syncLedger(counts);
    emit(1);
    await target.close();
    recorder.close();
    await server?.close();
    return {
      workerId: plan.workerId,
      mode: plan.mode,
      startedMs,
      measureStartMs: startMs + w.warmupMs,
      endedMs,
      plan,
      ledger: counts,
      intervals: book.intervals,
      counts: book.counts,
      targetRatePerSec: w.ratePerSec,
      achievedRatePerSec: book.achievedRatePerSec(startMs + w.warmupMs + w.durationMs),
      generatorBound: book.generatorBound,
      maxScheduleLagUs: book.maxScheduleLagUs,
      peakConnections,
      rssBytes: process.memoryUsage().rss,
      ...(drain === undefined ? {} : { drain }),
      ...(counts.lost > 0 ? { lostIds: ledger.lostIds() } : {}),
      ...(server === null ? {} : { metricsUrl: server.url }),
      disruptions: disruptions.toArray(),
      ...(faults === null ? {} : { faultEvents: [...faults.events] }),
    };
  }
}

function codeOf(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'RB_LOADGEN_CONNECT';
}
