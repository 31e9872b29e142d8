import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startPrometheus, type PrometheusServer } from '../../../bench/src/prometheus/server.js';
import { finiteSampleCount } from '../../../bench/src/prometheus/client.js';
import { bucketBoundsAround, crossCheck } from '../../../bench/src/prometheus/cross-check.js';
import type { ScrapeTarget } from '../../../bench/src/prometheus/config.js';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { TEST_SECRET } from '../../../test/helpers/client.js';
import { allDashboards } from '../../src/index.js';
import { expand, metricNames, panelQueries, variableQueries, type Expansion, type PanelQuery } from '../../src/queries.js';
import { driveBareTraffic } from './traffic.js';
import { loadgenAvailable, startLoadgen, waitForMetrics, type LoadgenRun } from './loadgen-run.js';
import { hdrP99FromLoadgenStdout } from './hdr-result.js';
import { describeWithTools } from '../../../test/helpers/tools.js';
import { startSyntheticLoadgen, type SyntheticLoadgen } from './synthetic-loadgen.js';

/**
 * The acceptance test of the dashboards: a real Kafka, two real relay processes, the real
 * Prometheus (our runner, 1 s scrapes) and real traffic — then EVERY query of EVERY panel of
 * every dashboard, with its template variables expanded as Grafana would, must return data
 * (at least one finite sample). An empty panel fails and is named.
 *
 * Traffic: bare protocol clients always (relay panels), plus the loadgen CLI with its /metrics
 * (loadgen and path panels). Until dist/bench/src/cli/commands/loadgen.js exists, the loadgen
 * panels are checked against the loadgen's real exporter fed with synthetic samples instead, and
 * the test names say so.
 */
const RUN_ID = `panels-${Date.now()}`;
const SCENARIO = 'dashboards-test';
const LOADGEN = loadgenAvailable();
const LOADGEN_NOTE = LOADGEN ? '' : ' [SYNTHETIC loadgen exporter: the loadgen CLI is not built yet]';

