/**
 * Loadgen benchmarks (not tests; run by hand, numbers go in the notes):
 *   1. CPU per encrypted message round trip in the loadgen process (encrypt + send + ack +
 *      receive + decrypt + received/read + both receipts + histogram/ledger records), measured
 *      with process.cpuUsage() over measured intervals → sends per core-second.
 *   2. The largest rate one worker holds without going generator-bound (schedule lag p99 ≤ 10 ms).
 *   3. Memory per idle connected user (identity keys + socket + state), after GC.
 *   4. The sender alone, for comparison with a plain WebSocket load tool: CPU per encrypt + encode +
 *      ws send of one `send` frame (and the same without encryption), one frame per event-loop turn
 *      so each costs its own write syscall, into a stand-in that reads and drops everything.
 *   5. The floor: benchmark 1's frames with nothing else (see floorRoundTrip).
 * The relay is a protocol stand-in (fake-relay.ts) in its own process, so only the loadgen's CPU
 * is counted. Run: node --expose-gc dist/loadgen/bench/loadgen-bench.js [--quick] [--cpu-only | --sender-only | --floor-only]
 * (`--help`: the usage; an unknown option is `error RB_BENCH_ARGS: …`, exit 2, before anything starts)
 * (`--cpu-only`: benchmark 1 alone, e.g. under `--cpu-prof`; `--sender-only`: benchmark 4 alone; `--floor-only`: 5 alone).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import WebSocket from 'ws';
import { FRAME_TYPES, PROTOCOL_VERSION, decodeServerFrame, encodeFrame, nowUs, signToken } from '../../relay/protocol/src/index.js';
import { ConversationSender } from '../src/crypto/conversation.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { createInterface } from 'node:readline';
import { Ledger } from '../src/ledger.js';
import { systemClock } from '../src/rate/clock.js';
import { RelayTarget } from '../src/driver/relay-driver.js';
import { DelayQueue } from '../src/users/delay-queue.js';
import { VirtualUser } from '../src/users/virtual-user.js';
import { LocalWorker } from '../src/worker/local-worker.js';
import { makePlan } from '../src/worker/plan.js';
import type { WorkerResult } from '../src/worker/contract.js';
import { runPaced } from '../src/worker/pacing.js';
import { benchArgs } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node --expose-gc dist/loadgen/bench/loadgen-bench.js [--quick] [--cpu-only | --sender-only | --floor-only]

The loadgen's own costs, against a stand-in for the relay (fake-relay.js, its own process; no Kafka):
  1. CPU per encrypted message round trip in the loadgen process → sends per core-second
  2. the largest rate one worker holds without going generator-bound (schedule-lag p99 ≤ 10 ms)
  3. memory per idle connected user, after GC (node --expose-gc; without it, no GC first)
  4. the sender alone: encrypt + encode + ws send of one send frame, and the same unencrypted
  5. the floor: benchmark 1's frames with nothing else
  --quick         shorter runs and fewer rate steps
  --cpu-only      benchmark 1 alone (e.g. under node --cpu-prof)
  --sender-only   benchmark 4 alone
  --floor-only    benchmark 5 alone
  -h, --help      this text
exit codes: 0 the figures were printed, whatever they are; 1 a benchmark failed; 2 bad arguments.`,
  switches: ['--quick', '--cpu-only', '--sender-only', '--floor-only'],
});

const SECRET = 'bench-secret-0123456789';
const quick = process.argv.includes('--quick');
const cpuOnly = process.argv.includes('--cpu-only');
const senderOnly = process.argv.includes('--sender-only');
const floorOnly = process.argv.includes('--floor-only');

async function startFakeRelay(...args: string[]): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [new URL('./fake-relay.js', import.meta.url).pathname, '--exit-with-stdin', ...args], {
    env: { ...process.env, RELAY_TOKEN_SECRET: SECRET },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
    child.once('exit', (c) => reject(new Error(`fake relay exited ${c}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

interface CpuPerMsg {
  readonly totalUs: number;
  /** The kernel's share (socket writes and reads on loopback): process.cpuUsage().system. */
  readonly systemUs: number;
}

async function runAt(
  url: string,
  ratePerSec: number,
  durationMs: number,
  users: number,
  onCpu?: (perMsg: CpuPerMsg) => void,
): Promise<WorkerResult> {
  const plan = makePlan({
    workerId: `bench${ratePerSec}`,
    userPrefix: `b${Date.now().toString(36)}r${ratePerSec}-u`,
    relays: [url],
    tokenSecret: SECRET,
    routingHint: false,
    startAtMs: Date.now(),
    connectRatePerSec: 5000,
    workload: {
      users,
      ratePerSec,
      durationMs,
      warmupMs: 2000,
      drainMs: 5000,
      arrivals: 'poisson',
      recipients: { kind: 'pairs' },
      sizes: { kind: 'fixed', bytes: 200 },
      readDelayMs: 100,
    },
  });
  const w = new LocalWorker(plan.workerId);
  let last = process.cpuUsage();
  const perMsg: CpuPerMsg[] = [];
  w.onProgress((p) => {
    const now = process.cpuUsage();
    const systemUs = now.system - last.system;
    const cpuUs = now.user - last.user + systemUs;
    last = now;
    if (p.phase === 'measuring' && p.sentPerSec > 0) perMsg.push({ totalUs: cpuUs / p.sentPerSec, systemUs: systemUs / p.sentPerSec }); // intervals are ~1 s
  });
  await w.start(plan);
  const r = await w.result();
  perMsg.sort((a, b) => a.totalUs - b.totalUs);
  if (onCpu !== undefined && perMsg.length > 0) onCpu(perMsg[Math.floor(perMsg.length / 2)]!);
  return r;
}

