/**
 * `relaybench gate BASE NEW`, the lifecycle: plan (printed first) → build both sides → one Kafka
 * for every trial → trials in a balanced order, each side's own `relaybench run` with the
 * kafka-direct reference alongside → decision → gate.json (every trial), gate.md, gate.txt, junit.xml.
 *
 * One Kafka for all trials is sound here because nothing of one trial reaches the next: every
 * trial has fresh user ids and gateway ids (run-id prefixed), the reference topic is per worker
 * and deleted, and the relays rebuild their mailbox state from the log before they report ready
 * (the fold is outside the measured window). What a longer log or a warmer broker does to later
 * trials hits both sides alike, because the order is balanced per pair.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { KafkaCluster } from '../../../testbed/kafka/cluster.js';
import type { ProvisionOptions } from '../../../testbed/kafka/provider.js';
import { formatDurationMs } from '../../../loadgen/src/duration.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { Build } from './builds.js';
import { decide, percentChange, type GateOptions, type GateTrial, type Side } from './decide.js';
import { planTrials } from './estimate.js';
import { formatUs } from './evaluate.js';
import { formatGateJunit, formatGateMarkdown, formatGateText, minSec, type GateReport, type GateSideInfo } from './gate-format.js';
import { runTrialLoop, trialOrder, type LoopOutcome, type OrderMode } from './trials.js';
import type { TrialRunOptions } from './trial-run.js';

export interface GateConfig {
  readonly baseSpec: string;
  readonly newSpec: string;
  readonly scenario: Scenario;
  readonly outDir: string;
  readonly cacheDir: string;
  /** Cached builds kept (the most recently used, this gate's included); older ones are removed. */
  readonly keepBuilds: number;
  readonly options: GateOptions;
  readonly mde: number;
  readonly budgetMs: number;
  readonly noiseSd: number;
  /** Trials per side when given (else planned from mde and budget). */
  readonly trials?: number;
  readonly orderMode: OrderMode;
  readonly seed: number;
  readonly maxReruns: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Generator-bound line of the trials (the scenario's maxScheduleLag is for its absolute objectives). */
  readonly maxScheduleLagMs: number;
  /** Extra delay on every client→relay hop of NEW (a known regression, to prove the gate's power). */
  readonly newLatencyMs: number;
  readonly kafkaProvider: ProvisionOptions['provider'];
  /**
   * alongside: each trial's kafka-direct reference runs in the same window as its relay segment
   * (at referenceRatePerSec, default a quarter of the scenario rate). Measured on this machine,
   * a reference 20 s later shares nothing of what slowed the relay segment (a neighbour's burst:
   * e2e ÷ reference ×2.0–×5.7 across trials of one build in one A/A gate); in the same window
   * it shares it, and a trial takes half the time. after: the reference is a segment of its own.
   */
  readonly referenceTiming: 'alongside' | 'after';
  readonly referenceRatePerSec?: number;
}

export interface GateDeps {
  resolveBuild(spec: string, log: (l: string) => void): Promise<Build>;
  /** Removes older cached builds, never those in `inUse` (the builds.ts `pruneBuilds`). */
  pruneBuilds?(inUse: readonly string[], log: (l: string) => void): Promise<unknown>;
  provisionKafka(o: ProvisionOptions): Promise<KafkaCluster>;
  runTrial(side: Side, index: number, attempt: number, o: TrialRunOptions): Promise<GateTrial>;
  readonly log: (line: string) => void;
  readonly now?: () => number;
}

/**
 * Wall time of one trial (ms), for the plan: per window, its warm-up, measured time and ≈ 4 s of
 * start lead, relays and drain (the drain ends as soon as everything is in), plus ≈ 5 s of process
 * start. Measured here: 23–26 s a trial alongside, 42–47 s with the reference after (10 s + 5 s).
 */
export function trialWallMs(durationMs: number, warmupMs: number, timing: GateConfig['referenceTiming'] = 'after'): number {
  return (timing === 'alongside' ? 1 : 2) * (warmupMs + durationMs + 4_000) + 5_000;
}

/** A build and its `run --help` text ('' when that fails): the flags it knows; a base from before a flag lacks it. */
interface KnownBuild {
  readonly build: Build;
  readonly runHelp: string;
}

