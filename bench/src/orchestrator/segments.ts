/**
 * The execution plan, computed before any load starts (STYLE §11): the scenario → an ordered
 * list of segments. Each segment runs fresh worker processes (fresh user ids) against the
 * relay tier at its size. Plain scenario: one `main` segment. Phases: one per phase. Ramp: one
 * per rate step (the run stops after the first step that does not hold). Reference: one
 * `reference` segment in kafka-direct mode at the first segment's rate, at the end.
 * Faults (a plain scenario's `faults:`) fire in the relay segment only; they are checked again
 * here because flags (--relays, --duration, --warmup) may have moved the ground under them.
 * The first segment (and an alongside reference, which shares its window) warms up for
 * firstSegmentWarmupMs; every later one for `warmup`.
 */
import { faultProblems } from '../faults/spec.js';
import { firstSegmentWarmupMs, type Scenario } from '../scenarios/scenario.js';
import { runError } from './errors.js';

export interface SegmentSpec {
  readonly name: string;
  readonly mode: 'relay' | 'kafka-direct';
  /** Relay processes running during the segment (0 for kafka-direct). */
  readonly relays: number;
  readonly ratePerSec: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Stop the run after this segment when one of its objectives fails (ramp steps). */
  readonly stopWhenBroken: boolean;
  /** Runs in the same window as the segment before it (the alongside reference). */
  readonly alongside?: boolean;
}

export interface ReferenceTiming {
  /** `after` (default): the reference segment follows the relay segments at the same rate. */
  readonly timing: 'after' | 'alongside';
  /** Rate of an alongside reference (msg/s); default ¼ of the relay segment's. */
  readonly ratePerSec?: number;
}

export function planSegments(s: Scenario, ref: ReferenceTiming = { timing: 'after' }): SegmentSpec[] {
  const firstWarmupMs = firstSegmentWarmupMs(s.warmupMs, s.firstWarmupMs);
  const problem = faultProblems(s.faults, {
    relays: s.relays,
    brokers: s.brokers,
    sendingMs: firstWarmupMs + s.durationMs,
    multiSegment: s.phases.length > 0 || s.ramp !== undefined,
  })[0];
  if (problem !== undefined)
    throw runError(
      'RB_RUN_BAD_OPTION',
      `${problem.index < 0 ? 'faults' : `faults[${problem.index}]${problem.field === null ? '' : `.${problem.field}`}`}: ${problem.message}, got ${JSON.stringify(problem.input)} (with the effective relays=${s.relays}, warmup=${firstWarmupMs} ms, duration=${s.durationMs} ms).`,
    );
  const out: SegmentSpec[] = [];
  if (s.ramp !== undefined) {
    const r = s.ramp;
    for (let rate = r.fromPerSec, i = 0; rate <= r.toPerSec + 1e-9 && i < 1000; rate += r.stepPerSec, i++)
      out.push({
        name: `rate-${Math.round(rate)}`,
        mode: 'relay',
        relays: s.relays,
        ratePerSec: rate,
        durationMs: r.stepDurationMs,
        warmupMs: s.warmupMs,
        stopWhenBroken: true,
      });
  } else if (s.phases.length > 0) {
    for (const p of s.phases)
      out.push({
        name: p.name,
        mode: 'relay',
        relays: p.relays,
        ratePerSec: p.ratePerSec,
        durationMs: p.durationMs,
        warmupMs: s.warmupMs,
        stopWhenBroken: false,
      });
  } else {
    out.push({
      name: 'main',
      mode: 'relay',
      relays: s.relays,
      ratePerSec: s.workload.ratePerSec,
      durationMs: s.durationMs,
      warmupMs: s.warmupMs,
      stopWhenBroken: false,
    });
  }
  out[0] = { ...out[0]!, warmupMs: firstWarmupMs };
  if (s.reference === 'kafka-direct') {
    const first = out[0]!;
    const alongside = ref.timing === 'alongside';
    if (alongside && out.length > 1)
      throw runError(
        'RB_RUN_BAD_OPTION',
        `--reference-timing alongside: needs a scenario with one relay segment; ${s.name} has ${out.length} (phases or a ramp).`,
      );
    out.push({
      name: 'reference',
      mode: 'kafka-direct',
      relays: 0,
      ratePerSec: alongside ? (ref.ratePerSec ?? first.ratePerSec / 4) : first.ratePerSec,
      durationMs: first.durationMs,
      warmupMs: alongside ? first.warmupMs : s.warmupMs,
      stopWhenBroken: false,
      ...(alongside ? { alongside: true } : {}),
    });
  }
  return out;
}

/** The most load-generator workers running at the same time: an alongside reference adds its own. */
export function workersAtOnce(s: Scenario, ref: ReferenceTiming): number {
  return s.workers * (planSegments(s, ref).some((g) => g.alongside === true) ? 2 : 1);
}

/** Rough wall time of a segment (ms), for progress fractions and the printed plan. */
export function segmentWallMs(seg: SegmentSpec, s: Scenario): number {
  return seg.warmupMs + seg.durationMs + s.drainMs;
}
