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
import type { Registry } from 'prom-client';
import { loadgenError } from '../errors.js';
import { systemClock, type Clock } from '../rate/clock.js';
import type { Stage } from '../stats/stages.js';
import type { Target } from '../driver/target.js';
import { RelayTarget } from '../driver/relay-driver.js';
import { KafkaDirectTarget } from '../driver/kafka-direct-driver.js';
import type { Worker, WorkerPlan, WorkerProgress, WorkerResult } from './contract.js';
import { runConnectPhase } from './connect-phase.js';
import { drainUntilQuiet } from './drain.js';
import { perSecond } from './interval-book.js';
import type { IntervalCuts } from './interval-cuts.js';
import { codeOf, runLoadPhase } from './load-phase.js';
import { validatePlan } from './plan.js';
import { assembleResult } from './run-result.js';
import { setUpRun, type Run } from './run-setup.js';

export interface LocalWorkerOptions {
  readonly clock?: Clock;
  /** Builds the target for a plan (tests inject); default: relay or kafka-direct by plan.mode. */
  readonly targetFactory?: (plan: WorkerPlan) => Target;
  /** Metrics registry (default: a fresh one; never prom-client's global registry). */
  readonly registry?: Registry;
  /** Sees every latency sample as recorded (µs); for tests. Must not block. */
  readonly onSample?: (stage: Stage, valueUs: number) => void;
}

export function defaultTarget(plan: WorkerPlan): Target {
  return plan.mode === 'relay'
    ? new RelayTarget({ relays: plan.relays, sourceAddresses: plan.sourceAddresses, routingHint: plan.routingHint ?? true })
    : new KafkaDirectTarget({
        brokers: plan.brokers,
        workerId: plan.workerId,
        ...(plan.directPartitions === undefined ? {} : { partitions: plan.directPartitions }),
        ...(plan.kafkaClient === undefined ? {} : { client: plan.kafkaClient }),
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
    const startedMs = this.#nowMs();
    const o = this.#options;
    const run = await setUpRun(plan, { ...o, clock: this.#clock, startedMs, targetFactory: o.targetFactory ?? defaultTarget });
    const emit = (fraction?: number): void => this.#emit(run, fraction);
    const connectTicker = setInterval(() => emit(), 1000);
    let startMs = Number.NaN;
    let drain: WorkerResult['drain'];
    try {
      await run.target.init();
      const offline = await runConnectPhase({
        users: run.users,
        audience: run.audience,
        connectRatePerSec: plan.connectRatePerSec ?? 500,
        onlineFraction: run.w.onlineFraction,
        prng: run.prng,
        stopRequested: () => this.#stopRequested,
      });
      clearInterval(connectTicker);
      await this.#waitUntil(plan.startAtMs);
      startMs = this.#nowMs();
      const cuts = await runLoadPhase({
        run,
        offline,
        startMs,
        clock: this.#clock,
        nowMs: () => this.#nowMs(),
        emit,
        stopRequested: () => this.#stopRequested,
        onStop: (stop) => (this.#onStop = stop),
      });
      drain = await this.#drainPhase(run, offline, cuts);
    } catch (e) {
      await run.target.close().catch(() => {});
      run.recorder.close();
      await run.server?.close();
      throw e;
    } finally {
      run.state.faults?.finish();
      clearInterval(connectTicker);
      clearTimers(run.timers);
      run.state.loop?.stop();
      run.readQueue.close();
    }
    return this.#finish(run, startMs, drain);
  }

  /** Start together with the other workers (or now, if that instant has passed). */
  async #waitUntil(startAtMs: number): Promise<void> {
    const waitMs = startAtMs - this.#nowMs();
    if (waitMs > 0 && !this.#stopRequested)
      await new Promise<void>((r) => {
        const t = setTimeout(r, waitMs);
        this.#onStop = () => {
          clearTimeout(t);
          r();
        };
      });
  }

  /** Drain: everybody online, then wait for the last deliveries and receipts. */
  async #drainPhase(run: Run, offline: Set<number>, cuts: IntervalCuts): Promise<WorkerResult['drain']> {
    const { users, ledger, sink } = run;
    run.state.phase = 'draining';
    clearTimers(run.timers);
    run.timers.clear();
    cuts.arm();
    await Promise.all([...offline].map((i) => users[i]!.connect().catch((e) => sink.error(codeOf(e)))));
    return drainUntilQuiet({
      drainMs: run.w.drainMs,
      nowMs: () => this.#nowMs(),
      pending: () => ledger.pending,
      progress: () => ledger.progress,
      queued: () => users.some((u) => u.queued > 0),
      reconnecting: () => users.some((u) => u.connected && !u.online),
      stopRequested: () => this.#stopRequested,
    });
  }

  /** The last cut, the ledger's final counts, a last progress report; then everything closes. */
  async #finish(run: Run, startMs: number, drain: WorkerResult['drain']): Promise<WorkerResult> {
    const endedMs = this.#nowMs();
    run.book.cut(endedMs);
    run.state.phase = 'done';
    const counts = run.ledger.finish();
    run.metrics?.syncLedger(counts);
    this.#emit(run, 1);
    await run.target.close();
    run.recorder.close();
    await run.server?.close();
    return assembleResult(run, { startMs, endedMs, counts, drain });
  }

  #emit(run: Run, fraction?: number): void {
    const { target, metrics, state } = run;
    state.peakConnections = Math.max(state.peakConnections, target.openConnections);
    metrics?.connections.set(target.openConnections);
    metrics?.syncLedger(run.ledger.liveCounts());
    const f = run.book.last;
    const p: WorkerProgress = {
      workerId: run.plan.workerId,
      elapsedMs: Math.round(this.#nowMs() - run.startedMs),
      phase: state.phase,
      sentPerSec: perSecond(f, f.sent),
      deliveredPerSec: perSecond(f, f.delivered),
      p50Us: f.p50Us,
      p99Us: f.p99Us,
      errors: state.errors,
      connected: target.openConnections,
      ...(fraction === undefined ? {} : { fraction }),
      ...(run.server === null ? {} : { metricsUrl: run.server.url }),
    };
    for (const l of this.#listeners) l(p);
  }
}

function clearTimers(timers: Set<NodeJS.Timeout>): void {
  for (const t of timers) {
    clearTimeout(t);
    clearInterval(t);
  }
}
