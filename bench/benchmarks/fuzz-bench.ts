/**
 * Bad input and security at volume (issue #7), not a test:
 *   node dist/bench/benchmarks/fuzz-bench.js [seconds=60] [connections=300] [probesPerSec=300]
 *
 * Loopback only; starts and stops its own Kafka (1 broker) and 2 relays (rate limit 500 frames/s,
 * burst 1000). A load-generator worker (encrypted, fixed pairs, modest rate) first runs alone for a
 * baseline, then again while a fuzz child process (testbed/fuzz) throws random, truncated and
 * adversarial frames, bad tokens, floods, hello storms and raw WebSocket-framing abuse at the same
 * relays from `connections` lanes. The fuzz runs in its own process so its event loop does not
 * distort the worker's latency measurement. Prints inputs tried by category, rejections by code,
 * undocumented codes (must be 0), whether the relays survived, the worker's ledger (lost must be
 * 0) and its e2e p99 against the objective. Exit code 1 when a check fails.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { startTestKafka } from '../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../test/helpers/relays.js';
import { TEST_SECRET, connectUser, isAck, isDeliver } from '../../test/helpers/client.js';
import { runWorker, testPlan } from '../../loadgen/test/helpers/worker.js';
import { mergeSnapshots, percentiles } from '../../loadgen/src/stats/period.js';
import type { WorkerResult } from '../../loadgen/src/worker/contract.js';
import { FRAME_TYPES } from '../../relay/protocol/src/index.js';
import { runFuzz, type FuzzOptions, type FuzzReport } from '../../testbed/fuzz/fuzzer.js';
import { ALWAYS_REJECTED, FUZZ_CATEGORIES } from '../../testbed/fuzz/cases.js';
import { codesInProtocolDoc } from '../../testbed/fuzz/documented.js';
import { inspectEnv, memoryAfterGc } from '../../testbed/process/inspector-memory.js';
import { freePorts } from '../../testbed/process/ports.js';
import { benchArgs } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/fuzz-bench.js [seconds=60] [connections=300] [probesPerSec=300]

Bad input and security at volume: its own Kafka and 2 relays, an encrypted load alone, then the
same load beside a fuzzer's hostile connections and probes; checks the honest users lose nothing
and the relays stay up, and compares their e2e p99.
  seconds, connections, probesPerSec   positionals (defaults 60, 300, 300)
  -h, --help                           this text
exit codes: 0 every check held; 1 a check failed; 2 bad arguments.`,
  positionals: 3,
  numeric: [0, 1, 2],
  internal: ['--child'],
});

const OBJECTIVE_P99_MS = 250;
const RATE_LIMIT = 500;
const BASELINE_SECONDS = 20;
const FUZZ_SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function child(options: FuzzOptions): Promise<void> {
  const report = await runFuzz(options);
  process.send!(report, () => process.exit(0));
}

async function metric(relay: RelayProcess, pattern: RegExp): Promise<Record<string, number>> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(pattern)) out[m[1] ?? ''] = Number(m[2]);
  return out;
}

function workerLine(label: string, r: WorkerResult): { p99Ms: number; line: string } {
  const e2e = percentiles(mergeSnapshots(r.intervals).e2eCorrected);
  const ms = (us: number) => (us / 1000).toFixed(1);
  const l = r.ledger;
  return {
    p99Ms: e2e.p99 / 1000,
    line:
      `${label}: sent ${l.sent}, acked ${l.acked}, delivered ${l.delivered}, lost ${l.lost}, unacked ${l.unacked}, duplicated ${l.duplicated}, ` +
      `reordered ${l.reordered}, decrypt failures ${l.decryptFailures}, errors ${JSON.stringify(l.errorsByCode)}; ` +
      `e2e (corrected) n=${e2e.count} p50 ${ms(e2e.p50)} ms, p99 ${ms(e2e.p99)} ms, max ${ms(e2e.max)} ms; achieved ${r.achievedRatePerSec.toFixed(0)} msg/s`,
  };
}

type Check = (ok: boolean, what: string) => void;
type Metrics = Record<string, number>;

const workload = (s: number) => ({
  users: 40,
  ratePerSec: 200,
  durationMs: s * 1000,
  warmupMs: 2000,
  drainMs: 15_000,
  recipients: { kind: 'pairs' as const },
});

const runWorkerFor = (urls: string[], s: number) => runWorker(testPlan({ relays: urls, maxScheduleLagUs: 50_000, workload: workload(s) }));

/** Starts the relays into `relays` (so the caller's cleanup stops them), returns their inspector ports. */
async function startRelays(brokers: readonly string[], relays: RelayProcess[]): Promise<number[]> {
  // The inspector (loopback) lets the bench read each relay's memory after a full GC: a leak shows as heap left after the fuzz.
  const inspectPorts = await freePorts(2);
  for (const [i, id] of ['fz-a', 'fz-b'].entries())
    relays.push(
      await startRelayProcess(brokers, {
        gatewayId: id,
        args: ['--rate-limit', String(RATE_LIMIT)],
        env: inspectEnv(inspectPorts[i]!),
      }),
    );
  await waitAllReady(relays);
  return inspectPorts;
}