/** Starts the build's CLI once for its `run --help`, which every flag check below reads. */
function knownBuild(build: Build): KnownBuild {
  const r = spawnSync(process.execPath, [build.cli, 'run', '--help'], { encoding: 'utf8', timeout: 60_000 });
  return { build, runHelp: r.status === 0 ? r.stdout : '' };
}

/** `run` flags of the trials: the reference's timing, when both builds know it. */
function timingArgs(c: GateConfig, builds: readonly KnownBuild[], log: (l: string) => void): string[] {
  if (c.referenceTiming === 'after') return [];
  const lacking = builds.filter((b) => !b.runHelp.includes('--reference-timing'));
  if (lacking.length > 0) {
    log(
      `reference: ${lacking.map((b) => b.build.spec).join(', ')} predates --reference-timing; both sides run the reference after the relay segment (one way of measuring for both)`,
    );
    return [];
  }
  return [
    '--reference-timing',
    'alongside',
    ...(c.referenceRatePerSec === undefined ? [] : ['--reference-rate', String(c.referenceRatePerSec)]),
  ];
}

/**
 * `run` flags that give both sides the same scheduler for their workers: the normal one. A build
 * from before --generator-priority always ran them normally; a later one runs them real-time, and
 * the gate would then compare schedulers, not code. The gate's noise figures (noiseSd) were
 * measured with normal workers.
 */
function priorityArgs(b: KnownBuild): string[] {
  return b.runHelp.includes('--generator-priority') ? ['--generator-priority', 'normal'] : [];
}

export async function runGate(c: GateConfig, deps: GateDeps): Promise<GateReport> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const log = deps.log;
  const plan = planGate(c);
  logPlan(c, plan, log);
  const sides = await prepareSides(c, deps);
  const kafka = await deps.provisionKafka({
    provider: c.kafkaProvider ?? 'auto',
    count: c.scenario.brokers === 3 ? 3 : 1,
    dir: join(c.outDir, 'kafka'),
    log,
  });
  log(`kafka: ${kafka.provider} at ${kafka.brokers.join(',')}, shared by every trial`);
  const outcome = await runTrials(c, deps, now, plan.order, sides, kafka);
  const report = gateReport(c, { t0, now, plan, sides, kafka, outcome });
  await writeGateOutputs(c.outDir, report);
  return report;
}

/** Trials per side (given, or planned from mde and budget), the effect they detect, and their order. */
interface GatePlan {
  readonly trialMs: number;
  readonly perSide: number;
  readonly detectable: number;
  /** The budget, not the mde, set the number of trials. */
  readonly budgetBound: boolean;
  readonly order: Side[];
}

function planGate(c: GateConfig): GatePlan {
  const trialMs = trialWallMs(c.durationMs, c.warmupMs, c.referenceTiming);
  const plan = planTrials({
    mde: c.mde,
    threshold: c.options.thresholds.p50,
    noiseSd: c.noiseSd,
    level: c.options.level,
    trialMs,
    budgetMs: c.budgetMs,
  });
  const perSide = c.trials ?? plan.perSide;
  const detectable =
    c.trials === undefined
      ? plan.detectable
      : planTrials({
          mde: 1,
          threshold: c.options.thresholds.p50,
          noiseSd: c.noiseSd,
          level: c.options.level,
          trialMs,
          budgetMs: 1,
          minPerSide: perSide,
          maxPerSide: perSide,
        }).detectable;
  const order = trialOrder(perSide, c.orderMode, c.seed);
  return { trialMs, perSide, detectable, budgetBound: plan.budgetBound, order };
}

function logPlan(c: GateConfig, p: GatePlan, log: (l: string) => void): void {
  log(
    `gate ${c.scenario.name}: minimum detectable effect asked ${percentChange(c.mde)} (p50 ÷ reference), time budget ${Math.round(c.budgetMs / 60_000)} min for the trials`,
  );
  log(
    `  → ${p.perSide} trials per side of ~${Math.round(p.trialMs / 1000)} s each (${formatDurationMs(c.warmupMs)} warm-up + ${formatDurationMs(c.durationMs)} measured, ${c.referenceTiming === 'alongside' ? `kafka-direct reference alongside at ${c.referenceRatePerSec ?? c.scenario.workload.ratePerSec / 4}/s` : 'relay then kafka-direct reference'}): ~${Math.round((2 * p.perSide * p.trialMs) / 60_000)} min; detects ~${percentChange(p.detectable)} in 9 of 10 gates (noise sd ${c.noiseSd} of ln ratio)${c.trials === undefined && p.budgetBound ? ' — the budget allows no more trials: raise --budget for a smaller effect' : ''}`,
  );
  log(
    `  decision: regression when the whole ${Math.round(c.options.level * 100)} % interval of NEW ÷ BASE is above p50 ${percentChange(c.options.thresholds.p50)} / p99 ${percentChange(c.options.thresholds.p99)} for ${c.options.stages.join(', ')}`,
  );
  log(
    `  order (${c.orderMode}, seed ${c.seed}): ${p.order.map((s) => (s === 'base' ? 'A' : 'B')).join(' ')} · invalid trials (lost > 0, or generator-bound: schedule lag p99 > ${formatDurationMs(c.maxScheduleLagMs)} for 2 s) rerun up to ${c.maxReruns} per side`,
  );
}

