import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every relay metric, on an injected registry (never prom-client's global one), prefix `relay_`.
 * Labels are bounded: frame types, partitions, paths, codes — never users or messages.
 * Latency histograms use fine buckets (0.1 ms … 10 s) so PromQL can merge them across processes.
 */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2,
  0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10,
];

export function createRelayMetrics(registry: Registry, gatewayId: string) {
  registry.setDefaultLabels({ gateway: gatewayId });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const m = {
    registry,
    connections: new Gauge({
      name: 'relay_connections',
      help: 'Open client WebSocket connections (authenticated or not).',
      registers: [registry],
    }),
    connectionsTotal: new Counter({ name: 'relay_connections_total', help: 'Accepted WebSocket connections.', registers: [registry] }),
    closes: new Counter({
      name: 'relay_closes_total',
      help: 'Closed client connections by close code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    framesIn: new Counter({
      name: 'relay_frames_in_total',
      help: 'Frames received from clients by type.',
      labelNames: ['type'],
      registers: [registry],
    }),
    framesOut: new Counter({
      name: 'relay_frames_out_total',
      help: 'Frames sent to clients by type.',
      labelNames: ['type'],
      registers: [registry],
    }),
    bytesIn: new Counter({ name: 'relay_bytes_in_total', help: 'WebSocket payload bytes received.', registers: [registry] }),
    bytesOut: new Counter({ name: 'relay_bytes_out_total', help: 'WebSocket payload bytes sent.', registers: [registry] }),
    wireErrors: new Counter({
      name: 'relay_wire_errors_total',
      help: 'Error frames sent to clients by wire error name.',
      labelNames: ['error'],
      registers: [registry],
    }),
    produceLatency: new Histogram({
      name: 'relay_produce_latency_seconds',
      help: 'Produce request latency until acks=all.',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    produceBatchRecords: new Histogram({
      name: 'relay_produce_batch_records',
      help: 'Records per produce request.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    kafkaRequests: new Counter({
      name: 'relay_kafka_requests_total',
      help: 'Requests this relay sent to Kafka brokers (producer and consumers), by Kafka API (Produce, Fetch, Heartbeat, …).',
      labelNames: ['api'],
      registers: [registry],
    }),
    produceErrors: new Counter({ name: 'relay_produce_errors_total', help: 'Failed produce requests.', registers: [registry] }),
    deliverDropped: new Counter({
      name: 'relay_deliver_dropped_total',
      help: 'Pushes to another gateway given up (its topic gone, this relay draining, or retries spent); the items stay pending and replay on reconnect.',
      registers: [registry],
    }),
    routerLatency: new Histogram({
      name: 'relay_router_latency_seconds',
      help: 'From the gateway receiving a send to the router handing it to a gateway (end of router).',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    delivered: new Counter({
      name: 'relay_delivered_total',
      help: 'Messages and receipts pushed to a gateway, by path (fast = same process, topic = relay.deliver).',
      labelNames: ['path', 'kind'],
      registers: [registry],
    }),
    replayed: new Counter({
      name: 'relay_replayed_total',
      help: 'Pending items replayed to a user who came (back) online.',
      registers: [registry],
    }),
    routerRecords: new Counter({
      name: 'relay_router_records_total',
      help: 'Records a live router applied, by source (written = this process’s own write, applied from its produce answer; peer = another relay’s, handed over on its peer link; fetched = by its consumer).',
      labelNames: ['source'],
      registers: [registry],
    }),
    peerRecordsSent: new Counter({
      name: 'relay_peer_records_sent_total',
      help: 'Durable relay.mailbox records handed to the relay owning their partition, on its peer link.',
      registers: [registry],
    }),
    peerRecordsReceived: new Counter({
      name: 'relay_peer_records_received_total',
      help: 'Durable relay.mailbox records handed over by other relays on their peer links.',
      registers: [registry],
    }),
    peerLinks: new Gauge({
      name: 'relay_peer_links',
      help: 'Peer links this relay holds open to the other members of the relay group (connected or connecting).',
      registers: [registry],
    }),
    routerWrittenMismatch: new Counter({
      name: 'relay_router_written_mismatch_total',
      help: 'Records applied from a produce answer (own or a peer’s) whose offset the fetch found holding another record (0 unless a client misreports offsets).',
      registers: [registry],
    }),
    duplicatesDropped: new Counter({
      name: 'relay_duplicates_dropped_total',
      help: 'Messages dropped by the router because their id was already held.',
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'relay_consumer_lag',
      help: 'Router consumer lag in records per owned partition.',
      labelNames: ['partition'],
      registers: [registry],
    }),
    rebalances: new Counter({ name: 'relay_rebalances_total', help: 'Group assignments received by this router.', registers: [registry] }),
    ownedPartitions: new Gauge({ name: 'relay_owned_partitions', help: 'Mailbox partitions owned by this router.', registers: [registry] }),
    pending: new Gauge({
      name: 'relay_pending_messages',
      help: 'Undelivered messages and receipts held by this router.',
      registers: [registry],
    }),
    onlineUsers: new Gauge({
      name: 'relay_online_users',
      help: 'Users with a live presence in partitions this router owns.',
      registers: [registry],
    }),
    foldSeconds: new Histogram({
      name: 'relay_fold_seconds',
      help: 'Time to rebuild a partition state from its log after assignment.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    foldRecords: new Counter({
      name: 'relay_fold_records_total',
      help: 'Records read while rebuilding partition state.',
      registers: [registry],
    }),
    slowReaders: new Counter({
      name: 'relay_slow_reader_closes_total',
      help: 'Connections closed at the send-buffer high-water mark.',
      registers: [registry],
    }),
  };
  return m;
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