async function idleMemoryPerUser(url: string, n: number): Promise<{ bytesPerUser: number; rssPerUser: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const target = new RelayTarget({ relays: [url], routingHint: false });
  const deps = {
    target,
    tokenSecret: SECRET,
    ledger: new Ledger(),
    sink: { latency() {}, sent() {}, acked() {}, delivered() {}, error() {} },
    clock: systemClock,
    readQueue: new DelayQueue(0),
    plaintext: () => new Uint8Array(1),
  };
  await settle();
  const before = process.memoryUsage();
  const users = Array.from({ length: n }, (_, i) => new VirtualUser(`idle${Date.now().toString(36)}-${i}`, deps));
  const failures = await runPaced(n, 5000, 64, (i) => users[i]!.connect());
  if (failures.length > 0) throw failures[0]!.error;
  await settle();
  const after = process.memoryUsage();
  const heap = after.heapUsed + after.external + after.arrayBuffers - (before.heapUsed + before.external + before.arrayBuffers);
  await target.close();
  return { bytesPerUser: heap / n, rssPerUser: (after.rss - before.rss) / n };
}

/** CPU µs per `send` frame written by one client socket (see 4. above), encrypted or plain. */
async function senderAlone(url: string, n: number, encrypted: boolean): Promise<{ cpuUs: number; perSec: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await once(ws, 'open');
  const [alice, bob] = [generateIdentity(), generateIdentity()];
  const sender = new ConversationSender({ ownPrivateKey: alice.privateKey, peerPublicKey: bob.publicKey, fromId: 'alice', toId: 'bob' });
  const plaintext = new Uint8Array(200).fill(0x61);
  const plain = { header: new Uint8Array(24), ciphertext: new Uint8Array(216) }; // the sizes of an encrypted one
  const run = async (count: number, from: number) => {
    for (let i = from; i < from + count; i++) {
      const msg = encrypted ? sender.encrypt(plaintext, { sentAtUs: nowUs() }) : plain;
      ws.send(encodeFrame({ t: FRAME_TYPES.send, msgId: `alice:1:${i}`, to: 'bob', header: msg.header, ciphertext: msg.ciphertext }));
      // Next turn, and only once the kernel took the frame: one write syscall per frame, as in the
      // round trip (a sink that falls behind would otherwise let frames queue and leave in one writev).
      do await new Promise(setImmediate);
      while (ws.bufferedAmount > 0);
    }
  };
  await run(5000, 0); // warm-up (JIT)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run(n, 5000);
  const used = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  ws.terminate();
  return { cpuUs: (used.user + used.system) / n, perSec: (n / wallMs) * 1000 };
}

/**
 * 5. The floor of a round trip: the same frames as benchmark 1 through the same stand-in, with
 * everything else taken away — no crypto, no ledger, no histograms, no virtual-user state; one
 * pre-encoded `send`, `received` and `read` per message, replies decoded and dropped. What this
 * costs is what the wire protocol's round trip costs any Node client on this machine.
 */
