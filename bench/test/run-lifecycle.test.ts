// The run lifecycle with fake Kafka, relays and workers: files written, exit codes, segments,
// and — on success or failure — everything that was started is stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Worker, WorkerPlan, WorkerProgress, WorkerResult } from '../../loadgen/src/worker/contract.js';
import { RelaybenchError } from '../../relay/protocol/src/relaybench-error.js';
import { resolveRunConfig } from '../src/orchestrator/config.js';
import { runError } from '../src/orchestrator/errors.js';
import { runScenario, type Fleet, type RunDeps } from '../src/orchestrator/run.js';
import { planSegments, workersAtOnce } from '../src/orchestrator/segments.js';
import { loadScenario } from '../src/scenarios/loader.js';
import { syntheticWorkerResult } from './synthetic.js';

interface Fakes {
  deps: RunDeps;
  events: string[];
  plans: WorkerPlan[];
  out: () => string;
}

function fakes(
  o: {
    latencyScale?: (rate: number) => number;
    failWorker?: boolean;
    lost?: number;
    interruptOnStart?: boolean;
    /** Relay workers finish only once a kafka-direct worker has started (or after 2 s, noted as `alone`). */
    relayWaitsForReference?: boolean;
  } = {},
): Fakes {
  const events: string[] = [];
  const plans: WorkerPlan[] = [];
  let referenceStarted = () => {};
  const reference = new Promise<void>((resolve) => (referenceStarted = resolve));
  let out = '';
  const sink = (collect: boolean) =>
    Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          if (collect) out += String(chunk);
          cb();
        },
      }),
      { isTTY: false },
    ) as unknown as NodeJS.WriteStream;
  const relays: { url: string; httpUrl: string }[] = [];
  const fleet: Fleet = {
    relays,
    failed: new Promise<never>(() => {}),
    async scaleTo(n) {
      while (relays.length < n)
        relays.push({ url: `ws://127.0.0.1:${7000 + relays.length}/`, httpUrl: `http://127.0.0.1:${7000 + relays.length}` });
      events.push(`relays=${n}`);
    },
    metricsUrls: () => relays.map((r) => `${r.httpUrl}/metrics`),
    async stop() {
      events.push('relays stopped');
    },
  };
  const createWorker = (id: string): Worker => {
    let listener: ((p: WorkerProgress) => void) | undefined;
    let result: Promise<WorkerResult> | undefined;
    let stopped = () => {};
    return {
      id,
      onProgress: (l) => (listener = l),
      async start(plan: WorkerPlan) {
        events.push(`start ${id} ${plan.mode} ${plan.workload.ratePerSec}/s prefix=${plan.userPrefix}`);
        plans.push(plan);
        if (plan.mode === 'kafka-direct') referenceStarted();
        listener?.({
          workerId: id,
          elapsedMs: 1000,
          phase: 'measuring',
          sentPerSec: plan.workload.ratePerSec,
          deliveredPerSec: plan.workload.ratePerSec,
          p50Us: 10_000,
          p99Us: 20_000,
          errors: 0,
          connected: plan.workload.users,
          fraction: 0.5,
        });
        if (o.failWorker === true) {
          result = Promise.reject(runError('RB_RUN_INFRA_WORKER', `${id} exited 1 without a result`));
          result.catch(() => {});
          return;
        }
        const rate = plan.workload.ratePerSec;
        const r = syntheticWorkerResult({
          workerId: id,
          mode: plan.mode,
          intervals: 3,
          ratePerSec: 40,
          seed: plan.workload.seed,
          scale: o.latencyScale?.(rate * 2) ?? 1,
          lost: o.lost ?? 0,
        });
        const full = { ...r, plan, targetRatePerSec: rate, achievedRatePerSec: rate };
        if (o.interruptOnStart === true) {
          // A worker that runs until stopped, and a Ctrl-C while it runs.
          result = new Promise((resolve) => (stopped = () => resolve(full)));
          if (id.endsWith('-w0')) setTimeout(() => process.emit('SIGINT', 'SIGINT'), 20);
        } else if (o.relayWaitsForReference === true && plan.mode === 'relay') {
          let timer: NodeJS.Timeout | undefined;
          const alone = new Promise<void>((resolve) => (timer = setTimeout(() => (events.push(`${id} alone`), resolve()), 2000)));
          result = Promise.race([reference, alone]).then(() => (clearTimeout(timer), full));
        } else result = Promise.resolve(full);
      },
      result: () => result!,
      async stop() {
        events.push(`stop ${id}`);
        stopped();
      },
    };
  };
  const deps: RunDeps = {
    provisionKafka: async (opts) => {
      events.push(`kafka count=${opts.count}`);
      return { provider: 'external', brokers: ['127.0.0.1:9'], kafkaVersion: '3.9.1', stop: async () => void events.push('kafka stopped') };
    },
    createFleet: () => fleet,
    createWorker,
    freePorts: async (n) => Array.from({ length: n }, (_, i) => 9400 + i),
    detectPrometheus: async () => ({ kind: 'none', reason: 'not-installed', message: 'No Prometheus found' }),
    startPrometheus: async () => assert.fail('not installed'),
    stderr: sink(false),
    stdout: sink(true),
  };
  return { deps, events, plans, out: () => out };
}

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rb-run-'));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('smoke with fakes: every output file, exit 0, everything stopped', () =>
  withDir(async (dir) => {
    const f = fakes();
    const cfg = resolveRunConfig(loadScenario('smoke'), { resultsDir: dir, runId: 'r1' }, {});
    const { summary, dir: runDir } = await runScenario(cfg, f.deps);
    assert.equal(summary.exitCode, 0, JSON.stringify(summary.objectives.filter((v) => !v.pass)));
    for (const file of [
      'summary.json',
      'report.html',
      'summary.md',
      'junit.xml',
      'e2eCorrected.hlog',
      'ack.hlog',
      'scenario.yaml',
      'run.log',
    ])
      assert.ok(existsSync(join(runDir, file)), file);
    assert.deepEqual(f.events.slice(0, 2), ['kafka count=1', 'relays=2']);
    assert.ok(f.events.includes('relays stopped') && f.events.includes('kafka stopped') && f.events.includes('stop main-w0'));
    assert.ok(f.events.indexOf('relays stopped') < f.events.indexOf('kafka stopped'), 'relays stop before Kafka');
    assert.match(f.out(), /PASS — smoke \(r1\), exit 0/);
    assert.equal(summary.prometheus.status, 'not installed');
  }));

