import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startTestKafka, survivingJvms, waitFor } from '../../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { TEST_SECRET } from '../../../test/helpers/client.js';
import { spawnSupervised, stopSupervised, type Supervised } from '../../../testbed/process/supervisor.js';
import { Coordinator } from '../../src/distributed/coordinator.js';
import { collectRun } from '../../src/distributed/collect.js';
import {
  decodeResults,
  encodeResultChunks,
  resultChunkMessages,
  resultsTopic,
  ResultAssembler,
  type ResultChunkMessage,
} from '../../src/distributed/protocol.js';
import { ensureRunTopics, readRunLog, RunLogWriter } from '../../src/distributed/run-log.js';
import { createKafkajsAdapter } from '../../../relay/kafka/src/index.js';
import { syntheticWorkerResult } from '../synthetic.js';
import { parseScenario } from '../../src/scenarios/loader.js';
import { planSegments } from '../../src/orchestrator/segments.js';
import { startLeadMs, workerPlans } from '../../src/orchestrator/plans.js';
import { machineInfo } from '../../src/orchestrator/environment.js';
import { sumLedgers } from '../../src/results/merge.js';
import type { RunSummary } from '../../src/results/summary.js';
import { mergeEncoded } from '../../../loadgen/src/stats/period.js';
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';

/**
 * Distributed load generation, end to end on one machine: three `relaybench loadgen --join`
 * processes reach the coordinator only through Kafka (no files, no pipes between them), run a
 * ~10 s plan against two real relays, publish their results; `collect` rebuilds the run.
 */

const CLI = 'dist/bench/src/cli/main.js';
const WORKERS = 3;
const SCENARIO = `
name: distributed-test
description: 3 joiners, 100 msg/s each, fixed pairs, 2 relays
brokers: 1
partitions: 12
relays: 2
workers: ${WORKERS}
duration: 10s
warmup: 1s
drain: 3s
maxScheduleLag: 50ms
workload:
  users: 60
  rate: ${WORKERS * 100}
  arrivals: constant
  recipients: { kind: pairs }
  size: { kind: fixed, bytes: 200 }
  readDelay: 0ms
  seed: 7
objectives:
  - lost == 0
  - p99(e2eCorrected) <= 2s
`;

let kafka: LocalKafkaCluster | undefined;
let jvmPids: number[] = [];
const relays: RelayProcess[] = [];
const children: Supervised[] = [];
let tmp = '';

interface Child {
  readonly proc: Supervised;
  readonly events: Record<string, unknown>[];
  stderr: string;
}

function spawnCli(name: string, args: readonly string[]): Child {
  const proc = spawnSupervised(name, process.execPath, [CLI, ...args]);
  children.push(proc);
  const c: Child = { proc, events: [], stderr: '' };
  proc.child.stderr?.on('data', (d: Buffer) => {
    c.stderr += d.toString();
    if (process.env.RELAYBENCH_TEST_VERBOSE !== undefined) process.stderr.write(d);
  });
  createInterface({ input: proc.child.stdout! }).on('line', (line) => {
    try {
      c.events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a human line
    }
  });
  return c;
}

const exitCode = async (c: Child): Promise<number | null> => (await c.proc.exited).code;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'relaybench-dist-'));
  kafka = await startTestKafka(1);
  jvmPids = kafka.nodes.map((n) => n.pid()).filter((p): p is number => p !== undefined);
  // One after the other: two relays creating the topics of a fresh cluster at once can race.
  for (const gatewayId of ['d1', 'd2']) relays.push(await startRelayProcess(kafka.brokers, { gatewayId }));
  await waitAllReady(relays, 120_000);
});

after(async () => {
  await Promise.all(children.map((c) => stopSupervised(c, 5000)));
  await Promise.all(relays.map((r) => r.stop()));
  await kafka?.stop();
  assert.deepEqual(survivingJvms(jvmPids), [], 'no Kafka JVM may outlive the test');
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
});

test('distributed: a result survives gzip + chunking byte for byte, whatever the chunk size', () => {
  const result = { workerId: 'w', blob: 'x'.repeat(50_000), n: Array.from({ length: 2000 }, (_, i) => i * 7919) };
  const enc = encodeResultChunks(result, 1000);
  assert.ok(enc.chunks.length > 1, `${enc.chunks.length} chunks`);
  const a = new ResultAssembler();
  const base = {
    type: 'result',
    joinerId: 'j',
    assignmentId: 'a1',
    workerId: 'w',
    segment: 'main',
    segmentIndex: 0,
    chunks: enc.chunks.length,
    rawBytes: enc.rawBytes,
    gzipBytes: enc.gzipBytes,
    sha256: enc.sha256,
  } as const;
  // Out of order, with a repeat: only the last missing chunk completes it.
  const order = [...enc.chunks.keys()].reverse();
  let text: string | Error | null = null;
  for (const [k, i] of [...order, order[0]!].entries()) {
    text = a.add({ ...base, chunk: i, data: enc.chunks[i]! } satisfies ResultChunkMessage);
    if (k < order.length - 1) assert.equal(text, null);
    if (k === order.length - 1) break;
  }
  assert.deepEqual(JSON.parse(text as string), result);
  const bad = new ResultAssembler();
  const corrupt = bad.add({ ...base, assignmentId: 'a2', chunks: 1, chunk: 0, data: Buffer.from('not the gzip').toString('base64') });
  assert.ok(corrupt instanceof Error && /checksum/.test(corrupt.message));
});

