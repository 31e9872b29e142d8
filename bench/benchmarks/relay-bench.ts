/**
 * Relay-alone benchmark (not a test): `node dist/bench/benchmarks/relay-bench.js [seconds]`.
 *
 * 1. Throughput: one relay, 1 broker; 50 sender→recipient pairs of bare protocol clients (no E2EE,
 *    the relay never looks inside) keep a window of outstanding sends; reports delivered msg/s and
 *    the relay process's CPU (process_cpu_seconds_total from its /metrics) → msgs per core-second.
 * 2. Fast path vs relay.deliver: two relays; at a fixed modest rate, pairs whose recipient sits on
 *    the owner of its partition (one Kafka hop) vs on the other relay (a second hop through
 *    relay.deliver.<gateway>); send→deliver latency percentiles from HdrHistograms (µs).
 * Client and relays share this machine's 2 cores: numbers are for comparison, not absolutes.
 */
import * as hdr from 'hdr-histogram-js';
import { startTestKafka } from '../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../test/helpers/relays.js';
import { connectUser, isAck, isDeliver, type TestClient } from '../../test/helpers/client.js';
import { FRAME_TYPES, partitionFor, nowUs } from '../../relay/protocol/src/index.js';
import { benchArgs } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/relay-bench.js [seconds=20] [scrapeMs=0] [--throughput-only]

Relay alone: throughput of one relay (50 pairs of bare protocol clients, a window of sends) with
its CPU per message, then latency at 200 msg/s on the fast path and via relay.deliver.
  seconds           measured seconds per part (default 20)
  scrapeMs          scrape the relay's /metrics this often during the run (0 = never)
  --throughput-only the throughput part only
  -h, --help        this text
