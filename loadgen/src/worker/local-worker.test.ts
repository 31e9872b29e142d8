import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopbackTarget } from '../../test/helpers/loopback-target.js';
import { testPlan } from '../../test/helpers/worker.js';
import { buildJsHistogram } from '../stats/histogram.js';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { mergeEncoded, mergeSnapshots, percentiles } from '../stats/period.js';
import type { Stage } from '../stats/stages.js';
import { LocalWorker } from './local-worker.js';
import type { WorkerPlan, WorkerProgress } from './contract.js';

async function run(plan: WorkerPlan, target = new LoopbackTarget(), onSample?: (stage: Stage, us: number) => void) {
  const w = new LocalWorker(plan.workerId, { targetFactory: () => target, ...(onSample === undefined ? {} : { onSample }) });
  const progress: WorkerProgress[] = [];
  w.onProgress((p) => progress.push(p));
  await w.start(plan);
  return { result: await w.result(), progress, worker: w };
}

test('local worker on a loopback target: exact ledger, receipts, progress once a second, warm-up dropped', async () => {
  const plan = testPlan({
    relays: ['ws://unused'],
    workload: { users: 8, ratePerSec: 200, durationMs: 2000, warmupMs: 1000, recipients: { kind: 'uniform' }, drainMs: 3000 },
  });
  const { result, progress } = await run(plan);
  const l = result.ledger;
  assert.ok(l.sent > 400 && l.sent < 800, `sent ${l.sent}`);
  assert.deepEqual([l.acked, l.delivered, l.deliveredReceipts, l.readReceipts], [l.sent, l.sent, l.sent, l.sent]);
  assert.deepEqual([l.lost, l.unacked, l.duplicated, l.reordered, l.decryptFailures], [0, 0, 0, 0, 0]);
  assert.ok(result.intervals.every((iv) => iv.startMs >= result.measureStartMs - 2));
  assert.ok(progress.some((p) => p.phase === 'warmup') && progress.some((p) => p.phase === 'measuring'));
  assert.equal(progress.at(-1)?.phase, 'done');
  assert.equal(result.peakConnections, 8);
});

test('merge at WorkerResult level: two workers’ interval histograms merged equal one histogram of all their values', async () => {
  const all = buildJsHistogram();
  const tap = (stage: Stage, us: number) => {
    if (stage === 'e2eCorrected') all.recordValue(Math.max(0, Math.round(us)));
  };
  const mk = (seed: number) => testPlan({ relays: ['ws://unused'], workload: { users: 6, ratePerSec: 150, durationMs: 1500, seed } });
  const [a, b] = await Promise.all([run(mk(1), new LoopbackTarget(), tap), run(mk(2), new LoopbackTarget(), tap)]);
  const merged = mergeSnapshots([...a.result.intervals, ...b.result.intervals]).e2eCorrected;
  assert.equal(merged.totalCount, a.result.ledger.delivered + b.result.ledger.delivered);
  // "One histogram of all values", as it travels (encoded): the max becomes its bucket's highest equivalent value.
  const single = mergeEncoded([encodeIntoCompressedBase64(all)]);
  assert.equal(merged.totalCount, single.totalCount);
  assert.deepEqual(percentiles(merged), percentiles(single));
  for (let p = 0; p <= 100; p += 1) assert.equal(merged.getValueAtPercentile(p), single.getValueAtPercentile(p), `p${p}`);
});

test('a tampered ciphertext is a decrypt failure, never a delivery (and not counted lost)', async () => {
  const plan = testPlan({
    relays: ['ws://unused'],
    workload: { users: 2, ratePerSec: 50, durationMs: 1000, recipients: { kind: 'pairs' }, arrivals: 'constant' },
  });
  const target = new LoopbackTarget();
  target.tampered.add(`${plan.userPrefix}0:2`);
  const { result } = await run(plan, target);
  const l = result.ledger;
  assert.ok(l.sent >= 40);
  assert.equal(l.decryptFailures, 1);
  assert.equal(l.delivered, l.sent - 1);
  assert.equal(l.lost, 0);
  assert.equal(l.errorsByCode.RB_LOADGEN_DECRYPT, 1);
  assert.equal(mergeSnapshots(result.intervals).e2eCorrected.totalCount, l.sent - 1);
});

test('the drain waits past drainMs while deliveries keep arriving: a slow relay is late, not lossy', async () => {
  const plan = testPlan({
    relays: ['ws://unused'],
    workload: {
      users: 4,
      ratePerSec: 100,
      durationMs: 1000,
      warmupMs: 0,
      recipients: { kind: 'pairs' },
      arrivals: 'constant',
      drainMs: 1000,
      readDelayMs: 0,
    },
  });
  const target = new LoopbackTarget();
  // Deliveries arrive 1.5 s after each send: half of them after the 1 s drain has passed.
  target.deliverDelayMs = 1500;
  const { result } = await run(plan, target);
  assert.equal(result.ledger.lost, 0);
  assert.equal(result.ledger.delivered, result.ledger.sent);
  assert.equal(result.drain?.stillProgressing, false);
  assert.equal(result.drain?.pendingAtEnd, 0);
});

test('the drain ends once progress stops: a dropped message is lost, and only that one', async () => {
  const plan = testPlan({
    relays: ['ws://unused'],
    workload: {
      users: 2,
      ratePerSec: 50,
      durationMs: 1000,
      warmupMs: 0,
      recipients: { kind: 'pairs' },
      arrivals: 'constant',
      drainMs: 300,
      readDelayMs: 0,
    },
  });
  const target = new LoopbackTarget();
  target.dropped.add(`${plan.userPrefix}0:3`);
  const { result } = await run(plan, target);
  assert.equal(result.ledger.lost, 1);
  assert.equal(result.ledger.delivered, result.ledger.sent - 1);
  assert.equal(result.drain?.stillProgressing, false);
  assert.equal(result.drain?.pendingAtEnd, 1);
});

test('stop() ends sending early and still yields a result', async () => {
  const plan = testPlan({ relays: ['ws://unused'], workload: { users: 4, ratePerSec: 100, durationMs: 60_000 } });
  const w = new LocalWorker(plan.workerId, { targetFactory: () => new LoopbackTarget() });
  await w.start(plan);
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = Date.now();
  await w.stop();
  const result = await w.result();
  assert.ok(Date.now() - t0 < 10_000);
  assert.ok(result.ledger.sent > 50 && result.ledger.sent < 1000);
  assert.equal(result.ledger.lost, 0);
});

test('a bad plan is refused with RB_LOADGEN_BAD_PLAN naming the field', async () => {
  const plan = testPlan({ relays: ['ws://unused'] });
  const w = new LocalWorker('x');
  await assert.rejects(
    w.start({ ...plan, workload: { ...plan.workload, users: 1 } }),
    (e: Error & { code?: string }) => e.code === 'RB_LOADGEN_BAD_PLAN' && /workload\.users/.test(e.message),
  );
  await assert.rejects(w.start({ ...plan, relays: ['http://x'] }), /relays/);
});
