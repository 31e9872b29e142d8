import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { accountWindow, resourceLine, type Edge, type ProcessPoint, type ProcessRef } from './accounting.js';
import { parseMachineBusySeconds, parseStatCpuSeconds, parseStatusMemory, parseStatusSwitches, readThreadSwitches } from './proc-stat.js';
import { countsPerMessage, parseRelayCounters, sumCounts } from './relay-counters.js';
import { ResourceSampler } from './sampler.js';

// A real line's shape: the command name holds a space and a ')', fields 14/15 are utime/stime.
const STAT =
  '4242 (node main.js) x) S 1 4242 4242 0 -1 4194560 9120 0 0 0 1234 567 0 0 20 0 11 0 7654321 1161560064 25000 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0';

test('parseStatCpuSeconds: utime + stime in seconds, counted from the last ")"', () => {
  assert.equal(parseStatCpuSeconds(STAT), (1234 + 567) / 100);
});

test('parseStatCpuSeconds: text that is not a stat line is an error, not 0', () => {
  assert.throws(() => parseStatCpuSeconds('no parenthesis here'), RangeError);
  assert.throws(() => parseStatCpuSeconds('1 (x) S 1 2'), RangeError);
});

test('parseStatusMemory: VmRSS and VmHWM in bytes; absent fields are 0', () => {
  const text = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
  assert.deepEqual(parseStatusMemory(text), { rssBytes: 102400 * 1024, peakRssBytes: 204800 * 1024 });
  assert.deepEqual(parseStatusMemory('Name:\tzombie\nState:\tZ (zombie)\n'), { rssBytes: 0, peakRssBytes: 0 });
});

test('parseMachineBusySeconds: all but idle and iowait, guest not counted twice', () => {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const text = 'cpu  1000 20 300 99999 500 7 13 0 400 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n';
  assert.equal(parseMachineBusySeconds(text), (1000 + 20 + 300 + 7 + 13) / 100);
  assert.throws(() => parseMachineBusySeconds('intr 1 2 3'), RangeError);
});

const ref = (role: ProcessRef['role'], name: string, pid: number): ProcessRef => ({ role, name, pid });
const point = (r: ProcessRef, cpuSeconds: number, peakRssBytes = 1e8): ProcessPoint => ({ ref: r, cpuSeconds, peakRssBytes });
const edge = (atMs: number, machine: number | undefined, ...points: ProcessPoint[]): Edge => ({
  atMs,
  machineBusySeconds: machine,
  points: new Map(points.map((p) => [p.ref.pid, p])),
});

test('accountWindow: per process, per role and total, as cores and µs per delivered message', () => {
  const k = ref('kafka', 'kafka-1', 10);
  const r0 = ref('relay', 'relay-0', 20);
  const r1 = ref('relay', 'relay-1', 21);
  const w = ref('worker', 'w1', 30);
  const start = edge(0, 100, point(k, 50), point(r0, 5), point(r1, 6), point(w, 1));
  // 20 s window, 4,000 delivered: kafka 4 s of CPU = 0.2 core = 1,000 µs/msg.
  const end = edge(20_000, 114, point(k, 54, 6e8), point(r0, 7, 9e7), point(r1, 9, 1.2e8), point(w, 3));
  const u = accountWindow(start, end, 4000);
  assert.equal(u.windowMs, 20_000);
  const role = (name: string) => u.roles.find((x) => x.role === name)!;
  const unknown = { contextSwitches: null, switchesPerMessage: null };
  assert.deepEqual(role('kafka'), {
    role: 'kafka',
    processes: 1,
    cpuSeconds: 4,
    cores: 0.2,
    cpuUsPerMessage: 1000,
    peakRssBytes: 6e8,
    ...unknown,
  });
  assert.deepEqual(role('relay'), {
    role: 'relay',
    processes: 2,
    cpuSeconds: 5,
    cores: 0.25,
    cpuUsPerMessage: 1250,
    peakRssBytes: 1.2e8,
    ...unknown,
  });
  assert.equal(role('worker').cpuUsPerMessage, 500);
  assert.deepEqual(u.total, { cpuSeconds: 11, cores: 0.55, cpuUsPerMessage: 2750, ...unknown });
  assert.equal(u.machineCores, 0.7);
  assert.deepEqual(
    u.processes.map((p) => p.name),
    ['kafka-1', 'relay-0', 'relay-1', 'w1'],
  );
  assert.match(
    resourceLine(u),
    /^kafka 0\.20 core \(1,000 µs\/msg, 600 MB\) · relay×2 0\.25 core \(1,250 µs\/msg, 120 MB\) · worker .* · total 0\.55 core \(2,750 µs\/msg\) · machine 0\.70 core$/,
  );
});

