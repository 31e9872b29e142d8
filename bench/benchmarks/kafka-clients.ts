/**
 * Kafka clients side by side (a benchmark, not a test):
 *   node dist/bench/benchmarks/kafka-clients.js [--clients kafkajs,platformatic,confluent]
 *     [--rate 200] [--seconds 20] [--rounds 3] [--clients-from DIR]
 *
 * Issue 12 asks whether a second client behind relay/kafka's interface would beat kafkajs. This
 * answers the first half of that question without the relay in the way: each client runs the
 * relay's own Kafka pattern alone — one idempotent acks=all producer that keeps one request in
 * flight (records queued meanwhile go together, as the relay's BatchingProducer does), and one
 * group consumer, no commits, minBytes 1, maxWait 200 ms, on one partition of a fresh topic —
 * at an open-loop rate, in its own process, on one local broker started for the benchmark.
 * Per client and round: the client process's CPU and context switches per record, the broker's
 * (its JVM, `/proc`), and the latency from the record's intended send time to its ack and to its
 * arrival at the consumer (HdrHistogram, wrk2's rule). Rounds interleave the clients, rotating
 * the order, because this host's noise between runs minutes apart is as large as the effects.
 *
 * kafkajs and @platformatic/kafka run through the relay's own adapters (relay/kafka: the
 * platformatic one is the relays' default). librdkafka's client is not a relaybench dependency:
 * install it anywhere and point --clients-from there,
 *   CKJS_LINKING=dynamic npm i --prefix /tmp/kafka-clients @confluentinc/kafka-javascript@1.10.1
 * (it builds librdkafka: apt libzstd-dev libsasl2-dev libcurl4-openssl-dev liblz4-dev).
 * When it is not installed it is skipped with the command that installs it.
 * On 2 shared cores take the machine lock first (`rb-heavy node …`). Exit 0 when every client
 * ran (the figures are reported, not judged), 1 when one failed or none is installed, 2 on bad
 * arguments.
 */
import { benchArgs } from '../../testbed/bench/args.js';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { KAFKA_CLIENTS, type KafkaClientName } from '../../relay/kafka/src/index.js';
import { readProcSample, readThreadSwitches, type ProcSample } from '../src/resources/proc-stat.js';
import { startTestKafka } from '../../test/helpers/kafka.js';

const CLIENTS = ['kafkajs', 'platformatic', 'confluent'] as const;
type ClientName = (typeof CLIENTS)[number];
const WARM_UP_S = 5;
const VALUE = Buffer.alloc(300, 7); // about a relayed message's ciphertext envelope

/** The clients that are not relaybench's dependencies: their package and how to install it. */
const OPTIONAL = {
  confluent: {
    name: '@confluentinc/kafka-javascript',
    install: 'CKJS_LINKING=dynamic npm i --prefix DIR @confluentinc/kafka-javascript@1.10.1',
  },
} as const;

/** What each client must do: the relay's produce and consume pattern, nothing else. */
interface ClientUnderTest {
  send(keys: readonly string[]): Promise<void>;
  consume(onKey: (key: string) => void): Promise<void>;
  close(): Promise<void>;
}

interface Target {
  readonly brokers: string[];
  readonly topic: string;
  readonly clientsFrom: string | undefined;
}

// ---- the clients ---------------------------------------------------------------------------

/** Where an optional client's package is, from --clients-from or the project; throws when it is not installed. */
function resolveOptional(client: keyof typeof OPTIONAL, from: string | undefined): string {
  return createRequire(from !== undefined ? join(resolve(from), 'noop.js') : import.meta.url).resolve(OPTIONAL[client].name);
}

async function loadOptional(client: keyof typeof OPTIONAL, from: string | undefined): Promise<Record<string, unknown>> {
  const mod = (await import(pathToFileURL(resolveOptional(client, from)).href)) as Record<string, unknown>;
  return (mod.default as Record<string, unknown> | undefined) ?? mod;
}

