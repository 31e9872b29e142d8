/**
 * The relays' own counters that explain their CPU and Kafka's, read from each relay's /metrics
 * at the measured window's edges and summed over the relays: Kafka requests by API, records
 * produced, WebSocket frames in and out, records the routers applied (from their own process's
 * produce answers, from a peer relay's, or fetched), failed produce requests and pushes given up. Per delivered
 * message they show where the work is (e.g. 2.1 produce requests and 6 records per message). A
 * relay that restarts inside the window restarts its counters; the sums are then low, never
 * negative.
 */

export const RELAY_COUNTERS = [
  'kafkaProduceRequests',
  'kafkaFetchRequests',
  'kafkaRequests',
  'recordsProduced',
  'framesIn',
  'framesOut',
  'routerRecordsWritten',
  'routerRecordsPeer',
  'routerRecordsFetched',
  'produceErrors',
  'deliverDropped',
] as const;
export type RelayCounter = (typeof RELAY_COUNTERS)[number];
export type RelayCounts = Readonly<Record<RelayCounter, number>>;

const zero = (): Record<RelayCounter, number> => ({
  kafkaProduceRequests: 0,
  kafkaFetchRequests: 0,
  kafkaRequests: 0,
  recordsProduced: 0,
  framesIn: 0,
  framesOut: 0,
  routerRecordsWritten: 0,
  routerRecordsPeer: 0,
  routerRecordsFetched: 0,
  produceErrors: 0,
  deliverDropped: 0,
});

/** Prometheus text exposition of one relay → its counts (unknown lines ignored). */
export function parseRelayCounters(text: string): RelayCounts {
  const c = zero();
  for (const line of text.split('\n')) {
    const m = /^(relay_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
    if (m === null) continue;
    const [, name, labels = '', raw] = m;
    const v = Number(raw);
    if (!Number.isFinite(v)) continue;
    if (name === 'relay_kafka_requests_total') {
      c.kafkaRequests += v;
      if (labels.includes('api="Produce"')) c.kafkaProduceRequests += v;
      else if (labels.includes('api="Fetch"')) c.kafkaFetchRequests += v;
    } else if (name === 'relay_produce_batch_records_sum') c.recordsProduced += v;
    else if (name === 'relay_frames_in_total') c.framesIn += v;
    else if (name === 'relay_frames_out_total') c.framesOut += v;
    else if (name === 'relay_produce_errors_total') c.produceErrors += v;
    else if (name === 'relay_deliver_dropped_total') c.deliverDropped += v;
    else if (name === 'relay_router_records_total') {
      if (labels.includes('source="written"')) c.routerRecordsWritten += v;
      else if (labels.includes('source="peer"')) c.routerRecordsPeer += v;
      else if (labels.includes('source="fetched"')) c.routerRecordsFetched += v;
    }
  }
  return c;
}

export function sumCounts(all: readonly RelayCounts[]): RelayCounts {
  const c = zero();
  for (const x of all) for (const k of RELAY_COUNTERS) c[k] += x[k];
  return c;
}

/** end − start per counter, and per delivered message (null when nothing was delivered). */
export function countsPerMessage(
  start: RelayCounts,
  end: RelayCounts,
  delivered: number,
): Record<RelayCounter, { total: number; perMessage: number | null }> {
  const out = {} as Record<RelayCounter, { total: number; perMessage: number | null }>;
  for (const k of RELAY_COUNTERS) {
    const total = Math.max(0, end[k] - start[k]);
    out[k] = { total, perMessage: delivered > 0 ? Math.round((total / delivered) * 1000) / 1000 : null };
  }
  return out;
}

/** Reads and sums every relay's counters; a relay that does not answer counts as 0. */
export async function readRelayCounters(metricsUrls: readonly string[]): Promise<RelayCounts> {
  const texts = await Promise.all(
    metricsUrls.map((u) =>
      fetch(u, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.text(),
        () => '',
      ),
    ),
  );
  return sumCounts(texts.map(parseRelayCounters));
}