async function floorRoundTrip(
  url: string,
  ratePerSec: number,
  pairs: number,
  durationMs: number,
): Promise<{ cpuUs: number; systemUs: number; sent: number; receipts: number }> {
  const connect = async (id: string) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await once(ws, 'open');
    ws.send(
      encodeFrame({
        t: FRAME_TYPES.hello,
        v: PROTOCOL_VERSION,
        token: signToken({ sub: id, expMs: Date.now() + 3_600_000 }, SECRET),
        epoch: 1,
      }),
    );
    await once(ws, 'message');
    return ws;
  };
  const tag = Date.now().toString(36);
  const senders: WebSocket[] = [];
  const sockets: WebSocket[] = [];
  const payload = { header: new Uint8Array(24), ciphertext: new Uint8Array(216) }; // the sizes of an encrypted 200-byte message
  const reads: { at: number; ws: WebSocket; msgId: string }[] = [];
  let receipts = 0;
  for (let i = 0; i < pairs; i++) {
    const [a, b] = await Promise.all([connect(`fa${tag}-${i}`), connect(`fb${tag}-${i}`)]);
    a.on('message', (data: Buffer) => {
      const f = decodeServerFrame(data);
      if (f.t === FRAME_TYPES.receipt) receipts++;
    });
    b.on('message', (data: Buffer) => {
      const f = decodeServerFrame(data);
      if (f.t !== FRAME_TYPES.deliver) return;
      b.send(encodeFrame({ t: FRAME_TYPES.received, msgId: f.msgId }));
      reads.push({ at: performance.now() + 100, ws: b, msgId: f.msgId });
    });
    senders.push(a);
    sockets.push(a, b);
  }
  let sent = 0;
  let c0 = process.cpuUsage();
  let measuredFrom = -1;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (reads.length > 0 && reads[0]!.at <= now) {
        const r = reads.shift()!;
        r.ws.send(encodeFrame({ t: FRAME_TYPES.read, msgId: r.msgId }));
      }
      if (measuredFrom < 0 && now - t0 >= 2000) [measuredFrom, c0] = [sent, process.cpuUsage()]; // after a 2 s warm-up
      if (now - t0 >= durationMs + 2000) return resolve();
      for (const due = Math.floor(((now - t0) * ratePerSec) / 1000); sent < due; sent++) {
        const ws = senders[sent % pairs]!;
        ws.send(
          encodeFrame({ t: FRAME_TYPES.send, msgId: `fa${tag}-${sent % pairs}:1:${sent}`, to: `fb${tag}-${sent % pairs}`, ...payload }),
        );
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const used = process.cpuUsage(c0);
  const n = sent - measuredFrom;
  for (const ws of sockets) ws.terminate();
  return { cpuUs: (used.user + used.system) / n, systemUs: used.system / n, sent: n, receipts };
}

const relay = senderOnly ? null : await startFakeRelay();
try {
  // 4. The sender alone (first, in a fresh process: after 3. the heap holds thousands of closed users).
  if (!cpuOnly && !floorOnly) {
    const sinkRelay = await startFakeRelay('--sink');
    try {
      const frames = quick ? 20_000 : 50_000;
      const enc = await senderAlone(sinkRelay.url, frames, true);
      const plain = await senderAlone(sinkRelay.url, frames, false);
      console.log(
        `4. sender alone, one frame per event-loop turn: encrypt + encode + ws send ${enc.cpuUs.toFixed(1)} µs CPU per message (${enc.perSec.toFixed(0)}/s); plain encode + ws send ${plain.cpuUs.toFixed(1)} µs (${plain.perSec.toFixed(0)}/s)`,
      );
    } finally {
      sinkRelay.stop();
    }
  }
  const floor = async () => {
    const f = await floorRoundTrip(relay!.url, 2000, 100, quick ? 5000 : 10_000);
    console.log(
      `5. floor: the round trip's frames alone (no crypto, no ledger, no histograms) at 2000 msg/s: ${f.cpuUs.toFixed(1)} µs CPU per message (kernel ${f.systemUs.toFixed(1)} µs; ${f.sent} sent; ${f.receipts} receipts back, so the whole exchange ran)`,
    );
  };
  if (relay !== null && floorOnly) {
    await floor();
  } else if (relay !== null) {
    process.stderr.write(`fake relay at ${relay.url}\n`);
    // 1. CPU per message at a rate well inside the generator's reach.
    let cpu: CpuPerMsg = { totalUs: Number.NaN, systemUs: Number.NaN };
    const r1 = await runAt(relay.url, 2000, quick ? 5000 : 10_000, 200, (v) => (cpu = v));
    console.log(
      `1. CPU per encrypted message (full round trip incl. ack, ✓✓, read, records) at 2000 msg/s: ${cpu.totalUs.toFixed(1)} µs (kernel ${cpu.systemUs.toFixed(1)} µs) → ${(1e6 / cpu.totalUs).toFixed(0)} messages per core-second (sent ${r1.ledger.sent}, lost ${r1.ledger.lost}, generator-bound ${r1.generatorBound})`,
    );
    if (!cpuOnly) {
      await floor();
      // 2. Largest rate held without going generator-bound.
      let best = 0;
      for (const rate of quick ? [2000, 4000, 6000, 8000] : [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]) {
        const r = await runAt(relay.url, rate, 5000, 400);
        const ok = !r.generatorBound && r.achievedRatePerSec >= 0.95 * rate;
        console.log(
          `2. rate ${rate}/s: achieved ${r.achievedRatePerSec.toFixed(0)}/s, max schedule lag ${(r.maxScheduleLagUs / 1000).toFixed(1)} ms, generator-bound ${r.generatorBound}, delivered ${r.ledger.delivered}/${r.ledger.sent} → ${ok ? 'held' : 'NOT held'}`,
        );
        if (!ok) break;
        best = rate;
      }
      console.log(`2. largest rate held by one worker (one core for the loadgen, the stand-in relay on the other): ${best} msg/s`);
      // 3. Memory per idle connected user.
      const n = quick ? 1000 : 3000;
      const mem = await idleMemoryPerUser(relay.url, n);
      console.log(
        `3. memory per idle connected user (${n} users): ${(mem.bytesPerUser / 1024).toFixed(1)} KiB heap+external, ${(mem.rssPerUser / 1024).toFixed(1)} KiB RSS`,
      );
    }
  }
} finally {
  relay?.stop();
}
