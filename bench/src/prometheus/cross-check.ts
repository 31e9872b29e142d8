import { singleValue, type PrometheusQuerier } from './client.js';

/**
 * Prometheus' view of a finished run, stored in summary.json beside the harness' own HDR
 * numbers. The loadgen exports each latency twice: interval HDR histograms (exact to 3
 * significant digits, what the summary reports) and a classic Prometheus histogram
 * `loadgen_latency_seconds` with fine buckets. `histogram_quantile` interpolates linearly inside
 * one bucket, so the two agree to within the width of the bucket holding the percentile
 * (see `bucketBoundsAround`); a larger gap means lost scrapes or a broken exporter.
 */
export interface CrossCheckWindow {
  /** ms since the epoch, inclusive: the measured window (after warm-up). */
  readonly startMs: number;
  readonly endMs: number;
}

export interface CrossCheckOptions extends CrossCheckWindow {
  /** Default e2eCorrected. */
  readonly stage?: string;
  /** Restricts to one run's series (recommended when the Prometheus is shared). */
  readonly runId?: string;
}

export interface CrossCheckResult {
  readonly source: 'prometheus';
  readonly prometheusUrl: string;
  readonly stage: string;
  readonly window: { readonly startMs: number; readonly endMs: number; readonly rangeSeconds: number };
  /** Seconds; null when Prometheus had no samples (or no traffic) for the stage. */
  readonly p50Seconds: number | null;
  readonly p99Seconds: number | null;
  /** Counter increases over the window, summed over workers; null when absent. */
  readonly sent: number | null;
  readonly delivered: number | null;
  /** The exact PromQL used, evaluated at `window.endMs`, so anyone can re-run it. */
  readonly queries: Readonly<Record<'p50' | 'p99' | 'sent' | 'delivered', string>>;
}

export function crossCheckQueries(options: CrossCheckOptions): { rangeSeconds: number; queries: CrossCheckResult['queries'] } {
  const rangeSeconds = Math.max(1, Math.ceil((options.endMs - options.startMs) / 1000));
  const stage = options.stage ?? 'e2eCorrected';
  const run = options.runId === undefined ? '' : `,run_id="${escapeLabel(options.runId)}"`;
  const bucket = `sum by (le) (increase(loadgen_latency_seconds_bucket{stage="${escapeLabel(stage)}"${run}}[${rangeSeconds}s]))`;
  const runOnly = options.runId === undefined ? '' : `{run_id="${escapeLabel(options.runId)}"}`;
  return {
    rangeSeconds,
    queries: {
      p50: `histogram_quantile(0.5, ${bucket})`,
      p99: `histogram_quantile(0.99, ${bucket})`,
      sent: `sum(increase(loadgen_sent_total${runOnly}[${rangeSeconds}s]))`,
      delivered: `sum(increase(loadgen_delivered_total${runOnly}[${rangeSeconds}s]))`,
    },
  };
}

/** Runs the cross-check queries at the end of the window. Throws RB_PROM_QUERY_FAILED if Prometheus errors. */
export async function crossCheck(prom: PrometheusQuerier, options: CrossCheckOptions): Promise<CrossCheckResult> {
  const { rangeSeconds, queries } = crossCheckQueries(options);
  const at = options.endMs / 1000;
  const [p50, p99, sent, delivered] = await Promise.all(
    [queries.p50, queries.p99, queries.sent, queries.delivered].map(async (q) => singleValue(await prom.query(q, at))),
  );
  return {
    source: 'prometheus',
    prometheusUrl: prom.url,
    stage: options.stage ?? 'e2eCorrected',
    window: { startMs: options.startMs, endMs: options.endMs, rangeSeconds },
    p50Seconds: p50 ?? null,
    p99Seconds: p99 ?? null,
    sent: sent ?? null,
    delivered: delivered ?? null,
    queries,
  };
}

/**
 * The classic-histogram bucket [lower, upper] (seconds) that holds `valueSeconds`, given the
 * finite `le` bounds. Prometheus' estimate of a percentile lies in the bucket of the true value
 * (histogram_quantile interpolates within it), so |prometheus − hdr| ≤ upper − lower, plus
 * HDR's own 0.1 % (3 significant digits).
 */
export function bucketBoundsAround(valueSeconds: number, les: readonly number[]): { lower: number; upper: number } {
  const sorted = [...les].filter(Number.isFinite).sort((a, b) => a - b);
  let lower = 0;
  for (const le of sorted) {
    if (valueSeconds <= le) return { lower, upper: le };
    lower = le;
  }
  return { lower, upper: Number.POSITIVE_INFINITY };
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
