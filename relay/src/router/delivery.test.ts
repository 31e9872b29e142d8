import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { fakeProducer } from '../../kafka/test-support/fake-producer.js';
import { createRelayMetrics } from '../metrics.js';
import { createDelivery } from './delivery.js';
import type { Push } from './mailbox.js';
import { decodeDeliverValue, type PendingItem } from './records.js';

const PREFIX = 'relay.deliver.';

function setup(topics: string[]) {
  const f = fakeProducer();
  const metrics = createRelayMetrics(new Registry(), 'g1');
  let draining = false;
  const delivery = createDelivery({
    gatewayId: 'g1',
    deliverPrefix: PREFIX,
    gateway: { pushLocal: () => true, replaced: () => {} },
    kafkaProducer: f.producer,
    admin: { listTopics: async () => topics },
    metrics,
    draining: () => draining,
  });
  const dropped = async () => (await metrics.deliverDropped.get()).values[0]?.value ?? 0;
  /** Every request so far, as "topic/msgId" per record. */
  const sent = () => f.requests.map((r) => r.map((x) => `${x.topic.slice(PREFIX.length)}/${itemOf(x.value)}`));
  /** Answers every request (as `setFail` says) until the delivery has nothing in flight. */
  const settle = async () => {
    let done = false;
    void delivery.flush().then(() => (done = true));
    while (!done) {
      for (const answer of f.release.splice(0)) answer();
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  return { f, delivery, dropped, sent, settle, drain: () => (draining = true) };
}

function itemOf(value: Buffer | null): string {
  const v = value === null ? undefined : decodeDeliverValue(value);
  return v !== undefined && 'item' in v ? v.item.msgId : '?';
}

const message = (msgId: string): PendingItem => ({
  type: 'message',
  msgId,
  value: { k: 'm', from: 'w', msgId, header: new Uint8Array(1), ciphertext: new Uint8Array(1), gwInUs: 0 },
  stamps: {},
});
const push = (gatewayId: string, user: string, msgId: string): Push => ({ user, gatewayId, items: [message(msgId)], replay: false });

test('a failed push to a gateway is tried again before any later push goes out (a user keeps log order)', async () => {
  const { f, delivery, sent, settle } = setup([`${PREFIX}g2`]);
  f.setFail(true);
  delivery.deliver(push('g2', 'u', 'm1'));
  await f.nextRequest();
  f.release.shift()!(); // m1 fails…
  await new Promise((r) => setImmediate(r));
  f.setFail(false);
  delivery.deliver(push('g2', 'u', 'm2')); // …and m2 comes while it waits for its retry
  await settle();
  assert.deepEqual(sent(), [['g2/m1'], ['g2/m1'], ['g2/m2']]);
});

test('pushes for a gateway whose topic is gone are dropped at the retry; the other gateways’ pushes go on', async () => {
  const { f, delivery, dropped, sent, settle } = setup([`${PREFIX}g2`, 'relay.mailbox']);
  f.setFail(true);
  delivery.deliver(push('gone', 'u1', 'm1'));
  delivery.deliver(push('g2', 'u2', 'm2'));
  await f.nextRequest();
  f.release.shift()!(); // a request naming a deleted topic fails whole
  f.setFail(false);
  await settle();
  assert.deepEqual(sent(), [['gone/m1', 'g2/m2'], ['g2/m2']]);
  assert.equal(await dropped(), 1);
});

test('a draining relay does not retry a failed push: it stays pending in the mailbox', async () => {
  const { f, delivery, dropped, sent, settle, drain } = setup([`${PREFIX}g2`]);
  f.setFail(true);
  delivery.deliver(push('g2', 'u', 'm1'));
  await f.nextRequest();
  drain();
  await settle();
  assert.deepEqual(sent(), [['g2/m1']]);
  assert.equal(await dropped(), 1);
});
