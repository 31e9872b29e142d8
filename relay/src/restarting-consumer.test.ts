import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumerHandlers, GroupConsumer } from '../kafka/src/index.js';
import { restartingConsumer } from './restarting-consumer.js';
import { until } from '../test/support/in-memory-relay.js';

/** A consumer that does what the test says: join, crash, fail to start. */
function fakeConsumers() {
  const made: { handlers: ConsumerHandlers | null; stopped: boolean }[] = [];
  let failStarts = 0;
  const make = (): GroupConsumer => {
    const me = { handlers: null as ConsumerHandlers | null, stopped: false };
    made.push(me);
    return {
      start: async (h) => {
        if (failStarts > 0) {
          failStarts--;
          throw new Error('Kafka is down');
        }
        me.handlers = h;
      },
      stop: async () => {
        me.stopped = true;
      },
    };
  };
  return { made, make, failStartsNext: (n: number) => (failStarts = n) };
}

const assignment = { generationId: 1, memberId: 'm', partitions: { t: [0] } };

test('after a crash a new consumer joins (its failed starts retried); down holds from the crash until it is assigned', async () => {
  const f = fakeConsumers();
  const logs: string[] = [];
  const assigned: number[] = [];
  const crashes: string[] = [];
  const c = restartingConsumer(f.make, (l) => logs.push(l), 1);
  await c.start({ onBatch: async () => {}, onAssigned: (a) => assigned.push(a.generationId), onCrash: (e) => crashes.push(e.message) });
  f.made[0]!.handlers!.onAssigned!(assignment);
  assert.equal(c.down, false);
  f.failStartsNext(2);
  f.made[0]!.handlers!.onCrash!(new Error('gave up'));
  assert.equal(c.down, true);
  assert.deepEqual(crashes, ['gave up'], 'the relay still hears of the crash');
  await until(() => f.made.length === 4 && f.made[3]!.handlers !== null, 'the third restart to start');
  assert.ok(
    f.made.slice(0, 3).every((m) => m.stopped),
    'the crashed one and the two that failed to start are stopped',
  );
  assert.equal(c.down, true, 'started, not yet assigned');
  f.made[3]!.handlers!.onAssigned!(assignment);
  assert.equal(c.down, false);
  assert.deepEqual(assigned, [1, 1]);
  assert.equal(logs.filter((l) => l.includes('restart failed')).length, 2);
  await c.stop();
  assert.equal(f.made[3]!.stopped, true);
});

test('a stopped consumer is not restarted, and a first start that fails is the caller’s error', async () => {
  const f = fakeConsumers();
  const c = restartingConsumer(f.make, () => {}, 1);
  f.failStartsNext(1);
  await assert.rejects(c.start({ onBatch: async () => {} }), /Kafka is down/);
  const d = restartingConsumer(f.make, () => {}, 1);
  await d.start({ onBatch: async () => {} });
  await d.stop();
  f.made.at(-1)!.handlers!.onCrash!(new Error('late'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(f.made.length, 2, 'no consumer made after stop');
});

test('a membership in doubt (onRevoked) is down until the consumer is assigned again; the same consumer rejoins (no restart)', async () => {
  const f = fakeConsumers();
  const revoked: string[] = [];
  const c = restartingConsumer(f.make, () => {}, 1);
  await c.start({ onBatch: async () => {}, onRevoked: (why) => revoked.push(why) });
  f.made[0]!.handlers!.onAssigned!(assignment);
  f.made[0]!.handlers!.onRevoked!('a heartbeat failed');
  assert.equal(c.down, true);
  assert.deepEqual(revoked, ['a heartbeat failed']);
  f.made[0]!.handlers!.onAssigned!(assignment);
  assert.equal(c.down, false);
  assert.equal(f.made.length, 1);
  await c.stop();
});
