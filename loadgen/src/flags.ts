/**
 * Ad-hoc flags of `relaybench loadgen` (a worker run alone) → a validated WorkerPlan. Pure: the
 * caller passes the environment value it read (RELAY_TOKEN_SECRET). Bad input → RB_LOADGEN_BAD_FLAG
 * (or RB_LOADGEN_NO_SECRET / RB_LOADGEN_BAD_PLAN).
 */
import { parseDurationMs } from './duration.js';
import { loadgenError } from './errors.js';
import type { RecipientChoice, SizeDistribution, WorkerPlan } from './worker/contract.js';
import { DEFAULT_MAX_SCHEDULE_LAG_US, makePlan } from './worker/plan.js';

export interface LoadgenFlags {
  readonly relays?: string;
  readonly brokers?: string;
  readonly mode?: string;
  readonly users?: string;
  readonly rate?: string;
  readonly duration?: string;
  readonly warmup?: string;
  readonly drain?: string;
  readonly ramp?: string;
  readonly arrivals?: string;
  readonly recipients?: string;
  readonly size?: string;
  readonly readDelay?: string;
  readonly onlineFraction?: string;
  readonly churn?: string;
  readonly offline?: string;
  readonly seed?: string;
  readonly tokenSecret?: string;
  readonly sourceAddresses?: string;
  readonly metricsPort?: string;
  readonly maxScheduleLag?: string;
  readonly workerId?: string;
  readonly userPrefix?: string;
  readonly runId?: string;
  readonly routingHint?: boolean;
}

/** A duration flag in whole milliseconds (the plan's resolution); the rule is duration.ts's. */
export function parseDurationFlagMs(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw loadgenError(
      'RB_LOADGEN_BAD_FLAG',
      `${flag} ${JSON.stringify(text)}: expected a duration like 30s, 500ms or 2m (with its unit).`,
    );
  if (!Number.isInteger(ms)) throw loadgenError('RB_LOADGEN_BAD_FLAG', `${flag} ${JSON.stringify(text)}: expected whole milliseconds.`);
  return ms;
}

export function parseNumber(text: string, flag: string, check: (v: number) => boolean = Number.isFinite, expected = 'a number'): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !check(v))
    throw loadgenError('RB_LOADGEN_BAD_FLAG', `${flag} ${JSON.stringify(text)}: expected ${expected}.`);
  return v;
}

/** uniform | zipf[:s] | pairs | groups[:size] */
export function parseRecipients(text: string): RecipientChoice {
  const [kind, arg] = text.split(':');
  if (kind === 'uniform' && arg === undefined) return { kind };
  if (kind === 'pairs' && arg === undefined) return { kind };
  if (kind === 'zipf') return { kind, s: arg === undefined ? 1 : parseNumber(arg, '--recipients zipf:', (v) => v >= 0, 'an exponent ≥ 0') };
  if (kind === 'groups')
    return {
      kind,
      groupSize: arg === undefined ? 5 : parseNumber(arg, '--recipients groups:', (v) => Number.isInteger(v) && v >= 2, 'an integer ≥ 2'),
    };
  throw loadgenError('RB_LOADGEN_BAD_FLAG', `--recipients ${JSON.stringify(text)}: expected uniform, zipf[:s], pairs or groups[:size].`);
}

/** 200 | 100-2000 (uniform) | lognormal:<median>:<sigma>:<max> */
export function parseSize(text: string): SizeDistribution {
  const pos = (s: string) => parseNumber(s, '--size', (v) => Number.isInteger(v) && v >= 1, 'a positive integer byte count');
  if (/^\d+$/.test(text)) return { kind: 'fixed', bytes: pos(text) };
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range !== null) return { kind: 'uniform', minBytes: pos(range[1]!), maxBytes: pos(range[2]!) };
  const ln = /^lognormal:(\d+):([\d.]+):(\d+)$/.exec(text);
  if (ln !== null)
    return { kind: 'lognormal', medianBytes: pos(ln[1]!), sigma: parseNumber(ln[2]!, '--size sigma'), maxBytes: pos(ln[3]!) };
  throw loadgenError('RB_LOADGEN_BAD_FLAG', `--size ${JSON.stringify(text)}: expected 200, 100-2000 or lognormal:<median>:<sigma>:<max>.`);
}

const list = (s: string | undefined): string[] =>
  s === undefined
    ? []
    : s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');

