import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import {
  createKafkaAdapter,
  type AdapterOptions,
  type Admin,
  type GroupConsumer,
  type KafkaAdapter,
  type Producer,
} from '../kafka/src/index.js';
import type { RelayConfig } from './config.js';
import { relayError } from './errors.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { BatchingProducer, PRODUCE_RETRY } from './producer/batching-producer.js';
import { Gateway } from './gateway/gateway.js';
import { startGatewayConsumer } from './gateway/gateway-consumer.js';
import { Router, toDurable } from './router/router.js';
import { peerSecret } from './peer/peer-codec.js';
import { PeerLinks } from './peer/peer-links.js';
import { createDelivery, type Delivery } from './router/delivery.js';
import { acceptUpgrades, listen, peerUrlOf, serveHttp } from './http.js';
import { cachedRoutes, clientIdFor, type RoutesTable } from './routes.js';
import { ensureTopics } from './topics.js';
import type { RestartingConsumer } from './restarting-consumer.js';

export interface RelayHandle {
  readonly config: RelayConfig;
  readonly port: number;
  readonly url: string;
  readonly metrics: RelayMetrics;
  readonly gateway: Gateway;
  readonly router: Router;
  ready(): boolean;
  routes(): Promise<RoutesTable>;
  /** Graceful drain: stop accepting, finish produces, close clients (1012), leave the group. */
  stop(): Promise<void>;
}

/**
 * One relay process = gateway + router (Centrifugo-style: a connection holder that is also a
 * broker client). Topics are created if missing. Resolves once listening and the router started.
 */
export async function startRelay(
  config: RelayConfig,
  log: (line: string) => void = () => {},
  /** Unit tests pass an in-memory adapter (relay/kafka/test-support). */
  createAdapter: (options: AdapterOptions) => KafkaAdapter = createKafkaAdapter,
): Promise<RelayHandle> {
  const registry = new Registry();
  const metrics = createRelayMetrics(registry, config.gatewayId);
  const deliverTopic = `${config.topics.deliverPrefix}${config.gatewayId}`;
  const relayLog = (line: string) => log(`relay ${config.gatewayId}: ${line}`);
  const { server, port, url } = await listen(config);
  const backend = await connectKafka(
    { config, metrics, server, url, peerUrl: peerUrlOf(config, port), deliverTopic, relayLog },
    createAdapter,
  );
  const state = { draining: false, gatewayJoined: false };
  const path = wireMessagePath(config, backend, metrics, () => state.draining, { log, relayLog });
  const { producer, gateway, router, peers } = path;

  const routes = cachedRoutes(backend.admin, config.topics.mailbox, () => router.generation);
  // Not ready while a consumer is down after a crash or Kafka refuses writes (a Kafka outage):
  // a load balancer then sends new clients elsewhere, and sends here get error 11 meanwhile.
  let gatewayConsumer: RestartingConsumer | null = null;
  const gatewayUp = () => state.gatewayJoined && gatewayConsumer?.down === false;
  const ready = () => !state.draining && gatewayUp() && router.ready && !producer.failing;
  serveHttp(server, {
    gatewayId: config.gatewayId,
    registry,
    ready,
    readiness: () => ({
      ready: ready(),
      draining: state.draining,
      gatewayJoined: gatewayUp(),
      writesFailing: producer.failing,
      router: router.ownership(),
    }),
    routes: async () => ({ partitionCount: config.partitions, ...(await routes()) }),
  });
  acceptUpgrades(server, config, gateway, () => state.draining, peers);

  const joined = () => {
    state.gatewayJoined = true;
  };
  gatewayConsumer = await startGatewayConsumer(backend.kafka, config, deliverTopic, gateway, joined, relayLog);
  // Before the router joins: this relay's gateway may already take writes for its peers' partitions.
  peers.start();
  await router.start();
  gateway.startHeartbeat();
  log(`relay ${config.gatewayId} listening on ${url} (brokers ${config.brokers.join(',')})`);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    if (stopped === null) {
      state.draining = true;
      stopped = drain({ config, log, ...path, gatewayConsumer: gatewayConsumer!, admin: backend.admin, deliverTopic, server });
    }
    return stopped;
  };

  return { config, port, url, metrics, gateway, router, ready, routes, stop };
}

interface Backend {
  readonly kafka: KafkaAdapter;
  readonly admin: Admin;
  readonly kafkaProducer: Producer;
}

