import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ManualClock } from '../rate/clock.js';
import { createSchedule } from '../rate/schedule.js';
import { OpenLoop } from './open-loop.js';

/**
 * Mock timers (nothing fires by itself) and a loop over a constant 1,000/s schedule starting 1 ms
 * from now, ending after `arrivals` of them; `sent` collects the intended times dispatched.
 */
function setUp(t: TestContext, arrivals: number): { clock: ManualClock; sent: number[]; loop: OpenLoop; startUs: number } {
  t.mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  const clock = new ManualClock();
  const sent: number[] = [];
  const startUs = clock.nowUs() + 1000;
  const schedule = createSchedule({ kind: 'constant', ratePerSec: 1000, startUs, seed: 1 });
  const loop = new OpenLoop({ schedule, endUs: startUs + arrivals * 1000, clock, dispatch: (us) => sent.push(us) });
  return { clock, sent, loop, startUs };
}

test('OpenLoop: a late tick dispatches every arrival due, each with its own intended time, and none early', (t) => {
  const { clock, sent, loop, startUs } = setUp(t, 10);
  void loop.run();
  assert.deepEqual(sent, [], 'the first arrival is 1 ms away');
  clock.advanceUs(3500);
  t.mock.timers.tick(1);
  assert.deepEqual(sent, [startUs, startUs + 1000, startUs + 2000], 'late sends keep their schedule times (lag shows)');
  assert.equal(loop.dispatched, 3);
  loop.stop();
});

test('OpenLoop: the run ends at the end of the schedule, with no arrival at or after it', async (t) => {
  const { clock, sent, loop } = setUp(t, 3);
  const done = loop.run();
  clock.advanceUs(10_000);
  t.mock.timers.tick(1);
  await done;
  assert.equal(sent.length, 3);
});

test('OpenLoop: stop() ends the run and nothing is dispatched after it', async (t) => {
  const { clock, sent, loop } = setUp(t, 10);
  const done = loop.run();
  loop.stop();
  await done;
  clock.advanceUs(5000);
  t.mock.timers.tick(10);
  assert.deepEqual(sent, []);
});
