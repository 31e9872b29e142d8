import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { generateIdentity } from '../crypto/identity.js';
import { publishKeysFrame, verifyBundle } from './conversations.js';
import { DelayQueue } from './delay-queue.js';
import { Ledger } from '../ledger.js';
import { ManualClock, systemClock, type Clock } from '../rate/clock.js';
import type { Stage } from '../stats/stages.js';
import { LoopbackTarget } from '../../test/helpers/loopback-target.js';
import type { MeasurementSink } from './sink.js';
import { VirtualUser } from './virtual-user.js';

test('key bundle: signing key travels in the signature field and verifies; a forged prekey does not', () => {
  const id = generateIdentity();
  const f = publishKeysFrame(id, 7);
  assert.equal(f.reqId, 7);
  assert.equal(f.signature.length, 96);
  assert.ok(verifyBundle(f));
  const other = generateIdentity();
  assert.equal(verifyBundle({ ...f, signedPrekey: other.signedPrekey.publicKey }), false);
  assert.equal(verifyBundle({ ...f, signature: f.signature.subarray(32) }), false);
});

test('delay queue: runs in push order after the delay, one timer; 0 delay runs at once; flush runs all', async () => {
  const out: number[] = [];
  const q = new DelayQueue(30);
  q.push(() => out.push(1));
  q.push(() => out.push(2));
  assert.equal(out.length, 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(out, [1, 2]);
  q.push(() => out.push(3));
  q.flush();
  assert.deepEqual(out, [1, 2, 3]);
  q.close();
  new DelayQueue(0).push(() => out.push(4));
  assert.deepEqual(out, [1, 2, 3, 4]);
});

test('ledger.onReplay: a copy of a delivered msgId is a re-delivery, a copy under another msgId is a duplicate; neither is delivered', () => {
  const l = new Ledger();
  l.expect('a:0', { from: 'a', to: 'b', counter: 0, intendedUs: 1, sentUs: 2 });
  l.onAck('a:0', 3);
  assert.equal(l.onDeliver('a:0', 'b', 0, 4).outcome, 'first');
  assert.equal(l.onReplay('a:0'), 'redelivered');
  assert.equal(l.onReplay('a:0.dup'), 'duplicate');
  const c = l.finish();
  assert.deepEqual([c.delivered, c.redelivered, c.duplicated, c.lost], [1, 1, 1, 0]);
  assert.equal(l.liveCounts().duplicated, 1);
});

/** Waits (up to ≈ 1 s, in 5 ms steps) until `ok()` holds, then asserts it, naming `what`. */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), what);
}

/** Users a and b connected to an in-process relay stand-in, with the ledger and errors they share. */
async function connectedPair(
  readDelayMs: number,
  clock: Clock = systemClock,
  latency: MeasurementSink['latency'] = () => {},
  { kind = 'relay', tokenSecret = 'a-test-secret-of-32-bytes-length' }: { kind?: 'relay' | 'kafka-direct'; tokenSecret?: string } = {},
) {
  const target = new LoopbackTarget(kind);
  const ledger = new Ledger();
  const errors: string[] = [];
  const sink: MeasurementSink = { latency, sent: () => {}, acked: () => {}, delivered: () => {}, error: (c) => errors.push(c) };
  const readQueue = new DelayQueue(readDelayMs);
  const deps = {
    target,
    tokenSecret,
    ledger,
    sink,
    clock,
    readQueue,
    plaintext: () => new Uint8Array(16),
  };
  const a = new VirtualUser('a', deps);
  const b = new VirtualUser('b', deps);
  await a.connect();
  await b.connect();
  return { target, ledger, errors, readQueue, a, b };
}

test('a user who goes offline while fetching a sender’s keys counts no decrypt failure (the relay replays the unconfirmed deliveries)', async () => {
  const { target, ledger, errors, readQueue, a, b } = await connectedPair(0);
  target.withheldKeys.add('a'); // b cannot learn a's keys, so a's message waits in b's inbox
  assert.ok(a.send('b', systemClock.nowUs()));
  await new Promise((r) => setTimeout(r, 50));
  await b.goOffline();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ledger.liveCounts().decryptFailures, 0);
  assert.deepEqual(errors, []);
  readQueue.close();
});

test('a read due after the delivering socket died goes out on the new one naming the sender, and the receipt arrives', async () => {
  const { target, ledger, errors, readQueue, a } = await connectedPair(30);
  assert.ok(a.send('b', systemClock.nowUs()));
  await until('✓✓', () => ledger.liveCounts().deliveredReceipts === 1);
  // b read nothing yet (30 ms read delay); its socket dies and the connection dials again at once.
  target.reconnect('b');
  await until('read receipt', () => ledger.liveCounts().readReceipts === 1);
  // Now the read falls due while b is down for 100 ms (a frame sent then is lost): it waits for the welcome.
  assert.ok(a.send('b', systemClock.nowUs()));
  await until('✓✓ of the second', () => ledger.liveCounts().deliveredReceipts === 2);
  target.reconnect('b', 100);
  await until('read receipt of the second', () => ledger.liveCounts().readReceipts === 2);
  // A reset can lose the last frames written, and `read` has no ack: after a drop, the reads of the
  // last second go again on the new socket, naming the sender (a duplicate receipt is counted once).
  const before = target.reads.length;
  target.reconnect('b', 10);
  await until('reads sent again', () => target.reads.length > before);
  assert.ok(
    target.reads.slice(before).every((r) => r.userId === 'b' && r.from === 'a'),
    JSON.stringify(target.reads),
  );
  assert.equal(ledger.liveCounts().readReceipts, 2);
  assert.deepEqual(errors, [], 'the relay stand-in refused nothing');
  readQueue.close();
});

