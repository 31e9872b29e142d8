import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startPrometheus, type PrometheusServer } from '../../../bench/src/prometheus/server.js';
import { finiteSampleCount, singleValue } from '../../../bench/src/prometheus/client.js';
import { crossCheck } from '../../../bench/src/prometheus/cross-check.js';
import type { ScrapeTarget } from '../../../bench/src/prometheus/config.js';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { TEST_SECRET } from '../../../test/helpers/client.js';
import { allDashboards } from '../../src/index.js';
import { expand, metricNames, panelQueries, variableQueries, type Expansion, type PanelQuery } from '../../src/queries.js';
import { driveBareTraffic } from './traffic.js';
import { startLoadgen, waitForMetrics, type LoadgenRun } from './loadgen-run.js';
import { hdrP99FromLoadgenStdout } from './hdr-result.js';
import { describeWithTools } from '../../../test/helpers/tools.js';
import { quantileBounds } from '../quantile-bounds.js';

/**
 * The acceptance test of the dashboards: a real Kafka, two real relay processes, the real
 * Prometheus (our runner, 1 s scrapes) and real traffic — then EVERY query of EVERY panel of
 * every dashboard, with its template variables expanded as Grafana would, must return data
 * (at least one finite sample). An empty panel fails and is named.
 *
 * Traffic: bare protocol clients (relay panels) and the loadgen CLI with its /metrics (loadgen and
 * path panels).
 */
const RUN_ID = `panels-${Date.now()}`;
const SCENARIO = 'dashboards-test';

