/**
 * WorkerPlan validation (once, at start; the plan is then frozen) and the defaults used when a
 * worker runs alone from flags. Bad input → RB_LOADGEN_BAD_PLAN naming the field.
 */
import { z } from 'zod';
import { loadgenError } from '../errors.js';
import type { WorkerPlan, WorkloadShape } from './contract.js';

const finite = z.number().refine(Number.isFinite, 'must be finite');
const nonNeg = finite.refine((v) => v >= 0, 'must be ≥ 0');
const ms = z.number().int().min(0);

const workloadSchema = z.object({
  users: z.number().int().min(2),
  ratePerSec: finite.refine((v) => v > 0, 'must be > 0'),
  arrivals: z.enum(['poisson', 'constant']),
  rampUpMs: ms,
  durationMs: z.number().int().min(1),
  warmupMs: ms,
  drainMs: ms,
  onlineFraction: finite.refine((v) => v > 0 && v <= 1, 'must be in (0, 1]'),
  churnPerSec: nonNeg.refine((v) => v <= 1, 'must be ≤ 1'),
  offlineMs: ms,
  recipients: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('uniform') }),
    z.object({ kind: z.literal('zipf'), s: nonNeg }),
    z.object({ kind: z.literal('pairs') }),
    z.object({ kind: z.literal('groups'), groupSize: z.number().int().min(2) }),
  ]),
  sizes: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('fixed'), bytes: z.number().int().min(1).max(60_000) }),
    z.object({ kind: z.literal('uniform'), minBytes: z.number().int().min(1), maxBytes: z.number().int().max(60_000) }),
    z.object({
      kind: z.literal('lognormal'),
      medianBytes: z.number().min(1),
      sigma: nonNeg,
      maxBytes: z.number().int().min(1).max(60_000),
    }),
  ]),
  readDelayMs: ms,
  seed: z.number().int(),
  maxInFlightPerUser: z.number().int().min(1).optional(),
});

const planSchema = z.object({
  workerId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/),
  userPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/),
  mode: z.enum(['relay', 'kafka-direct']),
  relays: z.array(z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL')),
  brokers: z.array(z.string().min(1)),
  tokenSecret: z.string(),
  sourceAddresses: z.array(z.string()),
  workload: workloadSchema,
  startAtMs: nonNeg,
  metricsPort: z.number().int().min(-1).max(65535),
  maxScheduleLagUs: finite.refine((v) => v > 0, 'must be > 0'),
  runId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/)
    .optional(),
  routingHint: z.boolean().optional(),
  connectRatePerSec: finite.refine((v) => v > 0, 'must be > 0').optional(),
  directPartitions: z.number().int().min(1).optional(),
  kafkaClient: z.enum(['kafkajs', 'platformatic']).optional(),
  clientFaults: z
    .array(
      z.object({
        action: z.enum(['slow-readers', 'reconnect-storm']),
        atMs: nonNeg,
        share: finite.refine((v) => v > 0 && v <= 1, 'must be in (0, 1]'),
        durationMs: ms,
      }),
    )
    .optional(),
});

/** Validates and deep-freezes a plan. Throws RB_LOADGEN_BAD_PLAN naming the first bad fields. */
export function validatePlan(input: unknown): WorkerPlan {
  const parsed = planSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`);
    throw loadgenError('RB_LOADGEN_BAD_PLAN', issues.join('; ') + '.');
  }
  const plan = parsed.data as WorkerPlan;
  const w = plan.workload;
  if (plan.mode === 'relay' && plan.relays.length === 0)
    throw loadgenError('RB_LOADGEN_BAD_PLAN', 'relays: relay mode needs at least one relay URL.');
  if (plan.mode === 'kafka-direct' && plan.brokers.length === 0)
    throw loadgenError('RB_LOADGEN_BAD_PLAN', 'brokers: kafka-direct mode needs bootstrap servers.');
  if (plan.mode === 'relay' && plan.tokenSecret.length < 16)
    throw loadgenError('RB_LOADGEN_BAD_PLAN', 'tokenSecret: must be at least 16 characters (PROTOCOL §6).');
  if (w.recipients.kind === 'groups' && w.recipients.groupSize > w.users)
    throw loadgenError('RB_LOADGEN_BAD_PLAN', 'workload.recipients.groupSize: larger than workload.users.');
  if (w.sizes.kind === 'uniform' && w.sizes.maxBytes < w.sizes.minBytes)
    throw loadgenError('RB_LOADGEN_BAD_PLAN', 'workload.sizes: maxBytes < minBytes.');
  if (plan.mode === 'kafka-direct' && (plan.clientFaults ?? []).length > 0)
    throw loadgenError(
      'RB_LOADGEN_BAD_PLAN',
      'clientFaults: client faults need relay mode (the kafka-direct path has no sockets to disturb).',
    );
  if (w.readDelayMs >= w.drainMs && w.drainMs > 0)
    throw loadgenError('RB_LOADGEN_BAD_PLAN', 'workload.readDelayMs: must be shorter than drainMs, or read receipts cannot arrive.');
  return deepFreeze(plan);
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Defaults of a worker run alone (`relaybench loadgen` with flags). */
export const DEFAULT_WORKLOAD: WorkloadShape = {
  users: 100,
  ratePerSec: 100,
  arrivals: 'poisson',
  rampUpMs: 0,
  durationMs: 30_000,
  warmupMs: 5_000,
  drainMs: 10_000,
  onlineFraction: 1,
  churnPerSec: 0,
  offlineMs: 5_000,
  recipients: { kind: 'uniform' },
  sizes: { kind: 'fixed', bytes: 200 },
  readDelayMs: 200,
  seed: 1,
};

export const DEFAULT_MAX_SCHEDULE_LAG_US = 10_000;

/** A full plan from partial fields and the defaults above (then validated). */
export function makePlan(fields: Partial<Omit<WorkerPlan, 'workload'>> & { workload?: Partial<WorkloadShape> }): WorkerPlan {
  const workerId = fields.workerId ?? `w${process.pid}`;
  return validatePlan({
    workerId,
    userPrefix: fields.userPrefix ?? `${workerId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${Date.now().toString(36)}-u`,
    mode: 'relay',
    relays: [],
    brokers: [],
    tokenSecret: '',
    sourceAddresses: [],
    startAtMs: 0,
    metricsPort: -1,
    maxScheduleLagUs: DEFAULT_MAX_SCHEDULE_LAG_US,
    ...fields,
    workload: { ...DEFAULT_WORKLOAD, ...fields.workload },
  });
}
