/**
 * 100k concurrent users on one machine (not a test):
 *   node dist/bench/benchmarks/connections-bench.js [users=100000] [relays=7] [clientProcs=7]
 *
 * The per-process file-descriptor limit here is 20,000 (hard; not raisable in this sandbox), so
 * users are spread over several relay processes (each capped below 20k connections) and several
 * client processes; client sockets are spread over loopback source addresses 127.0.0.1-4 so no
 * (source, destination) pair runs out of ephemeral ports. Each user completes hello → welcome
 * (token checked, presence written to Kafka); then a trickle of messages flows for a while.
 * Reports: connection set-up rate, relay memory per connection (RSS delta / connections, from
 * each relay's process_resident_memory_bytes), and trickle delivery.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startTestKafka } from '../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../test/helpers/relays.js';
import { TEST_SECRET } from '../../test/helpers/client.js';
import { FRAME_TYPES, PROTOCOL_VERSION, decodeServerFrame, encodeFrame, signToken } from '../../relay/protocol/src/index.js';

const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

interface ChildTask {
  readonly index: number;
  readonly users: number;
  readonly relays: readonly string[];
  readonly trickleSeconds: number;
}

async function child(task: ChildTask): Promise<void> {
  const sockets: WebSocket[] = [];
  let connected = 0;
  let failed = 0;
  let delivered = 0;
  const t0 = performance.now();
  const connectOne = (i: number) =>
    new Promise<void>((resolve) => {
      const user = `c${task.index}u${i}`;
      const ws = new WebSocket(task.relays[i % task.relays.length]!, { perMessageDeflate: false, localAddress: SOURCES[i % SOURCES.length]! });
      ws.on('open', () => ws.send(encodeFrame({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: signToken({ sub: user, expMs: Date.now() + 3_600_000 }, TEST_SECRET), epoch: Date.now() })));
      ws.on('message', (data: Buffer) => {
        const f = decodeServerFrame(new Uint8Array(data));
        if (f.t === FRAME_TYPES.welcome) {
          connected++;
          resolve();
        } else if (f.t === FRAME_TYPES.deliver) {
          delivered++;
          ws.send(encodeFrame({ t: FRAME_TYPES.received, msgId: f.msgId }));
        }
      });
      ws.on('error', () => {
        failed++;
        resolve();
      });
      sockets.push(ws);
    });
  // Bounded concurrency: 256 handshakes in flight per process.
  let next = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < task.users) await connectOne(next++);
    }),
  );
  const setupSeconds = (performance.now() - t0) / 1000;
  process.send!({ kind: 'connected', connected, failed, setupSeconds });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  // Trickle: 1% of users send one message per second to a neighbour in this process.
  let sent = 0;
  const senders = Math.max(1, Math.floor(task.users / 100));
  const timer = setInterval(() => {
    for (let s = 0; s < senders; s++) {
      const i = (s * 97) % task.users;
      const ws = sockets[i]!;
      if (ws.readyState !== WebSocket.OPEN) continue;
      ws.send(encodeFrame({ t: FRAME_TYPES.send, msgId: `c${task.index}u${i}:1:${++sent}`, to: `c${task.index}u${(i + 1) % task.users}`, header: new Uint8Array(24), ciphertext: new Uint8Array(64) }));
    }
  }, 1000);
  await new Promise((r) => setTimeout(r, task.trickleSeconds * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 2000));
  process.send!({ kind: 'done', sent, delivered, open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length });
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}

async function rss(relay: RelayProcess): Promise<number> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

async function parent(): Promise<void> {
  const users = Number(process.argv[2] ?? 100_000);
  const relayCount = Number(process.argv[3] ?? 7);
  const procs = Number(process.argv[4] ?? 7);
  const kafka = await startTestKafka(1);
  const relays: RelayProcess[] = [];
  try {
    for (let i = 0; i < relayCount; i++) relays.push(await startRelayProcess(kafka.brokers, { gatewayId: `c${i}`, args: ['--max-connections', '19500'] }));
    await waitAllReady(relays, 120_000);
    const before = await Promise.all(relays.map(rss));
    const urls = relays.map((r) => r.url);
    const per = Math.ceil(users / procs);
    const children = Array.from({ length: procs }, (_, index) =>
      fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify({ index, users: per, relays: urls, trickleSeconds: 20 } satisfies ChildTask)], { stdio: 'inherit' }),
    );
    const t0 = performance.now();
    const connectedMsgs = await Promise.all(children.map((c) => new Promise<{ connected: number; failed: number; setupSeconds: number }>((r) => c.once('message', (m) => r(m as never)))));
    const wall = (performance.now() - t0) / 1000;
    const total = connectedMsgs.reduce((s, m) => s + m.connected, 0);
    const failed = connectedMsgs.reduce((s, m) => s + m.failed, 0);
    await new Promise((r) => setTimeout(r, 3000));
    const after = await Promise.all(relays.map(rss));
    const delta = after.reduce((s, v, i) => s + v - before[i]!, 0);
    console.log(`connected ${total} users (failed ${failed}) in ${wall.toFixed(1)} s → ${(total / wall).toFixed(0)} connections/s (hello → welcome, presence durable)`);
    console.log(`relay RSS: ${(after.reduce((s, v) => s + v, 0) / 2 ** 20).toFixed(0)} MiB over ${relayCount} relays; +${(delta / 2 ** 20).toFixed(0)} MiB for the connections → ${(delta / total / 1024).toFixed(2)} KiB per connection`);
    for (const c of children) c.send('trickle');
    const done = await Promise.all(children.map((c) => new Promise<{ sent: number; delivered: number; open: number }>((r) => c.once('message', (m) => r(m as never)))));
    console.log(`trickle: sent ${done.reduce((s, d) => s + d.sent, 0)}, delivered ${done.reduce((s, d) => s + d.delivered, 0)}, sockets still open ${done.reduce((s, d) => s + d.open, 0)}`);
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    await kafka.stop();
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]!) as ChildTask);
else await parent();
