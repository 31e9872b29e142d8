import type { Dashboard } from '@grafana/schema';
import { DashboardBuilder, RELAY, RUN, generatedNote, variables } from './builder.js';

/**
 * relaybench / Path: where the time goes between Send and delivery. The hops come from the
 * relay's stamps on each delivered message, measured by the loadgen (stage label hop*).
 */
export const HOPS = [
  'hopClientToGateway',
  'hopGatewayToProduce',
  'hopProduceToRouter',
  'hopRouterToGateway',
  'hopGatewayToClient',
] as const;
const HOP_RE = HOPS.join('|');
/** The client-side stages between the intended send and the frame handed to the socket. */
const BEFORE_SEND_RE = 'scheduleLag|outboxWait';
const sel = (stage: string) => `{${RUN}, stage=~"${stage}"}`;
const meanBy = (stages: string) =>
  `sum by (stage) (rate(loadgen_latency_seconds_sum${sel(stages)}[$__rate_interval])) / sum by (stage) (rate(loadgen_latency_seconds_count${sel(stages)}[$__rate_interval]))`;
const R = `{${RELAY}}`;

export function pathDashboard(): Dashboard {
  const b = new DashboardBuilder()
    .row('Per-hop breakdown')
    .panel({
      title: 'Mean time per hop (stacked)',
      description:
        "Mean latency of each step, stacked: the worker's schedule lag and the user's outbox (a new peer's keys, the in-flight window, encryption) before the send, then client → gateway → produce acked → router → recipient gateway → client, and the recipient's inbox (decryption, and a new sender's keys when its message does not carry them). Means add up to the mean corrected end-to-end latency; percentiles do not add, so they are shown unstacked next to it.",
      unit: 's',
      stack: true,
      queries: [
        { expr: meanBy(BEFORE_SEND_RE), legend: '{{stage}}' },
        { expr: meanBy(HOP_RE), legend: '{{stage}}' },
        { expr: meanBy('inboxWait'), legend: '{{stage}}' },
      ],
    })
    .panel({
      title: 'p99 per hop',
      description: 'p99 of each hop from the histogram buckets (not additive), with the end-to-end p99 from actual send for scale.',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (stage, le) (rate(loadgen_latency_seconds_bucket${sel(HOP_RE)}[$__rate_interval])))`,
          legend: '{{stage}}',
        },
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(loadgen_latency_seconds_bucket${sel('e2eUncorrected')}[$__rate_interval])))`,
          legend: 'e2e (uncorrected)',
        },
      ],
    })
    .row('Distributions over time')
    .panel({
      title: 'E2E latency heatmap',
      description: 'Deliveries per latency bucket per interval (e2eCorrected, from intended send), all workers.',
      unit: 'short',
      kind: 'heatmap',
      w: 24,
      queries: [heatmapQuery('e2eCorrected')],
    });
  for (const hop of HOPS) {
    b.panel({
      title: `${hop} heatmap`,
      description: `Messages per latency bucket per interval for the ${hop} hop, all workers.`,
      unit: 'short',
      kind: 'heatmap',
      queries: [heatmapQuery(hop)],
    });
  }
  b.row("The relay's own view").panel({
    title: 'Relay: produce and router latency p99',
    description:
      'The same path measured inside the relay processes: produce until acks=all, and gateway receive → router hand-off, p99 per relay.',
    unit: 's',
    w: 24,
    queries: [
      {
        expr: `histogram_quantile(0.99, sum by (gateway, le) (rate(relay_produce_latency_seconds_bucket${R}[$__rate_interval])))`,
        legend: 'produce {{gateway}}',
      },
      {
        expr: `histogram_quantile(0.99, sum by (gateway, le) (rate(relay_router_latency_seconds_bucket${R}[$__rate_interval])))`,
        legend: 'router {{gateway}}',
      },
    ],
  });
  return b.build({
    uid: 'relaybench-path',
    title: 'relaybench / Path',
    description: `Per-hop breakdown of the delivery path from the relay's timestamps. ${generatedNote('path.ts')}`,
    variables: variables({ gateway: true }),
  });
}

function heatmapQuery(stage: string) {
  return {
    expr: `sum by (le) (increase(loadgen_latency_seconds_bucket${sel(stage)}[$__rate_interval]))`,
    legend: '{{le}}',
    format: 'heatmap' as const,
  };
}
