// The run's Prometheus: started when installed (or an external one named), told about each
// segment's workers, and asked at the end for its view of the first relay segment.
import type { CrossCheckResult, PrometheusPlan, PrometheusServer, ScrapeTarget, StartPrometheusOptions } from '../prometheus/index.js';
import { SegmentTargets, crossCheck } from '../prometheus/index.js';
import type { SegmentIntervals } from '../results/store.js';
import type { RunSummary, SegmentSummary } from '../results/summary.js';

/** What the summary says of Prometheus; `server` once the run started one (it stops it at the end). */
export interface RunPrometheus {
  server?: PrometheusServer;
  info: RunSummary['prometheus'];
  version: string | null;
}

/** Follows the plan into `prom`: nothing, an external server, or one started here (a failure to start is logged, not fatal). */
export async function startRunPrometheus(
  plan: PrometheusPlan,
  deps: { startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> },
  o: { readonly dir: string; readonly runId: string; readonly scenario: string; readonly fleet: { metricsUrls(): string[] } },
  prom: RunPrometheus,
  log: (line: string) => void,
): Promise<void> {
  if (plan.kind === 'none') {
    log(`prometheus: ${plan.message}`);
    prom.info = { status: plan.reason === 'off' ? 'off' : 'not installed', url: null };
  } else if (plan.kind === 'external') {
    log(`prometheus: using ${plan.url} (it must scrape the relays and workers itself)`);
    prom.info = { status: 'external', url: plan.url };
  } else {
    try {
      prom.server = await deps.startPrometheus({
        runDir: o.dir,
        targets: relayTargets(o.fleet),
        runId: o.runId,
        scenario: o.scenario,
        binary: plan.binary,
      });
      prom.version = plan.version;
      prom.info = { status: 'started', url: prom.server.url };
      log(`prometheus ${plan.version}: ${prom.server.url} (data in ${prom.server.dataDir})`);
    } catch (e) {
      log(`prometheus: could not start (${e instanceof Error ? e.message : String(e)}); the run continues without it`);
      prom.info = { status: 'failed to start', url: null };
    }
  }
}

function relayTargets(fleet: { metricsUrls(): string[] }): ScrapeTarget[] {
  return fleet.metricsUrls().map((url) => ({ url, role: 'relay' as const }));
}

/** A segment's workers as scrape targets (by their metrics ports), when the run started a Prometheus. */
export function workerScrapeTargets(
  prometheus: PrometheusServer | undefined,
  ports: readonly number[],
  plans: readonly { readonly workerId: string }[],
  log: (line: string) => void,
): SegmentTargets | undefined {
  return prometheus === undefined
    ? undefined
    : new SegmentTargets(
        prometheus,
        ports.map((port, i): ScrapeTarget => ({
          url: `http://127.0.0.1:${port}/metrics`,
          role: 'loadgen',
          labels: { worker: plans[i]!.workerId },
        })),
        (e: unknown) => log(`prometheus: targets not updated (${e instanceof Error ? e.message : String(e)})`),
      );
}

/**
 * Prometheus' own view of the first relay segment (histogram_quantile over the classic buckets,
 * sent/delivered increases) beside the harness' HDR figures: a cross-check, never a gate.
 */
export async function prometheusCrossCheck(
  prom: PrometheusServer,
  runId: string,
  done: readonly SegmentSummary[],
  intervals: readonly SegmentIntervals[],
  log: (line: string) => void,
): Promise<(CrossCheckResult & { hdrP99Seconds: number | null }) | { error: string }> {
  const k = done.findIndex((d) => d.mode === 'relay');
  const snaps = intervals[k]?.intervals ?? [];
  const startMs = snaps[0]?.startMs ?? Date.now() - 1000;
  const endMs = snaps.at(-1)?.endMs ?? Date.now();
  try {
    const result = await crossCheck(prom, { startMs, endMs, runId });
    const hdrP99 = done[k]?.stages.e2eCorrected.p99;
    log(
      `prometheus cross-check: histogram_quantile p99 ${result.p99Seconds === null ? 'n/a' : `${(result.p99Seconds * 1000).toFixed(1)} ms`} vs HDR p99 ${hdrP99 === undefined ? 'n/a' : `${(hdrP99 / 1000).toFixed(1)} ms`}`,
    );
    return { ...result, hdrP99Seconds: hdrP99 === undefined ? null : hdrP99 / 1e6 };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log(`prometheus cross-check failed: ${error}`);
    return { error };
  }
}