/** Each side's build, its extra `run` flags and its scenario file. */
interface Sides {
  readonly builds: Readonly<Record<Side, Build>>;
  /** The reference's timing flags, the same for both sides (none: after). */
  readonly timing: readonly string[];
  readonly extraArgs: Readonly<Record<Side, string[]>>;
  readonly files: Readonly<Record<Side, string>>;
}

async function prepareSides(c: GateConfig, deps: GateDeps): Promise<Sides> {
  const log = deps.log;
  const baseBuild = await deps.resolveBuild(c.baseSpec, log);
  const newBuild = await deps.resolveBuild(c.newSpec, log);
  await deps.pruneBuilds?.([baseBuild.dir, newBuild.dir], log);
  const known = { base: knownBuild(baseBuild), new: knownBuild(newBuild) };
  const timing = timingArgs(c, [known.base, known.new], log);
  const extraArgs = { base: [...timing, ...priorityArgs(known.base)], new: [...timing, ...priorityArgs(known.new)] };
  log('workers: the normal scheduler on both sides (the gate passes --generator-priority normal to a build that knows it)');
  await mkdir(join(c.outDir, 'trials'), { recursive: true });
  const files = { base: await sideScenario(c, 'base'), new: await sideScenario(c, 'new') };
  return { builds: { base: baseBuild, new: newBuild }, timing, extraArgs, files };
}

