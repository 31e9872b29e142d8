/**
 * Many concurrent users on one machine (not a test):
 *   node dist/bench/benchmarks/connections-bench.js [users=100000] [relays=7] [clientProcs=7] [--steps 5000,15000] [--trickle 20] [--no-gc]
 *
 * The per-process file-descriptor limit here is 20,000 (hard; not raisable in this sandbox), so
 * users are spread over several relay processes (each capped below 20k connections) and several
 * client processes; client sockets are spread over loopback source addresses 127.0.0.1-4 so no
 * (source, destination) pair runs out of ephemeral ports. Each user completes hello → welcome
 * (token checked, presence written to Kafka); then a trickle of messages flows for a while.
 *
 * Reports connection set-up rate and relay memory per connection: RSS delta / connections and
 * V8 heapUsed delta / connections, both after a full GC in every relay (through the inspector,
 * which the relays are started with on loopback unless --no-gc). With --steps the users connect
 * in steps (cumulative totals) and each step is measured, so the marginal cost per connection
 * (the slope between steps, free of one-off warm-up) shows beside the average.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startTestKafka } from '../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../test/helpers/relays.js';
import { TEST_SECRET } from '../../test/helpers/client.js';
import { freePorts } from '../../testbed/process/ports.js';
import { inspectEnv, memoryAfterGc, type ProcessMemory } from '../../testbed/process/inspector-memory.js';
import { FRAME_TYPES, PROTOCOL_VERSION, decodeServerFrame, encodeFrame, signToken } from '../../relay/protocol/src/index.js';
import { benchArgs, benchPositionals, type BenchArgsSpec } from '../../testbed/bench/args.js';

const ARGS: BenchArgsSpec = {
  usage: `usage: node dist/bench/benchmarks/connections-bench.js [users=100000] [relays=7] [clientProcs=7] [--steps 5000,15000] [--trickle 20] [--no-gc]

Many concurrent users on one machine: users spread over several relay processes and client
processes (the per-process fd limit), connected in steps, then held while a trickle of messages
flows; per step it reports connections, memory and CPU of relays and clients.
  users, relays, clientProcs   positionals (defaults 100000, 7, 7)
  --steps LIST                 user counts to stop and measure at (comma-separated)
  --trickle S                  seconds of message trickle per step (default 20)
  --no-gc                      do not force a GC before each memory sample
  -h, --help                   this text
exit codes: 0 ran (figures reported); 1 the benchmark failed; 2 bad arguments.`,
  valued: ['--steps', '--trickle'],
  switches: ['--no-gc'],
  positionals: 3,
  numeric: [0, 1, 2],
  internal: ['--child'],
};
benchArgs(ARGS);

const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

interface ChildTask {
  readonly index: number;
  readonly relays: readonly string[];
}

type ToChild = { kind: 'connect'; upTo: number } | { kind: 'trickle'; seconds: number };
interface Connected {
  kind: 'connected';
  connected: number;
  failed: number;
  /** Close codes seen before welcome (retried attempts included). */
  closeCodes: Record<string, number>;
  setupSeconds: number;
}
interface Done {
  kind: 'done';
  sent: number;
  delivered: number;
  open: number;
}

/** A client process's users: their sockets and what they have counted so far. */
interface ChildState {
  readonly task: ChildTask;
  readonly sockets: WebSocket[];
  connected: number;
  failed: number;
  delivered: number;
  readonly closeCodes: Map<number, number>;
}

function helloFrame(user: string): Uint8Array {
  return encodeFrame({
    t: FRAME_TYPES.hello,
    v: PROTOCOL_VERSION,
    token: signToken({ sub: user, expMs: Date.now() + 3_600_000 }, TEST_SECRET),
    epoch: Date.now(),
  });
}

