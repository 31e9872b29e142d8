import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from './ledger.js';

const exp = (counter: number, from = 'a', to = 'b') => ({ from, to, counter, intendedUs: 1000 + counter, sentUs: 1005 + counter });

function complete(l: Ledger, id: string, to = 'b', counter = 0) {
  l.onAck(id, 0);
  const r = l.onDeliver(id, to, counter, 0);
  l.onReceipt(id, 'delivered');
  l.onReceipt(id, 'read');
  return r;
}

test('happy path: everything counted once, completed entries are dropped', () => {
  const l = new Ledger();
  for (let i = 0; i < 3; i++) l.expect(`m${i}`, exp(i));
  assert.equal(l.onAck('m0', 1)?.intendedUs, 1000);
  assert.equal(l.onAck('m0', 2), undefined, 'second ack ignored');
  const d = l.onDeliver('m0', 'b', 0, 3);
  assert.equal(d.outcome, 'first');
  assert.equal(d.timing?.sentUs, 1005);
  l.onReceipt('m0', 'delivered');
  l.onReceipt('m0', 'delivered');
  l.onReceipt('m0', 'read');
  complete(l, 'm1', 'b', 1);
  complete(l, 'm2', 'b', 2);
  assert.equal(l.pending, 0);
  const c = l.finish();
  assert.deepEqual(
    { ...c, errorsByCode: undefined },
    {
      sent: 3,
      acked: 3,
      delivered: 3,
      deliveredReceipts: 3,
      readReceipts: 3,
      lost: 0,
      unacked: 0,
      duplicated: 0,
      redelivered: 0,
      reordered: 0,
      misdelivered: 0,
      unexpected: 0,
      decryptFailures: 0,
      errorsByCode: undefined,
    },
  );
});

test("a receipt by someone other than the recipient is foreign and not counted; the recipient's still is", () => {
  const l = new Ledger();
  l.expect('m0', exp(0));
  l.onAck('m0', 1);
  l.onDeliver('m0', 'b', 0, 2);
  assert.equal(l.onReceipt('m0', 'read', 'mallory'), 'foreign');
  assert.equal(l.liveCounts().readReceipts, 0);
  assert.equal((l.onReceipt('m0', 'read', 'b') as { intendedUs: number }).intendedUs, 1000);
  assert.equal(l.liveCounts().readReceipts, 1);
});

test('lost: acked but never delivered; unacked: never acked', () => {
  const l = new Ledger();
  l.expect('lost', exp(0));
  l.onAck('lost', 1);
  l.expect('noack', exp(1));
  l.expect('noack-but-delivered', exp(2));
  l.onDeliver('noack-but-delivered', 'b', 2, 1);
  const c = l.finish();
  assert.equal(c.lost, 1);
  assert.equal(c.unacked, 2);
  assert.equal(c.delivered, 1);
  assert.deepEqual(l.lostIds(), ['lost'], 'the lost msgId, to trace it');
});

test('redelivered: same msgId twice, before and after retirement; not a user-visible duplicate', () => {
  const l = new Ledger();
  l.expect('m', exp(0));
  l.onAck('m', 0);
  assert.equal(l.onDeliver('m', 'b', 0, 0).outcome, 'first');
  assert.equal(l.onDeliver('m', 'b', 0, 0).outcome, 'redelivered');
  l.onReceipt('m', 'delivered');
  l.onReceipt('m', 'read');
  assert.equal(l.pending, 0);
  assert.equal(l.onDeliver('m', 'b', 0, 0).outcome, 'redelivered');
  assert.equal(l.expect('m', exp(0)), false, 'a retired msgId cannot be re-expected');
  const c = l.finish();
  assert.equal(c.redelivered, 2);
  assert.equal(c.duplicated, 0);
  assert.equal(c.delivered, 1);
});

test('duplicated: the same conversation counter under a different msgId', () => {
  const l = new Ledger();
  l.expect('x1', exp(0));
  l.expect('x2', exp(0));
  l.expect('other-direction', exp(0, 'b', 'a'));
  assert.equal(l.onDeliver('x1', 'b', 0, 0).outcome, 'first');
  assert.equal(l.onDeliver('x2', 'b', 0, 0).outcome, 'duplicate');
  assert.equal(l.onDeliver('other-direction', 'a', 0, 0).outcome, 'first');
  const c = l.finish();
  assert.equal(c.duplicated, 1);
  assert.equal(c.delivered, 3);
  assert.equal(c.reordered, 0);
});

test('reordered: a counter lower than the highest already delivered in that conversation', () => {
  const l = new Ledger();
  for (let i = 0; i < 4; i++) l.expect(`m${i}`, exp(i));
  l.expect('c0', exp(0, 'a', 'c'));
  for (const i of [0, 2, 1, 3]) l.onDeliver(`m${i}`, 'b', i, 0);
  l.onDeliver('c0', 'c', 0, 0); // other conversation, counter 0 < 3 but not reordered
  const c = l.finish();
  assert.equal(c.reordered, 1);
  assert.equal(c.duplicated, 0);
  assert.equal(c.delivered, 5);
});

test('tampered: a decrypt failure is counted and is not also counted lost', () => {
  const l = new Ledger();
  l.expect('t', exp(0));
  l.onAck('t', 0);
  l.onDecryptFailure('t');
  l.onDecryptFailure('unknown');
  const c = l.finish();
  assert.equal(c.decryptFailures, 2);
  assert.equal(c.lost, 0);
  assert.equal(c.delivered, 0);
});

test('misdelivered, unexpected and errors by code', () => {
  const l = new Ledger();
  l.expect('m', exp(0));
  assert.equal(l.onDeliver('m', 'mallory', 0, 0).outcome, 'misdelivered');
  assert.equal(l.onDeliver('nope', 'b', 0, 0).outcome, 'unexpected');
  l.onError('RB_X');
  l.onError('RB_X');
  l.onError('RB_Y');
  const c = l.finish();
  assert.equal(c.misdelivered, 1);
  assert.equal(c.unexpected, 1);
  assert.equal(c.delivered, 0);
  assert.deepEqual(c.errorsByCode, { RB_X: 2, RB_Y: 1 });
});

test('without receipts expected, an entry retires on ack + delivery; retired memory is bounded', () => {
  const l = new Ledger({ expectDeliveredReceipts: false, expectReadReceipts: false, retiredMemory: 2 });
  for (let i = 0; i < 3; i++) {
    l.expect(`m${i}`, exp(i));
    l.onAck(`m${i}`, 0);
    l.onDeliver(`m${i}`, 'b', i, 0);
  }
  assert.equal(l.pending, 0);
  assert.equal(l.onDeliver('m0', 'b', 0, 0).outcome, 'unexpected', 'oldest retired id forgotten');
  assert.equal(l.onDeliver('m1', 'b', 1, 0).outcome, 'redelivered');
  assert.equal(l.onDeliver('m2', 'b', 2, 0).outcome, 'redelivered');
  assert.equal(l.expect('m1', exp(1)), false, 'a remembered id is not expected again');
  assert.equal(l.expect('m0', exp(0)), true, 'a forgotten one is');
});

test('with no retired memory, a retired id is forgotten at once', () => {
  const l = new Ledger({ expectDeliveredReceipts: false, expectReadReceipts: false, retiredMemory: 0 });
  l.expect('m0', exp(0));
  l.onAck('m0', 0);
  assert.equal(l.onDeliver('m0', 'b', 0, 0).outcome, 'first');
  assert.equal(l.onDeliver('m0', 'b', 0, 0).outcome, 'unexpected');
});
