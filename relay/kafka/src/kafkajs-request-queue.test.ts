import { strict as assert } from 'node:assert';
import { mock, test } from 'node:test';
import { RequestQueue } from './kafkajs-request-queue.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} };
const queue = () =>
  new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 't', broker: 'b:1', logger });

/** A socket request as the queue sees it: send() is all it calls when nothing answers. */
const request = (sent: number[], id: number) => ({ correlationId: id, expectResponse: true, send: () => sent.push(id) });

test('kafkajs RequestQueue (fixed): nothing pending and no throttle arms no timer — upstream loops every 1 ms', () => {
  const q = queue();
  q.checkPendingRequests();
  assert.equal(q.throttleCheckTimeoutId, null);
});

test('kafkajs RequestQueue (fixed): a throttle with nothing pending is waited out once, then nothing', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const q = queue();
  const check = mock.method(q, 'checkPendingRequests');
  q.throttledUntil = Date.now() + 50;
  q.scheduleCheckPendingRequests();
  assert.notEqual(q.throttleCheckTimeoutId, null);
  t.mock.timers.tick(50);
  assert.equal(check.mock.callCount(), 1);
  assert.equal(q.throttleCheckTimeoutId, null, 'the throttle is over and nothing waits');
});

test('kafkajs RequestQueue (fixed): pending requests are still sent — after a throttle, or every 10 ms', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const q = queue();
  const sent: number[] = [];
  q.pending.push(request(sent, 1));
  q.throttledUntil = Date.now() + 30;
  q.scheduleCheckPendingRequests();
  t.mock.timers.tick(29);
  assert.deepEqual(sent, [], 'throttled: not yet');
  t.mock.timers.tick(1);
  assert.deepEqual(sent, [1]);
  // Throttle already over (the marginal case of kafkajs#1532): checked again in 10 ms.
  q.pending.push(request(sent, 2));
  q.throttledUntil = Date.now() + 1;
  q.scheduleCheckPendingRequests();
  t.mock.timers.tick(10);
  assert.deepEqual(sent, [1, 2]);
  assert.equal(q.throttleCheckTimeoutId, null);
});
