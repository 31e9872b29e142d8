// The latency fault's schedule on a fake clock: due times, order, pass-through, end after flush.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DelayedPipe, type DelayClock } from './delay-queue.js';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements DelayClock {
  t = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now() {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const id = this.#next++;
    this.#timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: unknown) {
    this.#timers.delete(h as number);
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

function setup(random = () => 0) {
  const clock = new FakeClock();
  const out: { at: number; text: string }[] = [];
  const pipe = new DelayedPipe((c) => out.push({ at: clock.t, text: c.toString() }), clock, random);
  return { clock, out, pipe };
}

test('no latency: chunks pass through at once', () => {
  const { pipe, out } = setup();
  pipe.write(Buffer.from('a'));
  assert.deepEqual(out, [{ at: 0, text: 'a' }]);
});

test('each chunk goes out delay ms after it arrived, not before', () => {
  const { pipe, out, clock } = setup();
  pipe.settings = { delayMs: 2, jitterMs: 0 };
  pipe.write(Buffer.from('a'));
  clock.advance(1);
  pipe.write(Buffer.from('b'));
  assert.equal(out.length, 0);
  clock.advance(0.5);
  assert.equal(out.length, 0);
  clock.advance(0.5);
  assert.deepEqual(out, [{ at: 2, text: 'a' }]);
  clock.advance(5);
  assert.deepEqual(out, [
    { at: 2, text: 'a' },
    { at: 3, text: 'b' },
  ]);
});

test('jitter never reorders: a chunk is not due before the one ahead of it', () => {
  const draws = [0.9, 0.0, 0.5];
  const { pipe, out, clock } = setup(() => draws.shift() ?? 0);
  pipe.settings = { delayMs: 1, jitterMs: 10 };
  pipe.write(Buffer.from('a')); // due 10
  clock.advance(1);
  pipe.write(Buffer.from('b')); // own due 2 → held to 10
  pipe.write(Buffer.from('c')); // own due 7 → held to 10
  clock.advance(20);
  assert.deepEqual(
    out.map((o) => o.text),
    ['a', 'b', 'c'],
  );
  assert.ok(out.every((o) => o.at === 10));
});

test('latency removed: queued chunks still go first, in order, then pass-through resumes', () => {
  const { pipe, out, clock } = setup();
  pipe.settings = { delayMs: 5, jitterMs: 0 };
  pipe.write(Buffer.from('a'));
  pipe.settings = null;
  pipe.write(Buffer.from('b')); // queue not empty: behind a
  assert.equal(out.length, 0);
  clock.advance(5);
  assert.deepEqual(
    out.map((o) => `${o.text}@${o.at}`),
    ['a@5', 'b@5'],
  );
  pipe.write(Buffer.from('c'));
  assert.equal(out.at(-1)!.text, 'c');
  assert.equal(out.at(-1)!.at, 5);
});

test('end() waits for the queue; destroy() drops it', () => {
  const { pipe, out, clock } = setup();
  pipe.settings = { delayMs: 3, jitterMs: 0 };
  pipe.write(Buffer.from('a'));
  let ended = -1;
  pipe.end(() => (ended = clock.t));
  assert.equal(ended, -1);
  clock.advance(3);
  assert.equal(ended, 3);
  assert.equal(out.length, 1);
  const other = setup();
  other.pipe.settings = { delayMs: 3, jitterMs: 0 };
  other.pipe.write(Buffer.from('x'));
  other.pipe.destroy();
  other.clock.advance(10);
  assert.deepEqual(other.out, []);
  assert.equal(other.pipe.queuedBytes, 0);
});
