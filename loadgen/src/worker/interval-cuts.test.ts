import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntervalCuts } from './interval-cuts.js';
import type { Run } from './run-setup.js';

/** The parts of a Run that the cuts touch: the phase, the book's cuts, the timers. */
function fakeRun(warmupMs: number, durationMs: number) {
  const cuts: { atMs: number; measuring: boolean }[] = [];
  let measuring = false;
  const run = {
    w: { warmupMs, durationMs },
    state: { phase: 'warmup' },
    timers: new Set<NodeJS.Timeout>(),
    book: {
      cut: (atMs: number) => cuts.push({ atMs, measuring }),
      startMeasuring: () => (measuring = true),
    },
  };
  return { run: run as unknown as Run, cuts, phase: () => run.state.phase };
}

test('a cut timer that fires early by the run clock waits for the planned time, so the warm-up still ends on time', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { run, cuts, phase } = fakeRun(1000, 2000);
  let clock = 0; // the run's clock runs 2 ms behind the timers here
  const emitted: string[] = [];
  const c = new IntervalCuts({ run, startMs: 0, nowMs: () => clock, emit: () => emitted.push(phase()) });
  c.arm();
  clock = 998;
  t.mock.timers.tick(1000);
  assert.equal(cuts.length, 0, 'no cut before the planned time');
  clock = 1000;
  t.mock.timers.tick(2);
  assert.deepEqual(cuts, [{ atMs: 1000, measuring: false }]);
  assert.equal(phase(), 'measuring', 'the cut at the end of the warm-up starts the measurement');
  clock = 2000;
  t.mock.timers.tick(1000);
  assert.deepEqual(emitted, ['warmup', 'measuring']);
  for (const timer of run.timers) clearTimeout(timer);
});