test('integration: 3 joiners joined only through Kafka run a plan; collect merges them exactly as local workers', async () => {
  const brokers = kafka!.brokers.join(',');
  const scenarioFile = join(tmp, 'distributed-test.yaml');
  await writeFile(scenarioFile, SCENARIO);
  const s = parseScenario(SCENARIO, scenarioFile);
  const runId = `dist-${Date.now()}`;

  // A joiner for a run nobody coordinates gives up with its code (exit 3) after --join-timeout.
  const orphan = spawnCli('joiner-orphan', ['loadgen', '--join', `${runId}-nobody`, '--brokers', brokers, '--join-timeout', '3s']);
  const joiners = Array.from({ length: WORKERS }, (_, i) =>
    spawnCli(`joiner-${i}`, ['loadgen', '--join', runId, '--brokers', brokers, '--worker-name', `j${i}`, '--join-timeout', '60s']),
  );

  // Joiners waiting before the coordinator exists (as pods would be): their joins are answered at once.
  await waitFor('every joiner announced itself', () => joiners.every((j) => j.events.some((e) => e.event === 'joined')), 30_000);
  const log: string[] = [];
  const openedAt = Date.now();
  const coordinator = await Coordinator.open({
    runId,
    brokers: kafka!.brokers,
    scenario: s,
    scenarioYaml: SCENARIO,
    kafka: { provider: 'local', brokers: 1, partitions: s.partitions },
    versions: { relaybench: 'test', node: process.versions.node, kafka: null, prometheus: null },
    machine: machineInfo(),
    log: (l) => log.push(l),
  });
  let results: WorkerResult[];
  const workersDir = join(tmp, 'coordinator-workers');
  await mkdir(workersDir, { recursive: true });
  try {
    const openMs = Date.now() - openedAt;
    const t0 = Date.now();
    const joined = await coordinator.waitForJoiners(WORKERS, 30_000);
    const joinMs = Date.now() - t0;
    assert.equal(joined.length, WORKERS);
    assert.deepEqual(joined.map((j) => j.name).sort(), ['j0', 'j1', 'j2']);

    const seg = planSegments(s)[0]!;
    const plans = workerPlans(s, seg, {
      runId,
      segmentIndex: 0,
      relayUrls: relays.map((r) => r.url),
      brokers: kafka!.brokers,
      tokenSecret: TEST_SECRET,
      startAtMs: Date.now() + startLeadMs(s),
      metricsPorts: [],
    });
    const workers = plans.map((p) => coordinator.createWorker(p.workerId, workersDir));
    let progress = 0;
    for (const [i, w] of workers.entries()) {
      w.onProgress(() => progress++);
      await w.start(plans[i]!);
    }
    results = await Promise.all(workers.map((w) => w.result()));
    assert.ok(progress > 0, 'progress travels through Kafka');
    const accept = workers.map((w) => w.acceptLatencyMs ?? NaN);
    assert.ok(
      accept.every((ms) => ms >= 0 && ms < 10_000),
      `assign → accepted: ${accept.join(', ')} ms`,
    );
    const sizes = workers.map((w) => w.resultBytes!);
    process.stderr.write(
      `# coordinator open ${openMs} ms; waiting joiners all joined ${joinMs} ms later; assign → accepted ${accept.join(' / ')} ms; results ${sizes.map((b) => `${b.rawBytes} B → ${b.gzipBytes} B gzip in ${b.chunks} record(s)`).join(' · ')}\n`,
    );
  } finally {
    await coordinator.close();
  }
  assert.deepEqual(
    await Promise.all(joiners.map(exitCode)),
    [0, 0, 0],
    `joiners exit 0 after the coordinator's end: ${joiners.map((j) => j.stderr.slice(-400)).join(' | ')}`,
  );
  for (const j of joiners)
    assert.ok(
      j.events.some((e) => e.event === 'published'),
      'each joiner published its result',
    );
  assert.equal(await exitCode(orphan), 3, orphan.stderr);
  assert.match(orphan.stderr, /RB_DIST_NO_ASSIGNMENT/);

  // The workers' own figures: each ran 100 msg/s, nothing was lost.
  assert.equal(results.length, WORKERS);
  for (const r of results) {
    assert.equal(r.ledger.lost, 0, `${r.workerId} lost nothing`);
    assert.ok(r.ledger.sent > 500, `${r.workerId} sent ${r.ledger.sent}`);
  }

  // collect (the function): the same merge as for local workers.
  const resultsDir = join(tmp, 'results');
  const out = await collectRun({ runId, brokers: kafka!.brokers, resultsDir, timeoutMs: 20_000, log: (l) => log.push(l) });
  const collected = out.segments[0]!.results;
  assert.equal(out.segments.length, 1);
  assert.equal(collected.length, WORKERS);
  assert.deepEqual(out.summary.ledger, sumLedgers(results.map((r) => r.ledger)), "merged ledger = sum of the workers' ledgers");
  assert.equal(out.summary.ledger.lost, 0);
  const e2eCount = (rs: readonly WorkerResult[]) =>
    mergeEncoded(rs.flatMap((r) => r.intervals.map((iv) => iv.histograms.e2eCorrected).filter((x): x is string => x !== undefined)))
      .totalCount;
  const perWorker = results.map((r) => e2eCount([r]));
  assert.ok(perWorker.every((n) => n > 0));
  assert.equal(
    out.summary.stages.e2eCorrected.count,
    perWorker.reduce((a, b) => a + b, 0),
    "merged e2e count = sum of the workers' counts",
  );
  assert.equal(out.summary.segments[0]!.workers, WORKERS);
  for (const f of [
    'summary.json',
    'e2eCorrected.hlog',
    'ack.hlog',
    'report.html',
    'summary.md',
    'junit.xml',
    'scenario.yaml',
    'workers/main-w0.result.json',
    'workers/main-w2.plan.json',
  ])
    assert.ok(existsSync(join(out.dir, f)), `${f} written`);

  // collect (the CLI): same figures, the run's exit code.
  const cliDir = join(tmp, 'results-cli');
  const cli = spawnCli('collect', ['collect', runId, '--brokers', brokers, '--results-dir', cliDir, '--timeout', '20s']);
  assert.equal(await exitCode(cli), out.summary.exitCode, cli.stderr);
  const fromCli = JSON.parse(readFileSync(join(cliDir, runId, 'summary.json'), 'utf8')) as RunSummary;
  assert.deepEqual(fromCli.ledger, out.summary.ledger);
  assert.deepEqual(fromCli.stages.e2eCorrected, out.summary.stages.e2eCorrected);
  assert.ok(existsSync(join(cliDir, runId, 'report.html')));
});

