import { prometheusError } from './errors.js';

/**
 * A small client for Prometheus' HTTP API (v1): instant and range queries, targets, readiness.
 * Stateless apart from the base URL; every call is one HTTP request with a timeout. Times are
 * Unix seconds (float) as the API takes them; durations in names say their unit.
 */

export interface InstantSample {
  readonly metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it ("NaN", "+Inf" possible)] */
  readonly value: [number, string];
}

export interface RangeSeries {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

export type QueryResult =
  | { readonly resultType: 'vector'; readonly result: InstantSample[] }
  | { readonly resultType: 'matrix'; readonly result: RangeSeries[] }
  | { readonly resultType: 'scalar' | 'string'; readonly result: [number, string] };

export interface ActiveTarget {
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly labels: Record<string, string>;
  readonly lastError: string;
}

/** Read-only view of a Prometheus: what the dashboards test and the cross-check need. */
export interface PrometheusQuerier {
  readonly url: string;
  /** Instant query at `timeSec` (default: now). */
  query(promql: string, timeSec?: number): Promise<QueryResult>;
  /** Range query over [startSec, endSec] every `stepSec`. */
  queryRange(promql: string, startSec: number, endSec: number, stepSec: number): Promise<QueryResult>;
}

export class PrometheusClient implements PrometheusQuerier {
  readonly url: string;
  readonly #timeoutMs: number;

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async query(promql: string, timeSec?: number): Promise<QueryResult> {
    const params = new URLSearchParams({ query: promql });
    if (timeSec !== undefined) params.set('time', String(timeSec));
    return this.#api<QueryResult>('/api/v1/query', params, promql);
  }

  async queryRange(promql: string, startSec: number, endSec: number, stepSec: number): Promise<QueryResult> {
    const params = new URLSearchParams({ query: promql, start: String(startSec), end: String(endSec), step: String(stepSec) });
    return this.#api<QueryResult>('/api/v1/query_range', params, promql);
  }

  async activeTargets(): Promise<ActiveTarget[]> {
    const data = await this.#api<{ activeTargets: ActiveTarget[] }>(
      '/api/v1/targets',
      new URLSearchParams({ state: 'active' }),
      'targets',
      'GET',
    );
    return data.activeTargets;
  }

  /** True when /-/ready answers 200. Never throws. */
  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async #api<T>(path: string, params: URLSearchParams, what: string, method: 'GET' | 'POST' = 'POST'): Promise<T> {
    let body: { status: string; data?: T; error?: string; errorType?: string };
    try {
      const signal = AbortSignal.timeout(this.#timeoutMs);
      const res =
        method === 'GET'
          ? await fetch(`${this.url}${path}?${params.toString()}`, { signal })
          : await fetch(`${this.url}${path}`, {
              method,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: params.toString(),
              signal,
            });
      body = (await res.json()) as typeof body;
    } catch (e) {
      throw prometheusError('RB_PROM_QUERY_FAILED', `${this.url}${path} for ${what}: ${(e as Error).message}`, e);
    }
    if (body.status !== 'success' || body.data === undefined) {
      throw prometheusError('RB_PROM_QUERY_FAILED', `${what}: ${body.errorType ?? ''} ${body.error ?? 'no data'}`.trim());
    }
    return body.data;
  }
}

/** Number of samples in a result that are real numbers (not NaN/±Inf). */
export function finiteSampleCount(r: QueryResult): number {
  const finite = (v: string) => Number.isFinite(Number(v));
  if (r.resultType === 'vector') return r.result.filter((s) => finite(s.value[1])).length;
  if (r.resultType === 'matrix') return r.result.reduce((n, s) => n + s.values.filter((v) => finite(v[1])).length, 0);
  if (r.resultType === 'scalar') return finite(r.result[1]) ? 1 : 0;
  return 0;
}

/** The single value of a one-element instant vector (or scalar); null when empty or not finite. */
export function singleValue(r: QueryResult): number | null {
  let v: string | undefined;
  if (r.resultType === 'vector') v = r.result.length === 1 ? r.result[0]!.value[1] : undefined;
  else if (r.resultType === 'scalar') v = r.result[1];
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
