import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BatchingProducer, WithdrawnError } from './batching-producer.js';
import type { OutRecord } from '../../kafka/src/index.js';
import { fakeProducer } from '../../kafka/test-support/fake-producer.js';

const rec = (key: string, bytes = 10): OutRecord => ({ topic: 't', partition: 0, key, value: Buffer.alloc(bytes) });
const tick = () => new Promise((r) => setImmediate(r));

test('records queued while a request is in flight go together in the next one, in call order', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer);
  const first = p.produce(rec('a'));
  await tick();
  const rest = [p.produce(rec('b')), p.produce(rec('c'))];
  await tick();
  assert.deepEqual(f.keys(), [['a']]);
  f.release.shift()!();
  await first;
  await tick();
  assert.deepEqual(f.keys(), [['a'], ['b', 'c']]);
  f.release.shift()!();
  await Promise.all(rest);
});

test('the records of one event-loop turn go in one request', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer);
  const all = [p.produce(rec('a')), p.produce(rec('b'))];
  await tick();
  assert.deepEqual(f.keys(), [['a', 'b']]);
  f.release.shift()!();
  await Promise.all(all);
});

test('a request never exceeds the byte cap (the broker rejects oversized batches whole)', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { maxBatchBytes: 100_000 });
  const all = Array.from({ length: 10 }, (_, i) => p.produce(rec(`k${i}`, 30_000)));
  for (let i = 0; i < 10; i++) {
    await tick();
    f.release.shift()?.();
  }
  await Promise.all(all);
  assert.ok(f.requests.every((r) => r.reduce((s, x) => s + (x.value?.byteLength ?? 0), 0) <= 100_000));
  assert.equal(f.requests.flat().length, 10);
});

test('a failed request, its retries spent, rejects exactly the records in it', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { retry: { attempts: 1, delayMs: () => 0, totalMs: 60_000 } });
  f.setFail(true);
  const a = p.produce(rec('a'));
  await tick();
  f.release.shift()!();
  await assert.rejects(a, /broker down/);
  f.setFail(false);
  const b = p.produce(rec('b'));
  await tick();
  f.release.shift()!();
  await b;
});

test('a failed request is retried in place before anything queued behind it; when the retries run out, the queue behind fails with it', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { retry: { attempts: 2, delayMs: () => 0, totalMs: 60_000 } });
  f.setFail(true);
  const a = p.produce(rec('a'));
  await tick();
  const b = p.produce(rec('b'));
  f.release.shift()!(); // a fails once…
  await f.nextRequest();
  f.setFail(false);
  f.release.shift()!(); // …and succeeds on its retry, still alone
  await a;
  await f.nextRequest();
  f.release.shift()!();
  await b;
  assert.deepEqual(f.keys(), [['a'], ['a'], ['b']]);

  f.setFail(true);
  const c = p.produce(rec('c'));
  await tick();
  const d = p.produce(rec('d'));
  f.release.shift()!();
  await f.nextRequest();
  f.release.shift()!();
  await assert.rejects(c, /broker down/);
  await assert.rejects(d, /broker down/, 'd was queued behind the failed batch: written now, it would overtake c');
  assert.deepEqual(f.keys().slice(3), [['c'], ['c']]);
});

test('onWritten hears each request that succeeded, with the offsets of its successful attempt; a request that failed for good is not told', async () => {
  const f = fakeProducer();
  const told: [string[], number[]][] = [];
  const onWritten = (records: readonly OutRecord[], offsets: readonly number[]) => told.push([records.map((r) => r.key), [...offsets]]);
  const p = new BatchingProducer(f.producer, { retry: { attempts: 2, delayMs: () => 0, totalMs: 60_000 }, onWritten });
  f.setFail(true);
  const ab = [p.produce(rec('a')), p.produce(rec('b'))];
  await f.nextRequest();
  f.release.shift()!(); // fails once…
  await f.nextRequest();
  f.setFail(false);
  f.release.shift()!(); // …then is written at offsets 0 and 1
  await Promise.all(ab);
  f.setFail(true);
  const c = p.produce(rec('c'));
  for (let i = 0; i < 2; i++) {
    await f.nextRequest();
    f.release.shift()!();
  }
  await assert.rejects(c, /broker down/);
  f.setFail(false);
  const d = p.produce(rec('d'));
  await f.nextRequest();
  f.release.shift()!();
  await d;
  assert.deepEqual(told, [
    [
      ['a', 'b'],
      [0, 1],
    ],
    [['d'], [2]],
  ]);
});

