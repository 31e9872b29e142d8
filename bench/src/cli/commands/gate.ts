import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExitCode } from '../exit-codes.js';
import { failAndExit } from '../fail.js';
import { locateBuild, pruneBuilds, resolveBuild } from '../../gate/builds.js';
import { DEFAULT_GATE, GATED_STAGES, type GateOptions } from '../../gate/decide.js';
import { gateError } from '../../gate/errors.js';
import { formatGateMarkdown, formatGateText } from '../../gate/gate-format.js';
import { runGate, type GateConfig } from '../../gate/gate-run.js';
import { runOneTrial } from '../../gate/trial-run.js';
import type { OrderMode } from '../../gate/trials.js';
import { provisionKafka, type ProviderKind } from '../../../../testbed/kafka/provider.js';
import { parseDurationMs } from '../../../../loadgen/src/duration.js';
import { DEFAULT_SCENARIO, loadScenario, REPO_ROOT } from '../../scenarios/loader.js';
import { STAGES, type Stage } from '../../../../loadgen/src/stats/stages.js';

export interface GateFlags {
  readonly scenario: string;
  readonly mde: string;
  readonly budget: string;
  readonly trials?: string;
  readonly noiseSd: string;
  readonly thresholdP50: string;
  readonly thresholdP99: string;
  readonly level: string;
  readonly resolution: string;
  readonly stages: string;
  readonly order: string;
  readonly seed?: string;
  readonly maxReruns: string;
  readonly duration: string;
  readonly warmup: string;
  readonly maxScheduleLag: string;
  readonly newLatency?: string;
  readonly out?: string;
  readonly cacheDir?: string;
  readonly keepBuilds: string;
  readonly format: string;
  readonly kafkaProvider?: string;
  readonly referenceTiming: string;
  readonly referenceRate?: string;
}

export const GATE_DEFAULTS = {
  mde: '25%',
  budget: '8m',
  // Pooled over 12 gates' 240 trials on a quiet 2-core machine (docs/cli.md#gate): 0.20–0.22.
  noiseSd: '0.2',
  level: '0.95',
  order: 'random',
  maxReruns: '3',
  duration: '10s',
  warmup: '5s',
  maxScheduleLag: '100ms',
  referenceTiming: 'alongside',
  keepBuilds: '5',
} as const;

/** Flags → GateConfig (every value checked; a bad one is RB_GATE_BAD_OPTION with a sentence). */
export function gateConfig(base: string, candidate: string, f: GateFlags, now = new Date()): GateConfig {
  const stages = f.stages.split(',').map((s) => s.trim()) as Stage[];
  for (const s of stages)
    if (!(STAGES as readonly string[]).includes(s)) throw bad(`--stages ${s}: expected stages among ${STAGES.join(', ')}`);
  const options: GateOptions = {
    stages,
    thresholds: { p50: percent('--threshold-p50', f.thresholdP50), p99: percent('--threshold-p99', f.thresholdP99) },
    level: fraction('--level', f.level),
    resolution: percent('--resolution', f.resolution),
  };
  if (!['alternate', 'random'].includes(f.order)) throw bad(`--order ${f.order}: expected alternate or random`);
  const seed = f.seed === undefined ? now.getTime() % 100_000 : whole('--seed', f.seed, 0);
  const out = resolve(
    f.out ?? join(REPO_ROOT, 'results', `gate-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`),
  );
  return {
    baseSpec: base,
    newSpec: candidate,
    scenario: loadScenario(f.scenario),
    outDir: out,
    cacheDir: resolve(f.cacheDir ?? join(homedir(), '.cache', 'relaybench', 'gate')),
    keepBuilds: whole('--keep-builds', f.keepBuilds, 2),
    options,
    mde: percent('--mde', f.mde),
    budgetMs: duration('--budget', f.budget),
    noiseSd: positive('--noise-sd', f.noiseSd),
    ...(f.trials === undefined ? {} : { trials: whole('--trials', f.trials, 4) }),
    orderMode: f.order as OrderMode,
    seed,
    maxReruns: whole('--max-reruns', f.maxReruns, 0),
    durationMs: duration('--duration', f.duration),
    warmupMs: duration('--warmup', f.warmup),
    maxScheduleLagMs: duration('--max-schedule-lag', f.maxScheduleLag),
    newLatencyMs: f.newLatency === undefined ? 0 : duration('--new-latency', f.newLatency),
    kafkaProvider: provider(f.kafkaProvider),
    referenceTiming: timing(f.referenceTiming),
    ...(f.referenceRate === undefined ? {} : { referenceRatePerSec: rate('--reference-rate', f.referenceRate) }),
  };
}