test('phases scale the relay tier out; the reference runs in kafka-direct mode', () =>
  withDir(async (dir) => {
    const f = fakes();
    const scaleOut = await runScenario(resolveRunConfig(loadScenario('scale-out'), { resultsDir: dir, runId: 'so' }, {}), f.deps);
    assert.deepEqual(
      f.events.filter((e) => e.startsWith('relays=')),
      ['relays=1', 'relays=2', 'relays=3'],
    );
    assert.deepEqual(
      scaleOut.summary.segments.map((s) => s.relays),
      [1, 2, 3],
    );
    const prefixes = f.events.filter((e) => e.startsWith('start')).map((e) => e.split('prefix=')[1]);
    assert.equal(new Set(prefixes).size, prefixes.length, 'distinct user prefixes per segment and worker');
    const g = fakes();
    const fanout = await runScenario(resolveRunConfig(loadScenario('group-fanout'), { resultsDir: dir, runId: 'gf' }, {}), g.deps);
    assert.deepEqual(
      fanout.summary.segments.map((s) => `${s.name}:${s.mode}`),
      ['main:relay', 'reference:kafka-direct'],
    );
    assert.ok(fanout.summary.reference?.ratios.e2eCorrected !== undefined);
  }));

test("an alongside reference runs in the relay segment's window at a quarter of its rate, and the run says so", () =>
  withDir(async (dir) => {
    const f = fakes({ relayWaitsForReference: true });
    const cfg = resolveRunConfig(
      loadScenario('smoke'),
      { resultsDir: dir, runId: 'al', reference: 'kafka-direct', referenceTiming: 'alongside' },
      {},
    );
    const { summary } = await runScenario(cfg, f.deps);
    assert.ok(
      !f.events.some((e) => e.endsWith('alone')),
      `the relay segment finished before the reference started: ${f.events.join(' | ')}`,
    );
    assert.deepEqual(
      f.plans.map((p) => `${p.mode} ${p.workload.ratePerSec}/s`),
      ['relay 200/s', 'kafka-direct 50/s'],
    );
    assert.ok(Math.abs(f.plans[0]!.startAtMs - f.plans[1]!.startAtMs) < 1000, 'one common start');
    assert.deepEqual(
      summary.segments.map((s) => `${s.name}:${s.mode}`),
      ['main:relay', 'reference:kafka-direct'],
    );
    assert.ok(summary.reference?.ratios.e2eCorrected !== undefined);
    assert.ok(summary.notes.some((n) => n.includes('alongside main at 50 msg/s')));
  }));