test('a lazy record waits for the next prompt request and rides in it, in call order', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { lazyLingerMs: 60_000 });
  const lazy = p.produceLazy(rec('tombstone'));
  await tick();
  assert.equal(f.requests.length, 0, 'a lazy record alone sends nothing before its linger');
  const prompt = p.produce(rec('message'));
  await tick();
  assert.deepEqual(f.keys(), [['tombstone', 'message']]);
  f.release.shift()!();
  await Promise.all([lazy, prompt]);
});

test('lazy records queued behind a request in flight do not start another request when it ends', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { lazyLingerMs: 60_000 });
  const first = p.produce(rec('a'));
  await tick();
  const lazy = p.produceLazy(rec('t'));
  f.release.shift()!();
  await first;
  await tick();
  assert.equal(f.requests.length, 1);
  assert.equal(p.queued, 1);
  const flushed = p.flush(); // …flush (and so close) still writes it
  await tick();
  assert.deepEqual(f.keys(), [['a'], ['t']]);
  f.release.shift()!();
  await Promise.all([flushed, lazy]);
});

test('a lazy record goes alone once its linger has passed', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { lazyLingerMs: 100 });
  const lazy = p.produceLazy(rec('t'));
  t.mock.timers.tick(99);
  await tick();
  assert.equal(f.requests.length, 0);
  t.mock.timers.tick(1);
  await tick();
  assert.deepEqual(f.keys(), [['t']]);
  f.release.shift()!();
  await lazy;
});

test('a failed request rejects the lazy records queued behind it too', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { lazyLingerMs: 60_000, retry: { attempts: 1, delayMs: () => 0, totalMs: 60_000 } });
  f.setFail(true);
  const a = p.produce(rec('a'));
  await tick();
  const t = p.produceLazy(rec('t'));
  f.release.shift()!();
  await assert.rejects(a, /broker down/);
  await assert.rejects(t, /broker down/);
  assert.equal(p.queued, 0);
});

test('keepForRetry drops records before a retry: they are rejected, the rest are written, and what is behind keeps its place', async () => {
  const f = fakeProducer();
  const asked: string[][] = [];
  const keepForRetry = async (records: readonly OutRecord[]) => {
    asked.push(records.map((r) => r.key));
    return records.map((r) => r.key !== 'gone');
  };
  const p = new BatchingProducer(f.producer, { retry: { attempts: 3, delayMs: () => 0, totalMs: 60_000 }, keepForRetry });
  f.setFail(true);
  const [a, gone] = [p.produce(rec('a')), p.produce(rec('gone'))];
  await f.nextRequest();
  const b = p.produce(rec('b'));
  f.release.shift()!(); // [a, gone] fails…
  await assert.rejects(gone, /broker down/);
  await f.nextRequest();
  f.setFail(false);
  f.release.shift()!(); // …and only a is tried again
  await a;
  await f.nextRequest();
  f.release.shift()!();
  await b;
  assert.deepEqual(asked, [['a', 'gone']]);
  assert.deepEqual(f.keys(), [['a', 'gone'], ['a'], ['b']]);
});

test('a record its writer withdraws is not sent again after a failed attempt, nor at all if still queued; the others go on', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { retry: { attempts: 3, delayMs: () => 0, totalMs: 60_000 } });
  let wantA = true;
  let wantC = true;
  f.setFail(true);
  const a = p.produce(rec('a'), 'presence', () => wantA);
  const b = p.produce(rec('b'));
  await f.nextRequest();
  const c = p.produce(rec('c'), 'presence', () => wantC); // queued behind the failing request
  const d = p.produce(rec('d'));
  wantA = false; // its connection closed while [a, b] waits for its retry
  wantC = false;
  f.release.shift()!();
  await assert.rejects(a, WithdrawnError);
  await f.nextRequest();
  f.setFail(false);
  f.release.shift()!(); // the retry: b alone
  await b;
  await assert.rejects(c, WithdrawnError);
  await f.nextRequest();
  f.release.shift()!();
  await d;
  assert.deepEqual(f.keys(), [['a', 'b'], ['b'], ['d']]);
});