test('accountWindow: the Prometheus server the run started is a role of its own, after the orchestrator', () => {
  const k = ref('kafka', 'kafka-1', 10);
  const o = ref('orchestrator', 'orchestrator', 40);
  const p = ref('prometheus', 'prometheus', 50);
  const start = edge(0, 10, point(p, 1), point(o, 1), point(k, 1));
  const end = edge(10_000, 14, point(p, 1.2, 2e8), point(o, 1.1), point(k, 3));
  const u = accountWindow(start, end, 2000);
  assert.deepEqual(
    u.roles.map((x) => [x.role, x.cores]),
    [
      ['kafka', 0.2],
      ['orchestrator', 0.01],
      ['prometheus', 0.02],
    ],
  );
  assert.equal(u.total.cores, 0.23, "the total counts it: it is one of the run's processes");
  assert.match(resourceLine(u), / · prometheus 0\.02 core \(100 µs\/msg, 200 MB\) · total 0\.23 core/);
});

test('accountWindow: a process started inside the window counts from 0; one that ended counts to its last sample', () => {
  const old = ref('relay', 'relay-0', 20);
  const born = ref('relay', 'relay-2', 22);
  const start = edge(0, undefined, point(old, 10));
  const last = new Map([
    [old.pid, point(old, 12)],
    [born.pid, point(born, 3)],
  ]);
  const end = edge(10_000, undefined, point(born, 3));
  const u = accountWindow(start, end, 0, last);
  assert.deepEqual(
    u.processes.map((p) => [p.name, p.cpuSeconds, p.cpuUsPerMessage]),
    [
      ['relay-0', 2, null],
      ['relay-2', 3, null],
    ],
  );
  assert.equal(u.machineCores, null);
  assert.equal(u.total.cpuUsPerMessage, null);
});

test('parseStatusSwitches: voluntary + involuntary; absent fields are 0', () => {
  const text = 'Name:\tjava\nvoluntary_ctxt_switches:\t1200\nnonvoluntary_ctxt_switches:\t34\n';
  assert.equal(parseStatusSwitches(text), 1234);
  assert.equal(parseStatusSwitches('Name:\tzombie\n'), 0);
});

// Not "the sum only grows": a thread that ends takes its switches out of the sum (proc-stat.ts),
// and on a busy machine one of this process's helper threads may end between two reads.
test("readThreadSwitches: this process, summed over its threads, the main thread's growing count included; a gone pid is undefined", async () => {
  const mainThread = () => parseStatusSwitches(readFileSync(`/proc/${process.pid}/task/${process.pid}/status`, 'utf8'));
  if (readThreadSwitches(process.pid) === undefined) return; // no /proc (macOS): accounting is absent there
  const before = mainThread();
  // Blocking this thread is a voluntary switch (a timer is not: with other events due, the loop need not sleep).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  const after = mainThread();
  assert.ok(after > before);
  assert.ok(readThreadSwitches(process.pid)! >= after, "the sum holds the main thread's count, which never falls");
  assert.equal(readThreadSwitches(2 ** 22 + 1), undefined, 'above pid_max: no such process');
});

test('accountWindow: context switches per process, per role and in all, per delivered message', () => {
  const k = ref('kafka', 'kafka-1', 10);
  const r0 = ref('relay', 'relay-0', 20);
  const r1 = ref('relay', 'relay-1', 21);
  const born = ref('worker', 'w1', 30);
  const sw = (p: ProcessPoint, contextSwitches: number | undefined): ProcessPoint => ({ ...p, contextSwitches });
  const start = edge(0, undefined, sw(point(k, 1), 5000), sw(point(r0, 1), 100), sw(point(r1, 1), 900));
  // 2,000 delivered; relay-1 lost a thread (its sum fell): it counts 0, never negative.
  const end = edge(10_000, undefined, sw(point(k, 2), 45_000), sw(point(r0, 2), 10_100), sw(point(r1, 2), 800), sw(point(born, 1), 4000));
  const u = accountWindow(start, end, 2000);
  const role = (name: string) => u.roles.find((x) => x.role === name)!;
  assert.deepEqual([role('kafka').contextSwitches, role('kafka').switchesPerMessage], [40_000, 20]);
  assert.deepEqual([role('relay').contextSwitches, role('relay').switchesPerMessage], [10_000, 5]);
  assert.equal(role('worker').switchesPerMessage, 2, 'started inside the window: from 0');
  assert.deepEqual([u.total.contextSwitches, u.total.switchesPerMessage], [54_000, 27]);
  assert.match(resourceLine(u), /^kafka 0\.10 core \(500 µs\/msg, 20\.0 switches\/msg, 100 MB\) · .* total .*27\.0 switches\/msg\)$/);
  const partial = accountWindow(start, edge(10_000, undefined, sw(point(k, 2), 45_000), point(r0, 2), sw(point(r1, 2), 800)), 2000);
  assert.equal(partial.roles.find((x) => x.role === 'relay')!.switchesPerMessage, null, 'one relay unknown: the role is unknown');
  assert.equal(partial.total.contextSwitches, null);
  assert.doesNotMatch(resourceLine(partial), /relay×2 [^·]*switches/);
});