/** Connects user `i` until welcomed or its retries run out; resolves either way. */
function connectOne(state: ChildState, i: number, attempt = 0): Promise<void> {
  return new Promise<void>((resolve) => {
    const { task, closeCodes } = state;
    const user = `c${task.index}u${i}`;
    const ws = new WebSocket(task.relays[i % task.relays.length]!, {
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
      localAddress: SOURCES[i % SOURCES.length]!,
    });
    let welcomed = false;
    // A connection closed before welcome (e.g. the relay's 10 s hello timeout on an overloaded
    // machine) is retried like a client would (3 times, backoff with jitter), then counted as
    // failed — never a hang that stalls the step.
    ws.on('close', (code: number) => {
      if (welcomed) return;
      closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
      if (attempt >= 3) {
        state.failed++;
        return resolve();
      }
      setTimeout(() => void connectOne(state, i, attempt + 1).then(resolve), 500 * 2 ** attempt * (0.5 + Math.random()));
    });
    ws.on('open', () => ws.send(helloFrame(user)));
    ws.on('message', (data: Buffer) => {
      const f = decodeServerFrame(new Uint8Array(data));
      if (f.t === FRAME_TYPES.welcome) {
        welcomed = true;
        state.connected++;
        resolve();
      } else if (f.t === FRAME_TYPES.deliver) {
        state.delivered++;
        ws.send(encodeFrame({ t: FRAME_TYPES.received, msgId: f.msgId }));
      }
    });
    ws.on('error', () => {}); // followed by 'close', which counts it
    state.sockets[i] = ws;
  });
}

/** Connects users up to `upTo`; returns the seconds it took. */
async function connectUpTo(state: ChildState, upTo: number): Promise<number> {
  const t0 = performance.now();
  let next = state.sockets.length;
  // Bounded concurrency: 256 handshakes in flight per process.
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < upTo) await connectOne(state, next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Sends the trickle for `seconds`, waits 2 s for the last deliveries; returns how many were sent. */
async function trickle(state: ChildState, seconds: number): Promise<number> {
  const { task, sockets } = state;
  // 1% of users send one message per second to a neighbour in this process.
  const users = sockets.length;
  let sent = 0;
  const senders = Math.max(1, Math.floor(users / 100));
  const timer = setInterval(() => {
    for (let s = 0; s < senders; s++) {
      const i = (s * 97) % users;
      const ws = sockets[i]!;
      if (ws.readyState !== WebSocket.OPEN) continue;
      ws.send(
        encodeFrame({
          t: FRAME_TYPES.send,
          msgId: `c${task.index}u${i}:1:${++sent}`,
          to: `c${task.index}u${(i + 1) % users}`,
          header: new Uint8Array(24),
          ciphertext: new Uint8Array(64),
        }),
      );
    }
  }, 1000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 2000));
  return sent;
}

async function child(task: ChildTask): Promise<void> {
  const state: ChildState = { task, sockets: [], connected: 0, failed: 0, delivered: 0, closeCodes: new Map() };
  const { sockets } = state;
  process.on('message', (m: ToChild) => {
    if (m.kind === 'connect') {
      void connectUpTo(state, m.upTo).then((setupSeconds) =>
        process.send!({
          kind: 'connected',
          connected: state.connected,
          failed: state.failed,
          closeCodes: Object.fromEntries(state.closeCodes),
          setupSeconds,
        } satisfies Connected),
      );
    } else {
      void trickle(state, m.seconds).then((sent) => {
        process.send!(
          {
            kind: 'done',
            sent,
            delivered: state.delivered,
            open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
          } satisfies Done,
          () => {
            for (const ws of sockets) ws.terminate();
            process.exit(0);
          },
        );
      });
    }
  });
}

type Memory = Pick<ProcessMemory, 'rss' | 'heapUsed'>;

/** Without the inspector: the relay's own /metrics (no GC, so garbage counts too). */
async function memoryFromMetrics(relay: RelayProcess): Promise<Memory> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? 'NaN');
  return { rss: num('process_resident_memory_bytes'), heapUsed: num('nodejs_heap_size_used_bytes') };
}

function parseArgs(argv: string[]) {
  const positional = benchPositionals(ARGS, argv);
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const users = Number(positional[0] ?? 100_000);
  const steps = (flag('--steps') ?? String(users)).split(',').map(Number);
  if (steps.some((s) => !Number.isInteger(s) || s <= 0) || steps.some((s, i) => i > 0 && s <= steps[i - 1]!))
    throw new Error('--steps: increasing positive totals, e.g. 5000,15000');
  return {
    steps,
    relayCount: Number(positional[1] ?? 7),
    procs: Number(positional[2] ?? 7),
    trickleSeconds: Number(flag('--trickle') ?? 20),
    gc: !argv.includes('--no-gc'),
  };
}