// Without `prometheus` on PATH: one skipped test outside CI, one failing test with CI=true.
describeWithTools('integration: dashboard panels against a real Prometheus', ['prometheus'], () => {
  let kafka: LocalKafkaCluster | undefined;
  let relays: RelayProcess[] = [];
  let prom: PrometheusServer | undefined;
  let loadgen: LoadgenRun | undefined;
  let runDir = '';
  let loadgenStdout = '';
  /** Unix seconds: the traffic window, and the instant at which instant queries run. */
  const span = { startSec: 0, endSec: 0, instantSec: 0, lastAliveSec: 0 };

  before(async () => {
    runDir = await mkdtemp(join(tmpdir(), 'relaybench-panels-'));
    kafka = await startTestKafka(1);
    relays = [await startRelayProcess(kafka.brokers, { gatewayId: 'r1' }), await startRelayProcess(kafka.brokers, { gatewayId: 'r2' })];
    await waitAllReady(relays);
    const relayTargets: ScrapeTarget[] = relays.map((r) => ({ url: `${r.httpUrl}/metrics`, role: 'relay' }));
    prom = await startPrometheus({ runDir, targets: relayTargets, runId: RUN_ID, scenario: SCENARIO });
    await prom.waitForTargetsUp();
    span.startSec = Date.now() / 1000;

    // No warm-up: the HDR histograms then hold every sample the exporter counted (see the p99 test).
    const lg = await startLoadgen({
      relays: relays.map((r) => r.url),
      users: 50,
      ratePerSec: 100,
      durationS: 20,
      warmupS: 0,
      tokenSecret: TEST_SECRET,
      runId: RUN_ID,
      resultPath: join(runDir, 'loadgen-result.json'),
    });
    loadgen = lg;
    await waitForMetrics(lg.metricsUrl, lg);
    await prom.updateTargets([...relayTargets, { url: lg.metricsUrl, role: 'loadgen' }]);
    await driveBareTraffic(
      relays.map((r) => r.url),
      { durationMs: 12_000, ratePerSec: 40, pairs: 4, prefix: 'dash' },
    );
    // Instant queries run while the worker is still scraped (its series go stale when it exits).
    const lastAlive = new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        if (lg.proc.child.exitCode !== null || lg.proc.child.signalCode !== null) {
          clearInterval(timer);
          resolve(Date.now() / 1000);
        }
      }, 100);
    });
    loadgenStdout = await lg.done;
    span.lastAliveSec = await lastAlive;
    span.instantSec = span.lastAliveSec - 2.5;
    await new Promise((r) => setTimeout(r, 2_500)); // two more scrapes of the relays
    span.endSec = Date.now() / 1000;
  });

  after(async () => {
    await loadgen?.stop();
    await prom?.stop();
    await Promise.all(relays.map((r) => r.stop()));
    await kafka?.stop();
    if (runDir !== '') await rm(runDir, { recursive: true, force: true });
  });

  function expansion(): Expansion {
    const rangeS = Math.ceil(span.endSec - span.startSec);
    return {
      variables: { run_id: RUN_ID, scenario: SCENARIO, gateway: relays.map((r) => r.gatewayId).join('|') },
      rateInterval: '10s',
      interval: '1s',
      range: `${rangeS}s`,
    };
  }

  async function emptyQueries(queries: readonly PanelQuery[]): Promise<string[]> {
    const empty: string[] = [];
    for (const q of queries) {
      const promql = expand(q.expr, expansion());
      try {
        const r = q.instant ? await prom!.query(promql, span.instantSec) : await prom!.queryRange(promql, span.startSec, span.endSec, 1);
        if (finiteSampleCount(r) === 0) empty.push(`panel ${q.panelId} "${q.panelTitle}" query ${q.refId}: no data — ${promql}`);
      } catch (e) {
        empty.push(`panel ${q.panelId} "${q.panelTitle}" query ${q.refId}: ${(e as Error).message}`);
      }
    }
    return empty;
  }

  const readsLoadgen = (q: PanelQuery) => metricNames(q.expr).some((m) => m.startsWith('loadgen_'));

  for (const [file, dashboard] of Object.entries(allDashboards())) {
    const queries = panelQueries(dashboard);
    const relayOnly = queries.filter((q) => !readsLoadgen(q));
    const withLoadgen = queries.filter(readsLoadgen);
    if (relayOnly.length > 0) {
      test(`integration: ${file}: every relay panel query returns data (${relayOnly.length} queries)`, async () => {
        const empty = await emptyQueries(relayOnly);
        assert.deepEqual(empty, [], `empty panels in ${dashboard.title}:\n${empty.join('\n')}`);
      });
    }
    if (withLoadgen.length > 0) {
      test(`integration: ${file}: every loadgen panel query returns data (${withLoadgen.length} queries)`, async () => {
        const empty = await emptyQueries(withLoadgen);
        assert.deepEqual(empty, [], `empty panels in ${dashboard.title}:\n${empty.join('\n')}`);
      });
    }
    test(`integration: ${file}: template variable queries return values`, async () => {
      for (const v of variableQueries(dashboard)) {
        const promql = `count by (${v.label}) (${expand(v.selector, expansion())})`;
        const r = await prom!.query(promql, span.instantSec);
        const values = r.resultType === 'vector' ? r.result.map((s) => s.metric[v.label]).filter((x) => x !== undefined) : [];
        assert.ok(values.length > 0, `variable $${v.name}: ${promql} returned no values`);
        if (v.name === 'run_id') assert.ok(values.includes(RUN_ID), `$run_id offers ${values.join(',')}`);
        if (v.name === 'gateway') assert.deepEqual([...values].sort(), ['r1', 'r2']);
      }
    });
  }

  test('integration: the relay series carry run_id, scenario and role from the generated config', async () => {
    const r = await prom!.query(`count by (gateway, run_id, scenario, role) (relay_connections)`, span.instantSec);
    assert.equal(r.resultType, 'vector');
    const got = (r.result as { metric: Record<string, string> }[])
      .map((s) => s.metric)
      .sort((a, b) => a.gateway!.localeCompare(b.gateway!));
    assert.deepEqual(got, [
      { gateway: 'r1', run_id: RUN_ID, scenario: SCENARIO, role: 'relay' },
      { gateway: 'r2', run_id: RUN_ID, scenario: SCENARIO, role: 'relay' },
    ]);
  });

  /**
   * One call records each sample into both the HDR histograms and the exported classic histogram,
   * so Prometheus' p99 over what it scraped must lie in the bucket(s) the HDR histogram predicts
   * for that population (quantileBounds: exact ranks, not a time window — a window's edges let
   * different samples in on each side). The loadgen ran without warm-up, so its cumulative bucket
   * counters at its last scrape hold the HDR samples minus those recorded after that scrape.
   * The run summary's cross-check (increase() over the measured window) must answer too.
   */
  test('integration: HDR p99 and Prometheus histogram_quantile p99 agree within the bucket resolution', async () => {
    const hdr = hdrP99FromLoadgenStdout(loadgenStdout);
    assert.ok(hdr.count > 100, `the run measured ${hdr.count} deliveries`);
    const sel = `{stage="e2eCorrected",run_id="${RUN_ID}"}`;
    const scraped = await prom!.query(`loadgen_latency_seconds_count${sel}[5m]`, span.lastAliveSec + 1);
    assert.ok(scraped.resultType === 'matrix' && scraped.result.length === 1, `one loadgen series: ${JSON.stringify(scraped)}`);
    const [atSec, countText] = scraped.result[0]!.values.at(-1)!;
    const p99 = singleValue(await prom!.query(`histogram_quantile(0.99, sum by (le) (loadgen_latency_seconds_bucket${sel}))`, atSec));
    const les = await prom!.query(`count by (le) (loadgen_latency_seconds_bucket${sel})`, atSec);
    const bounds = quantileBounds(
      hdr.histogram,
      Number(countText),
      0.99,
      les.resultType === 'vector' ? les.result.map((s) => Number(s.metric.le)) : [],
    );
    const ms = (sec: number) => (sec * 1000).toFixed(3);
    assert.ok(p99 !== null, 'Prometheus p99 is empty');
    assert.ok(
      p99 >= bounds.lowerSeconds && p99 <= bounds.upperSeconds,
      `Prometheus p99 ${ms(p99)} ms outside [${ms(bounds.lowerSeconds)}, ${ms(bounds.upperSeconds)}] ms (HDR p99 ${ms(hdr.p99Seconds)} ms; ${bounds.missing} of ${hdr.count} samples after the last scrape)`,
    );
    const check = await crossCheck(prom!, { startMs: hdr.measureStartMs, endMs: hdr.endedMs + 1500, runId: RUN_ID });
    assert.ok(check.p99Seconds !== null, `the run summary's cross-check p99 is empty: ${check.queries.p99}`);
    process.stderr.write(
      `# HDR p99 ${ms(hdr.p99Seconds)} ms, Prometheus p99 ${ms(p99)} ms in [${ms(bounds.lowerSeconds)}, ${ms(bounds.upperSeconds)}] ms ` +
        `(${bounds.missing} of ${hdr.count} samples unscraped); the summary's windowed cross-check ${ms(check.p99Seconds)} ms\n`,
    );
  });

  test('integration: the emptiness check itself names an empty panel (negative control)', async () => {
    const empty = await emptyQueries([
      {
        dashboard: 'control',
        panelId: 99,
        panelTitle: 'never filled',
        refId: 'A',
        expr: 'relay_connections{gateway="no-such-relay"}',
        instant: false,
        format: 'time_series',
      },
      {
        dashboard: 'control',
        panelId: 98,
        panelTitle: 'NaN only',
        refId: 'A',
        expr: 'histogram_quantile(0.99, sum by (le) (rate(relay_fold_seconds_bucket{gateway="no-such-relay"}[10s]))) or vector(NaN)',
        instant: true,
        format: 'time_series',
      },
    ]);
    assert.equal(empty.length, 2);
    assert.match(empty[0]!, /panel 99 "never filled" query A: no data/);
  });
});
