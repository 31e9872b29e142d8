/**
 * This gateway's own consumer, apart from the router's `relay` group: its relay.deliver topic
 * (pushes that routers in other processes address to users connected here) and relay.keys (public
 * keys, compacted, read from the start into the gateway's key store).
 */
import type { KafkaAdapter } from '../../kafka/src/index.js';
import type { RelayConfig } from '../config.js';
import { CONSUMER_TUNING } from '../router/consumer-tuning.js';
import { decodeDeliverValue } from '../router/records.js';
import type { Gateway } from './gateway.js';
import { decodeKeyBundle } from './key-records.js';
import { restartingConsumer, type RestartingConsumer } from '../restarting-consumer.js';

/** Starts the consumer; resolves once started. `onJoined` runs at each assignment. */
export async function startGatewayConsumer(
  kafka: KafkaAdapter,
  config: RelayConfig,
  deliverTopic: string,
  gateway: Gateway,
  onJoined: () => void,
  log: (line: string) => void,
): Promise<RestartingConsumer> {
  const make = () =>
    kafka.consumer({
      groupId: `relay-gw-${config.gatewayId}`,
      topics: [config.topics.keys, deliverTopic],
      fromBeginning: true,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: 1000,
      ...CONSUMER_TUNING,
      partitionsConsumedConcurrently: 4,
    });
  const consumer = restartingConsumer(make, (line) => log(`gateway: ${line}`));
  await consumer.start({
    onAssigned: onJoined,
    onCrash: (e) => log(`gateway consumer crashed: ${e.message}; a new one joins in a moment`),
    onBatch: async (records) => {
      for (const r of records) {
        if (r.topic === config.topics.keys) {
          const bundle = r.value === null ? undefined : decodeKeyBundle(r.value);
          if (r.key !== null && bundle !== undefined) gateway.keys.set(r.key, bundle);
          else if (r.key !== null && r.value === null) gateway.keys.delete(r.key);
        } else if (r.value !== null) {
          const d = decodeDeliverValue(r.value);
          if (d === undefined) continue;
          if ('replaced' in d) gateway.replaced(d.to, d.replaced);
          else if ('replayed' in d) gateway.pushLocal(d.to, [], { epoch: d.replayed, n: d.n });
          else gateway.pushLocal(d.to, [d.item]);
        }
      }
    },
  });
  return consumer;
}
