// Client-side faults against 2 real relays on a 1-broker Kafka, run by a real LocalWorker:
// slow readers (sockets not read for a while) and a reconnect storm (half the users lose their
// sockets within 2 s). Nothing may be lost or duplicated; every unplanned close is a disruption
// that recovers (first ack or delivery on a later connection); the fault and its recovery are on
// the timeline. The figures (affected users, recovery times, 4009 closes) are printed as diagnostics.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { relayCounter, startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import type { ClientFault, WorkerResult } from '../../src/worker/contract.js';
import { runWorker, testPlan } from '../helpers/worker.js';

let kafka: Awaited<ReturnType<typeof startTestKafka>>;
let relays: RelayProcess[] = [];

before(async () => {
  kafka = await startTestKafka(1);
  relays = [await startRelayProcess(kafka.brokers, { gatewayId: 'cf1' }), await startRelayProcess(kafka.brokers, { gatewayId: 'cf2' })];
  await waitAllReady(relays);
});
after(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await kafka?.stop();
});

const USERS = 300;

/** ~15 s of sends, fixed pairs (every user is a recipient), ~200 msg/s, one client fault 5 s in. */
async function runWithFault(fault: Omit<ClientFault, 'atMs'>): Promise<WorkerResult> {
  const startAtMs = Date.now() + 5000; // after the paced connect phase of 300 users
  const plan = testPlan({
    relays: relays.map((r) => r.url),
    startAtMs,
    maxScheduleLagUs: 50_000,
    clientFaults: [{ ...fault, atMs: startAtMs + 5000 }],
    workload: {
      users: USERS,
      ratePerSec: 200,
      durationMs: 13_000,
      warmupMs: 2000,
      drainMs: 10_000,
      readDelayMs: 100,
      recipients: { kind: 'pairs' },
      seed: 11,
    },
  });
  return runWorker(plan);
}

async function slowReaderCloses(): Promise<number> {
  const each = await Promise.all(relays.map((r) => relayCounter(r.httpUrl, 'relay_slow_reader_closes_total')));
  return each.reduce((a, n) => a + n, 0);
}

function assertNothingLost(r: WorkerResult): void {
  const l = r.ledger;
  assert.ok(l.sent >= 2000, `sent ${l.sent}`);
  assert.equal(l.acked, l.sent, 'every send acked (in-flight sends resent after reconnect)');
  assert.equal(l.delivered, l.sent);
  assert.deepEqual([l.lost, l.duplicated, l.unacked, l.misdelivered, l.unexpected, l.decryptFailures], [0, 0, 0, 0, 0, 0]);
}

function assertDisruptionsRecovered(r: WorkerResult): void {
  for (const d of r.disruptions ?? []) {
    assert.notEqual(d.recoveredAtMs, null, `${d.userId} closed ${d.code} never recovered`);
    assert.ok(d.recoveredAtMs! >= d.closedAtMs);
  }
}

function summary(t: TestContext, r: WorkerResult, closes4009: number): void {
  const ds = r.disruptions ?? [];
  const rec = ds.map((d) => d.recoveredAtMs! - d.closedAtMs).sort((a, b) => a - b);
  const codes: Record<number, number> = {};
  for (const d of ds) codes[d.code] = (codes[d.code] ?? 0) + 1;
  const l = r.ledger;
  t.diagnostic(
    JSON.stringify({
      ledger: {
        sent: l.sent,
        delivered: l.delivered,
        lost: l.lost,
        duplicated: l.duplicated,
        redelivered: l.redelivered,
        reordered: l.reordered,
        deliveredReceipts: l.deliveredReceipts,
        readReceipts: l.readReceipts,
      },
      disruptions: ds.length,
      users: new Set(ds.map((d) => d.userId)).size,
      codes,
      recoveryMs: rec.length === 0 ? null : { p50: rec[Math.floor(rec.length / 2)], max: rec.at(-1) },
      relaySlowReaderCloses: closes4009,
      events: r.faultEvents,
    }),
  );
}

