// Fault scenarios without processes: the YAML rules, the plans' client faults, the executor's
// timing with a fake fleet, and the recovery figures on a hand-made interval series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultEvent, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { RelaybenchError } from '../../../relay/protocol/src/relaybench-error.js';
import type { KafkaCluster } from '../../../testbed/kafka/cluster.js';
import { workerPlans } from '../orchestrator/plans.js';
import { planSegments } from '../orchestrator/segments.js';
import type { SeriesPoint } from '../results/merge.js';
import { loadScenario, parseScenario, REPO_ROOT } from '../scenarios/loader.js';
import { parseObjective } from '../scenarios/objectives.js';
import { checkFaultTargets, startFaults, type FaultFleet } from './executor.js';
import { segmentFaults } from './recovery.js';
import { clientFaultsFor, faultProblems, type FaultSpec } from './spec.js';

const base = readFileSync(join(REPO_ROOT, 'bench', 'scenarios', 'relay-crash.yaml'), 'utf8').replace(/faults:\n( {2}- .*\n)+/, 'FAULTS');
const withFaults = (faults: string, edit: (s: string) => string = (s) => s) =>
  parseScenario(edit(base.replace('FAULTS', `faults:\n${faults}`)), '/tmp/faults.yaml');

function errorOf(fn: () => unknown): RelaybenchError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RelaybenchError, String(e));
    return e;
  }
  assert.fail('expected an error');
}

test('the shipped fault scenarios load, with offsets in ms', () => {
  assert.deepEqual(loadScenario('relay-crash').faults, [{ action: 'kill-relay', atMs: 20_000, relay: 1 }]);
  assert.deepEqual(
    loadScenario('broker-crash').faults.map((f) => f.action),
    ['kill-broker', 'restart-broker'],
  );
  assert.equal(loadScenario('broker-crash').brokers, 3);
  assert.deepEqual(loadScenario('rebalance').faults, [
    { action: 'add-relay', atMs: 15_000 },
    { action: 'drain-relay', atMs: 30_000, relay: 0 },
  ]);
  assert.deepEqual(loadScenario('smoke').faults, []);
});

test('client faults: share, for/within (within defaults to 0 = at once)', () => {
  const s = withFaults(
    '  - { at: 20s, action: slow-readers, share: 0.1, for: 10s }\n  - { at: 25s, action: reconnect-storm, share: 0.5 }\n',
  );
  assert.deepEqual(s.faults, [
    { action: 'slow-readers', atMs: 20_000, share: 0.1, durationMs: 10_000 },
    { action: 'reconnect-storm', atMs: 25_000, share: 0.5, durationMs: 0 },
  ]);
});

test('latency fault: defaults (both directions, no jitter, every relay, until the end) and every field', () => {
  const s = withFaults(
    '  - { at: 10s, action: latency, delay: 2ms }\n  - { at: 20s, action: latency, delay: 5ms, jitter: 1ms, for: 5s, relays: [0, 2], direction: to-relay }\n',
  );
  assert.deepEqual(s.faults, [
    { action: 'latency', atMs: 10_000, delayMs: 2, jitterMs: 0, forMs: null, relays: null, direction: 'both' },
    { action: 'latency', atMs: 20_000, delayMs: 5, jitterMs: 1, forMs: 5_000, relays: [0, 2], direction: 'to-relay' },
  ]);
});

