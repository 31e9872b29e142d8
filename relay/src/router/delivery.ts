/**
 * Where the router's pushes go. The fast path: the user's gateway is this process, so the items go
 * straight to its session. Otherwise the holding gateway's own relay.deliver topic carries them.
 * Kept apart from startRelay because this choice is the relay's central routing decision.
 */
import type { OutRecord, Producer } from '../../kafka/src/index.js';
import { backoffDelayMs } from '../../protocol/src/index.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RelayMetrics } from '../metrics.js';
import { BatchingProducer } from '../producer/batching-producer.js';
import type { Push, Replaced } from './mailbox.js';
import { encodeValue } from './records.js';
import type { Deliver, NotifyReplaced } from './router.js';

/** Attempts after a failed deliver produce: 100 ms doubling to 2 s, ≈ 30 s in all (no jitter). */
const DELIVER_RETRIES = 20;
const DELIVER_BACKOFF = { initialMs: 100, maxMs: 2000, random: () => 1 };

export interface DeliveryOptions {
  readonly gatewayId: string;
  /** Prefix of every gateway's `relay.deliver.<gatewayId>` topic. */
  readonly deliverPrefix: string;
  /** This process's gateway: the fast path. */
  readonly gateway: Pick<Gateway, 'pushLocal' | 'replaced'>;
  readonly kafkaProducer: Producer;
  readonly metrics: RelayMetrics;
  /** True once the relay drains: a failed deliver produce is not retried any more. */
  readonly draining: () => boolean;
}

export interface Delivery {
  readonly deliver: Deliver;
  /** The notice that a user's connection at a gateway was superseded elsewhere; same two paths. */
  readonly notifyReplaced: NotifyReplaced;
  /** Waits for the deliver produces in flight (the drain). */
  flush(): Promise<void>;
}

export function createDelivery(o: DeliveryOptions): Delivery {
  // Pushes to other gateways have their own queue, tried once: a gateway that is gone (its topic
  // deleted) must not hold up the mailbox writes behind the in-place retries (produceDeliver retries).
  const deliverProducer = new BatchingProducer(o.kafkaProducer, { metrics: o.metrics, retry: { attempts: 1, delayMs: () => 0 } });
  // A failed deliver produce is retried with backoff (≈ 30 s in all): during a broker failover
  // the user is still online at that gateway and would otherwise wait for its next reconnect —
  // in a run, until the end, as "lost". A gateway that is gone keeps failing; its users' items
  // stay pending and replay when they reconnect elsewhere.
  const produceDeliver = (record: OutRecord, attempt: number): void => {
    deliverProducer.produce(record, 'deliver').catch(() => {
      if (o.draining() || attempt >= DELIVER_RETRIES) return;
      setTimeout(() => produceDeliver(record, attempt + 1), backoffDelayMs(attempt, DELIVER_BACKOFF)).unref();
    });
  };
  const topicOf = (gatewayId: string): string => `${o.deliverPrefix}${gatewayId}`;

  const deliver = (push: Push): void => {
    const kind = push.items[0]?.type ?? 'message';
    const end = push.epoch === undefined ? undefined : { epoch: push.epoch, n: push.items.length };
    if (push.gatewayId === o.gatewayId) {
      o.gateway.pushLocal(push.user, push.items, end);
      if (push.items.length > 0) o.metrics.delivered.inc({ path: 'fast', kind }, push.items.length);
      return;
    }
    // Another gateway holds the user: one record per push on that gateway's own topic.
    if (push.items.length > 0) o.metrics.delivered.inc({ path: 'topic', kind }, push.items.length);
    // Partition 0 named explicitly (the topic has one) so the adapter can verify a broker wrote it.
    const topic = topicOf(push.gatewayId);
    for (const item of push.items) produceDeliver({ topic, partition: 0, key: push.user, value: encodeValue({ to: push.user, item }) }, 0);
    if (end !== undefined)
      produceDeliver({ topic, partition: 0, key: push.user, value: encodeValue({ to: push.user, replayed: end.epoch, n: end.n }) }, 0);
  };
  const notifyReplaced = (r: Replaced): void => {
    if (r.gatewayId === o.gatewayId) return void o.gateway.replaced(r.user, r.epoch);
    produceDeliver({ topic: topicOf(r.gatewayId), partition: 0, key: r.user, value: encodeValue({ to: r.user, replaced: r.epoch }) }, 0);
  };
  return { deliver, notifyReplaced, flush: () => deliverProducer.flush() };
}