test('--reference-timing: a bad value, a rate without alongside, alongside with a ramp are refused before anything starts', () => {
  const smoke = loadScenario('smoke');
  const codeOf = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof RelaybenchError && e.code === 'RB_RUN_BAD_OPTION');
  codeOf(() => resolveRunConfig(smoke, { referenceTiming: 'during' }, {}));
  codeOf(() => resolveRunConfig(smoke, { referenceRate: '50' }, {}));
  codeOf(() => resolveRunConfig(smoke, { referenceTiming: 'alongside', referenceRate: '0' }, {}));
  const cfg = resolveRunConfig(loadScenario('ramp'), { reference: 'kafka-direct', referenceTiming: 'alongside' }, {});
  assert.throws(() => planSegments(cfg.scenario, cfg.referenceTiming), /one relay segment/);
});

test('firstWarmup: the first segment (and an alongside reference) warms up longer, later ones for warmup; --warmup longer than it wins; --first-warmup overrides', () => {
  const warmups = (name: string, flags = {}, env = {}) => {
    const cfg = resolveRunConfig(loadScenario(name), flags, env);
    return planSegments(cfg.scenario, cfg.referenceTiming).map((g) => [g.name, g.warmupMs]);
  };
  assert.deepEqual(warmups('ramp').slice(0, 3), [
    ['rate-300', 30_000],
    ['rate-600', 5_000],
    ['rate-900', 5_000],
  ]);
  assert.deepEqual(warmups('scale-out', { reference: 'kafka-direct' }), [
    ['one-relay', 30_000],
    ['two-relays', 5_000],
    ['three-relays', 5_000],
    ['reference', 5_000],
  ]);
  assert.deepEqual(warmups('ramp', { warmup: '40s' }).slice(0, 2), [
    ['rate-300', 40_000],
    ['rate-600', 40_000],
  ]);
  assert.deepEqual(warmups('ramp', { firstWarmup: '2s', warmup: '1s' }).slice(0, 2), [
    ['rate-300', 2_000],
    ['rate-600', 1_000],
  ]);
  assert.deepEqual(warmups('ramp', {}, { RELAYBENCH_FIRST_WARMUP: '0s' })[0], ['rate-300', 5_000]);
  const alongside = { reference: 'kafka-direct', referenceTiming: 'alongside', firstWarmup: '30s' };
  assert.deepEqual(warmups('smoke', alongside), [
    ['main', 30_000],
    ['reference', 30_000],
  ]);
  assert.deepEqual(warmups('smoke', { reference: 'kafka-direct' }), [
    ['main', 15_000],
    ['reference', 15_000],
  ]);
  assert.throws(
    () => resolveRunConfig(loadScenario('ramp'), { firstWarmup: 'soon' }, {}),
    (e: unknown) => e instanceof RelaybenchError && e.code === 'RB_RUN_BAD_OPTION' && /--first-warmup soon/.test(e.message),
  );
});

test('--kafka-client: platformatic by default, kafkajs from the environment or a flag (the flag wins), anything else refused', () => {
  const smoke = loadScenario('smoke');
  assert.equal(resolveRunConfig(smoke, {}, {}).kafkaClient, 'platformatic');
  assert.equal(resolveRunConfig(smoke, {}, { RELAYBENCH_KAFKA_CLIENT: 'kafkajs' }).kafkaClient, 'kafkajs');
  assert.equal(
    resolveRunConfig(smoke, { kafkaClient: 'platformatic' }, { RELAYBENCH_KAFKA_CLIENT: 'kafkajs' }).kafkaClient,
    'platformatic',
  );
  assert.throws(
    () => resolveRunConfig(smoke, { kafkaClient: 'librdkafka' }, {}),
    (e: unknown) => e instanceof RelaybenchError && e.code === 'RB_RUN_BAD_OPTION' && /kafkajs or platformatic/.test(e.message),
  );
});

