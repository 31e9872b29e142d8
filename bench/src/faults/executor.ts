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
 * with the relay's or Kafka's own error); later faults are then not fired.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultEvent } from '../../../loadgen/src/worker/contract.js';
import type { KafkaCluster, LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { faultError } from './errors.js';
import { backInSync, leadersMovedOff, topicState } from './kafka-watch.js';
import type { Latency } from './latency-proxy.js';
import {
  inFiringOrder,
  isBrokerFault,
  isClientFault,
  isLatencyFault,
  type BrokerFaultSpec,
  type FaultSpec,
  type LatencyFaultSpec,
  type RelayFaultSpec,
} from './spec.js';

/** The relay's mailbox topic (relay/src/config.ts default): its owners and replicas are what recovers. */
export const MAILBOX_TOPIC = 'relay.mailbox';

/** What the executor needs of the relay tier (RelayFleet); optional so a fleet without faults still fits. */
export interface FaultFleet {
  readonly relays: readonly { readonly url: string }[];
  addRelay?(): Promise<{ readonly index: number; readonly gatewayId: string; readonly url: string }>;
  removeRelay?(
    index: number,
    how: 'kill' | 'drain',
  ): Promise<{
    readonly handle: { readonly gatewayId: string; readonly url: string };
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly tookMs: number;
  }>;
  readiness?(): Promise<{ readonly ready: boolean; readonly why: string }>;
  /** Sets (null: removes) the latency of the proxies in front of these relays (null: every running one); returns the indexes hit. */
  setLatency?(relays: readonly number[] | null, id: string, latency: Latency | null): number[];
}

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
  const pollMs = o.pollMs ?? 250;
  const graceMs = o.recoveryGraceMs ?? 30_000;
  const events: FaultEvent[] = [];
  const timers: NodeJS.Timeout[] = [];
  const watchers: Promise<void>[] = [];
  let cancelled = false;
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // observed by the run; never an unhandled rejection
  let broken = false;

  const record = (e: FaultEvent) => {
    events.push(e);
    o.log(`${e.kind === 'fault' ? 'fault' : 'recovered'}: ${e.action} — ${e.detail}`);
  };
  /** Polls `done` until true (→ recovery event) or stop(). */
  const watch = (action: string, faultAtMs: number, done: () => Promise<{ ok: boolean; detail: string }>) => {
    const w = (async () => {
      let last = '';
      while (!stopped) {
        try {
          const r = await done();
          if (r.ok) {
            const now = Date.now();
            record({
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
        await sleep(pollMs);
      }
      if (last !== '') o.log(`fault ${action}: not recovered when the segment ended (${last})`);
    })();
    watchers.push(w);
  };

  const relayRecovered = async () => {
    const r = await o.fleet.readiness!();
    return {
      ok: r.ready,
      detail: r.ready ? `group Stable, every partition owned by the ${o.fleet.relays.length} running relay(s)` : r.why,
    };
  };

  const fireRelay = async (f: RelayFaultSpec) => {
    const t0 = Date.now();
    if (f.action === 'add-relay') {
      const h = await o.fleet.addRelay!();
      record({
        atMs: t0,
        kind: 'fault',
        action: f.action,
        detail: `started relay ${h.index} (${h.gatewayId}, ${h.url}), listening after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      });
    } else {
      const how = f.action === 'kill-relay' ? 'kill' : 'drain';
      const r = await o.fleet.removeRelay!(f.relay, how);
      const exit = r.signal !== null ? `killed by ${r.signal}` : `exit ${r.code}`;
      const note = how === 'drain' && r.code !== 0 ? ' — a drain should exit 0' : '';
      record({
        atMs: t0,
        kind: 'fault',
        action: f.action,
        detail: `${how === 'kill' ? 'SIGKILL' : 'SIGTERM (drain)'} relay ${f.relay} (${r.handle.gatewayId}, ${r.handle.url}): ${exit} after ${(r.tookMs / 1000).toFixed(1)} s${note}`,
      });
    }
    o.onFleetChange?.();
    watch(f.action, t0, relayRecovered);
  };

  const fireBroker = async (f: BrokerFaultSpec) => {
    const k = o.kafka as LocalKafkaCluster;
    const node = k.nodes.find((n) => n.nodeId === f.broker)!;
    const others = k.nodes.filter((n) => n.nodeId !== f.broker).map((n) => n.broker);
    const t0 = Date.now();
    if (f.action === 'kill-broker') {
      const pid = node.pid();
      await k.kill(f.broker, 'SIGKILL');
      record({
        atMs: t0,
        kind: 'fault',
        action: f.action,
        detail: `SIGKILL broker ${f.broker} (${node.broker}${pid === undefined ? '' : `, pid ${pid}`})`,
      });
      watch(f.action, t0, async () => {
        const t = await topicState(others, MAILBOX_TOPIC);
        return leadersMovedOff(t, f.broker)
          ? { ok: true, detail: `every ${MAILBOX_TOPIC} partition led by another broker` }
          : {
              ok: false,
              detail: `${t.partitions.filter((p) => p.leader === f.broker || p.leader < 0).length} partition(s) still led by broker ${f.broker} or leaderless`,
            };
      });
    } else {
      await k.restart(f.broker);
      const pid = node.pid();
      record({
        atMs: t0,
        kind: 'fault',
        action: f.action,
        detail: `restarted broker ${f.broker} (${node.broker}${pid === undefined ? '' : `, pid ${pid}`})`,
      });
      watch(f.action, t0, async () => {
        // Asked through the broker itself: a dead one's registration and ISR entries can outlive
        // it by seconds (session and replica-lag timeouts), so only an answer proves it is back.
        const t = await topicState([node.broker], MAILBOX_TOPIC);
        return backInSync(t, f.broker)
          ? { ok: true, detail: `broker ${f.broker} back in the ISR of every ${MAILBOX_TOPIC} partition` }
          : {
              ok: false,
              detail: `broker ${f.broker} in the ISR of ${t.partitions.filter((p) => p.isr.includes(f.broker)).length}/${t.partitions.length} partitions`,
            };
      });
    }
  };

  const fireLatency = (f: LatencyFaultSpec, index: number) => {
    const t0 = Date.now();
    const id = `faults[${index}]`;
    const hit = o.fleet.setLatency!(f.relays, id, { delayMs: f.delayMs, jitterMs: f.jitterMs, direction: f.direction });
    const what = `${f.delayMs} ms${f.jitterMs > 0 ? ` + up to ${f.jitterMs} ms jitter` : ''} on ${f.direction === 'both' ? 'both directions' : f.direction === 'to-relay' ? 'client→relay' : 'relay→client'} of relay(s) ${hit.join(', ')}`;
    record({
      atMs: t0,
      kind: 'fault',
      action: f.action,
      detail: `${what}${f.forMs === null ? ' until the segment ends' : ` for ${(f.forMs / 1000).toFixed(1)} s`}`,
    });
    if (f.forMs === null) return;
    timers.push(
      setTimeout(() => {
        o.fleet.setLatency!(hit, id, null);
        record({ atMs: Date.now(), kind: 'recovery', action: f.action, detail: `latency removed from relay(s) ${hit.join(', ')}` });
      }, f.forMs),
    );
  };

  for (const { fault: f, index } of inFiringOrder(o.faults)) {
    const delay = Math.max(0, o.startAtMs + f.atMs - Date.now());
    timers.push(
      setTimeout(() => {
        if (isClientFault(f)) {
          // Applied by the workers at this instant; recorded here once for the whole run.
          record({ atMs: o.startAtMs + f.atMs, kind: 'fault', action: f.action, detail: clientDetail(f) });
          return;
        }
        chain = chain.then(async () => {
          if (cancelled || broken) return;
          try {
            if (isBrokerFault(f)) await fireBroker(f);
            else if (isLatencyFault(f)) fireLatency(f, index);
            else await fireRelay(f);
          } catch (e) {
            broken = true;
            o.log(`fault ${f.action} failed: ${e instanceof Error ? e.message : String(e)}`);
            fail(e instanceof Error ? e : new Error(String(e)));
          }
        });
      }, delay),
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    failed,
    events: () => [...events].sort((a, b) => a.atMs - b.atMs),
    stop(waitForRecoveries = true) {
      stopping ??= (async () => {
        for (const t of timers) clearTimeout(t);
        cancelled = true;
        await chain;
        let grace: NodeJS.Timeout | undefined;
        const pending = Promise.all(watchers);
        if (waitForRecoveries && !broken) await Promise.race([pending, new Promise<void>((r) => (grace = setTimeout(r, graceMs)))]);
        clearTimeout(grace);
        stopped = true;
        await pending;
      })();
      return stopping;
    },
  };
}

function clientDetail(f: FaultSpec & { share: number; durationMs: number }): string {
  const pct = `${Math.round(f.share * 1000) / 10}%`;
  return f.action === 'slow-readers'
    ? `${pct} of each worker's online users stop reading for ${(f.durationMs / 1000).toFixed(1)} s (applied by the workers)`
    : `${pct} of each worker's online users drop their connections ${f.durationMs === 0 ? 'at once' : `within ${(f.durationMs / 1000).toFixed(1)} s`} and reconnect (applied by the workers)`;
}
