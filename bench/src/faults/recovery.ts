/**
 * Recovery figures per fault, from one segment's merged data (pure; unit-tested):
 * - users: the users whose connection closed unasked within [fault − 1 s, fault + its own
 *   duration + 5 s] (the workers' `disruptions`); recovery = the last one's first ack or delivery
 *   on a new connection − the fault instant. null when none was disrupted or one never recovered.
 * - latency: the per-interval e2e p99 (1 s intervals, all workers merged) against
 *   threshold = max(2 × the median interval p99 before the segment's first fault, the scenario's
 *   p99(e2eCorrected) objective). A message is recorded when it is delivered, so mail stalled by
 *   the fault shows up late, in the intervals where it finally arrives: recovery = from the fault
 *   to the end of the last bad interval (p99 over the threshold, or nothing delivered while
 *   sending) before the next fault, once a good interval followed it; 0 when no interval was
 *   bad; null when none came back (before the next fault, or by the end of the results).
 * - spike: the highest interval p99 from the fault until the next fault, and its ratio to the
 *   pre-fault median.
 * - server: the orchestrator's own recovery event (group Stable, leaders moved, broker in sync).
 * Re-deliveries and duplicates are the segment's ledger totals: the ledger counts them without
 * timestamps, so with several faults they cannot be split between them.
 */
