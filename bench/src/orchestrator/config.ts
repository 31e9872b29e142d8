/**
 * Run configuration, layered (STYLE §5): defaults → scenario file → environment → flags.
 * Validated once, frozen, printed at the start of the run. Only this module (and main.ts) reads
 * process.env; callers pass `env` explicitly so the precedence is testable.
 *
 *   env: RELAYBENCH_RESULTS_DIR, RELAYBENCH_PROMETHEUS (auto|off|URL), KAFKA_BROKERS (read by
 *        the Kafka provider itself), RELAYBENCH_DURATION, RELAYBENCH_WARMUP, RELAYBENCH_FIRST_WARMUP, RELAYBENCH_RATE,
 *        RELAYBENCH_GENERATOR_PRIORITY (realtime|normal), RELAYBENCH_KAFKA_CLIENT (kafkajs|platformatic).
 */
import { parseDurationMs } from '../../../loadgen/src/duration.js';
import { DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, type KafkaClientName } from '../../../relay/kafka/src/index.js';
import { firstSegmentWarmupMs, type Scenario } from '../scenarios/scenario.js';
import { runError } from './errors.js';
import { GENERATOR_PRIORITY_MODES, type GeneratorPriorityMode } from './generator-priority.js';
import type { ReferenceTiming } from './segments.js';

export interface RunFlags {
  readonly brokers?: string;
  readonly kafkaProvider?: string;
  readonly prometheus?: string;
  readonly resultsDir?: string;
  readonly runId?: string;
  readonly duration?: string;
  readonly warmup?: string;
  readonly firstWarmup?: string;
  readonly rate?: string;
  readonly workers?: string;
  readonly relays?: string;
  readonly reference?: string;
  readonly referenceTiming?: string;
  readonly referenceRate?: string;
  readonly progress?: boolean;
  readonly generatorPriority?: string;
  readonly kafkaClient?: string;
}

export interface RunConfig {
  readonly scenario: Scenario;
  readonly brokers: string | undefined;
  readonly kafkaProvider: 'auto' | 'docker' | 'local' | 'external';
  readonly prometheus: string;
  readonly resultsDir: string;
  readonly runId: string | undefined;
  readonly progress: boolean;
  /** When the kafka-direct reference runs: after the relay segments, or alongside the relay segment. */
  readonly referenceTiming: ReferenceTiming;
  /** How local workers are scheduled beside the system under test (generator-priority.ts). */
  readonly generatorPriority: GeneratorPriorityMode;
  /** The Kafka client of the message path, in the relays and kafka-direct workers (relay/kafka/src/select.ts). */
  readonly kafkaClient: KafkaClientName;
  /** Where each setting came from (printed at the start). */
  readonly sources: Readonly<Record<string, 'default' | 'scenario' | 'env' | 'flag'>>;
}

export const RUN_DEFAULTS = {
  resultsDir: 'results',
  prometheus: 'auto',
  kafkaProvider: 'auto',
  generatorPriority: 'realtime',
  kafkaClient: DEFAULT_KAFKA_CLIENT,
} as const;

export function resolveRunConfig(scenario: Scenario, flags: RunFlags, env: NodeJS.ProcessEnv): RunConfig {
  const sources: Record<string, 'default' | 'scenario' | 'env' | 'flag'> = {};
  const pick = <T>(key: string, dflt: T, envValue: T | undefined, flagValue: T | undefined): T => {
    if (flagValue !== undefined) return ((sources[key] = 'flag'), flagValue);
    if (envValue !== undefined && envValue !== '') return ((sources[key] = 'env'), envValue);
    sources[key] = 'default';
    return dflt;
  };
  const layered = <T>(
    key: string,
    fromScenario: T,
    envValue: string | undefined,
    flagValue: string | undefined,
    parse: (v: string, from: string) => T,
  ): T => {
    if (flagValue !== undefined) return ((sources[key] = 'flag'), parse(flagValue, `--${key}`));
    if (envValue !== undefined && envValue !== '') return ((sources[key] = 'env'), parse(envValue, `RELAYBENCH_${key.toUpperCase()}`));
    sources[key] = 'scenario';
    return fromScenario;
  };
  const durationMs = layered('duration', scenario.durationMs, env.RELAYBENCH_DURATION, flags.duration, sendingTime);
  const warmupMs = layered('warmup', scenario.warmupMs, env.RELAYBENCH_WARMUP, flags.warmup, duration);
  const firstWarmupMs = layered<number | undefined>(
    'first-warmup',
    scenario.firstWarmupMs,
    env.RELAYBENCH_FIRST_WARMUP,
    flags.firstWarmup,
    duration,
  );
  const ratePerSec = layered('rate', scenario.workload.ratePerSec, env.RELAYBENCH_RATE, flags.rate, positive);
  const workers = layered('workers', scenario.workers, undefined, flags.workers, wholeIn(1, 16));
  const relays = layered('relays', scenario.relays, undefined, flags.relays, wholeIn(1, 16));
  const reference = layered('reference', scenario.reference, undefined, flags.reference, (v, from) => {
    if (v === 'kafka-direct') return 'kafka-direct' as const;
    if (v === 'none') return undefined;
    throw runError('RB_RUN_BAD_OPTION', `${from} ${v}: expected kafka-direct or none.`);
  });
  const kafkaProvider = pick(
    'kafka-provider',
    RUN_DEFAULTS.kafkaProvider as RunConfig['kafkaProvider'],
    undefined,
    flags.kafkaProvider as RunConfig['kafkaProvider'] | undefined,
  );
  if (!['auto', 'docker', 'local', 'external'].includes(kafkaProvider))
    throw runError('RB_RUN_BAD_OPTION', `--kafka-provider ${kafkaProvider}: expected auto, docker, local or external.`);
  if (workers * 2 > scenario.workload.users)
    throw runError('RB_RUN_BAD_OPTION', `--workers ${workers}: needs at least 2 users per worker (${scenario.workload.users} users).`);
  const merged: Scenario = Object.freeze({
    ...scenario,
    durationMs,
    warmupMs,
    firstWarmupMs,
    workers,
    relays,
    reference,
    workload: Object.freeze({ ...scenario.workload, ratePerSec }),
    // Phases inherit the (possibly overridden) duration, rate and relay count unless they set their own in the file.
    phases: scenario.phases,
  });
  return Object.freeze({
    scenario: merged,
    brokers: pick('brokers', undefined as string | undefined, undefined, flags.brokers),
    kafkaProvider,
    prometheus: pick('prometheus', RUN_DEFAULTS.prometheus as string, env.RELAYBENCH_PROMETHEUS, flags.prometheus),
    resultsDir: pick('results-dir', RUN_DEFAULTS.resultsDir as string, env.RELAYBENCH_RESULTS_DIR, flags.resultsDir),
    runId: pick('run-id', undefined as string | undefined, undefined, flags.runId),
    progress: flags.progress !== false,
    referenceTiming: referenceTiming(flags),
    generatorPriority: generatorPriority(
      pick('generator-priority', RUN_DEFAULTS.generatorPriority as string, env.RELAYBENCH_GENERATOR_PRIORITY, flags.generatorPriority),
    ),
    kafkaClient: kafkaClient(pick('kafka-client', RUN_DEFAULTS.kafkaClient as string, env.RELAYBENCH_KAFKA_CLIENT, flags.kafkaClient)),
    sources: Object.freeze(sources),
  });
}