/** The relays under test and how their memory is read. */
interface Bench {
  readonly relays: readonly RelayProcess[];
  readonly relayCount: number;
  readonly gc: boolean;
  readonly measure: () => Promise<Memory[]>;
  /** Memory of the idle relays, before any user. */
  readonly before: Memory[];
}

const sum = (ms: Memory[], k: keyof Memory) => ms.reduce((s, m) => s + m[k], 0);
const kib = (bytes: number, n: number) => (n > 0 ? (bytes / n / 1024).toFixed(2) : 'n/a');

/** Starts the relays into `relays` (so the caller's cleanup stops them), returns their inspector ports (none without GC). */
async function startRelays(brokers: readonly string[], relayCount: number, gc: boolean, relays: RelayProcess[]): Promise<number[]> {
  const inspectPorts = gc ? await freePorts(relayCount) : [];
  for (let i = 0; i < relayCount; i++) {
    // Keepalive pings every 2 min (a mobile messenger's order of magnitude) instead of 15 s: with
    // 100k sockets in 7 client processes on 2 cores, a client can answer a ping later than 15 s
    // and the relay would terminate live connections as dead.
    const env = { RELAY_HEARTBEAT_MS: '120000', ...(gc ? inspectEnv(inspectPorts[i]!) : {}) };
    relays.push(await startRelayProcess(brokers, { gatewayId: `c${i}`, args: ['--max-connections', '19500'], env }));
  }
  await waitAllReady(relays, 120_000);
  return inspectPorts;
}

/** Sends `message` to every child and waits for each one's reply. */
function askChildren<T>(children: ChildProcess[], message: ToChild): Promise<T[]> {
  return Promise.all(
    children.map((c) => {
      const reply = new Promise<T>((r) => c.once('message', (m) => r(m as T)));
      c.send(message);
      return reply;
    }),
  );
}

function closeCodesNote(replies: Connected[]): string {
  const codes = new Map<string, number>();
  for (const m of replies) for (const [c, n] of Object.entries(m.closeCodes)) codes.set(c, (codes.get(c) ?? 0) + n);
  return codes.size === 0 ? '' : `; closes before welcome, retried: ${[...codes].map(([c, n]) => `${c}×${n}`).join(', ')}`;
}

/** Prints the relays' memory after a step, in total and per connection; returns it. */
async function printStepMemory(bench: Bench, total: number, added: number, previous: { total: number; mem: Memory[] }): Promise<Memory[]> {
  const { relays, relayCount, gc, before } = bench;
  if (gc) {
    // Also as a scrape would see it (garbage included), comparable with runs without --inspect.
    const raw = await Promise.all(relays.map(memoryFromMetrics));
    console.log(
      `  relay memory (before GC, from /metrics): RSS ${(sum(raw, 'rss') / 2 ** 20).toFixed(0)} MiB, heap ${(sum(raw, 'heapUsed') / 2 ** 20).toFixed(0)} MiB → RSS ${kib(sum(raw, 'rss') - sum(before, 'rss'), total)} KiB per connection`,
    );
  }
  const after = await bench.measure();
  console.log(
    `  relay memory (${gc ? 'after GC' : 'no GC'}): RSS ${(sum(after, 'rss') / 2 ** 20).toFixed(0)} MiB, heap ${(sum(after, 'heapUsed') / 2 ** 20).toFixed(0)} MiB over ${relayCount} relays`,
  );
  console.log(
    `  per connection, average since idle: RSS ${kib(sum(after, 'rss') - sum(before, 'rss'), total)} KiB, heapUsed ${kib(sum(after, 'heapUsed') - sum(before, 'heapUsed'), total)} KiB`,
  );
  if (previous.total > 0) {
    console.log(
      `  per connection, marginal (${previous.total} → ${total}): RSS ${kib(sum(after, 'rss') - sum(previous.mem, 'rss'), added)} KiB, heapUsed ${kib(sum(after, 'heapUsed') - sum(previous.mem, 'heapUsed'), added)} KiB`,
    );
  }
  return after;
}