const heapMiB = async (inspectPorts: number[]) =>
  (await Promise.all(inspectPorts.map((p) => memoryAfterGc(p)))).map((m) => (m.heapUsed / 2 ** 20).toFixed(1));

// The relays' event-loop delay histograms reset at each scrape: one scrape before each phase,
// one after, gives the delay over that phase (the relay-side view, free of client contention).
const lag = async (relays: RelayProcess[]) =>
  Promise.all(
    relays.map(async (r) => {
      const m = await metric(r, /^(nodejs_eventloop_lag_(?:p99|max)_seconds)\{[^}]*\} ([\d.e+-]+)/gm);
      return `${r.gatewayId} p99 ${((m.nodejs_eventloop_lag_p99_seconds ?? 0) * 1000).toFixed(1)} ms, max ${((m.nodejs_eventloop_lag_max_seconds ?? 0) * 1000).toFixed(1)} ms`;
    }),
  );

/** The worker alone, its line and the relays' event-loop delay over it printed. */
async function runBaseline(relays: RelayProcess[]): Promise<{ p99Ms: number; line: string }> {
  await lag(relays);
  console.log(`baseline: worker alone for ${BASELINE_SECONDS} s (40 users in fixed pairs, 200 msg/s, 2 relays)`);
  const base = workerLine(
    'baseline worker',
    await runWorkerFor(
      relays.map((r) => r.url),
      BASELINE_SECONDS,
    ),
  );
  console.log(base.line);
  console.log(`relay event-loop delay, baseline: ${(await lag(relays)).join('; ')}`);
  return base;
}

/** Every relay's RSS, then every relay's CPU seconds. */
async function resourceUsage(relays: RelayProcess[]): Promise<{ rss: Metrics[]; cpu: Metrics[] }> {
  const rss = await Promise.all(relays.map((r) => metric(r, /^(process_resident_memory_bytes)\{[^}]*\} ([\d.e+]+)/gm)));
  const cpu = await Promise.all(relays.map((r) => metric(r, /^(process_cpu_seconds_total)\{[^}]*\} ([\d.e+]+)/gm)));
  return { rss, cpu };
}

/** The fuzz child and the worker side by side: the fuzz report and the worker's result. */
async function fuzzBesideWorker(
  urls: string[],
  seconds: number,
  connections: number,
  probesPerSec: number,
): Promise<[FuzzReport, WorkerResult]> {
  const fuzzOptions: FuzzOptions = {
    relays: urls,
    secret: TEST_SECRET,
    connections,
    durationMs: seconds * 1000,
    probesPerSec,
    rateBurst: RATE_LIMIT * 2,
    seed: 11,
    sourceAddresses: FUZZ_SOURCES,
    // Silent connections (no hello) wait out the hello timeout: they keep ~200 lanes' sockets open at once.
    weights: { 'no-hello': 1 },
  };
  const fuzzChild = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(fuzzOptions)], { stdio: 'inherit' });
  const fuzzDone = new Promise<FuzzReport>((resolve, reject) => {
    fuzzChild.once('message', (m) => resolve(m as FuzzReport));
    fuzzChild.once('exit', (code) => reject(new Error(`fuzz child exited ${code}`)));
  });
  return Promise.all([fuzzDone, runWorkerFor(urls, seconds)]);
}