test('fault YAML errors name the line, the field and why', () => {
  const cases: [string, RegExp][] = [
    [
      '  - { at: 20s, action: kill-relay, relay: 3 }\n',
      /faults\[0\]\.relay: expected the index of a relay running at that instant \(0\.\.2, or one added earlier; not one already removed\), got 3$/,
    ],
    [
      '  - { at: 45s, action: add-relay }\n',
      /faults\[0\]\.at: expected an offset before sends stop \(warmup \+ duration = 45s\), got "45s"$/,
    ],
    ['  - { at: 20s, action: kill-broker, broker: 2 }\n', /faults\[0\]\.action: broker faults need brokers: 3/],
    ['  - { at: 20s, action: kill-relay, relay: 1, signal: TERM }\n', /faults\[0\]: unknown field "signal"/],
    ['  - { at: 20s, action: slow-readers, share: 0, for: 10s }\n', /faults\[0\]\.share: expected a share in \(0, 1\], got 0$/],
    ['  - { at: soon, action: add-relay }\n', /faults\[0\]\.at: expected an offset from the segment start like 20s, got "soon"$/],
    [
      '  - { at: 10s, action: kill-relay, relay: 0 }\n  - { at: 12s, action: kill-relay, relay: 1 }\n  - { at: 14s, action: kill-relay, relay: 2 }\n',
      /faults\[2\]\.relay: expected a relay that is not the last one running, got 2$/,
    ],
    [
      '  - { at: 20s, action: kill-relay, relay: 1 }\n  - { at: 10s, action: drain-relay, relay: 1 }\n',
      /faults\[0\]\.relay: expected the index of a relay running at that instant/,
    ],
    ['  - { at: 10s, action: latency }\n', /faults\[0\]\.delay: /],
    [
      '  - { at: 10s, action: latency, delay: 11s }\n',
      /faults\[0\]\.delay: expected a delay from 0 to 10s like 2ms \(0: the proxy alone, a control\), got 11000$/,
    ],
    [
      '  - { at: 10s, action: latency, delay: 2ms, direction: up }\n',
      /faults\[0\]\.direction: expected both, to-relay or to-client, got "up"$/,
    ],
    [
      '  - { at: 10s, action: latency, delay: 2ms, relays: [5] }\n',
      /faults\[0\]\.relays: expected indexes of relays running at that instant \(0\.\.2, or ones added earlier\), got 5$/,
    ],
    ['  - { at: 10s, action: latency, delay: 2ms, jitter: -1ms }\n', /faults\[0\]\.jitter: expected a jitter from 0 to 10s like 1ms/],
  ];
  for (const [faults, message] of cases) {
    const e = errorOf(() => withFaults(faults));
    assert.equal(e.code, 'RB_SCENARIO_INVALID');
    assert.match(e.message, /\/tmp\/faults\.yaml:\d+:\d+: /);
    assert.match(e.message, message);
  }
  // A relay added by an earlier fault can be removed later; the file order does not matter, the offsets do.
  assert.equal(withFaults('  - { at: 20s, action: kill-relay, relay: 3 }\n  - { at: 10s, action: add-relay }\n').faults.length, 2);
  // Faults need a plain scenario.
  const phased = errorOf(() => withFaults('  - { at: 10s, action: add-relay }\n', (s) => `${s}phases:\n  - { name: a }\n`));
  assert.match(phased.message, /faults: faults need a plain scenario/);
});

test('broker rules: 3 brokers, at most one down at a time, restart brings one back', () => {
  const ctx = { relays: 2, brokers: 3, sendingMs: 60_000, multiSegment: false };
  const kill = (atMs: number, broker: number): FaultSpec => ({ action: 'kill-broker', atMs, broker });
  const restart = (atMs: number, broker: number): FaultSpec => ({ action: 'restart-broker', atMs, broker });
  assert.deepEqual(faultProblems([kill(10_000, 2), restart(20_000, 2), kill(30_000, 1)], ctx), []);
  assert.match(faultProblems([kill(10_000, 2), kill(20_000, 1)], ctx)[0]!.message, /at most one broker down/);
  assert.match(faultProblems([kill(10_000, 2), kill(20_000, 2)], ctx)[0]!.message, /already down/);
});

test('flags that move the ground under the faults are refused at run time', () => {
  const s = loadScenario('relay-crash');
  const e = errorOf(() => planSegments({ ...s, relays: 1 }));
  assert.equal(e.code, 'RB_RUN_BAD_OPTION');
  assert.match(e.message, /faults\[0\]\.relay: .*relays=1/);
  assert.equal(planSegments({ ...s, reference: 'kafka-direct' }).length, 2);
});

