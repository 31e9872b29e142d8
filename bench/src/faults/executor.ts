/**
 * Fires a segment's server-side faults at their instants (segment start + offset) and records
 * the timeline: one `fault` event per fault (when its signal went out or its action began) and
 * one `recovery` event when the system is whole again —
 * - relay faults (kill, drain, add): every running relay ready, and the group Stable with every
 *   partition of relay.mailbox owned by a running relay (and every relay owning some);
 * - kill-broker: every relay.mailbox partition led by another broker;
 * - restart-broker: the broker answers again (asked directly) and is in the ISR of every partition
 *   it replicates.
 * Client-side faults are applied by the workers; they get a `fault` event at their planned instant.
 * Actions run one at a time in firing order (the fleet is not re-entrant); recovery watchers run
 * beside them until recovery or stop(). An action that fails rejects `failed` (the run fails
 * with the relay's or Kafka's own error); later faults are then not fired. Each action and its
 * recovery condition: actions.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultEvent } from '../../../loadgen/src/worker/contract.js';
import type { KafkaCluster, LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { fireBroker, fireLatency, fireRelay, type FaultFleet, type FaultTimeline, type RecoveryCheck } from './actions.js';
import { faultError } from './errors.js';
import { inFiringOrder, isBrokerFault, isClientFault, isLatencyFault, type FaultSpec, type ServerFaultSpec } from './spec.js';

export { MAILBOX_TOPIC, type FaultFleet } from './actions.js';

export interface FaultRunOptions {
  readonly faults: readonly FaultSpec[];
  /** The segment's start instant (the plans' startAtMs). */
  readonly startAtMs: number;
  readonly fleet: FaultFleet;
  readonly kafka: KafkaCluster;
  readonly log: (line: string) => void;
  /** Poll period of the recovery watchers (ms). */
  readonly pollMs?: number;
  /** How long stop() still waits for recoveries in progress, so the timeline is complete (ms). */
  readonly recoveryGraceMs?: number;
  /** Called after a relay was added or removed (the run updates Prometheus's targets). */
  readonly onFleetChange?: () => void;
}

export interface FaultRun {
  /** Rejects when a fault action fails; never resolves. */
  readonly failed: Promise<never>;
  /** The timeline so far, in time order. */
  events(): FaultEvent[];
  /** Cancels faults not yet fired, waits for the one in progress and (up to the grace) for recoveries, ends the watchers. Idempotent. */
  stop(waitForRecoveries?: boolean): Promise<void>;
}

/** Throws RB_FAULT_UNSUPPORTED when a fault cannot run here (before any load starts). */
export function checkFaultTargets(faults: readonly FaultSpec[], fleet: FaultFleet, kafka: KafkaCluster): void {
  for (const [i, f] of faults.entries()) {
    if (isBrokerFault(f) && !isLocalCluster(kafka))
      throw faultError(
        'RB_FAULT_UNSUPPORTED',
        `faults[${i}] ${f.action} needs the local Kafka provider (its brokers are processes of this run); this run uses the ${kafka.provider} provider. Run without --brokers/KAFKA_BROKERS, or pass --kafka-provider local.`,
      );
    if (isBrokerFault(f) && isLocalCluster(kafka) && !kafka.nodes.some((n) => n.nodeId === f.broker))
      throw faultError(
        'RB_FAULT_UNSUPPORTED',
        `faults[${i}] ${f.action} names broker ${f.broker}, but the cluster's nodes are ${kafka.nodes.map((n) => n.nodeId).join(', ')}.`,
      );
    if (isLatencyFault(f) && fleet.setLatency === undefined)
      throw faultError('RB_FAULT_UNSUPPORTED', `faults[${i}] latency needs relaybench run's own relays, started behind latency proxies.`);
    if (
      !isClientFault(f) &&
      !isBrokerFault(f) &&
      !isLatencyFault(f) &&
      (fleet.addRelay === undefined || fleet.removeRelay === undefined || fleet.readiness === undefined)
    )
      throw faultError(
        'RB_FAULT_UNSUPPORTED',
        `faults[${i}] ${f.action} needs a relay fleet that can add and remove relays (relaybench run's own relays).`,
      );
  }
}

function isLocalCluster(k: KafkaCluster): k is LocalKafkaCluster {
  return (
    k.provider === 'local' &&
    typeof (k as Partial<LocalKafkaCluster>).kill === 'function' &&
    typeof (k as Partial<LocalKafkaCluster>).restart === 'function'
  );
}

