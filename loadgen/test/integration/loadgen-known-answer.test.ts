// Known-answer tests through a delaying/stalling WebSocket proxy between the loadgen and a relay:
// an added per-frame delay moves the measured latency by exactly that much, and a stall shows in
// the coordinated-omission-corrected histogram while the uncorrected one hides most of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { mergeSnapshots, percentiles } from '../../src/stats/period.js';
import { DelayProxy } from '../helpers/delay-proxy.js';
import { runWorker, testPlan } from '../helpers/worker.js';

let kafka: Awaited<ReturnType<typeof startTestKafka>>;
let relay: RelayProcess;
let proxy: DelayProxy;

before(async () => {
  kafka = await startTestKafka(1);
  relay = await startRelayProcess(kafka.brokers, { gatewayId: 'ka1' });
  await waitAllReady([relay]);
  proxy = await DelayProxy.start({ upstreamUrl: relay.url });
});
after(async () => {
  await proxy?.close();
  await relay?.stop();
  await kafka?.stop();
});

const MS = 1000;

function proxiedPlan(workload: Parameters<typeof testPlan>[0]['workload'], startInMs = 1500) {
  return testPlan({ relays: [proxy.url], routingHint: false, maxScheduleLagUs: 50_000, startAtMs: Date.now() + startInMs, workload: { arrivals: 'constant', recipients: { kind: 'pairs' }, ...workload } });
}

test('integration: a fixed per-frame delay (25 ms each way) moves e2e and ack by 50 ms and the last hop by 25 ms', async () => {
  proxy.upMs = proxy.downMs = 0;
  const base = mergeSnapshots((await runWorker(proxiedPlan({ users: 10, ratePerSec: 100, durationMs: 3000, warmupMs: 1000 }))).intervals);
  proxy.upMs = proxy.downMs = 25;
  const delayed = mergeSnapshots((await runWorker(proxiedPlan({ users: 10, ratePerSec: 100, durationMs: 3000, warmupMs: 1000 }))).intervals);
  proxy.upMs = proxy.downMs = 0;
  const shift = (stage: 'e2eCorrected' | 'e2eUncorrected' | 'ack' | 'hopGatewayToClient') => (percentiles(delayed[stage]).p50 - percentiles(base[stage]).p50) / MS;
  // Tolerance: a delayed frame never leaves early (the proxy re-checks its due time), and leaves
  // late only by timer lateness (≤ ~1–2 ms per frame on an idle loop, two frames per path) plus
  // run-to-run noise of the baseline median on a shared 2-core machine (a few ms). So the shift
  // of a median is in [added − 5 ms, added + 15 ms]; 3 significant digits add < 0.1 %.
  for (const [stage, added] of [['e2eCorrected', 50], ['e2eUncorrected', 50], ['ack', 50], ['hopGatewayToClient', 25]] as const) {
    const s = shift(stage);
    assert.ok(s >= added - 5 && s <= added + 15, `${stage}: median moved ${s.toFixed(1)} ms, expected ${added} ms`);
  }
  // The relay's own hops do not move (the proxy is outside the relay).
  assert.ok(Math.abs(percentiles(delayed.hopProduceToRouter).p50 - percentiles(base.hopProduceToRouter).p50) < 10 * MS);
});

test('integration: a 1 s stall shows in the corrected histogram (max, p99.9 ≈ pause) and hides in the uncorrected one', async () => {
  const pauseMs = 1000;
  // 4 users, 200 msg/s constant, one send in flight per user (later ones wait in the outbox, as in
  // a messenger app): during the stall only 4 messages are "in flight", the others are intended
  // but not sent — exactly the coordinated omission a closed-loop measurement would hide.
  const plan = proxiedPlan({ users: 4, ratePerSec: 200, durationMs: 6000, warmupMs: 0, maxInFlightPerUser: 1 });
  const stallAt = setTimeout(() => {
    proxy.stall();
    setTimeout(() => proxy.resume(), pauseMs);
  }, plan.startAtMs + 2500 - Date.now());
  const result = await runWorker(plan);
  clearTimeout(stallAt);
  proxy.resume();
  assert.equal(result.ledger.lost, 0);
  assert.equal(result.ledger.delivered, result.ledger.sent);
  const h = mergeSnapshots(result.intervals);
  const corrected = percentiles(h.e2eCorrected);
  const uncorrected = percentiles(h.e2eUncorrected);
  process.stderr.write(`# corrected p50 ${corrected.p50} p99 ${corrected.p99} p99.9 ${corrected.p999} max ${corrected.max}; uncorrected p50 ${uncorrected.p50} p99 ${uncorrected.p99} max ${uncorrected.max} (µs)\n`);
  assert.ok(corrected.max >= 0.8 * pauseMs * MS, `corrected max ${corrected.max} µs`);
  assert.ok(corrected.p999 >= 0.8 * pauseMs * MS, `corrected p99.9 ${corrected.p999} µs`);
  assert.ok(corrected.max <= pauseMs * MS + 300 * MS, 'not more than the pause plus catch-up');
  // ~200 of ~1200 messages were intended during the stall: the corrected p99 is deep in it.
  assert.ok(corrected.p99 >= 0.5 * pauseMs * MS, `corrected p99 ${corrected.p99} µs`);
  assert.ok(uncorrected.p99 < 0.25 * pauseMs * MS, `uncorrected p99 ${uncorrected.p99} µs hides the stall`);
  assert.ok(corrected.p99 >= 4 * uncorrected.p99);
  // The generator itself was never late: the stall is the system's, not the generator's.
  assert.equal(result.generatorBound, false);
});