test('client faults go to every worker of a relay segment, never to the kafka-direct reference', () => {
  const s = withFaults(
    '  - { at: 20s, action: reconnect-storm, share: 0.5, within: 2s }\n  - { at: 10s, action: kill-relay, relay: 1 }\n',
    (t) => t.replace('workers: 1', 'workers: 2'),
  );
  const [main, reference] = planSegments({ ...s, reference: 'kafka-direct' });
  const ctx = {
    runId: 'r1',
    segmentIndex: 0,
    relayUrls: ['ws://127.0.0.1:1/'],
    brokers: ['127.0.0.1:9092'],
    tokenSecret: 'x'.repeat(24),
    startAtMs: 1_000_000,
    metricsPorts: [-1, -1],
  };
  const expected = [{ action: 'reconnect-storm', atMs: 1_020_000, share: 0.5, durationMs: 2000 }];
  assert.deepEqual(clientFaultsFor(s.faults, 1_000_000), expected);
  const plans = workerPlans(s, main!, ctx);
  assert.equal(plans.length, 2);
  // Only when the loadgen's plan validator keeps the field (it strips unknown ones).
  for (const p of plans) if (p.clientFaults !== undefined) assert.deepEqual(p.clientFaults, expected);
  for (const p of workerPlans(s, reference!, ctx)) assert.equal(p.clientFaults, undefined);
});

test('broker faults need the local provider; relay faults need a fleet that can add and remove', () => {
  const external: KafkaCluster = { provider: 'external', brokers: ['127.0.0.1:9092'], stop: async () => {} };
  const fleet: FaultFleet = { relays: [{ url: 'ws://a/' }] };
  assert.equal(
    errorOf(() => checkFaultTargets([{ action: 'kill-broker', atMs: 1, broker: 2 }], fleet, external)).code,
    'RB_FAULT_UNSUPPORTED',
  );
  assert.equal(
    errorOf(() => checkFaultTargets([{ action: 'kill-relay', atMs: 1, relay: 0 }], fleet, external)).code,
    'RB_FAULT_UNSUPPORTED',
  );
  checkFaultTargets([{ action: 'slow-readers', atMs: 1, share: 0.1, durationMs: 1000 }], fleet, external);
});