/** Every trial, in order, on the shared Kafka; Kafka is stopped after them, whatever happened. */
async function runTrials(
  c: GateConfig,
  deps: GateDeps,
  now: () => number,
  order: readonly Side[],
  sides: Sides,
  kafka: KafkaCluster,
): Promise<LoopOutcome> {
  const log = deps.log;
  const tLoop = now();
  try {
    return await runTrialLoop(
      order,
      c.maxReruns,
      (side, index, attempt) => {
        const build = sides.builds[side];
        const runId = `${String(index).padStart(2, '0')}-${side}${attempt > 1 ? `-rerun${attempt - 1}` : ''}`;
        log(`trial ${runId}: ${build.spec} starting`);
        return deps.runTrial(side, index, attempt, {
          cli: build.cli,
          scenarioFile: sides.files[side],
          brokers: kafka.brokers,
          trialsDir: join(c.outDir, 'trials'),
          runId,
          extraArgs: sides.extraArgs[side],
        });
      },
      { onTrial: (t, done, total, rerun) => logTrial(t, done, total, rerun, (now() - tLoop) / Math.max(1, t.index + 1), log) },
    );
  } finally {
    await kafka.stop().catch((e: unknown) => log(`stopping kafka: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/** A trial's outcome and the time left, from `per` (the mean wall time of the trials so far). */
function logTrial(t: GateTrial, done: number, total: number, rerun: boolean, per: number, log: (l: string) => void): void {
  const left = (total - done + (rerun ? 1 : 0)) * per;
  const e2e = t.values.e2eCorrected?.p50;
  const what = t.valid
    ? `valid · e2e p50 ${e2e === undefined ? '—' : `${formatUs(e2e.relay)} ÷ ref ${formatUs(e2e.reference)} = ×${e2e.ratio}`}`
    : `INVALID (${t.invalidReasons.join('; ')})${rerun ? ' → rerun' : ''}`;
  log(`trial ${t.runId}: ${what} · ${Math.round(t.wallMs / 1000)} s · ${done}/${total} done, ~${minSec(left)} left`);
}

/** What the gate did, for gate.json and the other outputs. */
function gateReport(
  c: GateConfig,
  r: {
    readonly t0: number;
    readonly now: () => number;
    readonly plan: GatePlan;
    readonly sides: Sides;
    readonly kafka: KafkaCluster;
    readonly outcome: LoopOutcome;
  },
): GateReport {
  const decision = decisionOf(r.outcome, c.options);
  const exitCode = decision.verdict === 'pass' ? 0 : decision.verdict === 'regression' ? 1 : 2;
  return {
    kind: 'relaybench-gate',
    schemaVersion: 1,
    createdAt: new Date(r.t0).toISOString(),
    scenario: c.scenario.name,
    base: sideInfo(r.sides.builds.base, null),
    new: sideInfo(r.sides.builds.new, c.newLatencyMs > 0 ? `${c.newLatencyMs} ms latency on every client→relay hop` : null),
    plan: {
      perSide: r.plan.perSide,
      mde: c.mde,
      detectable: r.plan.detectable,
      budgetBound: r.plan.budgetBound,
      budgetMs: c.budgetMs,
      noiseSd: c.noiseSd,
      order: r.plan.order,
      orderMode: c.orderMode,
      seed: c.seed,
      durationMs: c.durationMs,
      warmupMs: c.warmupMs,
      maxReruns: c.maxReruns,
      referenceTiming: r.sides.timing.length > 0 ? 'alongside' : 'after',
    },
    options: c.options,
    kafka: { provider: r.kafka.provider, brokers: r.kafka.brokers, shared: true },
    wallMs: r.now() - r.t0,
    reruns: r.outcome.reruns,
    gaveUp: r.outcome.gaveUp,
    decision,
    exitCode,
    trials: r.outcome.trials,
  };
}

/** The decision on the trials; invalid when a side stayed invalid past its reruns. */
function decisionOf(outcome: LoopOutcome, options: GateOptions) {
  const decided = decide(outcome.trials, options);
  return outcome.gaveUp === null
    ? decided
    : { ...decided, verdict: 'invalid' as const, invalidReasons: [...decided.invalidReasons, outcome.gaveUp] };
}

function sideInfo(b: Build, injected: string | null): GateSideInfo {
  return {
    spec: b.spec,
    commit: b.commit,
    dir: b.dir,
    buildMs: b.buildMs,
    reused: b.reused,
    injected,
  };
}

export async function writeGateOutputs(dir: string, r: GateReport): Promise<void> {
  await writeFile(
    join(dir, 'gate.json'),
    `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`,
  );
  await writeFile(join(dir, 'gate.md'), formatGateMarkdown(r));
  await writeFile(join(dir, 'gate.txt'), formatGateText(r));
  await writeFile(join(dir, 'junit.xml'), formatGateJunit(r));
}

/**
 * The scenario as one side runs it: the same file for both sides (a PR that edits the scenario
 * is measured with the one the gate was given), with the gate's duration and warm-up, the
 * reference on, and for NEW the injected latency when asked.
 */
async function sideScenario(c: GateConfig, side: Side): Promise<string> {
  const doc = parse(await readFile(c.scenario.file, 'utf8')) as Record<string, unknown>;
  doc.duration = formatDurationMs(c.durationMs);
  doc.warmup = formatDurationMs(c.warmupMs);
  // Every trial warms up for the gate's --warmup; and a base build older than `firstWarmup`
  // would refuse the key.
  delete doc.firstWarmup;
  doc.reference = 'kafka-direct';
  // Latency counts from the intended send time, so a generator that lags a little adds noise the
  // interval absorbs; one that falls far behind (p99 lag above this for 2 s) is still rerun.
  doc.maxScheduleLag = formatDurationMs(c.maxScheduleLagMs);
  if (c.newLatencyMs > 0) {
    // Both sides run behind the proxies (BASE with no delay: the proxy alone), so the known
    // regression is the added delay, not the proxy's own hop.
    const faults = Array.isArray(doc.faults) ? (doc.faults as unknown[]) : [];
    doc.faults = [
      ...faults,
      { at: '0s', action: 'latency', delay: side === 'new' ? formatDurationMs(c.newLatencyMs) : '0ms', direction: 'to-relay' },
    ];
  }
  const path = resolve(c.outDir, `scenario-${side}.yaml`);
  await writeFile(path, `# Written by relaybench gate from ${c.scenario.file} (${side}).\n${stringify(doc)}`);
  return path;
}
