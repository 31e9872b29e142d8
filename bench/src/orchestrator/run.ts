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
import { appendFileSync, copyFileSync, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KafkaCluster } from '../../../testbed/kafka/cluster.js';
import type { ProvisionOptions } from '../../../testbed/kafka/provider.js';
import type { PrometheusPlan, PrometheusServer, StartPrometheusOptions } from '../prometheus/index.js';
import type { Worker } from '../../../loadgen/src/worker/contract.js';
import { assembleSummary } from '../results/assemble.js';
import { makeRunId, writeRunFolder } from '../results/store.js';
import type { RunSummary } from '../results/summary.js';
import type { KafkaClientName } from '../../../relay/kafka/src/index.js';
import { describeConfig, type RunConfig } from './config.js';
import { machineInfo, relaybenchVersion } from './environment.js';
import { priorityText, type GeneratorPriority } from './generator-priority.js';
import { runError } from './errors.js';
import { noteInterruption, throwIfInterrupted, watchForInterrupt, type Interruption } from './interruption.js';
import { recordSegment, type RecordedSegments } from './record-segment.js';
import { prometheusCrossCheck, startRunPrometheus, type RunPrometheus } from './run-prometheus.js';
import type { RelayProcess } from './run-processes.js';
import { runSegment, type SegmentContext } from './run-segment.js';
import { planSegments, segmentWallMs, type SegmentSpec } from './segments.js';
import { printableSummary } from './print.js';

/** The relay tier as the run sees it (RelayFleet in production). */
export interface Fleet {
  /** `proc.pid` (when the relay is a local process) feeds the resource accounting. */
  readonly relays: readonly (RelayProcess & { readonly url: string; readonly httpUrl: string })[];
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
  const log = await openRunFolder(dir, s.file, deps);
  const running: Worker[] = [];
  // Planned before the signals are taken: a plan that throws leaves nothing to give back.
  const segments = planSegments(s, cfg.referenceTiming);
  const { interruption, giveBackSignals } = watchForInterrupt(dir, running, log);
  const run: RunContext = { cfg, deps, runId, dir, log, running, interruption, notes: [] };
  logPlan(run, segments);
  const started: Started = { prometheus: { info: { status: 'off', url: null }, version: null } };
  try {
    const sut = await startSut(run, plan, segments, started);
    const recorded = await runSegments(run, sut, segments);
    return await finishRun(run, sut.kafka, started.prometheus, recorded);
  } finally {
    giveBackSignals();
    await stopEverything(running, started, log);
  }
}

/** What every step of one run shares. */
interface RunContext {
  readonly cfg: RunConfig;
  readonly deps: RunDeps;
  readonly runId: string;
  readonly dir: string;
  readonly log: (line: string) => void;
  /** Every worker started so far (stopped on a signal and at the end). */
  readonly running: Worker[];
  readonly interruption: Interruption;
  /** For the summary. */
  readonly notes: string[];
}

/** What the run has started so far: stopped, in reverse order, whatever happens. */
interface Started {
  kafka?: KafkaCluster;
  fleet?: Fleet;
  readonly prometheus: RunPrometheus;
}

/** The system under test, up and ready for the segments. */
interface Sut {
  readonly kafka: KafkaCluster;
  readonly fleet: Fleet;
  readonly tokenSecret: string;
  readonly prometheus: PrometheusServer | undefined;
}

