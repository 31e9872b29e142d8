import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { Registry } from 'prom-client';
import {
  createKafkajsAdapter,
  type AdapterOptions,
  type Admin,
  type GroupConsumer,
  type KafkaAdapter,
  type OutRecord,
  type TopicSpec,
} from '../kafka/src/index.js';
import type { RelayConfig } from './config.js';
import { relayError } from './errors.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { BatchingProducer } from './producer/batching-producer.js';
import { Gateway } from './gateway/gateway.js';
import { Router } from './router/router.js';
import type { Push, Replaced } from './router/mailbox.js';
import { decodeDeliverValue, encodeValue } from './router/records.js';
import { clientIdFor, readRoutes, type RoutesTable } from './routes.js';
import { decodeKeyBundle } from './gateway/key-records.js';
import { CLOSE_CODES, backoffDelayMs } from '../protocol/src/index.js';
import { CONSUMER_TUNING } from './router/consumer-tuning.js';

/** Attempts after a failed deliver produce: 100 ms doubling to 2 s, ≈ 30 s in all (no jitter). */
const DELIVER_RETRIES = 20;
const DELIVER_BACKOFF = { initialMs: 100, maxMs: 2000, random: () => 1 };
/** Topic creation and metadata: 200 ms doubling to 2 s. */
const TOPICS_BACKOFF = { initialMs: 200, maxMs: 2000, random: Math.random };

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
  createAdapter: (options: AdapterOptions) => KafkaAdapter = createKafkajsAdapter,
): Promise<RelayHandle> {
  const registry = new Registry();
  const metrics = createRelayMetrics(registry, config.gatewayId);
  const deliverTopic = `${config.topics.deliverPrefix}${config.gatewayId}`;

  const tls = config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined;
  let server: Server;
  try {
    server = tls ? createTlsServer({ cert: readFileSync(config.tlsCertFile!), key: readFileSync(config.tlsKeyFile!) }) : createServer();
  } catch (e) {
    throw relayError('RB_RELAY_BAD_CONFIG', `TLS certificate or key: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  // skipUTF8Validation: text frames are refused anyway (1008) and close reasons are never read, so
  // validating them only added a second refusal code (1007) for the same bad input.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    skipUTF8Validation: true,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(relayError('RB_RELAY_START_FAILED', `Cannot listen on ${config.host}:${config.port}: ${e.message}`, e)),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.publicUrl ?? `${tls ? 'wss' : 'ws'}://${config.host}:${port}/`;

  const kafka: KafkaAdapter = createAdapter({
    brokers: config.brokers,
    clientId: clientIdFor(config.gatewayId, url),
    onRequest: (api) => metrics.kafkaRequests.inc({ api }),
    log: (line) => log(`relay ${config.gatewayId}: ${line}`),
  });
  let admin: Admin;
  try {
    admin = await kafka.admin();
    await ensureTopics(admin, config, deliverTopic);
  } catch (e) {
    server.close();
    throw relayError('RB_RELAY_START_FAILED', `Kafka at ${config.brokers.join(',')}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const kafkaProducer = await kafka.producer({
    onProducerReplaced: () => log(`relay ${config.gatewayId}: producer replaced (its producer id was fenced after a leader change)`),
  });
  const producer = new BatchingProducer(kafkaProducer, metrics);
  // Pushes to other gateways have their own queue, tried once: a gateway that is gone (its topic
  // deleted) must not hold up the mailbox writes behind the in-place retries (produceDeliver retries).
  const deliverProducer = new BatchingProducer(kafkaProducer, metrics, undefined, undefined, { attempts: 1, delayMs: () => 0 });
  const gateway = new Gateway(config, metrics, producer, log);

  const deliver = (push: Push): void => {
    const kind = push.items[0]?.type ?? 'message';
    const end = push.epoch === undefined ? undefined : { epoch: push.epoch, n: push.items.length };
    if (push.gatewayId === config.gatewayId) {
      gateway.pushLocal(push.user, push.items, end);
      if (push.items.length > 0) metrics.delivered.inc({ path: 'fast', kind }, push.items.length);
      return;
    }
    // Another gateway holds the user: one record per push on that gateway's own topic.
    if (push.items.length > 0) metrics.delivered.inc({ path: 'topic', kind }, push.items.length);
    // Partition 0 named explicitly (the topic has one) so the adapter can verify a broker wrote it.
    const topic = `${config.topics.deliverPrefix}${push.gatewayId}`;
    for (const item of push.items) produceDeliver({ topic, partition: 0, key: push.user, value: encodeValue({ to: push.user, item }) }, 0);
    if (end !== undefined)
      produceDeliver({ topic, partition: 0, key: push.user, value: encodeValue({ to: push.user, replayed: end.epoch, n: end.n }) }, 0);
  };
  // A failed deliver produce is retried with backoff (≈ 30 s in all): during a broker failover
  // the user is still online at that gateway and would otherwise wait for its next reconnect —
  // in a run, until the end, as "lost". A gateway that is gone keeps failing; its users' items
  // stay pending and replay when they reconnect elsewhere.
  const produceDeliver = (record: OutRecord, attempt: number): void => {
    deliverProducer.produce(record, 'deliver').catch(() => {
      if (draining || attempt >= DELIVER_RETRIES) return;
      setTimeout(() => produceDeliver(record, attempt + 1), backoffDelayMs(attempt, DELIVER_BACKOFF)).unref();
    });
  };
  // The same two paths carry the notice that a user's connection here was superseded elsewhere.
  const notifyReplaced = (r: Replaced): void => {
    if (r.gatewayId === config.gatewayId) return void gateway.replaced(r.user, r.epoch);
    produceDeliver(
      {
        topic: `${config.topics.deliverPrefix}${r.gatewayId}`,
        partition: 0,
        key: r.user,
        value: encodeValue({ to: r.user, replaced: r.epoch }),
      },
      0,
    );
  };
  const router = new Router(config, kafka, metrics, deliver, notifyReplaced, log);

  // This gateway's consumer: its own relay.deliver topic, and relay.keys (public keys, compacted).
  let gatewayJoined = false;
  const gatewayConsumer: GroupConsumer = kafka.consumer({
    groupId: `relay-gw-${config.gatewayId}`,
    topics: [config.topics.keys, deliverTopic],
    fromBeginning: true,
    sessionTimeoutMs: config.sessionTimeoutMs,
    heartbeatIntervalMs: 1000,
    ...CONSUMER_TUNING,
    partitionsConsumedConcurrently: 4,
  });

  let draining = false;
  let routesCache: { at: number; table: RoutesTable } | null = null;
  const routes = async (): Promise<RoutesTable> => {
    if (routesCache !== null && Date.now() - routesCache.at < 500) return routesCache.table;
    const table = await readRoutes(admin, config.topics.mailbox, router.generation);
    routesCache = { at: Date.now(), table };
    return table;
  };
  const ready = () => !draining && gatewayJoined && router.ready;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handleHttp(req, res);
  });
  const handleHttp = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (path === '/healthz') return json(200, { ok: true, gatewayId: config.gatewayId });
      if (path === '/readyz') return json(ready() ? 200 : 503, { ready: ready(), draining, gatewayJoined, router: router.ownership() });
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        return res.end(await registry.metrics());
      }
      if (path === '/routes') return json(200, { partitionCount: config.partitions, ...(await routes()) });
      json(404, { error: 'not found', paths: ['/healthz', '/readyz', '/metrics', '/routes', 'ws: any path'] });
    } catch (e) {
      json(500, { error: e instanceof Error ? e.message : String(e) });
    }
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (draining) return refuse(socket, 503, 'draining');
    // At the limit the upgrade completes only to close with 4010 (PROTOCOL §7.2): a documented
    // code with a backoff policy tells the client more than an HTTP 503 would.
    if (gateway.connectionCount >= config.maxConnections)
      return wss.handleUpgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.CONNECTION_LIMIT.code, 'connection limit'));
    wss.handleUpgrade(req, socket, head, (ws) => gateway.accept(ws));
  });

  await gatewayConsumer.start({
    onAssigned: () => {
      gatewayJoined = true;
    },
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
  await router.start();
  gateway.startHeartbeat();
  log(`relay ${config.gatewayId} listening on ${url} (brokers ${config.brokers.join(',')})`);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      draining = true;
      log(`relay ${config.gatewayId}: draining`);
      await producer.flush(); // in-flight sends get their ✓ first
      gateway.closeAll('SERVICE_RESTART');
      await gateway.waitClosed(config.drainTimeoutMs);
      await producer.flush(); // presence-offline records
      await deliverProducer.flush();
      await router.stop(); // leave the group: partitions move at once
      await gatewayConsumer.stop();
      try {
        await admin.deleteTopics([deliverTopic]);
      } catch {
        // best effort
      }
      await producer.close();
      await admin.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      log(`relay ${config.gatewayId}: stopped`);
    })();
    return stopped;
  };

  return { config, port, url, metrics, gateway, router, ready, routes, stop };
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

async function ensureTopics(admin: Admin, config: RelayConfig, deliverTopic: string): Promise<void> {
  const rf = config.replicationFactor;
  const minIsr = String(Math.max(1, rf - 1));
  const specs: TopicSpec[] = [
    {
      name: config.topics.mailbox,
      partitions: config.partitions,
      replicationFactor: rf,
      configs: {
        'cleanup.policy': 'compact,delete',
        'retention.ms': String(30 * 24 * 3600 * 1000),
        // Segments roll in minutes so compaction can delete delivered mail soon (default: 7 days).
        'segment.ms': '60000',
        'min.cleanable.dirty.ratio': '0.1',
        'delete.retention.ms': '300000',
        'min.insync.replicas': minIsr,
        // Broker time on the records (console tools, retention); the stamps use the relay's clocks (PROTOCOL §9).
        'message.timestamp.type': 'LogAppendTime',
      },
    },
    {
      name: config.topics.keys,
      partitions: config.partitions,
      replicationFactor: rf,
      configs: { 'cleanup.policy': 'compact', 'min.insync.replicas': minIsr },
    },
    { name: deliverTopic, partitions: 1, replicationFactor: rf, configs: { 'retention.ms': '3600000', 'min.insync.replicas': minIsr } },
  ];
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics(specs);
      break;
    } catch (e) {
      // Several relays starting together race to create the shared topics.
      if (attempt >= 5) throw e;
      await sleep(backoffDelayMs(attempt, TOPICS_BACKOFF));
    }
  }
  // Right after creation a broker may not host the metadata yet ("does not host this
  // topic-partition"): ask again for a few seconds before calling it a failure.
  let actual = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      actual = await admin.partitionCount(config.topics.mailbox);
      if (actual > 0 || attempt >= 10) break;
    } catch (e) {
      if (attempt >= 10) throw e;
    }
    await sleep(backoffDelayMs(attempt, TOPICS_BACKOFF));
  }
  if (actual !== config.partitions) {
    throw relayError(
      'RB_RELAY_BAD_CONFIG',
      `${config.topics.mailbox} has ${actual} partitions but this relay is configured for ${config.partitions}.`,
    );
  }
}
