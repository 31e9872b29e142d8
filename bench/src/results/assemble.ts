/**
 * Segments → RunSummary: validity, the verdict, the exit code, the kafka-direct reference ratios
 * and the ramp's highest rate that held. Pure; the rules are unit-tested.
 *
 * - invalid (exit 2): any message lost; a generator-bound segment (except a ramp step after the
 *   first: there it only means that step did not hold); nothing sent at all;
 * - fail (exit 1): an objective of a relay segment failed (for a ramp: the first step did not hold);
 * - pass (exit 0); interrupted (exit 130) wins over everything.
 */
import { ExitCode } from '../cli/exit-codes.js';
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';
import type { Scenario } from '../scenarios/scenario.js';
import { sumLedgers } from './merge.js';
import { SUMMARY_SCHEMA_VERSION, type ReferenceSummary, type RunStatus, type RunSummary, type SegmentSummary } from './summary.js';

export interface RunContext {
  readonly runId: string;
  readonly createdAt: string;
  readonly scenario: Scenario;
  readonly versions: RunSummary['versions'];
  readonly machine: RunSummary['machine'];
  readonly kafka: RunSummary['kafka'];
  readonly prometheus: RunSummary['prometheus'];
  readonly interrupted: boolean;
  readonly generatorPriority?: RunSummary['generatorPriority'];
  readonly notes?: readonly string[];
}

export function assembleSummary(ctx: RunContext, segments: readonly SegmentSummary[]): RunSummary {
  const relay = segments.filter((s) => s.mode === 'relay');
  if (relay.length === 0) throw new RangeError('assembleSummary: no relay segment');
  const primary = relay[0]!;
  const isRamp = ctx.scenario.ramp !== undefined;
  const invalidReasons: string[] = [];
  for (const [i, s] of segments.entries()) {
    if (s.ledger.lost > 0)
      invalidReasons.push(
        s.drain?.stillProgressing === true
          ? `${s.ledger.lost} message(s) undelivered at the end of segment ${s.name}, while deliveries were still arriving when the drain limit (${Math.round(s.drain.waitedMs / 1000)} s) came: late rather than proven lost — the system was overloaded`
          : `${s.ledger.lost} message(s) lost in segment ${s.name}`,
      );
    if (s.generatorBound && !(isRamp && s.mode === 'relay' && i > 0))
      invalidReasons.push(`segment ${s.name} was generator-bound (schedule lag up to ${Math.round(s.maxScheduleLagUs / 1000)} ms): the load generator, not the system, was the bottleneck`);
  }
  const ledger = sumLedgers(relay.map((s) => s.ledger));
  if (ledger.sent === 0) invalidReasons.push('no message was sent');

  let ramp: RunSummary['ramp'] = null;
  let failed: boolean;
  if (isRamp) {
    const steps = relay.map((s) => ({ ratePerSec: s.targetRatePerSec, held: s.held && !s.generatorBound }));
    let highest: number | null = null;
    for (const step of steps) {
      if (!step.held) break;
      highest = step.ratePerSec;
    }
    ramp = { highestRateHeldPerSec: highest, steps };
    failed = highest === null;
  } else {
    failed = relay.some((s) => !s.held);
  }
  const valid = invalidReasons.length === 0;
  const status: RunStatus = ctx.interrupted ? 'interrupted' : !valid ? 'invalid' : failed ? 'fail' : 'pass';
  const exitCode = { interrupted: ExitCode.INTERRUPTED, invalid: ExitCode.INVALID, fail: ExitCode.GATE_FAILED, pass: ExitCode.OK }[status];
  const refSegment = segments.find((s) => s.mode === 'kafka-direct');
  const s = ctx.scenario;
  return {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    kind: 'relaybench-run',
    runId: ctx.runId,
    createdAt: ctx.createdAt,
    scenario: { name: s.name, description: s.description, file: s.file, config: scenarioConfig(s) },
    versions: ctx.versions,
    machine: ctx.machine,
    kafka: ctx.kafka,
    prometheus: ctx.prometheus,
    status,
    exitCode,
    valid,
    invalidReasons,
    generatorBound: segments.some((x) => x.generatorBound),
    primary: primary.name,
    ledger,
    rate: { targetPerSec: primary.targetRatePerSec, achievedPerSec: primary.achievedRatePerSec },
    stages: primary.stages,
    histograms: primary.histograms,
    series: primary.series,
    gating: primary.gating,
    objectives: segments.flatMap((x) => x.objectives),
    segments,
    reference: refSegment === undefined ? null : referenceSummary(primary, refSegment),
    ramp,
    faults: segments.flatMap((x) => (x.faults ?? []).map((e) => ({ ...e, segment: x.name }))),
    recoveries: segments.flatMap((x) => x.recoveries ?? []),
    resources: primary.resources ?? null,
    generatorPriority: ctx.generatorPriority ?? null,
    notes: ctx.notes ?? [],
  };
}

export function referenceSummary(relay: SegmentSummary, ref: SegmentSummary): ReferenceSummary {
  const ratios: Partial<Record<Stage, { p50: number; p90: number; p99: number }>> = {};
  for (const stage of STAGES) {
    if (stage === 'scheduleLag') continue; // generator health, not a path latency
    const a = relay.stages[stage];
    const b = ref.stages[stage];
    if (a.count === 0 || b.count === 0 || b.p50 === 0 || b.p90 === 0 || b.p99 === 0) continue;
    ratios[stage] = { p50: round3(a.p50 / b.p50), p90: round3(a.p90 / b.p90), p99: round3(a.p99 / b.p99) };
  }
  return { segment: ref.name, stages: ref.stages, ratios };
}

/** The scenario as plain JSON (objectives as their expressions). */
export function scenarioConfig(s: Scenario): unknown {
  return { ...s, objectives: s.objectives.map((o) => o.expr) };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
