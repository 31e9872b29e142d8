// End to end against 2 real relay processes on a 1-broker Kafka: exact ledger, receipts, stages,
// the kafka-direct reference path, and the metrics endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { mergeSnapshots } from '../../src/stats/period.js';
import { invalidReason, retryInvalid, runWorker, stillInvalid, testPlan } from '../helpers/worker.js';
import { LocalWorker } from '../../src/worker/local-worker.js';
import { RelayTarget } from '../../src/driver/relay-driver.js';

let kafka: Awaited<ReturnType<typeof startTestKafka>>;
let relays: RelayProcess[] = [];

before(async () => {
  kafka = await startTestKafka(1);
  relays = [await startRelayProcess(kafka.brokers, { gatewayId: 'lg1' }), await startRelayProcess(kafka.brokers, { gatewayId: 'lg2' })];
  await waitAllReady(relays);
  // A fresh Kafka and fresh relays queue for their first seconds of traffic (JIT, first fetches):
  // there the first measured run was generator-bound almost every time on a busy machine.
  await runWorker(
    testPlan({
      relays: relays.map((r) => r.url),
      maxScheduleLagUs: 1e9,
      workload: { users: 10, ratePerSec: 100, durationMs: 3000, drainMs: 5000 },
    }),
  );
});
after(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await kafka?.stop();
});

