// The latency fault end to end: a run whose relays sit behind LatencyProxy (local Kafka, real
// relay and worker processes, real sockets). The full flow still goes through (nothing lost,
// receipts back), both fault windows are on the timeline, and the delay is really applied: no
// message can be acknowledged sooner than the 20 ms added to its client→relay hop (a lower
// bound, so it holds however busy the machine is).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionKafka } from '../../../testbed/kafka/provider.js';
import { resolveRunConfig } from '../../src/orchestrator/config.js';
import { runScenario } from '../../src/orchestrator/run.js';
import { RelayFleet } from '../../src/orchestrator/sut.js';
import { ProcessWorker } from '../../src/orchestrator/worker-process.js';
import { freePorts } from '../../../testbed/process/ports.js';
import { detectPrometheus, startPrometheus } from '../../src/prometheus/index.js';
import { loadScenario, REPO_ROOT } from '../../src/scenarios/loader.js';

const CLI = join(REPO_ROOT, 'dist', 'bench', 'src', 'cli', 'main.js');

test('integration: relays behind latency proxies carry the full flow, and the delay is applied', { timeout: 300_000 }, async () => {
  const resultsDir = await mkdtemp(join(tmpdir(), 'rb-latency-'));
  const fleets: RelayFleet[] = [];
  const cfg = resolveRunConfig(
    loadScenario(join(REPO_ROOT, 'bench', 'test', 'fixtures', 'faults', 'latency-short.yaml')),
    { prometheus: 'off', kafkaProvider: 'local', resultsDir, progress: false },
    {},
  );
  let passed = false;
  try {
    const { summary } = await runScenario(cfg, {
      provisionKafka,
      createFleet: (o) => {
        const f = new RelayFleet({ ...o, cli: CLI });
        fleets.push(f);
        return f;
      },
      createWorker: (id, d) => new ProcessWorker(id, { cli: CLI, dir: d }),
      freePorts: (n) => freePorts(n),
      detectPrometheus: (mode) => detectPrometheus(mode),
      startPrometheus,
      stderr: process.stderr,
      stdout: process.stderr,
    });
    const l = summary.ledger;
    assert.ok(l.sent > 500, `sent ${l.sent}`);
    assert.equal(l.lost, 0);
    assert.equal(l.duplicated, 0);
    assert.equal(l.delivered, l.sent);
    assert.ok(summary.stages.readReceipt.count > 0, 'read receipts came back through the proxies');
    // Every ack waited for its send's 20 ms on the way in.
    assert.ok(summary.stages.ack.p50 >= 20_000, `ack p50 ${summary.stages.ack.p50} µs`);
    assert.ok(summary.stages.e2eCorrected.p50 >= 20_000, `e2e p50 ${summary.stages.e2eCorrected.p50} µs`);
    const events = (summary.faults ?? []).filter((e) => e.action === 'latency');
    assert.equal(events.filter((e) => e.kind === 'fault').length, 2, JSON.stringify(events));
    assert.equal(events.filter((e) => e.kind === 'recovery').length, 1, 'the 4 s window ended');
    passed = true;
  } finally {
    if (passed) await rm(resultsDir, { recursive: true, force: true });
    else process.stderr.write(`# kept the run folder: ${resultsDir}\n`);
  }
});