/** The Kafka client, its admin (topics made or checked) and its producer; the port is closed when Kafka cannot be reached. */
async function connectKafka(
  c: {
    readonly config: RelayConfig;
    readonly metrics: RelayMetrics;
    readonly server: Server;
    readonly url: string;
    readonly peerUrl: string | undefined;
    readonly deliverTopic: string;
    readonly relayLog: (line: string) => void;
  },
  createAdapter: (options: AdapterOptions) => KafkaAdapter,
): Promise<Backend> {
  const { config, metrics, relayLog } = c;
  const kafka: KafkaAdapter = createAdapter({
    brokers: config.brokers,
    clientId: clientIdFor(config.gatewayId, c.url, c.peerUrl),
    onRequest: (api) => metrics.kafkaRequests.inc({ api }),
    log: relayLog,
  });
  let admin: Admin;
  try {
    admin = await kafka.admin();
    await ensureTopics(admin, config, c.deliverTopic, relayLog);
  } catch (e) {
    c.server.close();
    throw relayError('RB_RELAY_START_FAILED', `Kafka at ${config.brokers.join(',')}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const kafkaProducer = await kafka.producer({
    onProducerReplaced: () => relayLog('producer replaced (its producer id was fenced after a leader change)'),
  });
  return { kafka, admin, kafkaProducer };
}

interface MessagePath {
  readonly producer: BatchingProducer;
  readonly gateway: Gateway;
  readonly delivery: Delivery;
  readonly router: Router;
  readonly peers: PeerLinks;
}

/** The gateway, its producer, the router, where pushes go, and the links to the other relays, wired together. */
function wireMessagePath(
  config: RelayConfig,
  { kafka, admin, kafkaProducer }: Backend,
  metrics: RelayMetrics,
  draining: () => boolean,
  /** `log` as the gateway and router take it; `relayLog` prefixes this relay's id. */
  { log, relayLog }: { readonly log: (line: string) => void; readonly relayLog: (line: string) => void },
): MessagePath {
  // Like a failing batch in the consumer: logged, the relay goes on (the fetch still brings what was not applied).
  const applying = (what: string, apply: () => void) => {
    try {
      apply();
    } catch (e) {
      relayLog(`applying ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  // The router applies this process's writes to partitions it owns from their produce answers
  // (Router.applyDurable), and the peer links hand the rest to their owners. In the next loop
  // phase, so the writers' ✓ frames go out first.
  const retry = { ...PRODUCE_RETRY, totalMs: config.writeTimeoutMs };
  const producer = new BatchingProducer(kafkaProducer, {
    metrics,
    retry,
    lingerMs: config.produceLingerMs,
    onWritten: (records, offsets) =>
      setImmediate(() => {
        const durable = toDurable(config.topics.mailbox, records, offsets);
        applying('its own writes', () => router.applyDurable(durable, 'written'));
        peers.forward(durable);
      }),
  });
  const gateway = new Gateway(config, metrics, producer, log);
  // The fast path to this process's gateway, or the holding gateway's relay.deliver topic.
  const delivery = createDelivery({
    gatewayId: config.gatewayId,
    deliverPrefix: config.topics.deliverPrefix,
    gateway,
    kafkaProducer,
    admin,
    metrics,
    draining,
    retry,
  });
  const router = new Router(config, kafka, metrics, delivery.deliver, delivery.notifyReplaced, log);
  const peers = new PeerLinks({
    gatewayId: config.gatewayId,
    secret: peerSecret(config.tokenSecret),
    admin,
    mailboxTopic: config.topics.mailbox,
    metrics,
    onRecords: (records) => applying("a peer's writes", () => router.applyDurable(records, 'peer')),
    log: relayLog,
  });
  router.peersLinked = () => peers.linkedFromAll();
  return { producer, gateway, delivery, router, peers };
}

interface Parts {
  readonly config: RelayConfig;
  readonly log: (line: string) => void;
  readonly producer: BatchingProducer;
  readonly gateway: Gateway;
  readonly delivery: Delivery;
  readonly router: Router;
  readonly peers: PeerLinks;
  readonly gatewayConsumer: GroupConsumer;
  readonly admin: Admin;
  readonly deliverTopic: string;
  readonly server: Server;
}

/** The graceful drain, once no new connection is accepted: the order is what keeps sends ✓'d and mail pending. */
async function drain(p: Parts): Promise<void> {
  p.log(`relay ${p.config.gatewayId}: draining`);
  await p.producer.flush(); // in-flight sends get their ✓ first
  p.gateway.closeAll('SERVICE_RESTART');
  await p.gateway.waitClosed(p.config.drainTimeoutMs);
  await p.producer.flush(); // presence-offline records
  await p.delivery.flush();
  await p.router.stop(); // leave the group: partitions move at once
  p.peers.close();
  await p.gatewayConsumer.stop();
  try {
    await p.admin.deleteTopics([p.deliverTopic]);
  } catch {
    // best effort
  }
  await p.producer.close();
  await p.admin.close();
  await new Promise<void>((resolve) => p.server.close(() => resolve()));
  p.server.closeAllConnections();
  p.log(`relay ${p.config.gatewayId}: stopped`);
}
