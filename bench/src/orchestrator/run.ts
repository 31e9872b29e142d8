/**
 * `relaybench run`: the whole lifecycle of one run, in order —
 *   Kafka (provider) → relays (supervised) → Prometheus (when installed) → for each segment:
 *   workers (supervised, common start instant, live progress) → results → merge → objectives
 *   → results/<run-id>/ (summary.json, .hlog, report.html, summary.md, junit.xml)
 * Each segment's measured window (warm-up end → send end) is also a resource window: CPU
 * seconds and peak RSS of the broker(s), relays, workers and this process (resources/).
 * and, whatever happens, everything it started is stopped in reverse order (`finally`).
 * Ctrl-C (or SIGTERM): the run takes the first signal from the process supervisor, stops the
 * workers gracefully (they end sending, drain briefly and write their results), writes the
 * partial results with status `interrupted` (exit 130), then stops the rest. A second Ctrl-C
 * kills every child at once. Children run in their own process group, so a terminal's Ctrl-C
 * reaches only this process.
 * Collaborators are injected (RunDeps) so the lifecycle is tested without Kafka or processes.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KafkaCluster, LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import type { ProvisionOptions } from '../../../testbed/kafka/provider.js';
import type { CrossCheckResult, PrometheusPlan, PrometheusServer, ScrapeTarget, StartPrometheusOptions } from '../prometheus/index.js';
import { SegmentTargets, crossCheck } from '../prometheus/index.js';
import { onInterrupt } from '../../../testbed/process/supervisor.js';
import type { FaultEvent, Worker, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { startFaults, type FaultRun } from '../faults/executor.js';
import { segmentFaults } from '../faults/recovery.js';
import { resourceLine, type ProcessRef } from '../resources/accounting.js';
import { readRelayCounters } from '../resources/relay-counters.js';
import { ResourceSampler } from '../resources/sampler.js';
import { assembleSummary } from '../results/assemble.js';
import { makeRunId, writeRunFolder, type SegmentIntervals } from '../results/store.js';
import type { RunSummary, SegmentSummary } from '../results/summary.js';
import { summarizeSegment } from '../results/summarize.js';
import type { KafkaClientName } from '../../../relay/kafka/src/index.js';
import { describeConfig, type RunConfig } from './config.js';
import { machineInfo, relaybenchVersion } from './environment.js';
import { priorityText, type GeneratorPriority } from './generator-priority.js';
import { runError } from './errors.js';
import { startLeadMs, workerPlans } from './plans.js';
import { createProgressView, type ProgressView } from './progress.js';
import { planSegments, segmentWallMs, type SegmentSpec } from './segments.js';
import { printableSummary } from './print.js';

/** The relay tier as the run sees it (RelayFleet in production). */
export interface Fleet {
  /** `proc.pid` (when the relay is a local process) feeds the resource accounting. */
  readonly relays: readonly {
    readonly url: string;
    readonly httpUrl: string;
    readonly index?: number;
    readonly proc?: { readonly pid: number };
  }[];
  readonly failed: Promise<never>;
  scaleTo(count: number): Promise<void>;
  metricsUrls(): string[];
  stop(): Promise<void>;
}

export interface RunDeps {
  provisionKafka(options: ProvisionOptions): Promise<KafkaCluster>;
  createFleet(options: {
    brokers: readonly string[];
    partitions: number;
    tokenSecret: string;
    logDir: string;
    idPrefix: string;
    log: (l: string) => void;
    latencyProxies: boolean;
    /** The relays' Kafka client (RELAYBENCH_KAFKA_CLIENT in their environment). */
    kafkaClient: KafkaClientName;
  }): Fleet;
  createWorker(id: string, dir: string): Worker;
  freePorts(count: number): Promise<number[]>;
  detectPrometheus(mode: string): Promise<PrometheusPlan>;
  startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer>;
  /** Progress and log lines (stderr in the CLI). */
  readonly stderr: NodeJS.WriteStream;
  /** Final summary lines (stdout in the CLI). */
  readonly stdout: NodeJS.WritableStream;
  readonly now?: () => Date;
  /** How createWorker's workers are scheduled (absent: remote workers, or not said). */
  readonly generatorPriority?: GeneratorPriority;
}

export interface RunOutcome {
  readonly summary: RunSummary;
  readonly dir: string;
}