test("integration: a 9-minute worker's result (MBs) crosses Kafka in records under the 1 MiB limit", async () => {
  const runId = `dist-big-${Date.now()}`;
  const result = syntheticWorkerResult({ intervals: 540, ratePerSec: 1000 });
  const enc = encodeResultChunks(result);
  assert.ok(enc.chunks.length >= 3, `${enc.rawBytes} B → ${enc.chunks.length} chunks`);
  const adapter = createKafkajsAdapter({ brokers: kafka!.brokers, clientId: 'dist-big' });
  const admin = await adapter.admin();
  const writer = new RunLogWriter(await adapter.producer(), runId);
  let text: string | Error | null = null;
  try {
    await ensureRunTopics(admin, runId);
    const from = { joinerId: 'j', assignmentId: 'a', workerId: result.workerId };
    for (const m of resultChunkMessages(enc, from, 'main', 0)) await writer.results(m);
    const assembler = new ResultAssembler();
    const reader = await readRunLog(adapter, admin, {
      topics: [resultsTopic(runId)],
      groupPrefix: 'dist-big',
      onRecord: (r) => {
        const m = decodeResults(runId, r.value);
        if (m?.type === 'result') text = assembler.add(m) ?? text;
      },
    });
    await reader.caughtUp;
    await reader.stop();
  } finally {
    await writer.close();
    await admin.close();
  }
  process.stderr.write(`# 540 s × 1000 msg/s result: ${enc.rawBytes} B JSON → ${enc.gzipBytes} B gzip → ${enc.chunks.length} records\n`);
  assert.equal(typeof text, 'string');
  assert.deepEqual(JSON.parse(text as unknown as string), JSON.parse(JSON.stringify(result)));
});