function timing(v: string): GateConfig['referenceTiming'] {
  if (v !== 'after' && v !== 'alongside') throw bad(`--reference-timing ${v}: expected alongside or after`);
  return v;
}

function rate(flag: string, v: string): number {
  const n = Number(v);
  if (!(n > 0 && Number.isFinite(n))) throw bad(`${flag} ${v}: expected a positive rate in msg/s, e.g. 50`);
  return n;
}

const bad = (sentence: string) => gateError('RB_GATE_BAD_OPTION', `${sentence}.`);

/** "10%", "+10 %", "1.10" → 1.10. */
function percent(flag: string, v: string): number {
  const m = /^\+?\s*(\d+(?:\.\d+)?)\s*%$/.exec(v.trim());
  const r = m !== null ? 1 + Number(m[1]) / 100 : Number(v);
  if (!Number.isFinite(r) || r <= 1 || r > 10) throw bad(`${flag} ${v}: expected a change such as 10% (or the ratio 1.10)`);
  return r;
}

function fraction(flag: string, v: string): number {
  const n = Number(v);
  if (!(n >= 0.5 && n < 1)) throw bad(`${flag} ${v}: expected a confidence level in [0.5, 1), e.g. 0.95`);
  return n;
}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 5)) throw bad(`${flag} ${v}: expected a positive number (the sd of ln(ratio) between trials of one build, e.g. 0.08)`);
  return n;
}

function whole(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw bad(`${flag} ${v}: expected a whole number ≥ ${min}`);
  return n;
}

function duration(flag: string, v: string): number {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms <= 0) throw bad(`${flag} ${v}: expected a duration such as 10s, 500ms or 8m`);
  return ms;
}

function provider(v: string | undefined): ProviderKind | 'auto' {
  if (v === undefined) return 'auto';
  if (!['auto', 'local', 'docker'].includes(v))
    throw bad(`--kafka-provider ${v}: expected auto, local or docker (the gate starts its own Kafka)`);
  return v as ProviderKind | 'auto';
}

