import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { watchMembership } from './membership-lease.js';

/** A lease over a stand-in for the library's events, on mocked timers and clock. */
function leaseOn(t: TestContext, holding: () => boolean = () => true) {
  const mock = t.mock;
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
  const lib = new EventEmitter();
  const lost: string[] = [];
  const lease = watchMembership(lib, { sessionMs: 6000, intervalMs: 1000, holding, lost: (why) => lost.push(why) });
  lease.joined();
  const beat = (answered: boolean, tookMs = 10) => {
    lib.emit('consumer:heartbeat:start', {});
    mock.timers.tick(tookMs);
    lib.emit(answered ? 'consumer:heartbeat:end' : 'consumer:heartbeat:error', { error: new Error('Request timed out') });
  };
  const done = () => lease.stop(); // the test's mock timers are reset when it ends
  return { lost, beat, done, joined: () => lease.joined() };
}

test('answered heartbeats keep the lease; none answered for the session less one interval loses it', (t) => {
  const { lost, beat, done } = leaseOn(t);
  for (let i = 0; i < 20; i++) {
    beat(true);
    t.mock.timers.tick(990);
  }
  assert.deepEqual(lost, [], 'a heartbeat a second keeps the member');
  // The broker stalls: the last heartbeat answered was sent 1 s ago, the next is not answered.
  t.mock.timers.tick(3_900);
  assert.deepEqual(lost, [], 'still within the session less one interval');
  t.mock.timers.tick(600);
  assert.equal(lost.length, 1, 'reported once');
  assert.match(lost[0]!, /^no heartbeat answered for 5\.\d s$/);
  done();
});

test('a heartbeat that fails (the library stops heartbeating after it) loses the lease at once', (t) => {
  const { lost, beat, done } = leaseOn(t);
  beat(true);
  beat(false);
  assert.deepEqual(lost, ['a heartbeat failed (Request timed out)']);
  done();
});

test('a heartbeat answered late counts from when it was sent, not when its answer came', (t) => {
  const { lost, beat, done } = leaseOn(t);
  beat(true); // sent at 0, answered at 10 ms
  t.mock.timers.tick(990);
  beat(true, 5_200); // sent at 1 s, answered at 6.2 s: the coordinator heard it at some point in between
  assert.equal(lost.length, 1, 'the coordinator may count from the send at 1 s: 5 s without an answer by 6 s');
  done();
});

test('after a new assignment the lease starts again', (t) => {
  const { lost, done, joined } = leaseOn(t);
  t.mock.timers.tick(5_000);
  assert.equal(lost.length, 1);
  joined();
  t.mock.timers.tick(4_900);
  assert.equal(lost.length, 1, 'the new assignment holds for the session less one interval');
  t.mock.timers.tick(600);
  assert.equal(lost.length, 2);
  done();
});

test('a member that holds no assignment reports nothing', (t) => {
  const { lost, beat, done } = leaseOn(t, () => false);
  beat(false);
  t.mock.timers.tick(60_000);
  assert.deepEqual(lost, []);
  done();
});