test('--generator-priority: realtime by default, normal from the environment or a flag, anything else refused', () => {
  const smoke = loadScenario('smoke');
  assert.equal(resolveRunConfig(smoke, {}, {}).generatorPriority, 'realtime');
  assert.equal(resolveRunConfig(smoke, {}, { RELAYBENCH_GENERATOR_PRIORITY: 'normal' }).generatorPriority, 'normal');
  assert.equal(
    resolveRunConfig(smoke, { generatorPriority: 'realtime' }, { RELAYBENCH_GENERATOR_PRIORITY: 'normal' }).generatorPriority,
    'realtime',
  );
  assert.equal(workersAtOnce(smoke, { timing: 'after' }), 1, 'smoke: one worker, its reference after it');
  const gateLike = resolveRunConfig(smoke, { reference: 'kafka-direct', referenceTiming: 'alongside' }, {});
  assert.equal(workersAtOnce(gateLike.scenario, gateLike.referenceTiming), 2, 'an alongside reference adds its worker');
  assert.throws(
    () => resolveRunConfig(smoke, { generatorPriority: 'high' }, {}),
    (e: unknown) => e instanceof RelaybenchError && e.code === 'RB_RUN_BAD_OPTION' && /realtime or normal/.test(e.message),
  );
});

test('how the workers were scheduled reaches summary.json, summary.md and the final lines when it fell back', () =>
  withDir(async (dir) => {
    const f = fakes();
    const fallback = { requested: 'realtime', applied: 'normal', detail: 'the normal scheduler: chrt refused', prefix: [] } as const;
    const { summary, dir: runDir } = await runScenario(resolveRunConfig(loadScenario('smoke'), { resultsDir: dir, runId: 'gp' }, {}), {
      ...f.deps,
      generatorPriority: fallback,
    });
    assert.deepEqual(summary.generatorPriority, { requested: 'realtime', applied: 'normal', detail: 'the normal scheduler: chrt refused' });
    assert.match(readFileSync(join(runDir, 'summary.md'), 'utf8'), /Workers scheduled: normal — the normal scheduler: chrt refused/);
    assert.match(f.out(), /workers scheduled: normal — the normal scheduler: chrt refused/);
    const remote = await runScenario(resolveRunConfig(loadScenario('smoke'), { resultsDir: dir, runId: 'gp2' }, {}), fakes().deps);
    assert.equal(remote.summary.generatorPriority, null, 'not said (remote workers): null');
  }));

test('ramp stops at the first step that breaks and reports the highest rate that held', () =>
  withDir(async (dir) => {
    // Latency grows with the rate (the fake sees 2 × the step's rate): ×1 up to 900 msg/s, ×30 (p99 ≫ 250 ms) above.
    const f = fakes({ latencyScale: (rate) => (rate <= 1800 ? 1 : 30) });
    const { summary } = await runScenario(resolveRunConfig(loadScenario('ramp'), { resultsDir: dir, runId: 'ramp' }, {}), f.deps);
    assert.deepEqual(
      summary.segments.map((s) => s.name),
      ['rate-300', 'rate-600', 'rate-900', 'rate-1200'],
    );
    assert.equal(summary.ramp?.highestRateHeldPerSec, 900);
    assert.equal(summary.exitCode, 0);
  }));

test('lost messages make the run invalid (exit 2)', () =>
  withDir(async (dir) => {
    const { summary } = await runScenario(
      resolveRunConfig(loadScenario('smoke'), { resultsDir: dir, runId: 'lost' }, {}),
      fakes({ lost: 1 }).deps,
    );
    assert.equal(summary.exitCode, 2);
    assert.equal(summary.status, 'invalid');
  }));

test('Ctrl-C during a run stops the workers, writes the partial results as interrupted (130), starts nothing more', () =>
  withDir(async (dir) => {
    const f = fakes({ interruptOnStart: true });
    const { summary, dir: runDir } = await runScenario(
      resolveRunConfig(loadScenario('scale-out'), { resultsDir: dir, runId: 'int' }, {}),
      f.deps,
    );
    assert.equal(summary.status, 'interrupted');
    assert.equal(summary.exitCode, 130);
    assert.deepEqual(
      summary.segments.map((s) => s.name),
      ['one-relay'],
      'later phases never start',
    );
    assert.ok(summary.ledger.sent > 0);
    for (const file of ['summary.json', 'report.html', 'summary.md', 'junit.xml', 'INTERRUPTED'])
      assert.ok(existsSync(join(runDir, file)), file);
    assert.ok(f.events.indexOf('stop one-relay-w0') < f.events.indexOf('relays stopped'), 'workers stop (and report) before the relays');
    assert.ok(f.events.includes('kafka stopped'));
  }));

