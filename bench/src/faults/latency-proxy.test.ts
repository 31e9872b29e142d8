// LatencyProxy over loopback sockets with a fake clock: bytes wait for the clock, not for time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { DelayClock } from './delay-queue.js';
import { LatencyProxy } from './latency-proxy.js';

class FakeClock implements DelayClock {
  t = 0;
  readonly timers: { at: number; fn: () => void }[] = [];
  now() {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const x = { at: this.t + ms, fn };
    this.timers.push(x);
    return x;
  }
  clearTimer(h: unknown) {
    const i = this.timers.indexOf(h as { at: number; fn: () => void });
    if (i >= 0) this.timers.splice(i, 1);
  }
  advance(ms: number) {
    this.t += ms;
    for (const x of [...this.timers].sort((a, b) => a.at - b.at)) {
      if (x.at > this.t) continue;
      this.clearTimer(x);
      x.fn();
    }
  }
}

async function echoBehindProxy(clock: FakeClock) {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const proxy = new LatencyProxy({ clock });
  const port = await proxy.listen();
  proxy.setUpstream('127.0.0.1', (echo.address() as AddressInfo).port);
  const client = connect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  const got: string[] = [];
  client.on('data', (d: Buffer) => got.push(d.toString()));
  const close = async () => {
    client.destroy();
    await proxy.close();
    await new Promise<void>((r) => echo.close(() => r()));
  };
  return { proxy, client, got, close };
}

/** Lets the event loop run I/O a few times (no clock involved). */
const ioTurns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

async function until(got: string[], text: string, client: Socket) {
  while (got.join('') !== text) await once(client, 'data');
}

test('without latency the proxy is a pass-through', async () => {
  const clock = new FakeClock();
  const { client, got, close } = await echoBehindProxy(clock);
  client.write('hello');
  await until(got, 'hello', client);
  await close();
});

test('to-relay latency holds bytes until the clock reaches their due time, in order', async () => {
  const clock = new FakeClock();
  const { proxy, client, got, close } = await echoBehindProxy(clock);
  proxy.setLatency('f0', { delayMs: 2, jitterMs: 0, direction: 'to-relay' });
  client.write('a');
  await ioTurns();
  client.write('b');
  await ioTurns();
  assert.equal(got.join(''), '', 'nothing before the clock moves');
  assert.equal(clock.timers.length, 1, 'one timer: the head of the queue');
  clock.advance(2);
  await until(got, 'ab', client);
  proxy.setLatency('f0', null);
  client.write('c');
  await until(got, 'abc', client);
  await close();
});

test('overlapping latencies add up per direction; removing one keeps the other', () => {
  const proxy = new LatencyProxy({ clock: new FakeClock() });
  proxy.setLatency('a', { delayMs: 2, jitterMs: 0, direction: 'to-relay' });
  proxy.setLatency('b', { delayMs: 5, jitterMs: 1, direction: 'both' });
  assert.deepEqual(proxy.effective('to-relay'), { delayMs: 7, jitterMs: 1 });
  assert.deepEqual(proxy.effective('to-client'), { delayMs: 5, jitterMs: 1 });
  proxy.setLatency('b', null);
  assert.deepEqual(proxy.effective('to-relay'), { delayMs: 2, jitterMs: 0 });
  assert.equal(proxy.effective('to-client'), null);
});
