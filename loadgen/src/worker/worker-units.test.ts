import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { emptyLedger } from '../ledger.js';
import { createPrng } from '../rate/prng.js';
import { parseDurationFlagMs, parseRecipients, parseSize, planFromFlags } from '../flags.js';
import { LoadgenMetrics, HDR_PERCENTILES } from '../metrics.js';
import { buildJsHistogram } from '../stats/histogram.js';
import { createAudience } from './audience.js';
import { formatProgress, progressBar } from './progress-printer.js';

test('audience: pairs, groups (fan-out, trailing single joins), uniform never picks the sender', () => {
  const prng = createPrng(1);
  const pairs = createAudience({ kind: 'pairs' }, 5, prng);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((i) => pairs.recipients(i)[0]),
    [1, 0, 3, 2, 3],
  );
  assert.deepEqual(pairs.contacts(3), [2, 4]);
  const groups = createAudience({ kind: 'groups', groupSize: 3 }, 7, prng);
  assert.equal(groups.fanout, 2);
  assert.deepEqual(groups.recipients(0), [1, 2]);
  assert.deepEqual(groups.recipients(6), [3, 4, 5], 'user 6 would be alone: it joins the previous group');
  const uniform = createAudience({ kind: 'uniform' }, 3, prng);
  for (let i = 0; i < 200; i++) assert.notEqual(uniform.recipients(1)[0], 1);
  assert.equal(uniform.contacts(0), null);
});

test('flags: durations, recipients, sizes; bad values name the flag; the secret comes from the flag or the environment', () => {
  assert.deepEqual(
    ['30s', '500ms', '2m', '1.5s'].map((s) => parseDurationFlagMs(s, '--d')),
    [30_000, 500, 120_000, 1500],
  );
  for (const bad of ['3x', '1.5', '250us']) assert.throws(() => parseDurationFlagMs(bad, '--duration'), /--duration/, bad);
  assert.deepEqual(parseRecipients('zipf:1.2'), { kind: 'zipf', s: 1.2 });
  assert.deepEqual(parseRecipients('groups:4'), { kind: 'groups', groupSize: 4 });
  assert.throws(() => parseRecipients('everyone'), /--recipients/);
  assert.deepEqual(parseSize('100-200'), { kind: 'uniform', minBytes: 100, maxBytes: 200 });
  assert.deepEqual(parseSize('lognormal:200:0.8:4000'), { kind: 'lognormal', medianBytes: 200, sigma: 0.8, maxBytes: 4000 });
  const plan = planFromFlags(
    { relays: 'ws://a/,ws://b/', users: '50', rate: '300', duration: '10s', warmup: '2s' },
    'env-secret-0123456789',
    1000,
  );
  assert.deepEqual(plan.relays, ['ws://a/', 'ws://b/']);
  assert.deepEqual(
    [plan.workload.users, plan.workload.ratePerSec, plan.workload.durationMs, plan.workload.warmupMs, plan.tokenSecret],
    [50, 300, 10_000, 2000, 'env-secret-0123456789'],
  );
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.workload));
  assert.throws(
    () => planFromFlags({ relays: 'ws://a/' }, undefined),
    (e: Error & { code?: string }) => e.code === 'RB_LOADGEN_NO_SECRET',
  );
  assert.throws(() => planFromFlags({ relays: 'ws://a/', mode: 'magic' }, 's'), /--mode/);
  assert.throws(() => planFromFlags({ relays: 'ws://a/', users: '1' }, 'env-secret-0123456789'), /--users/);
  assert.throws(() => planFromFlags({ mode: 'kafka-direct' }, undefined), /--brokers/);
});

test('metrics: exact names on an injected registry with worker/run_id labels; HDR gauges per percentile', async () => {
  const registry = new Registry();
  const m = new LoadgenMetrics(registry, { worker: 'w1', runId: 'r1' });
  m.observe('e2eCorrected', 1500);
  m.error('WIRE_UNAVAILABLE');
  m.syncLedger({ ...emptyLedger(), sent: 3, acked: 2, delivered: 2, deliveredReceipts: 1, readReceipts: 1 });
  m.syncLedger({ ...emptyLedger(), sent: 5, acked: 2, delivered: 2, deliveredReceipts: 1, readReceipts: 1 });
  const h = buildJsHistogram();
  for (let v = 1; v <= 1000; v++) h.recordValue(v * 1000);
  m.setHdr('ack', h);
  const text = await registry.metrics();
  assert.match(text, /^loadgen_sent_total\{worker="w1",run_id="r1"\} 5$/m);
  assert.match(text, /^loadgen_errors_total\{code="WIRE_UNAVAILABLE",worker="w1",run_id="r1"\} 1$/m);
  assert.match(text, /^loadgen_latency_seconds_bucket\{le="0.002",worker="w1",run_id="r1",stage="e2eCorrected"\} 1$/m);
  for (const [label] of HDR_PERCENTILES)
    assert.match(
      text,
      new RegExp(`^loadgen_latency_hdr_seconds\\{stage="ack",percentile="${label.replace('.', '\\.')}",worker="w1",run_id="r1"\\} `, 'm'),
    );
  assert.match(text, /^loadgen_latency_hdr_seconds\{stage="ack",percentile="100",[^}]*\} 1(\.0\d*)?$/m);
});

test('progress: one readable line and a bounded bar', () => {
  const line = formatProgress({
    workerId: 'w',
    elapsedMs: 1500,
    phase: 'measuring',
    sentPerSec: 299.6,
    deliveredPerSec: 300,
    p50Us: 1500,
    p99Us: 2_500_000,
    errors: 0,
    connected: 10,
  });
  assert.match(line, /1\.5s measuring .*sent 300\/s delivered 300\/s e2e p50 1\.5ms p99 2\.50s errors 0 conns 10/);
  assert.equal(progressBar(2), `[${'#'.repeat(24)}] 100%`);
  assert.equal(progressBar(0), `[${'-'.repeat(24)}]   0%`);
});
