import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity } from '../crypto/identity.js';
import { publishKeysFrame, verifyBundle } from './conversations.js';
import { DelayQueue } from './delay-queue.js';
import { Ledger } from '../ledger.js';
import { systemClock } from '../rate/clock.js';
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

/** Users a and b connected to an in-process relay stand-in, with the ledger and errors they share. */
async function connectedPair(readDelayMs: number) {
  const target = new LoopbackTarget();
  const ledger = new Ledger();
  const errors: string[] = [];
  const sink: MeasurementSink = { latency: () => {}, sent: () => {}, acked: () => {}, delivered: () => {}, error: (c) => errors.push(c) };
  const readQueue = new DelayQueue(readDelayMs);
  const deps = {
    target,
    tokenSecret: 'a-test-secret-of-32-bytes-length',
    ledger,
    sink,
    clock: systemClock,
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
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(ok(), what);
  };
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