test('outboxWait is the wait for a new peer’s keys, which the first message announces (no fetch, no inboxWait at the recipient); per message corrected e2e = (send() − intended) + outboxWait + uncorrected', async () => {
  // Ahead of the stand-in's real-time connection stamps, so the messages count as live (not store-and-forward).
  const clock = new ManualClock(systemClock.nowUs() + 60_000_000);
  const seen: { stage: Stage; us: number }[] = [];
  const { target, errors, readQueue, a } = await connectedPair(0, clock, (stage, us) => seen.push({ stage, us }));
  const values = (stage: Stage) => seen.filter((x) => x.stage === stage).map((x) => x.us);
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(ok(), what);
  };
  target.withheldKeys.add('b');
  assert.ok(a.send('b', clock.nowUs() - 500)); // send() runs 500 µs after the intended time
  await until('a asked for b’s keys', () => target.waitingForKeys('b') === 1);
  clock.advanceUs(3_000); // b's keys take 3 ms to come
  target.releaseKeys('b');
  await until('the first message delivered', () => values('e2eCorrected').length === 1);
  assert.ok(a.send('b', clock.nowUs())); // keys known now: no wait
  await until('the second message delivered', () => values('e2eCorrected').length === 2);
  assert.deepEqual(target.fetched, ['b'], 'b keyed the conversation from the first header, without asking for a’s keys');
  assert.deepEqual(values('outboxWait'), [3_000, 0]);
  // The clock moved only where said: the recipient waited for nothing, and nothing else took time.
  assert.deepEqual(values('inboxWait'), [0, 0]);
  assert.deepEqual(values('e2eUncorrected'), [0, 0]);
  assert.deepEqual(values('e2eCorrected'), [500 + 3_000, 0]);
  assert.deepEqual(errors, []);
  readQueue.close();
});

test('the produce hops are recorded once per live delivery, also when the deliver overtakes its ack', async () => {
  for (const ackDelayMs of [0, 30]) {
    const seen: Stage[] = [];
    const { target, ledger, errors, readQueue, a } = await connectedPair(0, systemClock, (stage) => seen.push(stage));
    target.ackDelayMs = ackDelayMs;
    for (let i = 0; i < 3; i++) assert.ok(a.send('b', systemClock.nowUs()));
    for (let i = 0; i < 400 && ledger.liveCounts().acked < 3; i++) await new Promise((r) => setTimeout(r, 5));
    const count = (stage: Stage) => seen.filter((s) => s === stage).length;
    const order = `ack delay ${ackDelayMs} ms`;
    assert.equal(count('e2eCorrected'), 3, order);
    assert.equal(count('hopGatewayToProduce'), 3, order);
    assert.equal(count('hopProduceToRouter'), 3, order);
    assert.equal(count('hopClientToGateway'), 3, order);
    assert.deepEqual(errors, [], order);
    readQueue.close();
  }
});

test('on the kafka-direct path a user needs no token secret (there is no relay to present a token to)', async () => {
  const { ledger, errors, readQueue, a } = await connectedPair(0, systemClock, () => {}, { kind: 'kafka-direct', tokenSecret: '' });
  assert.ok(a.send('b', systemClock.nowUs()));
  for (let i = 0; i < 400 && ledger.liveCounts().readReceipts < 1; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(ledger.liveCounts().readReceipts, 1);
  assert.deepEqual(errors, []);
  readQueue.close();
});

test('a delivery waiting to be read holds its msgId, not its frame (whose views hold the socket read it came in)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { target, ledger, errors, readQueue, a } = await connectedPair(60_000);
  const frames: WeakRef<object>[] = [];
  const delivered = target.delivered.bind(target);
  target.delivered = (c, f) => {
    frames.push(new WeakRef(f));
    delivered(c, f);
  };
  assert.ok(a.send('b', systemClock.nowUs()));
  await until('delivered', () => ledger.liveCounts().delivered === 1);
  assert.equal(frames.length, 1);
  assert.equal(readQueue.size, 1, 'the read is still waiting');
  await new Promise((r) => setImmediate(r)); // a WeakRef keeps its target until the job that made it ends
  gc();
  assert.equal(frames[0]!.deref(), undefined, 'the deliver frame was collected');
  assert.deepEqual(errors, []);
  readQueue.close();
});
