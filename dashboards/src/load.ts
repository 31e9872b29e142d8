import type { Dashboard } from '@grafana/schema';
import { DashboardBuilder, RUN, generatedNote, variables } from './builder.js';

/** relaybench / Load: what the load generator sees (loadgen_* metrics, labels worker + run_id). */
const L = `{${RUN}}`;
const stage = (s: string) => `{${RUN}, stage=~"${s}"}`;
const rate = (metric: string, sel = L) => `sum(rate(${metric}${sel}[$__rate_interval]))`;
const quantile = (q: number, s: string, by = '') =>
  `histogram_quantile(${q}, sum by (${by}le) (rate(loadgen_latency_seconds_bucket${stage(s)}[$__rate_interval])))`;

export function loadDashboard(): Dashboard {
  const b = new DashboardBuilder()
    .row('Throughput')
    .panel({
      title: 'Sent vs delivered',
      description:
        'Messages per second, summed over workers: target rate (plan), sent, acked (✓) and delivered to the recipient. Delivered below sent for long means a backlog.',
      unit: 'suffix: msg/s',
      queries: [
        { expr: `sum(loadgen_target_rate_per_second${L})`, legend: 'target' },
        { expr: rate('loadgen_sent_total'), legend: 'sent' },
        { expr: rate('loadgen_acked_total'), legend: 'acked ✓' },
        { expr: rate('loadgen_delivered_total'), legend: 'delivered' },
      ],
    })
    .panel({
      title: 'Receipts',
      description: 'Delivered (✓✓) and read receipts per second arriving back at senders.',
      unit: 'suffix: /s',
      queries: [
        { expr: rate('loadgen_delivered_receipts_total'), legend: '✓✓ delivered receipts' },
        { expr: rate('loadgen_read_receipts_total'), legend: 'read receipts' },
      ],
    })
    .panel({
      title: 'Ledger',
      description:
        'Ledger counters since the workers started (sum over workers). Redelivered, duplicated, reordered and decrypt failures should stay 0.',
      unit: 'short',
      kind: 'stat',
      w: 24,
      h: 5,
      queries: [
        ['loadgen_sent_total', 'sent'],
        ['loadgen_acked_total', 'acked ✓'],
        ['loadgen_delivered_total', 'delivered'],
        ['loadgen_delivered_receipts_total', '✓✓'],
        ['loadgen_read_receipts_total', 'read'],
        ['loadgen_redelivered_total', 'redelivered'],
        ['loadgen_duplicated_total', 'duplicated'],
        ['loadgen_reordered_total', 'reordered'],
        ['loadgen_decrypt_failures_total', 'decrypt failures'],
      ].map(([m, legend]) => ({ expr: `sum(${m}${L})`, legend, instant: true })),
    })
    .panel({
      title: 'Ledger anomalies',
      description: 'Redelivered, duplicated, reordered messages and decrypt failures per second. Anything above 0 is a finding.',
      unit: 'suffix: /s',
      queries: [
        { expr: rate('loadgen_redelivered_total'), legend: 'redelivered' },
        { expr: rate('loadgen_duplicated_total'), legend: 'duplicated' },
        { expr: rate('loadgen_reordered_total'), legend: 'reordered' },
        { expr: rate('loadgen_decrypt_failures_total'), legend: 'decrypt failures' },
      ],
    })
    .panel({
      title: 'Errors by code',
      description: 'Client-side errors per second by code (bounded set of codes). Shows 0 when there are none.',
      unit: 'suffix: /s',
      queries: [{ expr: `sum by (code) (rate(loadgen_errors_total${L}[$__rate_interval])) or vector(0)`, legend: '{{code}}' }],
    })
    .row('End-to-end latency (delivered − intended send)')
    .panel({
      title: 'E2E latency percentiles (HDR, per 1 s interval)',
      description:
        'HDR percentiles of e2eCorrected per 1 s interval as exported by each worker (gauge). Across workers the panel shows the max of each percentile — an upper bound; exact merged percentiles are in the run results (summary.json).',
      unit: 's',
      queries: [{ expr: `max by (percentile) (loadgen_latency_hdr_seconds${stage('e2eCorrected')})`, legend: 'p{{percentile}}' }],
    })
    .panel({
      title: 'E2E latency percentiles (histogram buckets)',
      description:
        'histogram_quantile over loadgen_latency_seconds (fine buckets, merged over workers). Accurate to one bucket width; the uncorrected p99 (from actual send) shows coordinated omission when it is below the corrected one.',
      unit: 's',
      queries: [
        { expr: quantile(0.5, 'e2eCorrected'), legend: 'p50' },
        { expr: quantile(0.9, 'e2eCorrected'), legend: 'p90' },
        { expr: quantile(0.99, 'e2eCorrected'), legend: 'p99' },
        { expr: quantile(0.999, 'e2eCorrected'), legend: 'p99.9' },
        { expr: quantile(0.99, 'e2eUncorrected'), legend: 'p99 uncorrected' },
      ],
    })
    .panel({
      title: '✓ / ✓✓ / read latency p99',
      description:
        'p99 from intended send to: ✓ (ack: durable in Kafka), ✓✓ (delivered receipt back at the sender), read receipt back; and store-and-forward (recipient was offline).',
      unit: 's',
      queries: [{ expr: quantile(0.99, 'ack|deliveredReceipt|readReceipt|storeForward', 'stage, '), legend: '{{stage}} p99' }],
    })
    .panel({
      title: '✓ / ✓✓ / read latency p50',
      description: 'Median of the same stages as the p99 panel.',
      unit: 's',
      queries: [{ expr: quantile(0.5, 'ack|deliveredReceipt|readReceipt|storeForward', 'stage, '), legend: '{{stage}} p50' }],
    })
    .row('Generator health')
    .panel({
      title: 'Schedule lag',
      description:
        'Actual send − intended send. If it grows, the generator (not the relay) is the bottleneck and the run is generator-bound.',
      unit: 's',
      w: 8,
      queries: [
        {
          expr: `max by (percentile) (loadgen_latency_hdr_seconds{${RUN}, stage="scheduleLag", percentile=~"99|100"})`,
          legend: 'HDR p{{percentile}}',
        },
        { expr: quantile(0.99, 'scheduleLag'), legend: 'p99 (buckets)' },
      ],
    })
    .panel({
      title: 'Generator-bound',
      description:
        '1 when any worker could not keep its schedule (schedule lag above its limit): results of that run are not valid as relay latency.',
      unit: 'none',
      kind: 'stat',
      w: 4,
      redAt: 1,
      mappings: [
        { value: '0', text: 'OK', color: 'green' },
        { value: '1', text: 'GENERATOR-BOUND', color: 'red' },
      ],
      queries: [{ expr: `max(loadgen_generator_bound${L})`, legend: 'generator-bound' }],
    })
    .panel({
      title: 'Connections and users',
      description: 'Open WebSocket connections and virtual users, summed over workers.',
      unit: 'short',
      w: 12,
      queries: [
        { expr: `sum(loadgen_connections${L})`, legend: 'connections' },
        { expr: `sum(loadgen_users${L})`, legend: 'users' },
      ],
    });
  return b.build({
    uid: 'relaybench-load',
    title: 'relaybench / Load',
    description: `Load as the clients see it: rates, ledger, end-to-end and receipt latency, generator health. ${generatedNote('load.ts')}`,
    variables: variables({ gateway: false }),
  });
}