test('a worker that fails is an infrastructure error, and everything is still stopped', () =>
  withDir(async (dir) => {
    const f = fakes({ failWorker: true });
    await assert.rejects(
      runScenario(resolveRunConfig(loadScenario('smoke'), { resultsDir: dir, runId: 'bad' }, {}), f.deps),
      (e: unknown) => e instanceof RelaybenchError && e.code === 'RB_RUN_INFRA_WORKER',
    );
    assert.ok(f.events.includes('relays stopped') && f.events.includes('kafka stopped') && f.events.includes('stop main-w0'));
    assert.ok(!readdirSync(join(dir, 'bad')).includes('summary.json'));
  }));

test('config layers: defaults → scenario → env → flags', () => {
  const s = loadScenario('smoke');
  const plain = resolveRunConfig(s, {}, {});
  assert.equal(plain.scenario.durationMs, 30_000);
  assert.equal(plain.sources.duration, 'scenario');
  assert.equal(plain.resultsDir, 'results');
  assert.equal(plain.sources['results-dir'], 'default');
  const env = resolveRunConfig(s, {}, { RELAYBENCH_DURATION: '10s', RELAYBENCH_RESULTS_DIR: '/tmp/r', RELAYBENCH_PROMETHEUS: 'off' });
  assert.equal(env.scenario.durationMs, 10_000);
  assert.equal(env.sources.duration, 'env');
  assert.equal(env.resultsDir, '/tmp/r');
  assert.equal(env.prometheus, 'off');
  const flags = resolveRunConfig(
    s,
    { duration: '5s', resultsDir: '/tmp/f', rate: '50', reference: 'kafka-direct' },
    { RELAYBENCH_DURATION: '10s', RELAYBENCH_RESULTS_DIR: '/tmp/r' },
  );
  assert.equal(flags.scenario.durationMs, 5_000);
  assert.equal(flags.sources.duration, 'flag');
  assert.equal(flags.resultsDir, '/tmp/f');
  assert.equal(flags.scenario.workload.ratePerSec, 50);
  assert.equal(flags.scenario.reference, 'kafka-direct');
  assert.ok(Object.isFrozen(flags) && Object.isFrozen(flags.scenario));
  assert.throws(() => resolveRunConfig(s, { duration: 'forever' }, {}), /RB_RUN_BAD_OPTION|expected a duration/);
  for (const none of ['0s', '0ms', '0'])
    assert.throws(
      () => resolveRunConfig(s, { duration: none }, {}),
      /RB_RUN_BAD_OPTION|expected a duration|at least 1ms/,
      `--duration ${none}`,
    );
  assert.throws(() => resolveRunConfig(s, {}, { RELAYBENCH_DURATION: '0s' }), /at least 1ms/);
  assert.equal(resolveRunConfig(s, { warmup: '0s' }, {}).scenario.warmupMs, 0, 'no warm-up is fine');
  assert.throws(() => resolveRunConfig(s, { workers: '101' }, {}), /whole number from 1 to 16/);
});

test('progress board: rates add up, the slowest phase and the worst latency show', async () => {
  const { ProgressBoard, describeSnapshot } = await import('../src/orchestrator/progress.js');
  const b = new ProgressBoard(2);
  const p = { elapsedMs: 5000, sentPerSec: 100, deliveredPerSec: 90, p50Us: 5000, p99Us: 20_000, errors: 1, connected: 100, fraction: 0.5 };
  b.update({ ...p, workerId: 'a', phase: 'measuring' });
  assert.equal(b.snapshot().phase, 'connecting', 'until every worker reports');
  assert.equal(b.snapshot().fraction, 0.25);
  b.update({ ...p, workerId: 'b', phase: 'warmup', p99Us: 40_000 });
  const s = b.snapshot();
  assert.deepEqual(
    [s.phase, s.sentPerSec, s.deliveredPerSec, s.p99Us, s.connected, s.errors, s.fraction],
    ['warmup', 200, 180, 40_000, 200, 2, 0.5],
  );
  assert.match(describeSnapshot(s), /sent 200\/s delivered 180\/s · e2e p50 5 ms p99 40 ms · 200 connected · 2 errors/);
});

test('a bad --prometheus value fails before anything starts', () =>
  withDir(async (dir) => {
    const f = fakes();
    const deps = { ...f.deps, detectPrometheus: async () => Promise.reject(runError('RB_RUN_BAD_OPTION', 'bad mode')) };
    await assert.rejects(runScenario(resolveRunConfig(loadScenario('smoke'), { resultsDir: dir, runId: 'p' }, {}), deps), /bad mode/);
    assert.deepEqual(f.events, []);
    assert.ok(!existsSync(join(dir, 'p')));
  }));