export async function runScenario(cfg: RunConfig, deps: RunDeps): Promise<RunOutcome> {
  const s = cfg.scenario;
  const runId = cfg.runId ?? makeRunId(s.name, deps.now?.() ?? new Date());
  const dir = resolve(cfg.resultsDir, runId);
  if (existsSync(dir)) throw runError('RB_RUN_BAD_OPTION', `${dir} already exists; pass another --run-id.`);
  // Resolved before anything starts: a bad --prometheus value is bad input, not a late failure.
  const plan = await deps.detectPrometheus(cfg.prometheus);
  await mkdir(join(dir, 'workers'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  copyFileSync(s.file, join(dir, 'scenario.yaml'));
  const logFile = join(dir, 'run.log');
  const log = (line: string) => {
    deps.stderr.write(`${line}\n`);
    appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  };
  const running: Worker[] = [];
  const interruption = { signal: undefined as NodeJS.Signals | undefined };
  const giveBackSignals = onInterrupt((signal) => {
    interruption.signal = signal;
    writeFileSync(
      join(dir, 'INTERRUPTED'),
      `Interrupted by ${signal} at ${new Date().toISOString()}; the workers were stopped and partial results written.\n`,
    );
    log(
      `${signal}: stopping the workers; partial results follow (${signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal'} kills everything at once)`,
    );
    for (const w of running) void w.stop().catch(() => {});
  });

  const segments = planSegments(s, cfg.referenceTiming);
  log(`run ${runId} → ${dir}`);
  for (const line of describeConfig(cfg)) log(`  ${line}`);
  const priority = deps.generatorPriority;
  if (priority !== undefined) log(`  workers scheduled: ${priorityText(priority)}`);
  log(
    `  plan: ${segments
      .map(
        (g, i) =>
          `${i === 0 ? '' : g.alongside === true ? ' ‖ alongside ' : ' → '}${g.name} (${g.mode}${g.mode === 'relay' ? `, ${g.relays} relay(s)` : ''}, ${g.ratePerSec}/s, ~${Math.round(segmentWallMs(g, s) / 1000)} s)`,
      )
      .join('')}`,
  );

  const notes: string[] = [];
  let kafka: KafkaCluster | undefined;
  let fleet: Fleet | undefined;
  let prometheus: PrometheusServer | undefined;
  let prometheusInfo: RunSummary['prometheus'] = { status: 'off', url: null };
  let prometheusVersion: string | null = null;
  try {
    kafka = await deps.provisionKafka({
      ...(cfg.brokers === undefined ? {} : { brokers: cfg.brokers }),
      provider: cfg.kafkaProvider,
      count: s.brokers,
      dir: join(dir, 'kafka'),
      log,
    });
    log(`kafka: ${kafka.provider}, ${kafka.brokers.join(',')}${kafka.kafkaVersion === undefined ? '' : `, Kafka ${kafka.kafkaVersion}`}`);
    const tokenSecret = randomBytes(24).toString('hex');
    const latencyProxies = s.faults.some((f) => f.action === 'latency');
    fleet = deps.createFleet({
      brokers: kafka.brokers,
      partitions: s.partitions,
      tokenSecret,
      logDir: join(dir, 'logs'),
      idPrefix: runId.replace(/[^A-Za-z0-9_.-]/g, '_'),
      log,
      latencyProxies,
      kafkaClient: cfg.kafkaClient,
    });
    const firstRelays = segments.find((g) => g.mode === 'relay')?.relays ?? s.relays;
    await Promise.race([fleet.scaleTo(firstRelays), fleet.failed]);
    throwIfInterrupted(interruption);
    log(`relays ready: ${fleet.relays.map((r) => r.url).join(' ')}`);

    if (plan.kind === 'none') {
      log(`prometheus: ${plan.message}`);
      prometheusInfo = { status: plan.reason === 'off' ? 'off' : 'not installed', url: null };
    } else if (plan.kind === 'external') {
      log(`prometheus: using ${plan.url} (it must scrape the relays and workers itself)`);
      prometheusInfo = { status: 'external', url: plan.url };
    } else {
      try {
        prometheus = await deps.startPrometheus({
          runDir: dir,
          targets: relayTargets(fleet),
          runId,
          scenario: s.name,
          binary: plan.binary,
        });
        prometheusVersion = plan.version;
        prometheusInfo = { status: 'started', url: prometheus.url };
        log(`prometheus ${plan.version}: ${prometheus.url} (data in ${prometheus.dataDir})`);
      } catch (e) {
        log(`prometheus: could not start (${e instanceof Error ? e.message : String(e)}); the run continues without it`);
        prometheusInfo = { status: 'failed to start', url: null };
      }
    }

    const done: SegmentSummary[] = [];
    const intervals: SegmentIntervals[] = [];
    /** Summarises one segment's results into `done`; true when the run stops after it (a ramp step that broke). */
    const recordSegment = async ({ seg, faultLog, meter }: SegmentContext, results: WorkerResult[]): Promise<boolean> => {
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
      if (resources !== undefined)
        log(`segment ${seg.name}: cpu over ${Math.round(resources.windowMs / 1000)} s: ${resourceLine(resources)}`);
      done.push(summary);
      intervals.push(segIntervals);
      log(
        `segment ${seg.name}: sent ${merged.ledger.sent} delivered ${merged.ledger.delivered} lost ${merged.ledger.lost} · ${merged.achievedRatePerSec}/${merged.targetRatePerSec} msg/s · e2e p99 ${(merged.stages.e2eCorrected.p99 / 1000).toFixed(1)} ms${seg.mode === 'relay' ? ` · objectives ${summary.held ? 'held' : 'BROKEN'}` : ''}${merged.generatorBound ? ' · GENERATOR-BOUND' : ''}`,
      );
      if (seg.stopWhenBroken && (!summary.held || merged.generatorBound)) {
        log(`ramp: ${seg.name} did not hold; stopping the ramp here`);
        return true;
      }
      return false;
    };
    for (let index = 0; index < segments.length; index++) {
      const seg = segments[index]!;
      if (interruption.signal !== undefined) break;
      if (seg.mode === 'relay' && seg.relays !== fleet.relays.length) {
        log(`scaling the relay tier to ${seg.relays}`);
        await Promise.race([fleet.scaleTo(seg.relays), fleet.failed]);
      }
      const next = segments[index + 1];
      const companion = next?.alongside === true ? next : undefined;
      // An alongside reference shares the window: its workers count in this segment's CPU.
      const alongsideWorkers: Worker[] = [];
      const contexts = [seg, ...(companion === undefined ? [] : [companion])].map((g, k): SegmentContext => ({
        seg: g,
        index: index + k,
        runId,
        dir,
        kafka: kafka!,
        fleet: fleet!,
        tokenSecret,
        prometheus,
        running,
        log,
        notes,
        interruption,
        faultLog: { startAtMs: 0, events: [] },
        meter: { sampler: undefined },
        ...(k === 0 ? { alongsideWorkers } : { companionOf: alongsideWorkers }),
      }));
      if (companion !== undefined) {
        log(`segment ${companion.name}: kafka-direct at ${companion.ratePerSec}/s in the same window as ${seg.name}`);
        notes.push(
          `the kafka-direct reference ran alongside ${seg.name} at ${companion.ratePerSec} msg/s (same window); Kafka's CPU in ${seg.name} includes its traffic and its workers are counted there`,
        );
      }
      const outcomes = await Promise.all(contexts.map((c) => runSegment(cfg, deps, c)));
      index += contexts.length - 1;
      let stop = false;
      for (const [k, c] of contexts.entries()) {
        if (interruption.signal !== undefined && c.seg.mode !== 'relay' && done.length === 0) break;
        stop = (await recordSegment(c, outcomes[k]!)) || stop;
      }
      if (stop) break;
    }
    if (interruption.signal !== undefined) {
      notes.push(`interrupted by ${interruption.signal}: the results cover what ran until then`);
      if (!done.some((d) => d.mode === 'relay'))
        throw runError(
          'RB_RUN_INTERRUPTED',
          `Interrupted by ${interruption.signal} before a relay segment produced results; nothing to write.`,
        );
    }
    if (prometheus !== undefined)
      prometheusInfo = { ...prometheusInfo, crossCheck: await prometheusCrossCheck(prometheus, runId, done, intervals, log) };
    const summary = assembleSummary(
      {
        runId,
        createdAt: (deps.now?.() ?? new Date()).toISOString(),
        scenario: s,
        versions: {
          relaybench: relaybenchVersion(),
          node: process.versions.node,
          kafka: kafka.kafkaVersion ?? null,
          prometheus: prometheusVersion,
        },
        machine: machineInfo(),
        kafka: { provider: kafka.provider, brokers: kafka.brokers.length, partitions: s.partitions, client: cfg.kafkaClient },
        prometheus: prometheusInfo,
        interrupted: interruption.signal !== undefined,
        ...(priority === undefined
          ? {}
          : { generatorPriority: { requested: priority.requested, applied: priority.applied, detail: priority.detail } }),
        notes,
      },
      done,
    );
    await writeRunFolder(dir, summary, intervals);
    deps.stdout.write(printableSummary(summary, dir));
    return { summary, dir };
  } finally {
    giveBackSignals();
    const quietly = async (what: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (e) {
        log(`stopping ${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    await Promise.all(running.map((w) => quietly(`worker ${w.id}`, () => w.stop())));
    if (prometheus !== undefined) await quietly('prometheus', () => prometheus!.stop());
    if (fleet !== undefined) await quietly('relays', () => fleet!.stop());
    if (kafka !== undefined) await quietly('kafka', () => kafka!.stop());
    log('every process of the run is stopped');
  }
}

interface SegmentContext {
  readonly seg: SegmentSpec;
  readonly index: number;
  readonly runId: string;
  readonly dir: string;
  readonly kafka: KafkaCluster;
  readonly fleet: Fleet;
  readonly tokenSecret: string;
  readonly prometheus: PrometheusServer | undefined;
  readonly running: Worker[];
  readonly log: (line: string) => void;
  readonly notes: string[];
  readonly interruption: { readonly signal: NodeJS.Signals | undefined };
  /** Filled by runSegment for the fault executor's timeline (relay segments of a fault scenario). */
  readonly faultLog: { startAtMs: number; events: FaultEvent[] };
  /** Set by runSegment: the measured window's resource sampler (closed at the send end). */
  readonly meter: { sampler: ResourceSampler | undefined };
  /** A relay segment with an alongside reference: the reference's workers, counted in its CPU. */
  readonly alongsideWorkers?: readonly Worker[];
  /** The alongside reference itself: its workers go here; no sampler and no progress view of its own. */
  readonly companionOf?: Worker[];
}

function throwIfInterrupted(interruption: { readonly signal: NodeJS.Signals | undefined }): void {
  if (interruption.signal !== undefined)
    throw runError('RB_RUN_INTERRUPTED', `Interrupted by ${interruption.signal} before the load started; nothing to write.`);
}

async function runSegment(cfg: RunConfig, deps: RunDeps, c: SegmentContext): Promise<WorkerResult[]> {
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
  // The view starts after the last log line of the segment, so a TTY bar is not interleaved.
  let view: ProgressView | undefined;
  const workers = plans.map((p) => deps.createWorker(p.workerId, join(c.dir, 'workers')));
  // Concurrent segments (an alongside reference) share `running`: each adds its own workers.
  c.running.push(...workers);
  c.companionOf?.push(...workers);
  let timer: NodeJS.Timeout | undefined;
  const edges: NodeJS.Timeout[] = [];
  let faultRun: FaultRun | undefined;
  let completed = false;
  try {
    // Server-side faults fire at startAtMs + offset (checked before any worker starts).
    const scrape =
      c.prometheus === undefined
        ? undefined
        : new SegmentTargets(
            c.prometheus,
            ports.map((port, i): ScrapeTarget => ({
              url: `http://127.0.0.1:${port}/metrics`,
              role: 'loadgen',
              labels: { worker: plans[i]!.workerId },
            })),
            (e: unknown) => c.log(`prometheus: targets not updated (${e instanceof Error ? e.message : String(e)})`),
          );
    if (c.seg.mode === 'relay' && s.faults.length > 0)
      faultRun = startFaults({
        faults: s.faults,
        startAtMs,
        fleet: c.fleet,
        kafka: c.kafka,
        log: c.log,
        onFleetChange: () => void scrape?.update(c.fleet.metricsUrls()),
      });
    const faultFailed = faultRun?.failed ?? new Promise<never>(() => {});
    for (const [i, w] of workers.entries()) {
      w.onProgress((p) => view?.update(p));
      await w.start(plans[i]!);
      // Started after the signal's stop(): stop it too (stop() is a no-op before start()).
      if (c.interruption.signal !== undefined) await w.stop();
    }
    c.log(`segment ${c.seg.name}: ${workers.length} worker(s) start sending in ${Math.round(lead / 1000)} s`);
    if (c.companionOf === undefined) {
      const sampler = new ResourceSampler({
        processes: () => runProcesses(c.kafka, c.fleet, [...workers, ...(c.alongsideWorkers ?? [])], c.seg.mode, c.prometheus?.pid),
        counters: () => readRelayCounters(c.fleet.metricsUrls()),
      });
      c.meter.sampler = sampler;
      const measureStartMs = startAtMs + c.seg.warmupMs;
      edges.push(setTimeout(() => sampler.begin(), Math.max(0, measureStartMs - Date.now())));
      edges.push(setTimeout(() => sampler.close(), Math.max(0, measureStartMs + c.seg.durationMs - Date.now())));
    }
    view = createProgressView({
      label: c.seg.name,
      workers: plans.length,
      stream: deps.stderr,
      enabled: cfg.progress && c.companionOf === undefined,
    });
    void scrape?.update(c.fleet.metricsUrls());
    // A hard deadline: the planned wall time plus slack; past it, workers are stopped (they still write results).
    const deadlineMs = lead + segmentWallMs(c.seg, s) + 120_000;
    const overrun = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    const all = Promise.all(workers.map((w) => w.result()));
    const first = await Promise.race([
      all.then(() => 'done' as const),
      overrun.then(() => 'overrun' as const),
      c.fleet.failed,
      faultFailed,
    ]);
    clearTimeout(timer);
    if (first === 'overrun') {
      c.notes.push(`segment ${c.seg.name} overran its planned time by 2 minutes; its workers were stopped early`);
      c.log(`segment ${c.seg.name}: overran; stopping the workers`);
      await Promise.all(workers.map((w) => w.stop()));
    }
    const results = await Promise.race([all, c.fleet.failed, faultFailed]);
    completed = true;
    return results;
  } finally {
    // Also on failure: a pending deadline timer would keep the process alive for minutes.
    clearTimeout(timer);
    for (const t of edges) clearTimeout(t);
    c.meter.sampler?.close();
    view?.end();
    if (faultRun !== undefined) {
      // After a failure or an interruption, no waiting for recoveries still in progress.
      await faultRun.stop(completed && c.interruption.signal === undefined);
      c.faultLog.events.push(...faultRun.events());
    }
  }
}

/**
 * Prometheus' own view of the first relay segment (histogram_quantile over the classic buckets,
 * sent/delivered increases) beside the harness' HDR figures: a cross-check, never a gate.
 */
async function prometheusCrossCheck(
  prom: PrometheusServer,
  runId: string,
  done: readonly SegmentSummary[],
  intervals: readonly SegmentIntervals[],
  log: (line: string) => void,
): Promise<(CrossCheckResult & { hdrP99Seconds: number | null }) | { error: string }> {
  const k = done.findIndex((d) => d.mode === 'relay');
  const snaps = intervals[k]?.intervals ?? [];
  const startMs = snaps[0]?.startMs ?? Date.now() - 1000;
  const endMs = snaps.at(-1)?.endMs ?? Date.now();
  try {
    const result = await crossCheck(prom, { startMs, endMs, runId });
    const hdrP99 = done[k]?.stages.e2eCorrected.p99;
    log(
      `prometheus cross-check: histogram_quantile p99 ${result.p99Seconds === null ? 'n/a' : `${(result.p99Seconds * 1000).toFixed(1)} ms`} vs HDR p99 ${hdrP99 === undefined ? 'n/a' : `${(hdrP99 / 1000).toFixed(1)} ms`}`,
    );
    return { ...result, hdrP99Seconds: hdrP99 === undefined ? null : hdrP99 / 1e6 };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log(`prometheus cross-check failed: ${error}`);
    return { error };
  }
}

function relayTargets(fleet: Fleet): ScrapeTarget[] {
  return fleet.metricsUrls().map((url) => ({ url, role: 'relay' as const }));
}

/** The run's processes by role, for the resource accounting (processes this host can see). */
function runProcesses(
  kafka: KafkaCluster,
  fleet: Fleet,
  workers: readonly Worker[],
  mode: SegmentSpec['mode'],
  prometheusPid: number | undefined,
): ProcessRef[] {
  const out: ProcessRef[] = [{ role: 'orchestrator', name: 'orchestrator', pid: process.pid }];
  if (prometheusPid !== undefined) out.push({ role: 'prometheus', name: 'prometheus', pid: prometheusPid });
  if (kafka.provider === 'local')
    for (const node of (kafka as LocalKafkaCluster).nodes) {
      const pid = node.pid();
      if (pid !== undefined) out.push({ role: 'kafka', name: `kafka-${node.nodeId}`, pid });
    }
  // A kafka-direct segment: the relays idle beside it, and are still counted (they are running).
  for (const [i, r] of fleet.relays.entries())
    if (r.proc !== undefined)
      out.push({ role: 'relay', name: `relay-${r.index ?? i}${mode === 'relay' ? '' : ' (idle)'}`, pid: r.proc.pid });
  for (const w of workers) {
    const pid = (w as { readonly pid?: number }).pid;
    if (pid !== undefined) out.push({ role: 'worker', name: w.id, pid });
  }
  return out;
}