test('the executor fires each fault at its instant, in order, and records recoveries', async () => {
  const calls: string[] = [];
  let ready = false;
  const relays = [{ url: 'ws://r0/' }, { url: 'ws://r1/' }];
  const fleet: FaultFleet = {
    relays,
    async addRelay() {
      calls.push(`add@${Date.now() - t0}`);
      relays.push({ url: 'ws://r2/' });
      return { index: 2, gatewayId: 'g2', url: 'ws://r2/' };
    },
    async removeRelay(index, how) {
      calls.push(`${how} ${index}@${Date.now() - t0}`);
      setTimeout(() => (ready = true), 60);
      return {
        handle: { gatewayId: `g${index}`, url: `ws://r${index}/` },
        code: how === 'drain' ? 0 : null,
        signal: how === 'kill' ? 'SIGKILL' : null,
        tookMs: 5,
      };
    },
    async readiness() {
      return { ready, why: ready ? 'ready' : 'group PreparingRebalance' };
    },
  };
  const t0 = Date.now();
  const lines: string[] = [];
  let fleetChanges = 0;
  const run = startFaults({
    onFleetChange: () => fleetChanges++,
    faults: [
      { action: 'kill-relay', atMs: 120, relay: 1 },
      { action: 'add-relay', atMs: 40 },
      { action: 'slow-readers', atMs: 80, share: 0.1, durationMs: 1000 },
    ],
    startAtMs: t0,
    fleet,
    kafka: { provider: 'external', brokers: [], stop: async () => {} },
    log: (l) => lines.push(l),
    pollMs: 10,
    recoveryGraceMs: 2000,
  });
  // Wait for the work itself, not for a time: on a busy machine the timers fire late.
  for (let i = 0; i < 500 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  await run.stop();
  const events = run.events();
  // Relay faults are stamped when they ran (in firing order); a client fault at its scheduled
  // instant (the workers apply it then), so only the relay faults' order is fixed relative to each other.
  assert.deepEqual(
    events.filter((e) => e.kind === 'fault' && e.action !== 'slow-readers').map((e) => e.action),
    ['add-relay', 'kill-relay'],
  );
  assert.deepEqual(
    events.filter((e) => e.action === 'slow-readers').map((e) => e.atMs - t0),
    [80],
  );
  assert.deepEqual(
    events
      .filter((e) => e.kind === 'recovery')
      .map((e) => e.action)
      .sort(),
    ['add-relay', 'kill-relay'],
  );
  assert.deepEqual(
    calls.map((c) => c.split('@')[0]),
    ['add', 'kill 1'],
  );
  assert.equal(fleetChanges, 2, 'the run hears of the added and the killed relay (Prometheus targets)');
  assert.ok(Number(calls[0]!.split('@')[1]) >= 38, calls[0]);
  assert.ok(Number(calls[1]!.split('@')[1]) >= 118, calls[1]);
  const kill = events.find((e) => e.kind === 'fault' && e.action === 'kill-relay')!;
  assert.match(kill.detail, /SIGKILL relay 1 \(g1, ws:\/\/r1\/\): killed by SIGKILL/);
  const recovery = events.find((e) => e.kind === 'recovery' && e.action === 'kill-relay');
  assert.ok(recovery !== undefined && recovery.atMs >= kill.atMs + 50, JSON.stringify(events));
  assert.ok(events.some((e) => e.action === 'slow-readers' && e.atMs === t0 + 80));
});

test('an action that fails rejects `failed` and fires nothing after it', async () => {
  const fleet: FaultFleet = {
    relays: [],
    addRelay: () => Promise.reject(new Error('relay did not start')),
    removeRelay: () => assert.fail('not after a failure'),
    readiness: async () => ({ ready: true, why: '' }),
  };
  const run = startFaults({
    faults: [
      { action: 'add-relay', atMs: 0 },
      { action: 'kill-relay', atMs: 20, relay: 0 },
    ],
    startAtMs: Date.now(),
    fleet,
    kafka: { provider: 'external', brokers: [], stop: async () => {} },
    log: () => {},
  });
  await assert.rejects(run.failed, /relay did not start/);
  await new Promise((r) => setTimeout(r, 40));
  await run.stop();
  assert.deepEqual(run.events(), []);
});

/** A 1 s series starting at t0: p99 (ms) per interval, and delivered = sent unless 0 is given. */
function series(t0: number, p99Ms: readonly number[], delivered?: readonly number[]) {
  const points: SeriesPoint[] = p99Ms.map((p, k) => ({
    t: k + 1,
    sentPerSec: 100,
    deliveredPerSec: delivered?.[k] ?? 100,
    ackedPerSec: 100,
    p50Us: (p * 1000) / 2,
    p99Us: p * 1000,
  }));
  return {
    measureStartMs: t0,
    intervals: points.map((_, k) => ({ startMs: t0 + k * 1000, endMs: t0 + (k + 1) * 1000, histograms: {} as never })),
    series: points,
  };
}

test('recovery figures: users from disruptions, latency from the interval series, the spike, re-deliveries', () => {
  const t0 = 1_800_000_000_000;
  const fault: FaultEvent = { atMs: t0 + 5_500, kind: 'fault', action: 'kill-relay', detail: 'SIGKILL relay 1' };
  const recovered: FaultEvent = { atMs: t0 + 12_000, kind: 'recovery', action: 'kill-relay', detail: 'group Stable' };
  // 5 clean intervals (p99 20–30 ms), a stall (nothing delivered), stalled mail arriving late, clean again.
  const merged = series(
    t0,
    [20, 25, 30, 20, 25, 22, 0, 0, 900, 400, 30, 20, 25],
    [100, 100, 100, 100, 100, 100, 0, 0, 250, 150, 100, 100, 100],
  );
  const worker = {
    workerId: 'w0',
    disruptions: [
      { userId: 'a', closedAtMs: t0 + 5_600, code: 1006, recoveredAtMs: t0 + 8_100 },
      { userId: 'b', closedAtMs: t0 + 5_700, code: 1006, recoveredAtMs: t0 + 9_500 },
      { userId: 'c', closedAtMs: t0 + 30_000, code: 1006, recoveredAtMs: null }, // long after: another cause
    ],
    faultEvents: [],
  } as unknown as WorkerResult;
  const { events, recoveries } = segmentFaults({
    segment: 'main',
    faults: [{ action: 'kill-relay', atMs: 5_500, relay: 1 }],
    startAtMs: t0,
    events: [fault, recovered],
    results: [worker],
    merged,
    ledger: { redelivered: 42, duplicated: 0 },
    objectives: [parseObjective('p99(e2eCorrected) <= 250ms')],
  });
  assert.equal(events.length, 2);
  const r = recoveries[0]!;
  assert.equal(r.atS, 5.5);
  assert.equal(r.serverRecoveryMs, 6_500);
  assert.equal(r.disruptedUsers, 2);
  assert.equal(r.unrecoveredUsers, 0);
  assert.equal(r.usersRecoveryMs, 4_000);
  assert.equal(r.baselineP99Us, 25_000, 'median of the 5 intervals before the fault');
  assert.equal(r.thresholdUs, 250_000, 'the objective is above 2 × baseline');
  assert.equal(r.latencyRecoveryMs, 10_000 - 5_500, 'until the end of the last bad interval (t 9–10 s)');
  assert.equal(r.spikeP99Us, 900_000);
  assert.equal(r.spikeRatio, 36);
  assert.equal(r.redelivered, 42);
  // Without the objective, 2 × baseline; a user who never came back → no users figure.
  const again = segmentFaults({
    segment: 'main',
    faults: [],
    startAtMs: t0,
    events: [fault],
    results: [{ ...worker, disruptions: [{ userId: 'a', closedAtMs: t0 + 5_600, code: 1006, recoveredAtMs: null }] } as WorkerResult],
    merged: series(t0, [20, 25, 30, 20, 25, 22, 900, 900, 900]),
    ledger: { redelivered: 0, duplicated: 0 },
    objectives: [],
  }).recoveries[0]!;
  assert.equal(again.thresholdUs, 50_000);
  assert.equal(again.serverRecoveryMs, null);
  assert.equal(again.usersRecoveryMs, null);
  assert.equal(again.unrecoveredUsers, 1);
  assert.equal(again.latencyRecoveryMs, null, 'p99 never came back');
});

test('worker fault events join the timeline; their copy of a planned client fault does not', () => {
  const t0 = 1_800_000_000_000;
  const planned: FaultEvent = { atMs: t0 + 1000, kind: 'fault', action: 'slow-readers', detail: 'planned' };
  const worker = {
    workerId: 'w1',
    faultEvents: [
      { atMs: t0 + 1003, kind: 'fault', action: 'slow-readers', detail: '12 users stop reading' },
      { atMs: t0 + 11_000, kind: 'recovery', action: 'slow-readers', detail: 'reading again' },
    ],
  } as unknown as WorkerResult;
  const { events, recoveries } = segmentFaults({
    segment: 'main',
    faults: [{ action: 'slow-readers', atMs: 1000, share: 0.1, durationMs: 10_000 }],
    startAtMs: t0,
    events: [planned],
    results: [worker],
    merged: series(t0, [20, 20, 20]),
    ledger: { redelivered: 0, duplicated: 0 },
    objectives: [],
  });
  assert.deepEqual(
    events.map((e) => e.detail),
    ['planned', 'w1: reading again'],
  );
  assert.equal(recoveries.length, 1);
  assert.equal(recoveries[0]!.serverRecoveryMs, null, 'a client fault has no system recovery');
});