/** A client through the relay's own adapter: what the relays run. */
async function adapterClient(name: KafkaClientName, t: Target): Promise<ClientUnderTest> {
  const adapter = KAFKA_CLIENTS[name]({ brokers: t.brokers, clientId: `bench-${name}` });
  const producer = await adapter.producer();
  const consumer = adapter.consumer({ groupId: `${t.topic}-g`, topics: [t.topic], fromBeginning: true, maxWaitMs: 200 });
  return {
    send: async (keys) => {
      await producer.send(keys.map((key) => ({ topic: t.topic, partition: 0, key, value: VALUE })));
    },
    consume: (onKey) =>
      consumer.start({
        onBatch: async (records) => {
          for (const r of records) if (r.key !== null) onKey(r.key);
        },
      }),
    close: async () => {
      await consumer.stop();
      await producer.close();
    },
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- an optional package, typed where it is not installed */
async function confluentClient(t: Target): Promise<ClientUnderTest> {
  const { KafkaJS }: any = await loadOptional('confluent', t.clientsFrom);
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: t.brokers, clientId: 'bench-confluent', logLevel: KafkaJS.logLevel.NOTHING } });
  // linger 0 and fetch.wait.max.ms 200: the relay's settings (librdkafka lingers 5 ms by default).
  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 }, 'linger.ms': 0 });
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `${t.topic}-g`, fromBeginning: true, autoCommit: false },
    'fetch.wait.max.ms': 200,
    'fetch.min.bytes': 1,
  });
  await producer.connect();
  return {
    send: (keys) => producer.send({ topic: t.topic, messages: keys.map((key) => ({ key, value: VALUE, partition: 0 })) }),
    consume: async (onKey) => {
      await consumer.connect();
      await consumer.subscribe({ topics: [t.topic] });
      await consumer.run({ eachMessage: async ({ message }: any) => onKey(message.key.toString()) });
    },
    close: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const OPEN: Record<ClientName, (t: Target) => Promise<ClientUnderTest>> = {
  kafkajs: (t) => adapterClient('kafkajs', t),
  platformatic: (t) => adapterClient('platformatic', t),
  confluent: confluentClient,
};

// ---- one client's run (a child process) ------------------------------------------------------

interface ChildResult {
  readonly records: number;
  readonly lost: number;
  readonly cpuUs: number;
  readonly switches: number;
  readonly ackP50: number;
  readonly ackP99: number;
  readonly e2eP50: number;
  readonly e2eP99: number;
}

/** One request in flight; what queues meanwhile goes together (the relay's BatchingProducer). */
function batchingSender(client: ClientUnderTest, onAcked: (keys: readonly string[]) => void): (key: string) => void {
  let queue: string[] = [];
  let inFlight = false;
  const drain = async () => {
    inFlight = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      await client.send(batch);
      onAcked(batch);
    }
    inFlight = false;
  };
  return (key) => {
    queue.push(key);
    if (!inFlight) drain().catch((e: unknown) => fail(e));
  };
}

