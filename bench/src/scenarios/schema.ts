/**
 * The scenario file schema (zod). Objects are strict: an unknown field is an error, never
 * ignored. Messages say what was expected; loader.ts adds the field path, `got <value>` and the
 * line/column. Durations are strings ("30s", "500ms", "5m") and become ms here.
 */
import { z } from 'zod';
import { faultProblems, type FaultSpec } from '../faults/spec.js';
import { parseDurationMs } from '../../../loadgen/src/duration.js';
import { firstSegmentWarmupMs } from './scenario.js';

const positive = z.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' });
const fraction = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .min(0, { error: `expected ${what}` })
    .max(1, { error: `expected ${what}` });
const wholeIn = (min: number, max: number) =>
  z
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int({ error: `expected a whole number from ${min} to ${max}` })
    .min(min, { error: `expected a whole number from ${min} to ${max}` })
    .max(max, { error: `expected a whole number from ${min} to ${max}` });
const duration = (what = 'a duration like 30s, 500ms or 5m') =>
  z.string({ error: `expected ${what}` }).transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}`, input: text });
      return z.NEVER;
    }
    return ms;
  });
const positiveDuration = duration('a duration > 0 like 30s, 500ms or 5m').refine((ms) => ms > 0, {
  error: 'expected a duration > 0 like 30s, 500ms or 5m',
});
const name = z
  .string({ error: 'expected a name' })
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected a name of lowercase letters, digits and dashes (≤ 40)' });

const recipients = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('uniform') }),
    z.strictObject({ kind: z.literal('zipf'), s: z.number({ error: 'expected a number ≥ 0' }).min(0, { error: 'expected a number ≥ 0' }) }),
    z.strictObject({ kind: z.literal('pairs') }),
    z.strictObject({ kind: z.literal('groups'), groupSize: wholeIn(2, 1000) }),
  ],
  { error: 'expected {kind: uniform | zipf | pairs | groups}' },
);

const sizes = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('fixed'), bytes: wholeIn(1, 60_000) }),
    z.strictObject({ kind: z.literal('uniform'), minBytes: wholeIn(1, 60_000), maxBytes: wholeIn(1, 60_000) }),
    z.strictObject({
      kind: z.literal('lognormal'),
      medianBytes: wholeIn(1, 60_000),
      sigma: z.number({ error: 'expected a number ≥ 0' }).min(0),
      maxBytes: wholeIn(1, 60_000),
    }),
  ],
  { error: 'expected {kind: fixed | uniform | lognormal}' },
);

const share = z
  .number({ error: 'expected a share in (0, 1]' })
  .gt(0, { error: 'expected a share in (0, 1]' })
  .max(1, { error: 'expected a share in (0, 1]' });
const at = duration('an offset from the segment start like 20s');
const relayIndex = wholeIn(0, 63);
const brokerId = wholeIn(1, 3);

/** One entry of `faults:` (see bench/src/faults/spec.ts and docs/faults.md). */
const fault = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ at, action: z.literal('kill-relay'), relay: relayIndex }),
    z.strictObject({ at, action: z.literal('drain-relay'), relay: relayIndex }),
    z.strictObject({ at, action: z.literal('add-relay') }),
    z.strictObject({ at, action: z.literal('kill-broker'), broker: brokerId }),
    z.strictObject({ at, action: z.literal('restart-broker'), broker: brokerId }),
    z.strictObject({ at, action: z.literal('slow-readers'), share, for: positiveDuration }),
    z.strictObject({ at, action: z.literal('reconnect-storm'), share, within: duration().default(0) }),
    z.strictObject({
      at,
      action: z.literal('latency'),
      delay: duration('a delay from 0 to 10s like 2ms (0: the proxy alone, a control)').refine((ms) => ms >= 0 && ms <= 10_000, {
        error: 'expected a delay from 0 to 10s like 2ms (0: the proxy alone, a control)',
      }),
      jitter: duration('a jitter from 0 to 10s like 1ms')
        .refine((ms) => ms >= 0 && ms <= 10_000, { error: 'expected a jitter from 0 to 10s like 1ms' })
        .default(0),
      for: positiveDuration.optional(),
      relays: z
        .array(relayIndex, { error: 'expected a list of relay indexes like [0, 1]' })
        .min(1, { error: 'expected at least one relay index (or leave relays out for all)' })
        .optional(),
      direction: z.enum(['both', 'to-relay', 'to-client'], { error: 'expected both, to-relay or to-client' }).default('both'),
    }),
  ],
  {
    error:
      'expected {at: <offset>, action: kill-relay | drain-relay | add-relay | kill-broker | restart-broker | slow-readers | reconnect-storm | latency}',
  },
);

function toFaultSpec(f: z.output<typeof fault>): FaultSpec {
  switch (f.action) {
    case 'kill-relay':
    case 'drain-relay':
      return { action: f.action, atMs: f.at, relay: f.relay };
    case 'add-relay':
      return { action: f.action, atMs: f.at };
    case 'kill-broker':
    case 'restart-broker':
      return { action: f.action, atMs: f.at, broker: f.broker };
    case 'slow-readers':
      return { action: f.action, atMs: f.at, share: f.share, durationMs: f.for };
    case 'reconnect-storm':
      return { action: f.action, atMs: f.at, share: f.share, durationMs: f.within };
    case 'latency':
      return {
        action: f.action,
        atMs: f.at,
        delayMs: f.delay,
        jitterMs: f.jitter,
        forMs: f.for ?? null,
        relays: f.relays ?? null,
        direction: f.direction,
      };
  }
}

export const workloadSchema = z.strictObject({
  users: wholeIn(2, 1_000_000),
  rate: positive,
  arrivals: z.enum(['poisson', 'constant'], { error: 'expected poisson or constant' }).default('poisson'),
  rampUp: duration().default(0),
  onlineFraction: fraction('a fraction in (0, 1]')
    .refine((v) => v > 0, { error: 'expected a fraction in (0, 1]' })
    .default(1),
  churnPerSec: fraction('a probability per second in [0, 1]').default(0),
  offline: duration().default(5_000),
  recipients: recipients.default({ kind: 'uniform' }),
  size: sizes.default({ kind: 'fixed', bytes: 200 }),
  readDelay: duration().default(200),
  seed: z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' }).default(1),
});

export const scenarioSchema = z
  .strictObject({
    name,
    description: z.string({ error: 'expected text' }).default(''),
    brokers: z.literal([1, 3], { error: 'expected 1 or 3' }),
    partitions: wholeIn(1, 1000),
    relays: wholeIn(1, 16),
    workers: wholeIn(1, 16),
    duration: positiveDuration,
    warmup: duration().default(5_000),
    firstWarmup: duration().optional(),
    drain: duration().default(10_000),
    maxScheduleLag: positiveDuration.default(10),
    connectRate: positive.optional(),
    routingHint: z.boolean({ error: 'expected true or false' }).default(true),
    workload: workloadSchema,
    objectives: z
      .array(z.string({ error: 'expected an objective expression like "p99(e2eCorrected) <= 250ms"' }), {
        error: 'expected a list of objective expressions',
      })
      .min(1, { error: 'expected at least one objective' }),
    reference: z.literal('kafka-direct', { error: 'expected kafka-direct (or leave it out)' }).optional(),
    phases: z
      .array(
        z.strictObject({
          name,
          relays: wholeIn(1, 16).optional(),
          rate: positive.optional(),
          duration: positiveDuration.optional(),
        }),
        { error: 'expected a list of phases' },
      )
      .min(1, { error: 'expected at least one phase' })
      .optional(),
    ramp: z
      .strictObject({
        from: positive,
        step: positive,
        to: positive,
        stepDuration: positiveDuration,
      })
      .optional(),
    faults: z
      .array(fault, { error: 'expected a list of faults' })
      .transform((list) => list.map(toFaultSpec))
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.phases !== undefined && s.ramp !== undefined)
      ctx.addIssue({ code: 'custom', path: ['ramp'], message: 'a scenario has phases or a ramp, not both', input: s.ramp });
    if (s.ramp !== undefined && s.ramp.to < s.ramp.from)
      ctx.addIssue({ code: 'custom', path: ['ramp', 'to'], message: `expected a rate ≥ ramp.from (${s.ramp.from})`, input: s.ramp.to });
    if (s.workload.readDelay >= s.drain && s.drain > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['workload', 'readDelay'],
        message: `expected less than drain (${s.drain} ms), or read receipts cannot arrive`,
        input: s.workload.readDelay,
      });
    if (s.workload.users < 2 * s.workers)
      ctx.addIssue({
        code: 'custom',
        path: ['workload', 'users'],
        message: `expected at least 2 users per worker (${s.workers} workers)`,
        input: s.workload.users,
      });
    const g = s.workload.recipients;
    if (g.kind === 'groups' && g.groupSize > s.workload.users / s.workers)
      ctx.addIssue({
        code: 'custom',
        path: ['workload', 'recipients', 'groupSize'],
        message: 'expected at most the users of one worker',
        input: g.groupSize,
      });
    const sz = s.workload.size;
    if (sz.kind === 'uniform' && sz.maxBytes < sz.minBytes)
      ctx.addIssue({ code: 'custom', path: ['workload', 'size', 'maxBytes'], message: 'expected maxBytes ≥ minBytes', input: sz.maxBytes });
    const problems = faultProblems(s.faults ?? [], {
      relays: s.relays,
      brokers: s.brokers,
      sendingMs: firstSegmentWarmupMs(s.warmup, s.firstWarmup) + s.duration,
      multiSegment: s.phases !== undefined || s.ramp !== undefined,
    });
    for (const p of problems)
      ctx.addIssue({
        code: 'custom',
        path: p.index < 0 ? ['faults'] : p.field === null ? ['faults', p.index] : ['faults', p.index, p.field],
        message: p.message,
        input: p.input,
      });
    const names = new Set<string>();
    s.phases?.forEach((p, i) => {
      if (names.has(p.name))
        ctx.addIssue({ code: 'custom', path: ['phases', i, 'name'], message: 'expected a name not used by another phase', input: p.name });
      names.add(p.name);
    });
  });

export type ScenarioFile = z.output<typeof scenarioSchema>;