// Without `prometheus` on PATH: one skipped test outside CI, one failing test with CI=true.
describeWithTools('integration: dashboard panels against a real Prometheus', ['prometheus'], () => {
  let kafka: LocalKafkaCluster | undefined;
  let relays: RelayProcess[] = [];
  let prom: PrometheusServer | undefined;
  let loadgen: LoadgenRun | undefined;
  let synthetic: SyntheticLoadgen | undefined;
  let syntheticHdr: ReturnType<SyntheticLoadgen['finish']> | undefined;
  let runDir = '';
  let loadgenStdout = '';
  /** Unix seconds: the traffic window, and the instant at which instant queries run. */
  const span = { startSec: 0, endSec: 0, instantSec: 0 };
  let runIdRegex = RUN_ID;

  before(async () => {
    runDir = await mkdtemp(join(tmpdir(), 'relaybench-panels-'));
    kafka = await startTestKafka(1);
    relays = [await startRelayProcess(kafka.brokers, { gatewayId: 'r1' }), await startRelayProcess(kafka.brokers, { gatewayId: 'r2' })];
    await waitAllReady(relays);
    const relayTargets: ScrapeTarget[] = relays.map((r) => ({ url: `${r.httpUrl}/metrics`, role: 'relay' }));
    prom = await startPrometheus({ runDir, targets: relayTargets, runId: RUN_ID, scenario: SCENARIO });
    await prom.waitForTargetsUp();
    span.startSec = Date.now() / 1000;

    if (LOADGEN) {
      loadgen = await startLoadgen({
        relays: relays.map((r) => r.url),
        users: 50,
        ratePerSec: 100,
        durationS: 20,
        tokenSecret: TEST_SECRET,
        runId: RUN_ID,
      });
      await waitForMetrics(loadgen.metricsUrl, loadgen);
      await prom.updateTargets([...relayTargets, { url: loadgen.metricsUrl, role: 'loadgen' }]);
    } else {
      synthetic = await startSyntheticLoadgen(RUN_ID);
      await prom.updateTargets([...relayTargets, { url: synthetic.metricsUrl, role: 'loadgen' }]);
    }
    await driveBareTraffic(
      relays.map((r) => r.url),
      { durationMs: 12_000, ratePerSec: 40, pairs: 4, prefix: 'dash' },
    );
    if (loadgen !== undefined) {
      // Instant queries run while the worker is still scraped (its series go stale when it exits).
      const lg = loadgen;
      const lastAlive = new Promise<number>((resolve) => {
        const timer = setInterval(() => {
          if (lg.proc.child.exitCode !== null || lg.proc.child.signalCode !== null) {
            clearInterval(timer);
            resolve(Date.now() / 1000);
          }
        }, 100);
      });
      loadgenStdout = await loadgen.done;
      span.instantSec = (await lastAlive) - 2.5;
    } else {
      syntheticHdr = synthetic!.finish();
      span.instantSec = Date.now() / 1000 - 1;
    }
    await new Promise((r) => setTimeout(r, 2_500)); // two more scrapes of the relays
    span.endSec = Date.now() / 1000;
    if (loadgen !== undefined && !loadgen.runIdPassed) {
      // The CLI has no --run-id: its own run_id label wins (honor_labels); include it.
      const r = await prom.query('count by (run_id) (loadgen_sent_total)', span.instantSec);
      const ids = r.resultType === 'vector' ? r.result.map((s) => s.metric.run_id).filter((x): x is string => x !== undefined) : [];
      runIdRegex = [RUN_ID, ...ids].join('|');
    }
  });

  after(async () => {
    await loadgen?.stop();
    await synthetic?.close();
    await prom?.stop();
    await Promise.all(relays.map((r) => r.stop()));
    await kafka?.stop();
    if (runDir !== '') await rm(runDir, { recursive: true, force: true });
  });

  function expansion(): Expansion {
    const rangeS = Math.ceil(span.endSec - span.startSec);
    return {
      variables: { run_id: runIdRegex, scenario: SCENARIO, gateway: relays.map((r) => r.gatewayId).join('|') },
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
      test(`integration: ${file}: every loadgen panel query returns data (${withLoadgen.length} queries)${LOADGEN_NOTE}`, async () => {
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
   * The bound: Prometheus' histogram_quantile p99 interpolates linearly inside the classic bucket
   * that holds the 99th-percentile rank, so it lies in the same bucket as the true p99. The HDR p99
   * is exact to 0.1 % (3 significant digits); scrape alignment at the window edges moves a few
   * samples. So the Prometheus p99 must lie within [lower, upper] of the bucket(s) that hold the HDR
   * p99 ± 1 % — i.e. |prom − hdr| ≤ one bucket width (2.5–5 ms near 10 ms with the fine buckets).
   */
  test(`integration: HDR p99 and Prometheus histogram_quantile p99 agree within the bucket resolution${LOADGEN_NOTE}`, async () => {
    const hdr = syntheticHdr ?? hdrP99FromLoadgenStdout(loadgenStdout);
    assert.ok(hdr.count > 100, `the run measured ${hdr.count} deliveries`);
    // End 1.5 s after the last sample: the next 1 s scrape has carried it to Prometheus.
    const check = await crossCheck(prom!, {
      startMs: hdr.measureStartMs,
      endMs: hdr.endedMs + 1500,
      runId: runIdRegex === RUN_ID ? RUN_ID : undefined,
    });
    assert.ok(check.p99Seconds !== null, `Prometheus p99 is empty: ${check.queries.p99}`);
    const les = await prom!.query(`count by (le) (loadgen_latency_seconds_bucket{stage="e2eCorrected"})`, span.instantSec);
    const bounds = les.resultType === 'vector' ? les.result.map((s) => Number(s.metric.le)) : [];
    const low = bucketBoundsAround(hdr.p99Seconds * 0.99, bounds);
    const high = bucketBoundsAround(hdr.p99Seconds * 1.01, bounds);
    const p = check.p99Seconds!;
    assert.ok(
      p >= low.lower && p <= high.upper,
      `Prometheus p99 ${(p * 1000).toFixed(3)} ms outside [${(low.lower * 1000).toFixed(3)}, ${(high.upper * 1000).toFixed(3)}] ms around HDR p99 ${(hdr.p99Seconds * 1000).toFixed(3)} ms`,
    );
    process.stderr.write(
      `# HDR p99 ${(hdr.p99Seconds * 1000).toFixed(3)} ms, Prometheus p99 ${(p * 1000).toFixed(3)} ms, bucket [${low.lower * 1000}, ${high.upper * 1000}] ms\n`,
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