export function registerGate(program: Command): void {
  program
    .command('gate')
    .description(
      'CI regression gate: build BASE and NEW, run the scenario alternately on both with the kafka-direct reference in every trial, and decide on per-trial ratios with a confidence interval',
    )
    .argument('<base>', 'git ref (built in its own worktree under --cache-dir) or a build folder (a checkout with dist/)')
    .argument('<new>', 'git ref or build folder')
    .option('--scenario <name|file>', 'scenario to run (the same file for both sides)', DEFAULT_SCENARIO)
    .option('--mde <change>', 'minimum detectable effect to plan for (p50 ÷ reference)', GATE_DEFAULTS.mde)
    .option('--budget <time>', 'time budget for the trials (builds not included)', GATE_DEFAULTS.budget)
    .option('--trials <n>', 'trials per side (default: planned from --mde and --budget)')
    .option('--noise-sd <sd>', 'trial-to-trial sd of ln(ratio) on one build, from A/A runs (planning only)', GATE_DEFAULTS.noiseSd)
    .option(
      '--threshold-p50 <change>',
      'a p50 regression must clear this with its whole interval',
      `${Math.round((DEFAULT_GATE.thresholds.p50 - 1) * 100)}%`,
    )
    .option('--threshold-p99 <change>', 'same for p99', `${Math.round((DEFAULT_GATE.thresholds.p99 - 1) * 100)}%`)
    .option('--level <p>', 'confidence level of the interval', GATE_DEFAULTS.level)
    .option(
      '--resolution <change>',
      'a pass needs every p50 interval to end below this (else the gate is inconclusive: exit 2)',
      `${Math.round((DEFAULT_GATE.resolution! - 1) * 100)}%`,
    )
    .option('--stages <list>', 'stages gated (each has the reference)', GATED_STAGES.join(','))
    .option('--order <mode>', 'random (a seeded coin per pair: A B or B A) | alternate (A B B A …)', GATE_DEFAULTS.order)
    .option('--seed <n>', 'seed of the random order (printed; default from the clock)')
    .option('--max-reruns <n>', 'reruns of invalid trials allowed per side', GATE_DEFAULTS.maxReruns)
    .option('--duration <time>', 'measured time of each trial (each segment)', GATE_DEFAULTS.duration)
    .option('--warmup <time>', 'warm-up of each segment', GATE_DEFAULTS.warmup)
    .option(
      '--max-schedule-lag <time>',
      'a trial is generator-bound (rerun) when its schedule lag p99 stays above this for 2 s',
      GATE_DEFAULTS.maxScheduleLag,
    )
    .option('--new-latency <time>', 'inject a known regression: NEW gets this extra delay on every client→relay hop (latency fault)')
    .option('--out <dir>', 'gate folder: gate.json (every trial), gate.md, gate.txt, junit.xml, trials/ (default results/gate-<time>)')
    .option('--cache-dir <dir>', 'where git refs are built (default ~/.cache/relaybench/gate)')
    .option(
      '--keep-builds <n>',
      "builds kept under --cache-dir: the n most recently used, this gate's included; older ones are removed",
      GATE_DEFAULTS.keepBuilds,
    )
    .option('--format <format>', 'stdout: text | md', 'text')
    .option('--kafka-provider <kind>', 'auto | local | docker')
    .option(
      '--reference-timing <when>',
      'alongside (the reference runs in the same window as the relay segment, at a quarter of its rate) | after (a segment of its own, same rate)',
      GATE_DEFAULTS.referenceTiming,
    )
    .option('--reference-rate <n>', 'msg/s of the alongside reference (default: a quarter of the scenario rate)')
    .addHelpText(
      'after',
      `
How it decides: each trial runs the relay path with the kafka-direct reference alongside (same
window, a quarter of the rate; --reference-timing after runs it as a segment of its own after the
relay path); its value is relay pX ÷ reference pX. Effect = Hodges–Lehmann NEW ÷ BASE over the trials
with its exact interval, printed as "+12 % (95 % CI +6 … +18 %)" per stage and percentile.
Regression = the whole interval above the threshold. Trials that lost messages or were
generator-bound are rerun (up to --max-reruns per side) and reported. Both sides' workers run under
the normal scheduler (run --generator-priority normal), so the gate compares code, not schedulers.
Progress goes to stderr.
Exit: ${ExitCode.OK} pass · ${ExitCode.GATE_FAILED} regression · ${ExitCode.INVALID} invalid (a side stayed invalid after its reruns, or bad flags) · ${ExitCode.INFRA} infrastructure (a build, Kafka or a trial's processes failed) · ${ExitCode.INTERRUPTED} interrupted.
Example (CI): relaybench gate origin/main HEAD --format md > gate.md
Known answer: relaybench gate HEAD HEAD --new-latency 2ms   (must exit 1)`,
    )
    .action(async (base: string, candidate: string, flags: GateFlags) => {
      try {
        if (!['text', 'md'].includes(flags.format)) throw bad(`--format ${flags.format}: expected text or md`);
        const cfg = gateConfig(base, candidate, flags);
        const log = (line: string) => process.stderr.write(`[gate ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
        for (const spec of [base, candidate]) await locateBuild(spec, REPO_ROOT);
        const report = await runGate(cfg, {
          resolveBuild: (spec, l) => resolveBuild(spec, REPO_ROOT, cfg.cacheDir, l),
          pruneBuilds: (inUse, l) => pruneBuilds(cfg.cacheDir, REPO_ROOT, cfg.keepBuilds, inUse, l),
          provisionKafka,
          runTrial: runOneTrial,
          log,
        });
        process.stdout.write(flags.format === 'md' ? formatGateMarkdown(report) : formatGateText(report));
        log(`outputs: ${cfg.outDir}/ (gate.json with every trial, gate.md, gate.txt, junit.xml, trials/)`);
        process.exitCode = report.exitCode;
      } catch (e) {
        failAndExit(e);
      }
    });
}