test('integration: SIGTERM stops a joiner early and it still publishes its result', async () => {
  const brokers = kafka!.brokers.join(',');
  const long = SCENARIO.replace('name: distributed-test', 'name: distributed-stop')
    .replace(`workers: ${WORKERS}`, 'workers: 1')
    .replace('duration: 10s', 'duration: 60s')
    .replace('users: 60', 'users: 10')
    .replace(`rate: ${WORKERS * 100}`, 'rate: 50');
  const s = parseScenario(long, join(tmp, 'distributed-stop.yaml'));
  const runId = `dist-stop-${Date.now()}`;
  const joiner = spawnCli('joiner-stop', ['loadgen', '--join', runId, '--brokers', brokers, '--join-timeout', '60s']);
  const coordinator = await Coordinator.open({
    runId,
    brokers: kafka!.brokers,
    scenario: s,
    kafka: { provider: 'local', brokers: 1, partitions: s.partitions },
    versions: { relaybench: 'test', node: process.versions.node, kafka: null, prometheus: null },
    machine: machineInfo(),
    log: () => {},
  });
  try {
    await coordinator.waitForJoiners(1, 30_000);
    const plan = workerPlans(s, planSegments(s)[0]!, {
      runId,
      segmentIndex: 0,
      relayUrls: relays.map((r) => r.url),
      brokers: kafka!.brokers,
      tokenSecret: TEST_SECRET,
      startAtMs: Date.now() + startLeadMs(s),
      metricsPorts: [],
    })[0]!;
    const worker = coordinator.createWorker(plan.workerId, join(tmp, 'coordinator-workers'));
    let measuring!: () => void;
    const started = new Promise<void>((r) => (measuring = r));
    worker.onProgress((p) => p.phase === 'measuring' && p.sentPerSec > 0 && measuring());
    await worker.start(plan);
    await started;
    const t0 = Date.now();
    joiner.proc.child.kill('SIGTERM');
    const result = await worker.result();
    process.stderr.write(`# SIGTERM → result at the coordinator: ${Date.now() - t0} ms\n`);
    assert.ok(Date.now() - t0 < 15_000, 'the result comes well before the planned 60 s');
    assert.ok(result.ledger.sent > 0, `sent ${result.ledger.sent}`);
    assert.ok(result.endedMs - result.startedMs < 40_000, 'the plan ended early');
  } finally {
    await coordinator.close();
  }
  assert.equal(await exitCode(joiner), 0, joiner.stderr.slice(-1000));
  assert.ok(joiner.events.some((e) => e.event === 'published'));
});

test("integration: `relaybench run --remote-workers` drives joiners through the run's Kafka; collect agrees with the run", async () => {
  // The run starts its own relay on this Kafka: the first test's relays leave the group first.
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  const brokers = kafka!.brokers.join(',');
  const scenarioFile = join(tmp, 'distributed-run.yaml');
  await writeFile(
    scenarioFile,
    SCENARIO.replace('name: distributed-test', 'name: distributed-run')
      .replace(`workers: ${WORKERS}`, 'workers: 2')
      .replace('relays: 2', 'relays: 1')
      .replace('duration: 10s', 'duration: 5s')
      .replace('users: 60', 'users: 40')
      .replace(`rate: ${WORKERS * 100}`, 'rate: 200'),
  );
  const runId = `dist-run-${Date.now()}`;
  const resultsDir = join(tmp, 'run-results');
  const run = spawnCli('run', [
    'run',
    scenarioFile,
    '--remote-workers',
    '--brokers',
    brokers,
    '--run-id',
    runId,
    '--results-dir',
    resultsDir,
    '--prometheus',
    'off',
    '--no-progress',
    '--join-timeout',
    '60s',
  ]);
  const joiners = [0, 1].map((i) =>
    spawnCli(`run-joiner-${i}`, ['loadgen', '--join', runId, '--brokers', brokers, '--worker-name', `r${i}`, '--join-timeout', '60s']),
  );
  const code = await exitCode(run);
  assert.deepEqual(await Promise.all(joiners.map(exitCode)), [0, 0], joiners.map((j) => j.stderr.slice(-400)).join(' | '));
  const dir = join(resultsDir, runId);
  assert.ok(existsSync(join(dir, 'summary.json')), run.stderr.slice(-3000));
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(code, summary.exitCode, run.stderr.slice(-2000));
  assert.equal(summary.segments[0]!.workers, 2);
  assert.equal(summary.ledger.lost, 0);
  assert.match(run.stderr, /remote workers: 2 joiner\(s\) ready/);

  const out = await collectRun({
    runId,
    brokers: kafka!.brokers,
    resultsDir: join(tmp, 'run-collected'),
    timeoutMs: 10_000,
    log: () => {},
  });
  assert.deepEqual(out.summary.ledger, summary.ledger, 'collect and run merge the same results');
  assert.deepEqual(out.summary.stages, summary.stages);
  assert.equal(out.summary.exitCode, summary.exitCode);
});