test('integration: a worker against 2 relays — sent == delivered, nothing lost/duplicated/reordered, every receipt in', async (t) => {
  // 2 cores shared with Kafka and two relays: the generator-bound bound is relaxed to 50 ms here
  // (this test is about exact counts; the generator's own limit is measured by the benchmark).
  // 100 msg/s, not 150: with a neighbour on the other core, Kafka, two relays and this worker
  // share one core, and at 150 msg/s that core was saturated — the worker was preempted for
  // 100–360 ms and the run generator-bound. A run the harness still marks invalid goes again.
  const rate = 100;
  const r = await retryInvalid(
    'the 2-relay run',
    () =>
      runWorker(
        testPlan({
          relays: relays.map((r) => r.url),
          maxScheduleLagUs: 50_000,
          workload: { users: 20, ratePerSec: rate, durationMs: 5000, warmupMs: 1000, recipients: { kind: 'uniform' } },
        }),
      ),
    invalidReason,
  );
  const l = r.ledger;
  assert.ok(l.sent > 0);
  assert.equal(l.acked, l.sent);
  assert.equal(l.delivered, l.sent);
  assert.equal(l.deliveredReceipts, l.sent);
  assert.equal(l.readReceipts, l.sent);
  assert.deepEqual(
    [l.lost, l.unacked, l.duplicated, l.reordered, l.misdelivered, l.unexpected, l.decryptFailures, l.redelivered],
    [0, 0, 0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(l.errorsByCode, {});
  assert.equal(r.peakConnections, 20);
  // The counts above hold on any machine; what follows reads the schedule and the intervals.
  if (stillInvalid(t, 'the 2-relay run', invalidReason(r))) return;
  assert.ok(l.sent >= 500, `sent ${l.sent}`);
  // Warm-up excluded: the intervals start at the measure start, one per second.
  assert.ok(r.intervals.length >= 4);
  assert.ok(r.intervals[0]!.startMs >= r.measureStartMs - 5);
  const merged = mergeSnapshots(r.intervals);
  const measuredSent = r.counts.reduce((a, c) => a + c.sent, 0);
  // Every dispatch of the measured window has its schedule-lag sample, in the same interval: exact.
  // (Compared with `sent` instead, sends dispatched in the warm-up that leave after it — waiting for
  // a first key fetch, slow on a loaded machine — made the two differ by up to 2.2 %.)
  const measuredDispatched = r.counts.reduce((a, c) => a + c.dispatched, 0);
  assert.equal(merged.scheduleLag.totalCount, measuredDispatched);
  // …and every send its outbox-wait sample, taken in the same turn as the send is counted.
  assert.equal(merged.outboxWait.totalCount, measuredSent);
  for (const stage of [
    'ack',
    'e2eCorrected',
    'e2eUncorrected',
    'hopClientToGateway',
    'hopGatewayToProduce',
    'hopProduceToRouter',
    'hopRouterToGateway',
    'hopGatewayToClient',
    'inboxWait',
    'deliveredReceipt',
    'readReceipt',
  ] as const) {
    assert.ok(merged[stage].totalCount > 0.7 * measuredSent, `stage ${stage}: ${merged[stage].totalCount}`);
  }
  assert.ok(merged.e2eCorrected.getValueAtPercentile(50) >= merged.e2eUncorrected.getValueAtPercentile(50));
  assert.ok(Math.abs(r.achievedRatePerSec - rate) < 0.25 * rate, `achieved ${r.achievedRatePerSec}`);
});

/** A TCP pass-through in front of a relay (what a proxy or load balancer is): counts the connections it accepts. */
async function passThrough(relayUrl: string): Promise<{ url: string; accepted: () => number; close: () => Promise<void> }> {
  const target = new URL(relayUrl);
  const open = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => [client, upstream].forEach((x) => x.destroy()));
      s.on('close', () => open.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    accepted: () => accepted,
    close: () => new Promise((resolve) => (open.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

test('integration: relays given behind proxies — every user connects through them (the routing hint is pinned to the URLs given), nothing lost', async (t) => {
  const proxies = await Promise.all(relays.map((r) => passThrough(r.url)));
  t.after(() => Promise.all(proxies.map((p) => p.close())));
  const users = 12;
  const notices: string[] = [];
  const r = await runWorker(
    testPlan({
      relays: proxies.map((p) => p.url),
      maxScheduleLagUs: 1e9, // exact counts, not timing
      workload: { users, ratePerSec: 40, durationMs: 2000, warmupMs: 0, recipients: { kind: 'uniform' } },
    }),
    (plan) => new RelayTarget({ relays: plan.relays, notice: (line) => notices.push(line) }),
  );
  assert.deepEqual(notices, [], 'every owner is matched to its proxy by gateway id');
  const l = r.ledger;
  assert.ok(l.sent > 0);
  assert.deepEqual([l.delivered, l.lost, l.duplicated, l.reordered], [l.sent, 0, 0, 0]);
  // Each user's socket, plus GET /routes and one GET /healthz per proxy. Following the relays'
  // advertised URLs instead, the users would go around the proxies (they would count 1).
  const through = proxies.reduce((n, p) => n + p.accepted(), 0);
  assert.ok(through >= users + 1 + proxies.length, `${through} connections through the proxies for ${users} users`);
});

test('integration: groups fan-out, churn and offline users — store-and-forward measured, still nothing lost', async () => {
  const plan = testPlan({
    relays: relays.map((r) => r.url),
    workload: {
      users: 24,
      ratePerSec: 120,
      durationMs: 5000,
      warmupMs: 0,
      recipients: { kind: 'groups', groupSize: 4 },
      onlineFraction: 0.75,
      churnPerSec: 0.05,
      offlineMs: 1500,
      readDelayMs: 100,
    },
  });
  const r = await runWorker(plan);
  const l = r.ledger;
  assert.ok(l.sent > 300);
  assert.deepEqual([l.lost, l.unacked, l.duplicated, l.decryptFailures], [0, 0, 0, 0]);
  assert.equal(l.delivered, l.sent);
  assert.equal(l.deliveredReceipts, l.sent);
  const merged = mergeSnapshots(r.intervals);
  assert.ok(merged.storeForward.totalCount > 0, 'messages to offline users are measured as store-and-forward');
  assert.equal(merged.storeForward.totalCount + merged.e2eCorrected.totalCount, l.delivered);
});

test('integration: kafka-direct reference path — same payloads straight through Kafka, acks and e2e measured', async () => {
  const plan = testPlan({
    mode: 'kafka-direct',
    brokers: kafka.brokers,
    workload: { users: 10, ratePerSec: 100, durationMs: 3000, recipients: { kind: 'pairs' } },
  });
  const r = await runWorker(plan);
  const l = r.ledger;
  assert.ok(l.sent >= 250);
  assert.deepEqual([l.acked, l.delivered, l.lost, l.duplicated, l.decryptFailures], [l.sent, l.sent, 0, 0, 0]);
  const merged = mergeSnapshots(r.intervals);
  assert.equal(merged.e2eCorrected.totalCount, l.sent);
  assert.equal(merged.ack.totalCount, l.sent);
  assert.equal(merged.deliveredReceipt.totalCount, 0, 'no receipts on the bare-Kafka path');
});

test('integration: GET /metrics serves the loadgen_* names with worker and run_id labels', async () => {
  const plan = testPlan({
    relays: relays.map((r) => r.url),
    metricsPort: 0,
    runId: 'run-metrics',
    workload: { users: 6, ratePerSec: 50, durationMs: 2500 },
  });
  const w = new LocalWorker(plan.workerId);
  let url: string | undefined;
  let text = '';
  w.onProgress((p) => {
    url ??= p.metricsUrl;
  });
  await w.start(plan);
  while (url === undefined) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 600));
  text = await (await fetch(url)).text();
  const result = await w.result();
  assert.equal(result.metricsUrl, url);
  for (const name of [
    'loadgen_sent_total',
    'loadgen_acked_total',
    'loadgen_delivered_total',
    'loadgen_read_receipts_total',
    'loadgen_delivered_receipts_total',
    'loadgen_redelivered_total',
    'loadgen_duplicated_total',
    'loadgen_reordered_total',
    'loadgen_decrypt_failures_total',
    'loadgen_errors_total',
    'loadgen_latency_seconds_bucket',
    'loadgen_latency_hdr_seconds',
    'loadgen_generator_bound',
    'loadgen_connections',
    'loadgen_target_rate_per_second',
    'loadgen_users',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'), name);
  }
  const labelled = (name: string, labels: string[]) =>
    text.split('\n').some((line) => line.startsWith(`${name}{`) && labels.every((l) => line.includes(l)));
  assert.ok(
    labelled('loadgen_latency_seconds_bucket', [
      'le="0.0001"',
      'stage="e2eCorrected"',
      `worker="${plan.workerId}"`,
      'run_id="run-metrics"',
    ]),
  );
  assert.ok(labelled('loadgen_latency_hdr_seconds', ['stage="scheduleLag"', 'percentile="99.9"', 'run_id="run-metrics"']));
  assert.match(text, /loadgen_sent_total\{worker="[^"]+",run_id="run-metrics"\} [1-9]/);
});
