/**
 * loadgen_* metrics (DESIGN §5) on an injected prom-client Registry — never the global one —
 * and the GET /metrics endpoint. Names and labels are a contract with dashboards/: keep them.
 * Default labels: `worker`, `run_id`. Latency: classic histograms with fine buckets (mergeable in
 * PromQL) plus HDR percentiles of the last interval as gauges (`percentile` label, not `quantile`).
 * Schedule lag is the stage "scheduleLag" of both. Units: seconds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LedgerCounts } from './ledger.js';
import { loadgenError } from './errors.js';
import { STAGES, type Stage } from './stats/stages.js';
import type { Histogram as HdrHistogram } from './stats/histogram.js';

/** Same fine buckets as relay/src/metrics.ts (copied: the loadgen may not import relay/src). */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2,
  0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10,
];

/** HDR gauge percentile label values and the percentile each stands for. */
export const HDR_PERCENTILES = [
  ['50', 50],
  ['90', 90],
  ['99', 99],
  ['99.9', 99.9],
  ['100', 100],
] as const;

/** Ledger counts exported as counters: ledger field → metric name. */
const LEDGER_COUNTERS = {
  sent: 'loadgen_sent_total',
  acked: 'loadgen_acked_total',
  delivered: 'loadgen_delivered_total',
  readReceipts: 'loadgen_read_receipts_total',
  deliveredReceipts: 'loadgen_delivered_receipts_total',
  redelivered: 'loadgen_redelivered_total',
  duplicated: 'loadgen_duplicated_total',
  reordered: 'loadgen_reordered_total',
  decryptFailures: 'loadgen_decrypt_failures_total',
} as const satisfies Partial<Record<keyof LedgerCounts, string>>;

type LedgerCounterField = keyof typeof LEDGER_COUNTERS;

export class LoadgenMetrics {
  readonly registry: Registry;
  readonly #counters: Record<LedgerCounterField, Counter>;
  readonly #reported: Record<string, number> = {};
  readonly #errors: Counter<'code'>;
  readonly #latency: Record<Stage, { observe(v: number): void }>;
  readonly #hdr: Gauge<'stage' | 'percentile'>;
  readonly generatorBound: Gauge;
  readonly connections: Gauge;
  readonly targetRate: Gauge;
  readonly users: Gauge;

  constructor(registry: Registry, labels: { worker: string; runId: string }) {
    this.registry = registry;
    registry.setDefaultLabels({ worker: labels.worker, run_id: labels.runId });
    const r = [registry];
    const help: Record<LedgerCounterField, string> = {
      sent: 'Messages sent (distinct msgIds).',
      acked: 'Messages acknowledged by the server (✓, durable).',
      delivered: 'Messages delivered and decrypted (first delivery of each msgId).',
      readReceipts: 'Read receipts received by senders.',
      deliveredReceipts: 'Delivered receipts (✓✓) received by senders.',
      redelivered: 'Raw re-deliveries of an already delivered msgId (dropped by msgId).',
      duplicated: 'User-visible duplicates: the same conversation counter under another msgId.',
      reordered: 'Deliveries with a counter below the highest already delivered in their conversation.',
      decryptFailures: 'Deliveries that failed authentication/decryption (never counted delivered).',
    };
    this.#counters = Object.fromEntries(
      Object.entries(LEDGER_COUNTERS).map(([field, name]) => [
        field,
        new Counter({ name, help: help[field as LedgerCounterField], registers: r }),
      ]),
    ) as Record<LedgerCounterField, Counter>;
    this.#errors = new Counter({
      name: 'loadgen_errors_total',
      help: 'Errors by stable code (RB_*, WIRE_<name>, CLOSE_<name>).',
      labelNames: ['code'],
      registers: r,
    });
    const latency = new Histogram({
      name: 'loadgen_latency_seconds',
      help: 'Latency per stage (see loadgen/src/stats/stages.ts), seconds.',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: r,
    });
    this.#latency = Object.fromEntries(STAGES.map((s) => [s, latency.labels(s)])) as unknown as Record<Stage, { observe(v: number): void }>;
    this.#hdr = new Gauge({
      name: 'loadgen_latency_hdr_seconds',
      help: 'HDR percentiles of the last interval per stage, seconds.',
      labelNames: ['stage', 'percentile'],
      registers: r,
    });
    this.generatorBound = new Gauge({
      name: 'loadgen_generator_bound',
      help: '1 when the generator fell behind its schedule (the run is invalid).',
      registers: r,
    });
    this.connections = new Gauge({ name: 'loadgen_connections', help: 'Open connections to the target.', registers: r });
    this.targetRate = new Gauge({
      name: 'loadgen_target_rate_per_second',
      help: 'Scheduled aggregate send rate now (ramp included), messages/s.',
      registers: r,
    });
    this.users = new Gauge({ name: 'loadgen_users', help: 'Virtual users held by this worker.', registers: r });
  }

  /** One latency sample, µs (hot path). */
  observe(stage: Stage, valueUs: number): void {
    this.#latency[stage].observe(valueUs > 0 ? valueUs / 1e6 : 0);
  }

  error(code: string): void {
    this.#errors.inc({ code });
  }

  /** Bring the ledger counters up to `counts` (monotonic deltas). */
  syncLedger(counts: LedgerCounts): void {
    for (const field of Object.keys(LEDGER_COUNTERS) as LedgerCounterField[]) {
      const delta = counts[field] - (this.#reported[field] ?? 0);
      if (delta > 0) this.#counters[field].inc(delta);
      this.#reported[field] = counts[field];
    }
  }

  /** Set the HDR gauges of `stage` from the last interval's histogram (µs). Empty histograms are left alone. */
  setHdr(stage: Stage, h: Readonly<HdrHistogram>): void {
    if (h.totalCount === 0) return;
    for (const [label, p] of HDR_PERCENTILES)
      this.#hdr.set({ stage, percentile: label }, (p === 100 ? h.maxValue : h.getValueAtPercentile(p)) / 1e6);
  }
}

/** Serves GET /metrics of `registry` on 127.0.0.1:`port` (0 = any free port). Resolves with the URL. */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        },
      );
      return;
    }
    res.writeHead(404);
    res.end('not found: GET /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(loadgenError('RB_LOADGEN_METRICS_PORT', `${host}:${port}: ${e.message}.`, e)));
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actual}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