function fail(e: unknown): never {
  process.stderr.write(`kafka-clients: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}

/** Builds a histogram of µs, 1 µs to 60 s. */
const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

async function child(name: ClientName, t: Target, rate: number, seconds: number): Promise<void> {
  const client = await OPEN[name](t);
  /** Every record's intended send time (a run is at most tens of thousands of records). */
  const intended = new Map<string, number>();
  /** Records sent inside the measured window, until they arrive; until they are acked. */
  const [measured, unacked] = [new Set<string>(), new Set<string>()];
  const [ack, e2e] = [histogram(), histogram()];
  const usSince = (key: string) => Math.max(1, Math.round((performance.now() - intended.get(key)!) * 1000));
  await client.consume((key) => {
    if (measured.delete(key)) e2e.recordValue(usSince(key));
  });
  const send = batchingSender(client, (keys) => {
    for (const k of keys) if (unacked.delete(k)) ack.recordValue(usSince(k));
  });
  await new Promise((r) => setTimeout(r, 3000)); // the group join settles
  const window = await openLoop(rate, seconds, (key, at, inWindow) => {
    intended.set(key, at);
    if (inWindow) {
      measured.add(key);
      unacked.add(key);
    }
    send(key);
  });
  await new Promise((r) => setTimeout(r, 1000)); // the window's last records arrive
  const sent = window.sent;
  const result: ChildResult = {
    records: sent,
    lost: measured.size,
    cpuUs: window.cpuUs / sent,
    switches: window.switches / sent,
    ackP50: ack.getValueAtPercentile(50) / 1000,
    ackP99: ack.getValueAtPercentile(99) / 1000,
    e2eP50: e2e.getValueAtPercentile(50) / 1000,
    e2eP99: e2e.getValueAtPercentile(99) / 1000,
  };
  process.send!({ phase: 'result', result });
  await client.close();
  process.exit(0);
}

/**
 * Sends at `rate` from intended times (a late tick sends everything due), warms up WARM_UP_S,
 * then measures this process's CPU and switches for `seconds`, telling the parent when the
 * window opens and closes (it samples the broker then).
 */
async function openLoop(
  rate: number,
  seconds: number,
  emit: (key: string, intendedMs: number, inWindow: boolean) => void,
): Promise<{ sent: number; cpuUs: number; switches: number }> {
  const intervalMs = 1000 / rate;
  const t0 = performance.now();
  let i = 0;
  let sent = 0;
  let start: { cpu: NodeJS.CpuUsage; switches: number } | undefined;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      for (; t0 + i * intervalMs <= now; i++) {
        emit(`k${i}`, t0 + i * intervalMs, start !== undefined);
        if (start !== undefined) sent++;
      }
      const elapsedS = (now - t0) / 1000;
      if (start === undefined && elapsedS >= WARM_UP_S) {
        process.send!({ phase: 'start' });
        start = { cpu: process.cpuUsage(), switches: readThreadSwitches(process.pid) ?? 0 };
      }
      if (elapsedS >= WARM_UP_S + seconds) return done();
      setTimeout(tick, Math.max(0, t0 + i * intervalMs - performance.now()));
    };
    tick();
  });
  const cpu = process.cpuUsage(start!.cpu);
  const switches = (readThreadSwitches(process.pid) ?? 0) - start!.switches;
  process.send!({ phase: 'end' });
  return { sent, cpuUs: cpu.user + cpu.system, switches };
}

// ---- the parent: a broker, the rounds, the table ---------------------------------------------

interface Options {
  readonly clients: ClientName[];
  readonly rate: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly clientsFrom: string | undefined;
}

const USAGE = `usage: node dist/bench/benchmarks/kafka-clients.js [options]

The relay's Kafka pattern (one idempotent acks=all producer, one request in flight; one group
consumer, no commits) with each client alone, on a local broker it starts: CPU and switches per
record of the client and of the broker, ack and end-to-end latency (p50/p99 from the intended
send time), records lost. Rounds interleave the clients.

options:
  --clients LIST      comma-separated, of ${CLIENTS.join(', ')} (default: all)
  --rate N            records per second, open loop (default 200)
  --seconds N         measured seconds per run, after a ${WARM_UP_S} s warm-up (default 20)
  --rounds N          runs per client (default 3)
  --clients-from DIR  where @confluentinc/kafka-javascript is installed (npm i --prefix DIR …);
                      not found: skipped
  -h, --help          this text

exit codes: 0 every client ran; 1 a client failed or none is installed; 2 bad arguments.`;

function parseOptions(argv: string[]): Options {
  const value = (flag: string, fallback: string) => flagValue(argv, flag) ?? fallback;
  const clients = value('--clients', CLIENTS.join(',')).split(',');
  const bad = clients.filter((c) => !(CLIENTS as readonly string[]).includes(c));
  const [rate, seconds, rounds] = [Number(value('--rate', '200')), Number(value('--seconds', '20')), Number(value('--rounds', '3'))];
  if (bad.length > 0 || !(rate > 0) || !(seconds > 0) || !Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(
      `error RB_BENCH_ARGS: kafka-clients: ${bad.length > 0 ? `unknown client ${bad.join(', ')}` : 'rate, seconds and rounds must be positive'}.\n${USAGE}\n`,
    );
    process.exit(2);
  }
  const from = flagValue(argv, '--clients-from');
  return { clients: clients as ClientName[], rate, seconds, rounds, clientsFrom: from };
}

/** The value after `flag`, if the flag is there with one. */
function flagValue(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** The clients that can be loaded; the others are named with how to install them. */
async function available(o: Options): Promise<ClientName[]> {
  const ok: ClientName[] = [];
  for (const c of o.clients) {
    if (c !== 'confluent') ok.push(c);
    else
      try {
        resolveOptional(c, o.clientsFrom); // found is enough here: the child loads it
        ok.push(c);
      } catch {
        process.stdout.write(`${c}: not installed, skipped (${OPTIONAL[c].install}, then --clients-from DIR)\n`);
      }
  }
  return ok;
}

interface RoundResult extends ChildResult {
  readonly client: ClientName;
  readonly brokerUs: number;
  readonly brokerSwitches: number;
}

async function runOne(client: ClientName, o: Options, brokers: string[], brokerPid: number, topic: string): Promise<RoundResult> {
  const args = [
    '--child',
    client,
    '--brokers',
    brokers.join(','),
    '--topic',
    topic,
    '--rate',
    String(o.rate),
    '--seconds',
    String(o.seconds),
  ];
  if (o.clientsFrom !== undefined) args.push('--clients-from', o.clientsFrom);
  const proc = fork(process.argv[1]!, args);
  let b0: ProcSample | undefined;
  let b1: ProcSample | undefined;
  return new Promise((done, reject) => {
    proc.on('message', (m: { phase: string; result?: ChildResult }) => {
      if (m.phase === 'start') b0 = readProcSample(brokerPid);
      if (m.phase === 'end') b1 = readProcSample(brokerPid);
      if (m.phase === 'result') {
        const n = m.result!.records;
        const brokerUs = (((b1?.cpuSeconds ?? 0) - (b0?.cpuSeconds ?? 0)) * 1e6) / n;
        const brokerSwitches = ((b1?.contextSwitches ?? 0) - (b0?.contextSwitches ?? 0)) / n;
        done({ client, ...m.result!, brokerUs, brokerSwitches });
      }
    });
    proc.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`${client} exited with ${code}`))));
  });
}

const fmt = (r: RoundResult) =>
  [
    r.client.padEnd(13),
    `${Math.round(r.cpuUs)}`.padStart(7),
    `${Math.round(r.brokerUs)}`.padStart(7),
    `${Math.round(r.cpuUs + r.brokerUs)}`.padStart(7),
    `${r.switches.toFixed(1)}`.padStart(6),
    `${r.brokerSwitches.toFixed(1)}`.padStart(6),
    `${r.ackP50.toFixed(2)} / ${r.ackP99.toFixed(2)}`.padStart(14),
    `${r.e2eP50.toFixed(2)} / ${r.e2eP99.toFixed(2)}`.padStart(14),
    `${r.lost}`.padStart(5),
  ].join(' ');

async function main(o: Options): Promise<void> {
  const clients = await available(o);
  if (clients.length === 0) {
    process.stderr.write('error RB_BENCH_NO_CLIENT: kafka-clients: none of the clients asked for is installed; nothing to measure.\n');
    process.exitCode = 1;
    return;
  }
  const kafka = await startTestKafka();
  let failed = false;
  try {
    const brokerPid = kafka.nodes[0]!.pid()!;
    const admin = await KAFKA_CLIENTS.kafkajs({ brokers: kafka.brokers, clientId: 'bench-admin' }).admin();
    process.stdout.write(
      `${o.rate} records/s, ${o.seconds} s measured after ${WARM_UP_S} s, ${o.rounds} round(s), clients in rotating order\n` +
        `client        µs/rec broker  total  sw/rec brk-sw  ack p50/p99 ms  e2e p50/p99 ms  lost\n`,
    );
    // A fresh broker is still compiling for its first minute: one unreported run of the first
    // client, so the first round's broker figures are not a cold JVM's.
    await admin.createTopics([{ name: 'kafka-clients-warm-up', partitions: 1, replicationFactor: 1 }]);
    await runOne(clients[0]!, { ...o, seconds: 10 }, [...kafka.brokers], brokerPid, 'kafka-clients-warm-up');
    for (let round = 0; round < o.rounds; round++)
      for (let k = 0; k < clients.length; k++) {
        const client = clients[(round + k) % clients.length]!;
        const topic = `kafka-clients-${client}-${round}-${Date.now()}`;
        await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
        try {
          process.stdout.write(`${fmt(await runOne(client, o, [...kafka.brokers], brokerPid, topic))}\n`);
        } catch (e) {
          failed = true;
          process.stdout.write(`${client.padEnd(13)} failed: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    await admin.close();
  } finally {
    await kafka.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

const argv = process.argv.slice(2);
benchArgs({ usage: USAGE, valued: ['--clients', '--rate', '--seconds', '--rounds', '--clients-from'], internal: ['--child'] }, argv);
if (argv[0] === '--child') {
  const value = (flag: string) => flagValue(argv, flag)!; // the parent passes every one
  const target = { brokers: value('--brokers').split(','), topic: value('--topic'), clientsFrom: flagValue(argv, '--clients-from') };
  child(argv[1] as ClientName, target, Number(value('--rate')), Number(value('--seconds'))).catch(fail);
} else await main(parseOptions(argv));