test('a retry with every record dropped sends nothing, and the queue behind goes on', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, {
    retry: { attempts: 3, delayMs: () => 0, totalMs: 60_000 },
    keepForRetry: async (rs) => rs.map(() => false),
  });
  f.setFail(true);
  const a = p.produce(rec('a'));
  await f.nextRequest();
  const b = p.produce(rec('b'));
  f.release.shift()!();
  await assert.rejects(a, /broker down/);
  f.setFail(false);
  await f.nextRequest();
  f.release.shift()!();
  await b;
  assert.deepEqual(f.keys(), [['a'], ['b']]);
});

test('a request Kafka never answers fails at the retry bound, with what queued behind it; failing holds until a request succeeds', async () => {
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { retry: { attempts: 20, delayMs: () => 0, totalMs: 50 } });
  const a = p.produce(rec('a'));
  await tick();
  const b = p.produce(rec('b'));
  await assert.rejects(a, /did not answer/); // the fake holds it: no release
  await assert.rejects(b, /did not answer/);
  assert.equal(p.failing, true);
  const c = p.produce(rec('c'));
  await tick();
  f.release.at(-1)!();
  await c;
  assert.equal(p.failing, false);
  assert.deepEqual(
    f.requests.at(-1)!.map((r) => r.key),
    ['c'],
  );
});

/**
 * A producer with a 4 ms prompt linger on a clock the test moves, after 50 records `gapMs` apart
 * (each sent and answered), so its smoothed gap is ≈ `gapMs`. Timers are mocked.
 */
async function afterRecordsApart(t: TestContext, gapMs: number) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 0;
  const f = fakeProducer();
  const p = new BatchingProducer(f.producer, { lingerMs: 4, now: () => clock });
  for (let i = 0; i < 50; i++) {
    clock += gapMs;
    const done = p.produce(rec(`w${i}`));
    await tick();
    t.mock.timers.tick(4);
    await tick();
    f.release.shift()!();
    await done;
  }
  f.requests.length = 0;
  return { f, p, advance: (ms: number) => (clock += ms) };
}

test('from one prompt record per linger on, a request waits up to the linger for the records of later turns', async (t) => {
  const { f, p, advance } = await afterRecordsApart(t, 1);
  const a = p.produce(rec('a'));
  await tick();
  assert.equal(f.requests.length, 0, 'the first record waits for company');
  advance(1);
  const b = p.produce(rec('b'));
  await tick();
  t.mock.timers.tick(3);
  await tick();
  assert.equal(f.requests.length, 0, 'the linger counts from the first record');
  t.mock.timers.tick(1);
  await tick();
  assert.deepEqual(f.keys(), [['a', 'b']]);
  f.release.shift()!();
  await Promise.all([a, b]);
});

test('below one prompt record per linger, a record does not wait for company', async (t) => {
  const { f, p, advance } = await afterRecordsApart(t, 10);
  advance(10);
  const a = p.produce(rec('a'));
  await tick();
  assert.deepEqual(f.keys(), [['a']]);
  f.release.shift()!();
  await a;
});

test('records that waited out the linger behind a request in flight go as soon as it ends', async (t) => {
  const { f, p, advance } = await afterRecordsApart(t, 1);
  const a = p.produce(rec('a'));
  await tick();
  t.mock.timers.tick(4);
  await tick();
  advance(1);
  const b = p.produce(rec('b'));
  advance(5);
  f.release.shift()!();
  await a;
  await tick();
  assert.deepEqual(f.keys(), [['a'], ['b']]);
  f.release.shift()!();
  await b;
});
