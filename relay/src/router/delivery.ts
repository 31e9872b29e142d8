/**
 * Where the router's pushes go. The fast path: the user's gateway is this process, so the items go
 * straight to its session. Otherwise the holding gateway's own relay.deliver topic carries them.
 * Kept apart from startRelay because this choice is the relay's central routing decision.
 */
import type { Admin, OutRecord, Producer } from '../../kafka/src/index.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RelayMetrics } from '../metrics.js';
import { BatchingProducer, type ProduceRetry } from '../producer/batching-producer.js';
import type { Push, Replaced } from './mailbox.js';
import { encodeValue } from './records.js';
import type { Deliver, NotifyReplaced } from './router.js';

export interface DeliveryOptions {
  readonly gatewayId: string;
  /** Prefix of every gateway's `relay.deliver.<gatewayId>` topic. */
  readonly deliverPrefix: string;
  /** This process's gateway: the fast path. */
  readonly gateway: Pick<Gateway, 'pushLocal' | 'replaced'>;
  readonly kafkaProducer: Producer;
  /** Tells a gateway that is gone (its topic deleted) from one Kafka failed to reach. */
  readonly admin: Pick<Admin, 'listTopics'>;
  readonly metrics: RelayMetrics;
  /** True once the relay drains: a failed deliver produce is not retried any more. */
  readonly draining: () => boolean;
  /** The relay's write retries (its `writeTimeoutMs`); default PRODUCE_RETRY. */
  readonly retry?: ProduceRetry;
}

export interface Delivery {
  readonly deliver: Deliver;
  /** The notice that a user's connection at a gateway was superseded elsewhere; same two paths. */
  readonly notifyReplaced: NotifyReplaced;
  /** Waits for the deliver produces in flight (the drain). */
  flush(): Promise<void>;
}

export function createDelivery(o: DeliveryOptions): Delivery {
  // Pushes to other gateways have their own queue, so their retries never hold up the mailbox
  // writes. A failed request is retried in place, like the mailbox writes (≈ 30 s, longer than a
  // broker failover), so a user's items reach its gateway in log order: retried one by one on
  // timers, a failed push was overtaken by the next one to the same user (the rebalance test's
  // "reordered"). Before each retry, records for a gateway that is gone are dropped: a drained
  // relay deletes its topic, and a request naming a deleted topic fails whole, taking the other
  // gateways' pushes (and the mailbox writes it shares a request with) down with it, on every
  // retry. Dropped items stay pending and replay when their users reconnect elsewhere.
  const deliverProducer = new BatchingProducer(o.kafkaProducer, {
    metrics: o.metrics,
    retry: o.retry,
    keepForRetry: async (records) => {
      if (o.draining()) return records.map(() => false);
      const topics = new Set(await o.admin.listTopics());
      return records.map((r) => topics.has(r.topic));
    },
  });
  const produceDeliver = (record: OutRecord): void => {
    deliverProducer.produce(record, 'deliver').catch(() => o.metrics.deliverDropped.inc());
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
    for (const item of push.items) produceDeliver({ topic, partition: 0, key: push.user, value: encodeValue({ to: push.user, item }) });
    if (end !== undefined)
      produceDeliver({ topic, partition: 0, key: push.user, value: encodeValue({ to: push.user, replayed: end.epoch, n: end.n }) });
  };
  const notifyReplaced = (r: Replaced): void => {
    if (r.gatewayId === o.gatewayId) return void o.gateway.replaced(r.user, r.epoch);
    produceDeliver({ topic: topicOf(r.gatewayId), partition: 0, key: r.user, value: encodeValue({ to: r.user, replaced: r.epoch }) });
  };
  return { deliver, notifyReplaced, flush: () => deliverProducer.flush() };
}
