/**
 * The load generator's metric names (loadgen/src/metrics.ts, default labels worker + run_id),
 * as the dashboards expect them; the integration test proves them against a real worker.
 */
export const LOADGEN_METRICS: ReadonlySet<string> = new Set([
  'loadgen_sent_total',
  'loadgen_acked_total',
  'loadgen_delivered_total',
  'loadgen_read_receipts_total',
  'loadgen_delivered_receipts_total',
  'loadgen_redelivered_total',
  'loadgen_duplicated_total',
  'loadgen_reordered_total',
  'loadgen_decrypt_failures_total',
  'loadgen_errors_total',
  'loadgen_latency_seconds',
  'loadgen_latency_hdr_seconds',
  'loadgen_generator_bound',
  'loadgen_connections',
  'loadgen_target_rate_per_second',
  'loadgen_users',
]);

/** Labels whose values come from a small, fixed set: the only ones a dashboard may group by. */
export const BOUNDED_LABELS: ReadonlySet<string> = new Set([
  'le',
  'api',
  'stage',
  'percentile',
  'code',
  'type',
  'kind',
  'path',
  'source',
  'partition',
  'error',
  'gateway',
  'worker',
  'run_id',
  'scenario',
  'role',
  'instance',
  'job',
]);