/** Prints the connections the relays hold now and the memory per open connection. */
async function printOpenConnections(bench: Bench, total: number, after: Memory[]): Promise<void> {
  const { relays, relayCount, before } = bench;
  const conns = await Promise.all(
    relays.map(async (r) =>
      Number(/^relay_connections\{[^}]*\} (\d+)/m.exec(await (await fetch(`${r.httpUrl}/metrics`)).text())?.[1] ?? 0),
    ),
  );
  const live = conns.reduce((a, b) => a + b, 0);
  console.log(
    `  open at the relays now: ${live} (welcomed ${total}); per open connection: RSS ${kib(sum(after, 'rss') - sum(before, 'rss'), live)} KiB, heapUsed ${kib(sum(after, 'heapUsed') - sum(before, 'heapUsed'), live)} KiB`,
  );
  if (relayCount > 1) {
    console.log(
      `  by relay: ${relays.map((r, i) => `${r.gatewayId} ${conns[i]} conns, ${kib(after[i]!.rss - before[i]!.rss, conns[i]!)} KiB RSS/conn`).join('; ')}`,
    );
  }
}

/** Connects the users up to `step`, prints what it measured; returns the step's total and memory. */
async function runStep(
  bench: Bench,
  children: ChildProcess[],
  step: number,
  previous: { total: number; mem: Memory[] },
): Promise<{ total: number; mem: Memory[] }> {
  const per = Math.ceil(step / children.length);
  const t0 = performance.now();
  const replies = await askChildren<Connected>(children, { kind: 'connect', upTo: per });
  const wall = (performance.now() - t0) / 1000;
  const total = replies.reduce((s, m) => s + m.connected, 0);
  const failed = replies.reduce((s, m) => s + m.failed, 0);
  const added = total - previous.total;
  await new Promise((r) => setTimeout(r, 3000));
  console.log(
    `\nstep ${step}: ${total} users connected (failed after 3 retries: ${failed}${closeCodesNote(replies)}); +${added} in ${wall.toFixed(1)} s → ${(added / wall).toFixed(0)} connections/s (hello → welcome, presence durable)`,
  );
  const after = await printStepMemory(bench, total, added, previous);
  await printOpenConnections(bench, total, after);
  return { total, mem: after };
}

async function parent(): Promise<void> {
  const { steps, relayCount, procs, trickleSeconds, gc } = parseArgs(process.argv.slice(2));
  const kafka = await startTestKafka(1);
  const relays: RelayProcess[] = [];
  const children: ChildProcess[] = [];
  try {
    const inspectPorts = await startRelays(kafka.brokers, relayCount, gc, relays);
    const measure = () => Promise.all(relays.map((r, i) => (gc ? memoryAfterGc(inspectPorts[i]!) : memoryFromMetrics(r))));
    const before = await measure();
    console.log(
      `relays idle (${gc ? 'after GC' : 'no GC'}): RSS ${(sum(before, 'rss') / 2 ** 20).toFixed(0)} MiB, heap ${(sum(before, 'heapUsed') / 2 ** 20).toFixed(0)} MiB over ${relayCount} relays`,
    );
    const urls = relays.map((r) => r.url);
    for (let index = 0; index < procs; index++) {
      children.push(
        fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify({ index, relays: urls } satisfies ChildTask)], {
          stdio: 'inherit',
        }),
      );
    }
    const bench: Bench = { relays, relayCount, gc, measure, before };
    let previous: { total: number; mem: Memory[] } = { total: 0, mem: before };
    for (const step of steps) previous = await runStep(bench, children, step, previous);
    if (trickleSeconds > 0) {
      const done = await askChildren<Done>(children, { kind: 'trickle', seconds: trickleSeconds });
      console.log(
        `\ntrickle ${trickleSeconds} s: sent ${done.reduce((s, d) => s + d.sent, 0)}, delivered ${done.reduce((s, d) => s + d.delivered, 0)}, sockets still open ${done.reduce((s, d) => s + d.open, 0)}`,
      );
    }
  } finally {
    for (const c of children) c.kill();
    await Promise.all(relays.map((r) => r.stop()));
    await kafka.stop();
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]!) as ChildTask);
else await parent();
