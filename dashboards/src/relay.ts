import type { Dashboard } from '@grafana/schema';
import { DashboardBuilder, RELAY, generatedNote, variables } from './builder.js';

/** relaybench / Relay: the relay processes (relay_* metrics + prom-client defaults, label gateway). */
const R = `{${RELAY}}`;
const byGw = (metric: string) => `sum by (gateway) (${metric}${R})`;
const rateBy = (by: string, metric: string) => `sum by (${by}) (rate(${metric}${R}[$__rate_interval]))`;
const quantile = (q: number, metric: string, by = '') =>
  `histogram_quantile(${q}, sum by (${by}le) (rate(${metric}_bucket${R}[$__rate_interval])))`;

export function relayDashboard(): Dashboard {
  const b = new DashboardBuilder()
    .row('Clients')
    .panel({
      title: 'Connections',
      description: 'Open client WebSocket connections per relay process.',
      unit: 'short',
      queries: [{ expr: byGw('relay_connections'), legend: '{{gateway}}' }],
    })
    .panel({
      title: 'Connects and closes',
      description:
        'Accepted connections per second per relay, and closes per second by close code (1000 normal, 1012 restart, 4008 rate limit, 4009 slow reader …).',
      unit: 'suffix: /s',
      queries: [
        { expr: rateBy('gateway', 'relay_connections_total'), legend: 'connects {{gateway}}' },
        { expr: rateBy('code', 'relay_closes_total'), legend: 'close {{code}}' },
      ],
    })
    .panel({
      title: 'Frames in by type',
      description: 'Frames received from clients per second, by frame type, all selected relays.',
      unit: 'suffix: frames/s',
      queries: [{ expr: rateBy('type', 'relay_frames_in_total'), legend: '{{type}}' }],
    })
    .panel({
      title: 'Frames out by type',
      description: 'Frames sent to clients per second, by frame type, all selected relays.',
      unit: 'suffix: frames/s',
      queries: [{ expr: rateBy('type', 'relay_frames_out_total'), legend: '{{type}}' }],
    })
    .panel({
      title: 'WebSocket bytes',
      description: 'WebSocket payload bytes per second in and out, per relay.',
      unit: 'Bps',
      queries: [
        { expr: rateBy('gateway', 'relay_bytes_in_total'), legend: 'in {{gateway}}' },
        { expr: rateBy('gateway', 'relay_bytes_out_total'), legend: 'out {{gateway}}' },
      ],
    })
    .panel({
      title: 'Errors',
      description:
        'Error frames by wire error, failed produce requests, pushes to another gateway given up (its topic gone, or retries spent; the items replay on reconnect) and slow-reader closes per second. Shows 0 when there are none.',
      unit: 'suffix: /s',
      queries: [
        { expr: `${rateBy('error', 'relay_wire_errors_total')} or vector(0)`, legend: 'wire {{error}}' },
        { expr: `sum(rate(relay_produce_errors_total${R}[$__rate_interval]))`, legend: 'produce errors' },
        { expr: `sum(rate(relay_deliver_dropped_total${R}[$__rate_interval]))`, legend: 'pushes given up' },
        { expr: `sum(rate(relay_slow_reader_closes_total${R}[$__rate_interval]))`, legend: 'slow-reader closes' },
      ],
    })
    .row('Kafka')
    .panel({
      title: 'Produce latency',
      description: 'Produce request latency until acks=all, p50 and p99 by record kind, merged over the selected relays.',
      unit: 's',
      queries: [
        { expr: quantile(0.5, 'relay_produce_latency_seconds', 'kind, '), legend: 'p50 {{kind}}' },
        { expr: quantile(0.99, 'relay_produce_latency_seconds', 'kind, '), legend: 'p99 {{kind}}' },
      ],
    })
    .panel({
      title: 'Produce batch size',
      description: 'Records per produce request: mean and p99.',
      unit: 'short',
      queries: [
        {
          expr: `sum(rate(relay_produce_batch_records_sum${R}[$__rate_interval])) / sum(rate(relay_produce_batch_records_count${R}[$__rate_interval]))`,
          legend: 'mean',
        },
        { expr: quantile(0.99, 'relay_produce_batch_records'), legend: 'p99' },
      ],
    })
    .panel({
      title: 'Consumer lag per partition',
      description: 'Router consumer lag in records for each owned relay.mailbox partition.',
      unit: 'short',
      queries: [{ expr: `max by (partition) (relay_consumer_lag${R})`, legend: 'p{{partition}}' }],
    })
    .panel({
      title: 'Router latency',
      description: 'From the gateway receiving a send to the router handing it to a gateway: p50 and p99.',
      unit: 's',
      queries: [
        { expr: quantile(0.5, 'relay_router_latency_seconds'), legend: 'p50' },
        { expr: quantile(0.99, 'relay_router_latency_seconds'), legend: 'p99' },
      ],
    })
    .panel({
      title: 'Router records by source',
      description:
        'Records the live routers applied per second: written = this process’s own writes, applied from their produce answers at once; peer = another relay’s writes, handed over on its peer link; fetched = brought by the consumer. Written records that the fetch found at another offset (should stay 0).',
      unit: 'suffix: /s',
      queries: [
        { expr: rateBy('source', 'relay_router_records_total'), legend: '{{source}}' },
        { expr: `sum(rate(relay_router_written_mismatch_total${R}[$__rate_interval]))`, legend: 'offset mismatches' },
      ],
    })
    .panel({
      title: 'Kafka requests by API',
      description:
        'Requests the selected relays send to Kafka per second (producer and consumers), by Kafka API. The broker’s CPU follows this count, not the records (issue 12): a rise in Fetch with the same traffic means a router’s fetch turned eager (a peer link down, a gap, or a recent assignment).',
      unit: 'suffix: req/s',
      queries: [{ expr: rateBy('api', 'relay_kafka_requests_total'), legend: '{{api}}' }],
    })
    .panel({
      title: 'Peer links',
      description:
        'Durable writes handed to the relay owning their partition, per second (sent and received, all selected relays), and the links each relay holds to the other members. While every link is up, the routers’ fetch is lazy; fewer links than members − 1 means the fetch brings the other relays’ writes instead.',
      unit: 'short',
      queries: [
        { expr: `sum(rate(relay_peer_records_sent_total${R}[$__rate_interval]))`, legend: 'handed over /s' },
        { expr: `sum(rate(relay_peer_records_received_total${R}[$__rate_interval]))`, legend: 'received /s' },
        { expr: byGw('relay_peer_links'), legend: 'links {{gateway}}' },
      ],
    })
    .panel({
      title: 'Rebalances and owned partitions',
      description: 'Group assignments received since start (cumulative) and mailbox partitions owned, per relay.',
      unit: 'short',
      queries: [
        { expr: byGw('relay_rebalances_total'), legend: 'rebalances {{gateway}}' },
        { expr: byGw('relay_owned_partitions'), legend: 'owned {{gateway}}' },
      ],
    })
    .panel({
      title: 'Fold time',
      description:
        'Rebuilding a partition state from its log after an assignment, since the process started: mean per relay, and p99 over the selected relays (cumulative, so it stays visible between rebalances).',
      unit: 's',
      queries: [
        { expr: `${byGw('relay_fold_seconds_sum')} / ${byGw('relay_fold_seconds_count')}`, legend: 'mean {{gateway}}' },
        { expr: `histogram_quantile(0.99, sum by (le) (relay_fold_seconds_bucket${R}))`, legend: 'p99' },
      ],
    })
    .row('Mailbox')
    .panel({
      title: 'Pending mail and online users',
      description: 'Undelivered messages and receipts held per router, and users with a live presence in its partitions.',
      unit: 'short',
      queries: [
        { expr: byGw('relay_pending_messages'), legend: 'pending {{gateway}}' },
        { expr: byGw('relay_online_users'), legend: 'online {{gateway}}' },
      ],
    })
    .panel({
      title: 'Deliveries by path',
      description:
        'Messages and receipts pushed to a gateway per second: fast = same process, topic = via relay.deliver; plus replays to users coming online and duplicates dropped.',
      unit: 'suffix: /s',
      queries: [
        { expr: rateBy('path, kind', 'relay_delivered_total'), legend: '{{path}} {{kind}}' },
        { expr: `sum(rate(relay_replayed_total${R}[$__rate_interval]))`, legend: 'replayed' },
        { expr: `sum(rate(relay_duplicates_dropped_total${R}[$__rate_interval]))`, legend: 'duplicates dropped' },
      ],
    })
    .row('Process')
    .panel({
      title: 'Event-loop lag',
      description: 'Node.js event-loop delay per relay process (prom-client, 10 ms resolution): p99 and max since the last scrape.',
      unit: 's',
      w: 8,
      queries: [
        { expr: `max by (gateway) (nodejs_eventloop_lag_p99_seconds${R})`, legend: 'p99 {{gateway}}' },
        { expr: `max by (gateway) (nodejs_eventloop_lag_max_seconds${R})`, legend: 'max {{gateway}}' },
      ],
    })
    .panel({
      title: 'Memory per process',
      description: 'Resident set size and used V8 heap per relay process.',
      unit: 'bytes',
      w: 8,
      queries: [
        { expr: byGw('process_resident_memory_bytes'), legend: 'RSS {{gateway}}' },
        { expr: byGw('nodejs_heap_size_used_bytes'), legend: 'heap used {{gateway}}' },
      ],
    })
    .panel({
      title: 'CPU per process',
      description: 'CPU time per second (1.0 = one core) per relay process.',
      unit: 'percentunit',
      w: 8,
      queries: [{ expr: rateBy('gateway', 'process_cpu_seconds_total'), legend: '{{gateway}}' }],
    });
  return b.build({
    uid: 'relaybench-relay',
    title: 'relaybench / Relay',
    description: `The relay processes: clients, frames, Kafka produce and consume, mailbox, process health. ${generatedNote('relay.ts')}`,
    variables: variables({ gateway: true }),
  });
}