/** The run folder before anything starts, and the run's log: stderr and run.log (timestamped). */
async function openRunFolder(dir: string, scenarioFile: string, deps: RunDeps): Promise<(line: string) => void> {
  await mkdir(join(dir, 'workers'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  copyFileSync(scenarioFile, join(dir, 'scenario.yaml'));
  const logFile = join(dir, 'run.log');
  return (line: string) => {
    deps.stderr.write(`${line}\n`);
    appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  };
}

function logPlan({ cfg, deps, runId, dir, log }: RunContext, segments: readonly SegmentSpec[]): void {
  const s = cfg.scenario;
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
}

/** Kafka, then the relays at the first relay segment's size, then Prometheus; each goes into `started` as it comes up. */
async function startSut(run: RunContext, plan: PrometheusPlan, segments: readonly SegmentSpec[], started: Started): Promise<Sut> {
  const { cfg, deps, runId, dir, log } = run;
  const s = cfg.scenario;
  const kafka = await deps.provisionKafka({
    ...(cfg.brokers === undefined ? {} : { brokers: cfg.brokers }),
    provider: cfg.kafkaProvider,
    count: s.brokers,
    dir: join(dir, 'kafka'),
    log,
  });
  started.kafka = kafka;
  log(`kafka: ${kafka.provider}, ${kafka.brokers.join(',')}${kafka.kafkaVersion === undefined ? '' : `, Kafka ${kafka.kafkaVersion}`}`);
  const tokenSecret = randomBytes(24).toString('hex');
  const latencyProxies = s.faults.some((f) => f.action === 'latency');
  const fleet = deps.createFleet({
    brokers: kafka.brokers,
    partitions: s.partitions,
    tokenSecret,
    logDir: join(dir, 'logs'),
    idPrefix: runId.replace(/[^A-Za-z0-9_.-]/g, '_'),
    log,
    latencyProxies,
    kafkaClient: cfg.kafkaClient,
  });
  started.fleet = fleet;
  const firstRelays = segments.find((g) => g.mode === 'relay')?.relays ?? s.relays;
  await Promise.race([fleet.scaleTo(firstRelays), fleet.failed]);
  throwIfInterrupted(run.interruption);
  log(`relays ready: ${fleet.relays.map((r) => r.url).join(' ')}`);
  await startRunPrometheus(plan, deps, { dir, runId, scenario: s.name, fleet }, started.prometheus, log);
  return { kafka, fleet, tokenSecret, prometheus: started.prometheus.server };
}

/** The segments in order (an alongside reference together with its segment), until the end, a signal or a broken ramp step. */
async function runSegments(run: RunContext, sut: Sut, segments: readonly SegmentSpec[]): Promise<RecordedSegments> {
  const recorded: RecordedSegments = { done: [], intervals: [] };
  for (let index = 0; index < segments.length; index++) {
    const seg = segments[index]!;
    if (run.interruption.signal !== undefined) break;
    if (seg.mode === 'relay' && seg.relays !== sut.fleet.relays.length) {
      run.log(`scaling the relay tier to ${seg.relays}`);
      await Promise.race([sut.fleet.scaleTo(seg.relays), sut.fleet.failed]);
    }
    const next = segments[index + 1];
    const companion = next?.alongside === true ? next : undefined;
    const contexts = segmentContexts(run, sut, index, seg, companion);
    if (companion !== undefined) {
      run.log(`segment ${companion.name}: kafka-direct at ${companion.ratePerSec}/s in the same window as ${seg.name}`);
      run.notes.push(
        `the kafka-direct reference ran alongside ${seg.name} at ${companion.ratePerSec} msg/s (same window); Kafka's CPU in ${seg.name} includes its traffic and its workers are counted there`,
      );
    }
    const outcomes = await Promise.all(contexts.map((c) => runSegment(run.cfg, run.deps, c)));
    index += contexts.length - 1;
    let stop = false;
    for (const [k, c] of contexts.entries()) {
      if (run.interruption.signal !== undefined && c.seg.mode !== 'relay' && recorded.done.length === 0) break;
      stop = (await recordSegment(run.cfg.scenario, c, outcomes[k]!, recorded, run.log)) || stop;
    }
    if (stop) break;
  }
  return recorded;
}

function segmentContexts(
  { runId, dir, running, log, notes, interruption }: RunContext,
  sut: Sut,
  index: number,
  seg: SegmentSpec,
  companion: SegmentSpec | undefined,
): SegmentContext[] {
  // An alongside reference shares the window: its workers count in this segment's CPU.
  const alongsideWorkers: Worker[] = [];
  return [seg, ...(companion === undefined ? [] : [companion])].map((g, k): SegmentContext => ({
    seg: g,
    index: index + k,
    runId,
    dir,
    ...sut,
    running,
    log,
    notes,
    interruption,
    faultLog: { startAtMs: 0, events: [] },
    meter: { sampler: undefined },
    ...(k === 0 ? { alongsideWorkers } : { companionOf: alongsideWorkers }),
  }));
}

/** The Prometheus cross-check, then the run folder (summary.json and the rest) and the final lines on stdout. */
async function finishRun(
  run: RunContext,
  kafka: KafkaCluster,
  prom: RunPrometheus,
  { done, intervals }: RecordedSegments,
): Promise<RunOutcome> {
  const { cfg, deps, runId, dir, log, interruption, notes } = run;
  noteInterruption(interruption, notes, done);
  if (prom.server !== undefined)
    prom.info = { ...prom.info, crossCheck: await prometheusCrossCheck(prom.server, runId, done, intervals, log) };
  const priority = deps.generatorPriority;
  const summary = assembleSummary(
    {
      runId,
      createdAt: (deps.now?.() ?? new Date()).toISOString(),
      scenario: cfg.scenario,
      versions: {
        relaybench: relaybenchVersion(),
        node: process.versions.node,
        kafka: kafka.kafkaVersion ?? null,
        prometheus: prom.version,
      },
      machine: machineInfo(),
      kafka: { provider: kafka.provider, brokers: kafka.brokers.length, partitions: cfg.scenario.partitions, client: cfg.kafkaClient },
      prometheus: prom.info,
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
}

async function stopEverything(running: readonly Worker[], started: Started, log: (line: string) => void): Promise<void> {
  const quietly = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      log(`stopping ${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  await Promise.all(running.map((w) => quietly(`worker ${w.id}`, () => w.stop())));
  if (started.prometheus.server !== undefined) await quietly('prometheus', () => started.prometheus.server!.stop());
  if (started.fleet !== undefined) await quietly('relays', () => started.fleet!.stop());
  if (started.kafka !== undefined) await quietly('kafka', () => started.kafka!.stop());
  log('every process of the run is stopped');
}