function printCategories(fuzz: FuzzReport): void {
  console.log(`\ninputs tried: ${fuzz.inputs} in ${fuzz.probes} probes (connections) over ${(fuzz.durationMs / 1000).toFixed(1)} s`);
  console.log('category            probes   inputs  rejected  accepted  outcomes (e = error.code, c = close code)');
  for (const c of FUZZ_CATEGORIES) {
    const r = fuzz.categories[c];
    const top = Object.entries(r.outcomes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    console.log(
      `${c.padEnd(18)} ${String(r.probes).padStart(7)} ${String(r.inputs).padStart(8)} ${String(r.rejected).padStart(9)} ${String(r.accepted).padStart(9)}  ${top}${r.connectFailed + r.setupFailed > 0 ? `  (connect failed ${r.connectFailed}, hello failed ${r.setupFailed})` : ''}`,
    );
  }
}

/** Prints the rejections (client and relay side) and samples; returns the undocumented count and the codes PROTOCOL.md lacks. */
async function printRejections(fuzz: FuzzReport, relays: RelayProcess[]): Promise<{ undocumented: number; notInDoc: string[] }> {
  console.log(`rejections by error.code: ${JSON.stringify(fuzz.errorCodes)} (${fuzz.errorsWithId} named their msgId/reqId)`);
  console.log(
    `rejections by close code: ${JSON.stringify(fuzz.closeCodes)}${Object.keys(fuzz.httpStatuses).length > 0 ? `; HTTP ${JSON.stringify(fuzz.httpStatuses)}` : ''}`,
  );
  const relayErrors = await Promise.all(relays.map((r) => metric(r, /^relay_wire_errors_total\{error="([A-Z_]+)"[^}]*\} (\d+)/gm)));
  console.log(
    `relay side (relay_wire_errors_total): ${relayErrors.map((e, i) => `${relays[i]!.gatewayId} ${JSON.stringify(e)}`).join('; ')}`,
  );
  const undocumented =
    Object.values(fuzz.undocumented.errorCodes).reduce((a, b) => a + b, 0) +
    Object.values(fuzz.undocumented.closeCodes).reduce((a, b) => a + b, 0);
  for (const s of fuzz.undocumented.samples) console.log(`  undocumented: ${s}`);
  for (const s of fuzz.acceptedSamples) console.log(`  let through: ${s}`);
  const doc = codesInProtocolDoc(join(repoRoot, 'relay', 'PROTOCOL.md'));
  const notInDoc = [
    ...Object.keys(fuzz.errorCodes)
      .filter((c) => !doc.errors.has(Number(c)))
      .map((c) => `error ${c}`),
    ...Object.keys(fuzz.closeCodes)
      .filter((c) => c !== '1006' && !doc.closes.has(Number(c)))
      .map((c) => `close ${c}`),
  ];
  return { undocumented, notInDoc };
}

function relayMemoryLine(
  relays: RelayProcess[],
  usage0: { rss: Metrics[]; cpu: Metrics[] },
  usage1: { rss: Metrics[]; cpu: Metrics[] },
  seconds: number,
): string {
  const { rss: rss0, cpu: cpu0 } = usage0;
  const { rss: rss1, cpu: cpu1 } = usage1;
  return `relay memory: ${relays.map((r, i) => `${r.gatewayId} RSS ${((rss0[i]!.process_resident_memory_bytes ?? 0) / 2 ** 20).toFixed(0)} → ${((rss1[i]!.process_resident_memory_bytes ?? 0) / 2 ** 20).toFixed(0)} MiB, CPU ${(((cpu1[i]!.process_cpu_seconds_total ?? 0) - (cpu0[i]!.process_cpu_seconds_total ?? 0)) / seconds).toFixed(2)} cores`).join('; ')}`;
}

/** Open connections per relay, printed with the heap change; returns the open counts. */
async function leftBehind(relays: RelayProcess[], inspectPorts: number[], heap0: string[]): Promise<number[]> {
  // Nothing left behind: every fuzz connection is gone and the heap (after GC) is back near where it was.
  await new Promise((r) => setTimeout(r, 3000));
  const open = await Promise.all(
    relays.map(async (r) =>
      Number(/^relay_connections\{[^}]*\} (\d+)/m.exec(await (await fetch(`${r.httpUrl}/metrics`)).text())?.[1] ?? NaN),
    ),
  );
  const heap1 = await heapMiB(inspectPorts);
  console.log(
    `after the fuzz: open connections ${open.join(', ')}; relay heap after GC ${relays.map((r, i) => `${r.gatewayId} ${heap0[i]} → ${heap1[i]} MiB`).join('; ')}`,
  );
  return open;
}

interface Serving {
  alive: boolean[];
  health: number[];
  served: boolean;
}