export function startFaults(o: FaultRunOptions): FaultRun {
  checkFaultTargets(o.faults, o.fleet, o.kafka);
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // observed by the run; never an unhandled rejection
  const run: RunState = {
    o,
    pollMs: o.pollMs ?? 250,
    graceMs: o.recoveryGraceMs ?? 30_000,
    events: [],
    timers: [],
    watchers: [],
    fail,
    cancelled: false,
    stopped: false,
    broken: false,
    chain: Promise.resolve(),
  };
  const timeline = timelineOf(run);
  for (const { fault: f, index } of inFiringOrder(o.faults)) {
    const delay = Math.max(0, o.startAtMs + f.atMs - Date.now());
    run.timers.push(setTimeout(() => atFaultInstant(run, timeline, f, index), delay));
  }

  let stopping: Promise<void> | undefined;
  return {
    failed,
    events: () => [...run.events].sort((a, b) => a.atMs - b.atMs),
    stop(waitForRecoveries = true) {
      stopping ??= stopRun(run, waitForRecoveries);
      return stopping;
    },
  };
}

/** What the fault timers, the action chain, the recovery watchers and stop() share. */
interface RunState {
  readonly o: FaultRunOptions;
  readonly pollMs: number;
  readonly graceMs: number;
  readonly events: FaultEvent[];
  readonly timers: NodeJS.Timeout[];
  readonly watchers: Promise<void>[];
  /** Rejects `failed`. */
  readonly fail: (e: Error) => void;
  /** Set by stop(): actions not begun yet are skipped. */
  cancelled: boolean;
  /** Set by stop() after the grace: the watchers stop polling. */
  stopped: boolean;
  /** An action failed: later faults are not fired. */
  broken: boolean;
  /** The actions, one at a time in firing order (the fleet is not re-entrant). */
  chain: Promise<void>;
}

function timelineOf(run: RunState): FaultTimeline {
  return {
    record: (e) => record(run, e),
    watch: (action, faultAtMs, done) => {
      run.watchers.push(watchRecovery(run, action, faultAtMs, done));
    },
    later: (ms, fn) => {
      run.timers.push(setTimeout(fn, ms));
    },
  };
}

function record(run: RunState, e: FaultEvent): void {
  run.events.push(e);
  run.o.log(`${e.kind === 'fault' ? 'fault' : 'recovered'}: ${e.action} — ${e.detail}`);
}

/** Polls `done` until true (→ recovery event) or stop(). */
async function watchRecovery(run: RunState, action: string, faultAtMs: number, done: () => Promise<RecoveryCheck>): Promise<void> {
  let last = '';
  while (!run.stopped) {
    try {
      const r = await done();
      if (r.ok) {
        const now = Date.now();
        record(run, {
          atMs: now,
          kind: 'recovery',
          action,
          detail: `${r.detail} (${((now - faultAtMs) / 1000).toFixed(1)} s after the fault)`,
        });
        return;
      }
      last = r.detail;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(run.pollMs);
  }
  if (last !== '') run.o.log(`fault ${action}: not recovered when the segment ended (${last})`);
}

function atFaultInstant(run: RunState, timeline: FaultTimeline, f: FaultSpec, index: number): void {
  if (isClientFault(f)) {
    // Applied by the workers at this instant; recorded here once for the whole run.
    record(run, { atMs: run.o.startAtMs + f.atMs, kind: 'fault', action: f.action, detail: clientDetail(f) });
    return;
  }
  run.chain = run.chain.then(() => fireInTurn(run, timeline, f, index));
}

/** A server fault's action, once the ones before it are done; one that fails breaks the run. */
async function fireInTurn(run: RunState, timeline: FaultTimeline, f: ServerFaultSpec, index: number): Promise<void> {
  if (run.cancelled || run.broken) return;
  try {
    if (isBrokerFault(f)) await fireBroker(run.o, timeline, f);
    else if (isLatencyFault(f)) fireLatency(run.o, timeline, f, index);
    else await fireRelay(run.o, timeline, f);
  } catch (e) {
    run.broken = true;
    run.o.log(`fault ${f.action} failed: ${e instanceof Error ? e.message : String(e)}`);
    run.fail(e instanceof Error ? e : new Error(String(e)));
  }
}

async function stopRun(run: RunState, waitForRecoveries: boolean): Promise<void> {
  for (const t of run.timers) clearTimeout(t);
  run.cancelled = true;
  await run.chain;
  let grace: NodeJS.Timeout | undefined;
  const pending = Promise.all(run.watchers);
  if (waitForRecoveries && !run.broken) await Promise.race([pending, new Promise<void>((r) => (grace = setTimeout(r, run.graceMs)))]);
  clearTimeout(grace);
  run.stopped = true;
  await pending;
}

function clientDetail(f: FaultSpec & { share: number; durationMs: number }): string {
  const pct = `${Math.round(f.share * 1000) / 10}%`;
  return f.action === 'slow-readers'
    ? `${pct} of each worker's online users stop reading for ${(f.durationMs / 1000).toFixed(1)} s (applied by the workers)`
    : `${pct} of each worker's online users drop their connections ${f.durationMs === 0 ? 'at once' : `within ${(f.durationMs / 1000).toFixed(1)} s`} and reconnect (applied by the workers)`;
}