import type { LedgerCounts } from '../../../loadgen/src/ledger.js';
import type { FaultEvent, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { median } from '../gate/mann-whitney.js';
import type { MergedSegment } from '../results/merge.js';
import type { Objective } from '../scenarios/objectives.js';
import { faultSide, isClientFault, type FaultSpec } from './spec.js';

export const DISRUPTION_BEFORE_MS = 1000;
export const DISRUPTION_AFTER_MS = 5000;

export interface FaultRecovery {
  readonly segment: string;
  readonly action: string;
  readonly detail: string;
  /** The fault instant (ms since epoch) and its offset from the measured window's start (s; negative: in the warm-up). */
  readonly atMs: number;
  readonly atS: number;
  /** Who the fault hit: `server` faults (relays, brokers) have a system recovery; `client` faults recover when their users do. */
  readonly side: 'client' | 'server';
  /** ms from the fault to the orchestrator's recovery event; null: none (client faults, or not recovered). */
  readonly serverRecoveryMs: number | null;
  readonly disruptedUsers: number;
  readonly unrecoveredUsers: number;
  readonly usersRecoveryMs: number | null;
  /** Median interval e2e p99 before the first fault (µs), the threshold used (µs). */
  readonly baselineP99Us: number | null;
  readonly thresholdUs: number | null;
  readonly latencyRecoveryMs: number | null;
  readonly spikeP99Us: number | null;
  readonly spikeRatio: number | null;
  /** Segment totals (see the module comment). */
  readonly redelivered: number;
  readonly duplicated: number;
}

export interface SegmentFaults {
  readonly events: readonly FaultEvent[];
  readonly recoveries: readonly FaultRecovery[];
}

export interface RecoveryInput {
  readonly segment: string;
  /** The scenario's faults and the segment's start instant (to tell which event is which fault). */
  readonly faults: readonly FaultSpec[];
  readonly startAtMs: number;
  /** The orchestrator's timeline (executor.ts). */
  readonly events: readonly FaultEvent[];
  readonly results: readonly WorkerResult[];
  readonly merged: Pick<MergedSegment, 'measureStartMs' | 'intervals' | 'series'>;
  readonly ledger: Pick<LedgerCounts, 'redelivered' | 'duplicated'>;
  readonly objectives: readonly Objective[];
}

/** The segment's timeline (orchestrator + workers' own events) and one recovery record per fault event. */
export function segmentFaults(i: RecoveryInput): SegmentFaults {
  const events = timeline(i.events, i.results);
  const disruptions = i.results.flatMap((r) => r.disruptions ?? []);
  const series = intervalSeries(i.merged);
  const faultEvents = i.events.filter((e) => e.kind === 'fault').sort((a, b) => a.atMs - b.atMs);
  const firstFaultMs = faultEvents[0]?.atMs ?? Infinity;
  const before = series.filter((p) => p.endMs <= firstFaultMs && p.p99Us > 0).map((p) => p.p99Us);
  const baseline = before.length === 0 ? null : median(before);
  const objective =
    i.objectives.find(
      (o) =>
        o.metric.kind === 'latency' &&
        o.metric.stat === 'percentile' &&
        o.metric.percentile === 99 &&
        o.metric.stage === 'e2eCorrected' &&
        (o.op === '<=' || o.op === '<'),
    )?.threshold ?? null;
  const thresholdUs = baseline === null && objective === null ? null : Math.max(baseline === null ? 0 : 2 * baseline, objective ?? 0);
  const recoveries = faultEvents.map((f, k): FaultRecovery => {
    const own = durationOf(f, i.faults, i.startAtMs);
    const next = faultEvents.slice(k + 1).find((e) => e.atMs > f.atMs)?.atMs ?? Infinity;
    // A later fault's disruptions are its own, even inside this one's window.
    const hit = disruptions.filter(
      (d) =>
        d.closedAtMs >= f.atMs - DISRUPTION_BEFORE_MS &&
        d.closedAtMs <= f.atMs + own + DISRUPTION_AFTER_MS &&
        d.closedAtMs < next - DISRUPTION_BEFORE_MS,
    );
    const unrecovered = hit.filter((d) => d.recoveredAtMs === null).length;
    const usersRecoveryMs =
      hit.length === 0 || unrecovered > 0 ? null : Math.round(Math.max(0, ...hit.map((d) => (d.recoveredAtMs as number) - f.atMs)));
    const recovery = i.events.find((e) => e.kind === 'recovery' && e.action === f.action && e.atMs >= f.atMs);
    const window = series.filter((p) => p.endMs > f.atMs && p.startMs < next);
    const latencyRecoveryMs = thresholdUs === null ? null : latencyRecovery(window, f.atMs, thresholdUs);
    const spike = window.reduce((m, p) => Math.max(m, p.p99Us), 0);
    return {
      segment: i.segment,
      action: f.action,
      detail: f.detail,
      atMs: f.atMs,
      atS: Math.round((f.atMs - i.merged.measureStartMs) / 100) / 10,
      side: faultSide(f.action),
      serverRecoveryMs: recovery === undefined || faultSide(f.action) === 'client' ? null : Math.round(recovery.atMs - f.atMs),
      disruptedUsers: hit.length,
      unrecoveredUsers: unrecovered,
      usersRecoveryMs,
      baselineP99Us: baseline,
      thresholdUs,
      latencyRecoveryMs,
      spikeP99Us: spike > 0 ? spike : null,
      spikeRatio: spike > 0 && baseline !== null && baseline > 0 ? Math.round((spike / baseline) * 100) / 100 : null,
      redelivered: i.ledger.redelivered,
      duplicated: i.ledger.duplicated,
    };
  });
  return { events, recoveries };
}

interface Point {
  readonly startMs: number;
  readonly endMs: number;
  readonly p99Us: number;
  readonly sentPerSec: number;
  readonly deliveredPerSec: number;
}

/** merged.intervals and merged.series are index-aligned (one per 1 s bucket). */
function intervalSeries(m: RecoveryInput['merged']): Point[] {
  return m.series.map((p, k) => {
    const iv = m.intervals[k];
    const endMs = iv?.endMs ?? m.measureStartMs + p.t * 1000;
    return { startMs: iv?.startMs ?? endMs - 1000, endMs, p99Us: p.p99Us, sentPerSec: p.sentPerSec, deliveredPerSec: p.deliveredPerSec };
  });
}

/** `window`: the intervals from the fault to the next fault (or the end). Intervals with nothing sent or delivered count neither way. */
function latencyRecovery(window: readonly Point[], atMs: number, thresholdUs: number): number | null {
  const bad = (p: Point) => p.p99Us > thresholdUs || (p.deliveredPerSec === 0 && p.sentPerSec > 0);
  const good = (p: Point) => !bad(p) && p.deliveredPerSec > 0;
  let last = -1;
  window.forEach((p, k) => {
    if (bad(p)) last = k;
  });
  if (last < 0) return 0;
  return window.slice(last + 1).some(good) ? Math.round(Math.max(0, window[last]!.endMs - atMs)) : null;
}

/** How long a fault itself lasts (client faults: their window), for the disruption window. */
function durationOf(f: FaultEvent, faults: readonly FaultSpec[], startAtMs: number): number {
  const spec = faults.find((s) => s.action === f.action && Math.abs(startAtMs + s.atMs - f.atMs) < 60_000);
  return spec !== undefined && isClientFault(spec) ? spec.durationMs : 0;
}

/**
 * The orchestrator's events plus each worker's own (client faults applied, their end), without
 * repeating a worker's `fault` event for a client fault the orchestrator already recorded.
 */
function timeline(own: readonly FaultEvent[], results: readonly WorkerResult[]): FaultEvent[] {
  const out = [...own];
  for (const r of results) {
    for (const e of r.faultEvents ?? []) {
      const dup = e.kind === 'fault' && own.some((x) => x.kind === 'fault' && x.action === e.action && Math.abs(x.atMs - e.atMs) < 1000);
      if (!dup) out.push({ ...e, detail: `${r.workerId}: ${e.detail}` });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}
