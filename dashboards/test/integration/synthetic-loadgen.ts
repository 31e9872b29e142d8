import { Registry } from 'prom-client';
import { LoadgenMetrics, serveMetrics } from '../../../loadgen/src/metrics.js';
import { buildJsHistogram, type Histogram } from '../../../loadgen/src/stats/histogram.js';
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';
import { emptyLedger, type LedgerCounts } from '../../../loadgen/src/ledger.js';

/**
 * Stand-in used ONLY while the `relaybench loadgen` command does not exist: the loadgen's real
 * exporter (LoadgenMetrics + serveMetrics) fed with synthetic latencies (seeded, 2–40 ms, with a
 * tail), 200 samples/s, HDR gauges every 1 s. It proves the loadgen panels' queries against the
 * real metric names and labels; it does not replace the end-to-end run with the real worker.
 */
export interface SyntheticLoadgen {
  readonly metricsUrl: string;
  /** Stops recording (keeps serving /metrics until close()). Returns the e2eCorrected HDR p99 of the whole run. */
  finish(): { p99Seconds: number; count: number; measureStartMs: number; endedMs: number };
  close(): Promise<void>;
}

export async function startSyntheticLoadgen(runId: string): Promise<SyntheticLoadgen> {
  const registry = new Registry();
  const m = new LoadgenMetrics(registry, { worker: 'synthetic-1', runId });
  const served = await serveMetrics(registry, 0);
  m.users.set(20);
  m.connections.set(20);
  m.targetRate.set(200);
  m.generatorBound.set(0);
  const interval = Object.fromEntries(STAGES.map((s) => [s, buildJsHistogram()])) as Record<Stage, Histogram>;
  const whole = buildJsHistogram();
  const counts: LedgerCounts = emptyLedger();
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const startedMs = Date.now();
  const sample = setInterval(() => {
    for (let i = 0; i < 2; i++) {
      const hopsUs = [300 + rnd() * 700, 1000 + rnd() * 8000 * (rnd() < 0.02 ? 4 : 1), 200 + rnd() * 500, 100 + rnd() * 300];
      const e2eUs = hopsUs.reduce((a, b) => a + b, 0) + 200 + rnd() * 500;
      const values: Record<Stage, number> = {
        scheduleLag: rnd() * 300,
        ack: hopsUs[0]! + 300,
        e2eCorrected: e2eUs,
        e2eUncorrected: e2eUs - 100,
        deliveredReceipt: e2eUs * 2,
        readReceipt: e2eUs * 2.2,
        storeForward: e2eUs * 50,
        hopGatewayToProduce: hopsUs[0]!,
        hopProduceToRouter: hopsUs[1]!,
        hopRouterToGateway: hopsUs[2]!,
        hopGatewayToClient: hopsUs[3]!,
      };
      for (const s of STAGES) {
        m.observe(s, values[s]);
        interval[s].recordValue(Math.round(values[s]));
      }
      whole.recordValue(Math.round(e2eUs));
      for (const k of ['sent', 'acked', 'delivered', 'deliveredReceipts', 'readReceipts'] as const) counts[k]++;
    }
  }, 10);
  const tick = setInterval(() => {
    for (const s of STAGES) {
      m.setHdr(s, interval[s]);
      interval[s].reset();
    }
    m.syncLedger(counts);
  }, 1000);
  let endedMs = 0;
  return {
    metricsUrl: served.url,
    finish() {
      clearInterval(sample);
      clearInterval(tick);
      m.syncLedger(counts);
      endedMs = Date.now();
      return { p99Seconds: whole.getValueAtPercentile(99) / 1e6, count: whole.totalCount, measureStartMs: startedMs, endedMs };
    },
    async close() {
      clearInterval(sample);
      clearInterval(tick);
      await served.close();
    },
  };
}