function kafkaClient(v: string): KafkaClientName {
  if (Object.hasOwn(KAFKA_CLIENTS, v)) return v as KafkaClientName;
  throw runError('RB_RUN_BAD_OPTION', `--kafka-client ${v}: expected ${Object.keys(KAFKA_CLIENTS).join(' or ')}.`);
}

function referenceTiming(flags: RunFlags): ReferenceTiming {
  const timing = flags.referenceTiming ?? 'after';
  if (timing !== 'after' && timing !== 'alongside')
    throw runError('RB_RUN_BAD_OPTION', `--reference-timing ${timing}: expected after or alongside.`);
  if (flags.referenceRate === undefined) return { timing };
  if (timing !== 'alongside')
    throw runError('RB_RUN_BAD_OPTION', `--reference-rate ${flags.referenceRate}: only with --reference-timing alongside.`);
  return { timing, ratePerSec: positive(flags.referenceRate, '--reference-rate') };
}

function generatorPriority(v: string): GeneratorPriorityMode {
  const mode = GENERATOR_PRIORITY_MODES.find((m) => m === v);
  if (mode === undefined) throw runError('RB_RUN_BAD_OPTION', `--generator-priority ${v}: expected realtime or normal.`);
  return mode;
}

function duration(v: string, from: string): number {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms < 0) throw runError('RB_RUN_BAD_OPTION', `${from} ${v}: expected a duration like 30s, 500ms or 5m.`);
  return ms;
}

/** The measured duration: at least 1 ms, or there is nothing to send and measure. */
function sendingTime(v: string, from: string): number {
  const ms = duration(v, from);
  if (ms < 1) throw runError('RB_RUN_BAD_OPTION', `${from} ${v}: the measured duration must be at least 1ms.`);
  return ms;
}

function positive(v: string, from: string): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw runError('RB_RUN_BAD_OPTION', `${from} ${v}: expected a positive number.`);
  return n;
}

function wholeIn(min: number, max: number) {
  return (v: string, from: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw runError('RB_RUN_BAD_OPTION', `${from} ${v}: expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** One line per setting for the start of the run: `duration=30000 (scenario)`. */
export function describeConfig(c: RunConfig): string[] {
  const s = c.scenario;
  return [
    `scenario ${s.name} (${s.file})`,
    `brokers=${s.brokers} partitions=${s.partitions} relays=${s.relays} (${c.sources.relays}) workers=${s.workers} (${c.sources.workers})`,
    `rate=${s.workload.ratePerSec}/s (${c.sources.rate}) users=${s.workload.users} duration=${s.durationMs}ms (${c.sources.duration}) warmup=${s.warmupMs}ms (${c.sources.warmup})${firstWarmupNote(c)} drain=${s.drainMs}ms`,
    `reference=${s.reference === undefined ? 'none' : `${s.reference}, ${c.referenceTiming.timing}`} (${c.sources.reference}) kafka=${c.brokers ?? c.kafkaProvider} prometheus=${c.prometheus} (${c.sources.prometheus}) results=${c.resultsDir} (${c.sources['results-dir']})`,
    `generator-priority=${c.generatorPriority} (${c.sources['generator-priority']}) kafka-client=${c.kafkaClient} (${c.sources['kafka-client']})`,
    `objectives: ${s.objectives.map((o) => o.expr).join(' · ')}`,
  ];
}

/** ` first-warmup=30000ms (scenario)` when the first segment warms up longer than the others. */
function firstWarmupNote(c: RunConfig): string {
  const first = firstSegmentWarmupMs(c.scenario.warmupMs, c.scenario.firstWarmupMs);
  return first === c.scenario.warmupMs ? '' : ` first-warmup=${first}ms (${c.sources['first-warmup']})`;
}