test('integration: slow readers — 10 % stop reading for 6 s; nothing lost or duplicated, all deliver again, the others are undisturbed', async (t) => {
  const before4009 = await slowReaderCloses();
  const r = await runWithFault({ action: 'slow-readers', share: 0.1, durationMs: 6000 });
  const closes = (await slowReaderCloses()) - before4009;
  summary(t, r, closes);
  assertNothingLost(r);
  const events = r.faultEvents ?? [];
  assert.deepEqual(
    events.map((e) => [e.kind, e.action]),
    [
      ['fault', 'slow-readers'],
      ['recovery', 'slow-readers'],
    ],
  );
  assert.match(events[0]!.detail, new RegExp(`^30 of ${USERS} online users stop reading for 6000 ms$`));
  assert.match(events[1]!.detail, /^all 30 affected users delivered again/);
  assert.ok(events[1]!.atMs >= events[0]!.atMs + 6000 - 1, 'recovery only once they read again');
  // Only paused users may have lost their connections (4009 and what follows it), and they all came back.
  assertDisruptionsRecovered(r);
  assert.ok(new Set((r.disruptions ?? []).map((d) => d.userId)).size <= 30);
});

test('integration: reconnect storm — half the users lose their sockets within 2 s; nothing lost or duplicated, each drop is a recovered disruption', async (t) => {
  const before4009 = await slowReaderCloses();
  const r = await runWithFault({ action: 'reconnect-storm', share: 0.5, durationMs: 2000 });
  summary(t, r, (await slowReaderCloses()) - before4009);
  assertNothingLost(r);
  const events = r.faultEvents ?? [];
  assert.deepEqual(
    events.map((e) => [e.kind, e.action]),
    [
      ['fault', 'reconnect-storm'],
      ['recovery', 'reconnect-storm'],
    ],
  );
  assert.match(events[0]!.detail, new RegExp(`^150 of ${USERS} online users drop their connections within 2000 ms$`));
  assert.match(events[1]!.detail, /^all 150 affected users delivered again/);
  const ds = r.disruptions ?? [];
  const dropped = ds.filter((d) => d.code === 1006);
  assert.equal(new Set(dropped.map((d) => d.userId)).size, 150, 'one abrupt close (1006) per affected user');
  assertDisruptionsRecovered(r);
  // The drops are spread over the window, not all at one instant.
  const closedAt = dropped.map((d) => d.closedAtMs).sort((a, b) => a - b);
  assert.ok(closedAt.at(-1)! - closedAt[0]! >= 1000, `drops spread over ${closedAt.at(-1)! - closedAt[0]!} ms`);
});

test('integration: slow readers the relay must close — 60 kB messages, a 64 KiB high-water mark: 4009, replay from Kafka, nothing lost', async (t) => {
  // The kernel alone absorbs ≈ 4 MB of unread data per loopback socket (measured), before the
  // relay's send buffer grows at all, so small messages never make a paused reader "slow". Here the
  // relays get a 64 KiB high-water mark and each user receives ≈ 6 × 60 kB per second, so a paused
  // socket stalls after ≈ 12 s; the relay closes it 3 s later (4009).
  await Promise.all(relays.map((r) => r.stop()));
  relays = [];
  relays = [await startRelayProcess(kafka.brokers, { gatewayId: 'cf3', env: { RELAY_HIGH_WATER_BYTES: '65536' } })];
  await waitAllReady(relays);
  const before4009 = await slowReaderCloses();
  const startAtMs = Date.now() + 3000;
  const plan = testPlan({
    relays: relays.map((r) => r.url),
    startAtMs,
    maxScheduleLagUs: 50_000,
    clientFaults: [{ action: 'slow-readers', atMs: startAtMs + 2000, share: 0.2, durationMs: 22_000 }],
    workload: {
      users: 10,
      ratePerSec: 60,
      durationMs: 28_000,
      warmupMs: 0,
      drainMs: 15_000,
      readDelayMs: 100,
      recipients: { kind: 'pairs' },
      sizes: { kind: 'fixed', bytes: 60_000 },
      seed: 5,
    },
  });
  const r = await runWorker(plan);
  const closes = (await slowReaderCloses()) - before4009;
  summary(t, r, closes);
  const l = r.ledger;
  assert.equal(l.acked, l.sent);
  assert.equal(l.delivered, l.sent);
  assert.deepEqual([l.lost, l.duplicated, l.unacked, l.decryptFailures], [0, 0, 0, 0]);
  assert.equal(closes, 2, 'the relay closed both paused users as slow readers (4009)');
  const events = r.faultEvents ?? [];
  assert.deepEqual(
    events.map((e) => [e.kind, e.action]),
    [
      ['fault', 'slow-readers'],
      ['recovery', 'slow-readers'],
    ],
  );
  assert.match(events[0]!.detail, /^2 of 10 online users stop reading/);
  assert.match(events[1]!.detail, /^all 2 affected users delivered again/);
  const ds = r.disruptions ?? [];
  assert.equal(new Set(ds.map((d) => d.userId)).size, 2, 'only the paused users lost their connections');
  assertDisruptionsRecovered(r);
});