test('ResourceSampler: edges from the injected reader; a process gone at the end counts to its last sample', async () => {
  let now = 1000;
  let cpu = 0;
  let alive = true;
  const relay = ref('relay', 'relay-0', 20);
  const kafka = ref('kafka', 'kafka-1', 10);
  const sampler = new ResourceSampler({
    processes: () => (alive ? [kafka, relay] : [kafka]),
    read: (pid) => ({ cpuSeconds: pid === 20 ? cpu : cpu * 2, rssBytes: 5e7, peakRssBytes: 4e7 }),
    readMachine: () => cpu * 4,
    nowMs: () => now,
  });
  assert.equal(await sampler.result(10), undefined, 'no window before begin()');
  sampler.begin();
  cpu = 1;
  sampler.sample();
  alive = false; // the relay dies; its last point (1 s of CPU) stands
  cpu = 2;
  now = 3000;
  sampler.close();
  const u = (await sampler.result(100))!;
  assert.equal(u.windowMs, 2000);
  assert.equal(u.roles.find((r) => r.role === 'relay')!.cpuSeconds, 1);
  assert.equal(u.roles.find((r) => r.role === 'kafka')!.cpuSeconds, 4);
  assert.equal(u.roles.find((r) => r.role === 'kafka')!.cpuUsPerMessage, 40_000);
  assert.equal(u.machineCores, 4);
  assert.equal(u.processes[0]!.peakRssBytes, 5e7, 'the larger of VmHWM and the sampled RSS');
  now = 9000;
  sampler.sample();
  assert.equal((await sampler.result(100))!.windowMs, 2000, 'a closed window does not move');
  assert.equal(u.relayCounters, undefined, 'no counters without a reader');
});

test('parseRelayCounters: Kafka requests by API, records produced, frames; other lines ignored', () => {
  const text = [
    '# HELP relay_kafka_requests_total Requests …',
    '# TYPE relay_kafka_requests_total counter',
    'relay_kafka_requests_total{api="Produce",gateway="r0"} 430',
    'relay_kafka_requests_total{api="Fetch",gateway="r0"} 1200',
    'relay_kafka_requests_total{api="Heartbeat",gateway="r0"} 20',
    'relay_produce_batch_records_sum{gateway="r0"} 1230',
    'relay_produce_batch_records_count{gateway="r0"} 430',
    'relay_frames_in_total{type="send",gateway="r0"} 200',
    'relay_frames_in_total{type="receipt",gateway="r0"} 400',
    'relay_frames_out_total{type="ack",gateway="r0"} 200',
    'relay_router_records_total{source="written",gateway="r0"} 300',
    'relay_router_records_total{source="peer",gateway="r0"} 250',
    'relay_router_records_total{source="fetched",gateway="r0"} 900',
    'relay_produce_errors_total{gateway="r0"} 3',
    'relay_deliver_dropped_total{gateway="r0"} 2',
    'process_cpu_seconds_total{gateway="r0"} 12.5',
  ].join('\n');
  assert.deepEqual(parseRelayCounters(text), {
    kafkaProduceRequests: 430,
    kafkaFetchRequests: 1200,
    kafkaRequests: 1650,
    recordsProduced: 1230,
    framesIn: 600,
    framesOut: 200,
    routerRecordsWritten: 300,
    routerRecordsPeer: 250,
    routerRecordsFetched: 900,
    produceErrors: 3,
    deliverDropped: 2,
  });
});

test('countsPerMessage: summed over relays, differences per delivered message; a restarted relay never goes negative', () => {
  const a = parseRelayCounters('relay_kafka_requests_total{api="Produce"} 100\nrelay_frames_out_total{type="ack"} 50');
  const b = parseRelayCounters('relay_kafka_requests_total{api="Produce"} 300\nrelay_frames_out_total{type="ack"} 10');
  const start = sumCounts([a, a]);
  const end = sumCounts([b, b]);
  const c = countsPerMessage(start, end, 200);
  assert.deepEqual(c.kafkaProduceRequests, { total: 400, perMessage: 2 });
  assert.deepEqual(c.framesOut, { total: 0, perMessage: 0 });
  assert.equal(countsPerMessage(start, end, 0).kafkaRequests.perMessage, null);
});

test("ResourceSampler: the relays' counters are read at both edges", async () => {
  let produce = 10;
  const sampler = new ResourceSampler({
    processes: () => [],
    read: () => undefined,
    readMachine: () => 0,
    counters: async () => parseRelayCounters(`relay_kafka_requests_total{api="Produce"} ${produce}`),
  });
  sampler.begin();
  produce = 40;
  sampler.close();
  produce = 1000; // after the window: not counted
  const u = (await sampler.result(15))!;
  assert.deepEqual(u.relayCounters?.kafkaProduceRequests, { total: 30, perMessage: 2 });
});
