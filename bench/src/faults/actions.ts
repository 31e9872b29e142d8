/**
 * What each server-side fault does, as the executor (executor.ts) fires it: the relay fleet's
 * add, kill and drain, a local broker's kill and restart, a latency on the relays' proxies. Each
 * records its `fault` event and starts the watcher of its own recovery condition.
 */
import type { FaultEvent } from '../../../loadgen/src/worker/contract.js';
import type { KafkaCluster, LocalKafkaCluster, LocalNode } from '../../../testbed/kafka/cluster.js';
import { backInSync, leadersMovedOff, topicState } from './kafka-watch.js';
import type { Latency } from './latency-proxy.js';
import type { BrokerFaultSpec, LatencyFaultSpec, RelayFaultSpec } from './spec.js';

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

/** What the faults hit (the run's options). */
export interface FaultTargets {
  readonly fleet: FaultFleet;
  readonly kafka: KafkaCluster;
  /** Called after a relay was added or removed (the run updates Prometheus's targets). */
  readonly onFleetChange?: () => void;
}

/** One look of a recovery watcher. */
export interface RecoveryCheck {
  readonly ok: boolean;
  readonly detail: string;
}

/** What an action needs of the run: its timeline, its recovery watchers, its timers. */
export interface FaultTimeline {
  record(e: FaultEvent): void;
  /** Polls `done` until true (→ recovery event) or stop(). */
  watch(action: string, faultAtMs: number, done: () => Promise<RecoveryCheck>): void;
  /** A timer that stop() clears. */
  later(ms: number, fn: () => void): void;
}

async function relayRecovered(o: FaultTargets): Promise<RecoveryCheck> {
  const r = await o.fleet.readiness!();
  return {
    ok: r.ready,
    detail: r.ready ? `group Stable, every partition owned by the ${o.fleet.relays.length} running relay(s)` : r.why,
  };
}

export async function fireRelay(o: FaultTargets, t: FaultTimeline, f: RelayFaultSpec): Promise<void> {
  const t0 = Date.now();
  if (f.action === 'add-relay') {
    const h = await o.fleet.addRelay!();
    t.record({
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
    t.record({
      atMs: t0,
      kind: 'fault',
      action: f.action,
      detail: `${how === 'kill' ? 'SIGKILL' : 'SIGTERM (drain)'} relay ${f.relay} (${r.handle.gatewayId}, ${r.handle.url}): ${exit} after ${(r.tookMs / 1000).toFixed(1)} s${note}`,
    });
  }
  o.onFleetChange?.();
  t.watch(f.action, t0, () => relayRecovered(o));
}

export async function fireBroker(o: FaultTargets, t: FaultTimeline, f: BrokerFaultSpec): Promise<void> {
  const k = o.kafka as LocalKafkaCluster;
  const node = k.nodes.find((n) => n.nodeId === f.broker)!;
  if (f.action === 'kill-broker') await killBroker(k, node, t, f);
  else await restartBroker(k, node, t, f);
}

async function killBroker(k: LocalKafkaCluster, node: LocalNode, t: FaultTimeline, f: BrokerFaultSpec): Promise<void> {
  const others = k.nodes.filter((n) => n.nodeId !== f.broker).map((n) => n.broker);
  const t0 = Date.now();
  const pid = node.pid();
  await k.kill(f.broker, 'SIGKILL');
  t.record({
    atMs: t0,
    kind: 'fault',
    action: f.action,
    detail: `SIGKILL broker ${f.broker} (${node.broker}${pid === undefined ? '' : `, pid ${pid}`})`,
  });
  t.watch(f.action, t0, async () => {
    const state = await topicState(others, MAILBOX_TOPIC);
    return leadersMovedOff(state, f.broker)
      ? { ok: true, detail: `every ${MAILBOX_TOPIC} partition led by another broker` }
      : {
          ok: false,
          detail: `${state.partitions.filter((p) => p.leader === f.broker || p.leader < 0).length} partition(s) still led by broker ${f.broker} or leaderless`,
        };
  });
}

async function restartBroker(k: LocalKafkaCluster, node: LocalNode, t: FaultTimeline, f: BrokerFaultSpec): Promise<void> {
  const t0 = Date.now();
  await k.restart(f.broker);
  const pid = node.pid();
  t.record({
    atMs: t0,
    kind: 'fault',
    action: f.action,
    detail: `restarted broker ${f.broker} (${node.broker}${pid === undefined ? '' : `, pid ${pid}`})`,
  });
  t.watch(f.action, t0, async () => {
    // Asked through the broker itself: a dead one's registration and ISR entries can outlive
    // it by seconds (session and replica-lag timeouts), so only an answer proves it is back.
    const state = await topicState([node.broker], MAILBOX_TOPIC);
    return backInSync(state, f.broker)
      ? { ok: true, detail: `broker ${f.broker} back in the ISR of every ${MAILBOX_TOPIC} partition` }
      : {
          ok: false,
          detail: `broker ${f.broker} in the ISR of ${state.partitions.filter((p) => p.isr.includes(f.broker)).length}/${state.partitions.length} partitions`,
        };
  });
}

export function fireLatency(o: FaultTargets, t: FaultTimeline, f: LatencyFaultSpec, index: number): void {
  const t0 = Date.now();
  const id = `faults[${index}]`;
  const hit = o.fleet.setLatency!(f.relays, id, { delayMs: f.delayMs, jitterMs: f.jitterMs, direction: f.direction });
  const what = `${f.delayMs} ms${f.jitterMs > 0 ? ` + up to ${f.jitterMs} ms jitter` : ''} on ${f.direction === 'both' ? 'both directions' : f.direction === 'to-relay' ? 'client→relay' : 'relay→client'} of relay(s) ${hit.join(', ')}`;
  t.record({
    atMs: t0,
    kind: 'fault',
    action: f.action,
    detail: `${what}${f.forMs === null ? ' until the segment ends' : ` for ${(f.forMs / 1000).toFixed(1)} s`}`,
  });
  if (f.forMs === null) return;
  t.later(f.forMs, () => {
    o.fleet.setLatency!(hit, id, null);
    t.record({ atMs: Date.now(), kind: 'recovery', action: f.action, detail: `latency removed from relay(s) ${hit.join(', ')}` });
  });
}