async function stillServing(relays: RelayProcess[]): Promise<Serving> {
  // Still alive and serving: a fresh pair across the two relays exchanges a message.
  const alive = relays.map((r) => r.proc.child.exitCode === null);
  const health = await Promise.all(
    relays.map((r) =>
      fetch(`${r.httpUrl}/healthz`).then(
        (res) => res.status,
        () => 0,
      ),
    ),
  );
  let served = false;
  try {
    const a = await connectUser(relays[0]!.url, 'fzb-after-a');
    const b = await connectUser(relays[1]!.url, 'fzb-after-b');
    a.send({ t: FRAME_TYPES.send, msgId: 'fzb:1:1', to: 'fzb-after-b', header: new Uint8Array([1]), ciphertext: new Uint8Array([1]) });
    await a.waitFor(isAck, 'ack');
    await b.waitFor(isDeliver, 'delivery');
    served = true;
    a.ws.terminate();
    b.ws.terminate();
  } catch (e) {
    console.log(`after the fuzz: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { alive, health, served };
}

interface Outcome {
  relays: RelayProcess[];
  serving: Serving;
  open: number[];
  rejections: { undocumented: number; notInDoc: string[] };
  fuzz: FuzzReport;
  during: WorkerResult;
  p99Ms: number;
}

function checkOutcome(check: Check, o: Outcome): void {
  const { relays, fuzz, during } = o;
  const { alive, health, served } = o.serving;
  const { undocumented, notInDoc } = o.rejections;
  check(
    alive.every(Boolean) && health.every((s) => s === 200) && served,
    `relays alive and serving (exit codes ${relays.map((r) => r.proc.child.exitCode).join(',')}, healthz ${health.join(',')}, fresh pair ${served ? 'delivered' : 'FAILED'})`,
  );
  check(
    o.open.every((n) => n === 0),
    `no connection left open on the relays (${o.open.join(', ')})`,
  );
  check(
    undocumented === 0 && notInDoc.length === 0 && fuzz.undecodableServerFrames === 0,
    `undocumented codes: ${undocumented}${notInDoc.length > 0 ? `; not in PROTOCOL.md: ${notInDoc.join(', ')}` : ''}; undecodable server frames: ${fuzz.undecodableServerFrames}`,
  );
  const silent = [...ALWAYS_REJECTED].filter((c) => fuzz.categories[c].probes === 0 || fuzz.categories[c].rejected === 0);
  check(
    silent.length === 0 && fuzz.acceptedSamples.length === 0,
    `every adversarial category drew rejections${silent.length > 0 ? ` (not: ${silent.join(', ')})` : ''}`,
  );
  check(
    during.ledger.lost === 0 && during.ledger.decryptFailures === 0 && during.ledger.delivered === during.ledger.sent,
    `worker during fuzz: lost ${during.ledger.lost}, decrypt failures ${during.ledger.decryptFailures}, delivered ${during.ledger.delivered}/${during.ledger.sent}`,
  );
  check(o.p99Ms <= OBJECTIVE_P99_MS, `worker e2e p99 ${o.p99Ms.toFixed(1)} ms ≤ ${OBJECTIVE_P99_MS} ms`);
}

async function parent(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 60);
  const connections = Number(process.argv[3] ?? 300);
  const probesPerSec = Number(process.argv[4] ?? 300);
  const kafka = await startTestKafka(1);
  const relays: RelayProcess[] = [];
  let failed = false;
  const check: Check = (ok, what) => {
    if (!ok) failed = true;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  };
  try {
    const inspectPorts = await startRelays(kafka.brokers, relays);
    const base = await runBaseline(relays);

    const heap0 = await heapMiB(inspectPorts);
    const usage0 = await resourceUsage(relays);
    console.log(
      `fuzz: ${seconds} s, ${connections} lanes, ≤ ${probesPerSec} probes/s, from ${FUZZ_SOURCES.join(',')}; the worker runs the same load meanwhile`,
    );
    const urls = relays.map((r) => r.url);
    const [fuzz, during] = await fuzzBesideWorker(urls, seconds, connections, probesPerSec);
    const lagDuring = await lag(relays);
    const usage1 = await resourceUsage(relays);

    printCategories(fuzz);
    const rejections = await printRejections(fuzz, relays);
    console.log(`relay event-loop delay, during fuzz: ${lagDuring.join('; ')}`);
    console.log(relayMemoryLine(relays, usage0, usage1, seconds));

    const open = await leftBehind(relays, inspectPorts, heap0);
    const serving = await stillServing(relays);
    const w = workerLine('worker during fuzz', during);
    console.log(w.line);
    console.log(
      `baseline e2e p99 ${base.p99Ms.toFixed(1)} ms → during fuzz ${w.p99Ms.toFixed(1)} ms (objective ≤ ${OBJECTIVE_P99_MS} ms)\n`,
    );
    checkOutcome(check, { relays, serving, open, rejections, fuzz, during, p99Ms: w.p99Ms });
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    await kafka.stop();
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]!) as FuzzOptions);
else await parent();
