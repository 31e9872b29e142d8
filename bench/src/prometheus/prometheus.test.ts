import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { renderPrometheusConfig, renderTargetsFile, toFileSdGroup } from './config.js';
import { bucketBoundsAround, crossCheckQueries } from './cross-check.js';
import { detectPrometheus } from './detect.js';
import { finiteSampleCount, singleValue } from './client.js';
import type { ScrapeTarget } from './config.js';
import { SegmentTargets } from './segment-targets.js';

const run = { runId: 'r-1', scenario: 'smoke' };

test('file_sd groups carry run_id, scenario, role, scheme and metrics path', () => {
  assert.deepEqual(toFileSdGroup({ url: 'http://127.0.0.1:4100/metrics', role: 'relay' }, run), {
    targets: ['127.0.0.1:4100'],
    labels: { __scheme__: 'http', __metrics_path__: '/metrics', run_id: 'r-1', scenario: 'smoke', role: 'relay' },
  });
  assert.deepEqual(toFileSdGroup({ url: 'https://w.example/m', role: 'loadgen', labels: { zone: 'a' } }, run).targets, ['w.example:443']);
  assert.throws(() => toFileSdGroup({ url: 'ws://127.0.0.1:1/', role: 'relay' }, run), /RB_PROM_BAD_TARGET|scrape target/);
  assert.throws(
    () => toFileSdGroup({ url: 'nope', role: 'relay' }, run),
    (e: Error & { code?: string }) => e.code === 'RB_PROM_BAD_TARGET',
  );
});

test('targets file is sorted by role then URL; config scrapes every 1 s with honor_labels', () => {
  const text = renderTargetsFile(
    [
      { url: 'http://127.0.0.1:2/metrics', role: 'relay' },
      { url: 'http://127.0.0.1:3/metrics', role: 'loadgen' },
      { url: 'http://127.0.0.1:1/metrics', role: 'relay' },
    ],
    run,
  );
  assert.deepEqual(
    (JSON.parse(text) as { targets: string[] }[]).map((g) => g.targets[0]),
    ['127.0.0.1:3', '127.0.0.1:1', '127.0.0.1:2'],
  );
  const config = parse(renderPrometheusConfig({ targetsFile: '/tmp/t.json' })) as {
    global: Record<string, string>;
    scrape_configs: { honor_labels: boolean; file_sd_configs: { files: string[] }[] }[];
  };
  assert.equal(config.global.scrape_interval, '1s');
  assert.equal(config.scrape_configs[0]!.honor_labels, true);
  assert.deepEqual(config.scrape_configs[0]!.file_sd_configs[0]!.files, ['/tmp/t.json']);
  assert.equal(
    (parse(renderPrometheusConfig({ targetsFile: '/t', scrapeIntervalMs: 2500 })) as { global: Record<string, string> }).global
      .scrape_interval,
    '2500ms',
  );
});

test('cross-check queries span the run window and filter by run id', () => {
  const { rangeSeconds, queries } = crossCheckQueries({ startMs: 1_000, endMs: 21_500, runId: 'a"b' });
  assert.equal(rangeSeconds, 21);
  assert.equal(
    queries.p99,
    'histogram_quantile(0.99, sum by (le) (increase(loadgen_latency_seconds_bucket{stage="e2eCorrected",run_id="a\\"b"}[21s])))',
  );
  assert.equal(queries.sent, 'sum(increase(loadgen_sent_total{run_id="a\\"b"}[21s]))');
});

test('bucketBoundsAround finds the classic bucket holding a value', () => {
  const les = [0.001, 0.002, 0.005, Number.POSITIVE_INFINITY];
  assert.deepEqual(bucketBoundsAround(0.0015, les), { lower: 0.001, upper: 0.002 });
  assert.deepEqual(bucketBoundsAround(0.002, les), { lower: 0.001, upper: 0.002 });
  assert.deepEqual(bucketBoundsAround(0.0005, les), { lower: 0, upper: 0.001 });
  assert.deepEqual(bucketBoundsAround(9, les), { lower: 0.005, upper: Number.POSITIVE_INFINITY });
});

test('detectPrometheus: off, URL, bad value, missing binary', async () => {
  assert.equal((await detectPrometheus('off')).kind, 'none');
  assert.deepEqual(await detectPrometheus('http://prom:9090/'), { kind: 'external', url: 'http://prom:9090' });
  await assert.rejects(detectPrometheus('ftp://x'), (e: Error & { code?: string }) => e.code === 'RB_PROM_BAD_MODE');
  await assert.rejects(detectPrometheus('sometimes'), (e: Error & { code?: string }) => e.code === 'RB_PROM_BAD_MODE');
  const missing = await detectPrometheus('auto', { binary: '/nonexistent/prometheus' });
  assert.equal(missing.kind, 'none');
  assert.match((missing as { message: string }).message, /No Prometheus found.*continues without it/);
});

test('result helpers count finite samples and read single values', () => {
  assert.equal(
    finiteSampleCount({
      resultType: 'vector',
      result: [
        { metric: {}, value: [1, 'NaN'] },
        { metric: {}, value: [1, '2'] },
      ],
    }),
    1,
  );
  assert.equal(
    finiteSampleCount({
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: [
            [1, '1'],
            [2, '+Inf'],
          ],
        },
      ],
    }),
    1,
  );
  assert.equal(singleValue({ resultType: 'vector', result: [{ metric: {}, value: [1, '0.25'] }] }), 0.25);
  assert.equal(singleValue({ resultType: 'vector', result: [] }), null);
});

test('segment targets: an added relay joins, a removed one stays; updates never overlap and keep their order', async () => {
  const calls: string[][] = [];
  let running = 0;
  let overlapped = false;
  const server = {
    async updateTargets(targets: readonly ScrapeTarget[]) {
      overlapped ||= running > 0;
      running++;
      await new Promise((r) => setTimeout(r, 5));
      calls.push(targets.map((t) => `${t.role} ${t.url}`));
      running--;
      if (calls.length === 2) throw new Error('prometheus went away');
    },
  };
  const errors: unknown[] = [];
  const worker: ScrapeTarget = { url: 'http://127.0.0.1:9100/metrics', role: 'loadgen', labels: { worker: 'w0' } };
  const t = new SegmentTargets(server, [worker], (e) => errors.push(e));
  const r0 = 'http://127.0.0.1:7000/metrics';
  const r1 = 'http://127.0.0.1:7001/metrics';
  const r2 = 'http://127.0.0.1:7002/metrics';
  void t.update([r0, r1]);
  void t.update([r0, r1, r2]); // a fault added relay 2 (this update fails)
  await t.update([r0, r2]); // a fault killed relay 1: it stays, so Grafana shows it down
  assert.equal(overlapped, false);
  assert.deepEqual(calls, [
    [`relay ${r0}`, `relay ${r1}`, `loadgen ${worker.url}`],
    [`relay ${r0}`, `relay ${r1}`, `relay ${r2}`, `loadgen ${worker.url}`],
    [`relay ${r0}`, `relay ${r1}`, `relay ${r2}`, `loadgen ${worker.url}`],
  ]);
  assert.equal(errors.length, 1, 'a failed update is reported and the next one still runs');
});