export function planFromFlags(f: LoadgenFlags, envSecret: string | undefined, nowMs = Date.now()): WorkerPlan {
  const mode = f.mode ?? 'relay';
  if (mode !== 'relay' && mode !== 'kafka-direct')
    throw loadgenError('RB_LOADGEN_BAD_FLAG', `--mode ${JSON.stringify(mode)}: expected relay or kafka-direct.`);
  const tokenSecret = f.tokenSecret ?? envSecret ?? '';
  if (mode === 'relay' && tokenSecret === '') throw loadgenError('RB_LOADGEN_NO_SECRET');
  const relays = list(f.relays);
  if (mode === 'relay' && relays.length === 0)
    throw loadgenError('RB_LOADGEN_BAD_FLAG', '--relays: give at least one ws:// URL (comma-separated).');
  const brokers = list(f.brokers);
  if (mode === 'kafka-direct' && brokers.length === 0)
    throw loadgenError('RB_LOADGEN_BAD_FLAG', '--brokers: kafka-direct mode needs host:port,...');
  const int = (v: number) => Number.isInteger(v) && v >= 0;
  const opt = <T>(v: string | undefined, parse: (s: string) => T): T | undefined => (v === undefined ? undefined : parse(v));
  const workload = Object.fromEntries(
    Object.entries({
      users: opt(f.users, (s) => parseNumber(s, '--users', (v) => Number.isInteger(v) && v >= 2, 'an integer ≥ 2')),
      ratePerSec: opt(f.rate, (s) => parseNumber(s, '--rate', (v) => v > 0, 'messages/s > 0')),
      durationMs: opt(f.duration, (s) => parseDurationFlagMs(s, '--duration')),
      warmupMs: opt(f.warmup, (s) => parseDurationFlagMs(s, '--warmup')),
      drainMs: opt(f.drain, (s) => parseDurationFlagMs(s, '--drain')),
      rampUpMs: opt(f.ramp, (s) => parseDurationFlagMs(s, '--ramp')),
      arrivals: opt(f.arrivals, (s) => {
        if (s !== 'poisson' && s !== 'constant')
          throw loadgenError('RB_LOADGEN_BAD_FLAG', `--arrivals ${JSON.stringify(s)}: expected poisson or constant.`);
        return s;
      }),
      recipients: opt(f.recipients, parseRecipients),
      sizes: opt(f.size, parseSize),
      readDelayMs: opt(f.readDelay, (s) => parseDurationFlagMs(s, '--read-delay')),
      onlineFraction: opt(f.onlineFraction, (s) => parseNumber(s, '--online-fraction', (v) => v > 0 && v <= 1, 'a fraction in (0, 1]')),
      churnPerSec: opt(f.churn, (s) => parseNumber(s, '--churn', (v) => v >= 0 && v <= 1, 'a probability per second in [0, 1]')),
      offlineMs: opt(f.offline, (s) => parseDurationFlagMs(s, '--offline')),
      seed: opt(f.seed, (s) => parseNumber(s, '--seed', Number.isInteger, 'an integer')),
    }).filter(([, v]) => v !== undefined),
  );
  return makePlan({
    mode,
    relays,
    brokers,
    tokenSecret,
    sourceAddresses: list(f.sourceAddresses),
    startAtMs: nowMs,
    metricsPort:
      f.metricsPort === undefined
        ? 0
        : parseNumber(f.metricsPort, '--metrics-port', (v) => (int(v) && v <= 65535 ? true : v === -1), 'a port, 0 = any, -1 = none'),
    maxScheduleLagUs: f.maxScheduleLag === undefined ? DEFAULT_MAX_SCHEDULE_LAG_US : maxScheduleLagUs(f.maxScheduleLag),
    ...(f.workerId === undefined ? {} : { workerId: f.workerId }),
    ...(f.userPrefix === undefined ? {} : { userPrefix: f.userPrefix }),
    ...(f.runId === undefined ? {} : { runId: f.runId }),
    ...(f.routingHint === undefined ? {} : { routingHint: f.routingHint }),
    workload,
  });
}

function maxScheduleLagUs(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw loadgenError(
      'RB_LOADGEN_BAD_FLAG',
      `--max-schedule-lag ${JSON.stringify(text)}: expected a duration like 50ms or 250us (with its unit).`,
    );
  return Math.round(ms * 1000);
}