exit codes: 0 ran (figures reported); 1 the benchmark failed; 2 bad arguments.`,
  switches: ['--throughput-only'],
  positionals: 2,
  numeric: [0, 1],
});

const seconds = Number(process.argv[2] ?? 20);
/** Scrape the relay's /metrics every N ms during the throughput test (0 = no scraper), as Prometheus would. */
const scrapeMs = Number(process.argv[3] ?? 0);
const onlyThroughput = process.argv.includes('--throughput-only');

async function cpuSeconds(relay: RelayProcess): Promise<number> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  return Number(/^process_cpu_seconds_total\{[^}]*\} ([\d.e+-]+)/m.exec(text)?.[1] ?? 'NaN');
}

async function throughput(relay: RelayProcess): Promise<void> {
  const pairs: [TestClient, TestClient, string][] = [];
  for (let i = 0; i < 50; i++) {
    const s = await connectUser(relay.url, `ts${i}`);
    const r = await connectUser(relay.url, `tr${i}`);
    pairs.push([s, r, `tr${i}`]);
  }
  const payload = new Uint8Array(200);
  let delivered = 0;
  let running = true;
  const window = 20;
  for (const [s, r, to] of pairs) {
    let counter = 0;
    let outstanding = 0;
    const pump = () => {
      while (running && outstanding < window) {
        outstanding++;
        s.send({ t: FRAME_TYPES.send, msgId: `${to}:1:${++counter}`, to, header: new Uint8Array(24), ciphertext: payload });
      }
    };
    s.ws.on('message', () => {
      const f = s.frames.pop();
      s.frames.length = 0;
      if (f !== undefined && isAck(f)) outstanding--;
      pump();
    });
    r.ws.on('message', () => {
      for (const f of r.frames) {
        if (isDeliver(f)) {
          delivered++;
          r.send({ t: FRAME_TYPES.received, msgId: f.msgId });
        }
      }
      r.frames.length = 0;
    });
    pump();
  }
  await new Promise((res) => setTimeout(res, 3000)); // warm-up
  let scrapes = 0;
  let scrapeMsTotal = 0;
  const scraper =
    scrapeMs > 0
      ? setInterval(() => {
          const t = performance.now();
          void fetch(`${relay.httpUrl}/metrics`).then(async (r) => {
            await r.text();
            scrapes++;
            scrapeMsTotal += performance.now() - t;
          });
        }, scrapeMs)
      : undefined;
  const cpu0 = await cpuSeconds(relay);
  const d0 = delivered;
  const t0 = performance.now();
  await new Promise((res) => setTimeout(res, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = (await cpuSeconds(relay)) - cpu0;
  const rate = (delivered - d0) / elapsed;
  running = false;
  clearInterval(scraper);
  if (scrapes > 0)
    console.log(`scraper: every ${scrapeMs} ms, ${scrapes} scrapes, ${(scrapeMsTotal / scrapes).toFixed(1)} ms per scrape (round trip)`);
  console.log(
    `throughput: ${rate.toFixed(0)} msg/s delivered (send + ✓ + deliver + received + ✓✓ receipt each), relay CPU ${(cpu / elapsed).toFixed(2)} cores → ${((delivered - d0) / cpu).toFixed(0)} msgs per relay core-second`,
  );
  for (const [s, r] of pairs) {
    s.ws.terminate();
    r.ws.terminate();
  }
}

async function paths(relays: RelayProcess[]): Promise<void> {
  const routes = (await (await fetch(`${relays[0]!.httpUrl}/routes`)).json()) as {
    partitions: Record<string, string>;
    partitionCount: number;
  };
  const ownerOf = (user: string) => routes.partitions[String(partitionFor(user, routes.partitionCount))]!;
  const other = (url: string) => relays.find((r) => r.url !== url)!.url;
  const hist = { fast: hdr.build({ numberOfSignificantValueDigits: 3 }), topic: hdr.build({ numberOfSignificantValueDigits: 3 }) };
  const clients: TestClient[] = [];
  for (const path of ['fast', 'topic'] as const) {
    for (let i = 0; i < 20; i++) {
      const to = `${path}-r${i}`;
      const owner = ownerOf(to);
      const recipient = await connectUser(path === 'fast' ? owner : other(owner), to);
      const sender = await connectUser(owner, `${path}-s${i}`);
      clients.push(recipient, sender);
      const sentAt = new Map<string, number>();
      recipient.ws.on('message', () => {
        for (const f of recipient.frames) {
          if (isDeliver(f)) {
            const t = sentAt.get(f.msgId);
            if (t !== undefined) hist[path].recordValue(Math.max(1, Math.round(nowUs() - t)));
            recipient.send({ t: FRAME_TYPES.received, msgId: f.msgId });
          }
        }
        recipient.frames.length = 0;
      });
      let n = 0;
      const timer = setInterval(() => {
        const msgId = `${to}:1:${++n}`;
        sentAt.set(msgId, nowUs());
        sender.send({ t: FRAME_TYPES.send, msgId, to, header: new Uint8Array(24), ciphertext: new Uint8Array(200) });
      }, 100); // 10 msg/s per pair, 200 msg/s per path
      setTimeout(() => clearInterval(timer), seconds * 1000);
    }
  }
  await new Promise((res) => setTimeout(res, seconds * 1000 + 2000));
  for (const path of ['fast', 'topic'] as const) {
    const h = hist[path];
    const ms = (q: number) => (h.getValueAtPercentile(q) / 1000).toFixed(2);
    console.log(
      `${path === 'fast' ? 'fast path (same process)   ' : 'relay.deliver (other relay)'}: n=${h.totalCount} p50 ${ms(50)} ms  p90 ${ms(90)} ms  p99 ${ms(99)} ms  max ${(h.maxValue / 1000).toFixed(2)} ms`,
    );
  }
  for (const c of clients) c.ws.terminate();
}

const kafka = await startTestKafka(1);
const relays: RelayProcess[] = [];
try {
  relays.push(await startRelayProcess(kafka.brokers, { gatewayId: 'bench-a' }));
  await waitAllReady(relays);
  await throughput(relays[0]!);
  if (!onlyThroughput) {
    relays.push(await startRelayProcess(kafka.brokers, { gatewayId: 'bench-b' }));
    await waitAllReady(relays);
    await paths(relays);
  }
} finally {
  await Promise.all(relays.map((r) => r.stop()));
  await kafka.stop();
}
