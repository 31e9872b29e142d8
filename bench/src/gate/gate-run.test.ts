// The gate's lifecycle with builds, Kafka and trials injected (no processes): exit codes,
// outputs, the scenario each side runs, and the shared Kafka stopped at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../scenarios/loader.js';
import type { Build } from './builds.js';
import { DEFAULT_GATE, type GateTrial, type Side } from './decide.js';
import { runGate, type GateConfig, type GateDeps } from './gate-run.js';
import { formatGateMarkdown, formatGateText, minSec } from './gate-format.js';
import { createPrng } from '../../../loadgen/src/rate/prng.js';

async function gate(ratioOf: (side: Side, index: number, attempt: number) => number | 'invalid', extra: Partial<GateConfig> = {}) {
  const outDir = await mkdtemp(join(tmpdir(), 'rb-gate-'));
  const files: Record<string, string> = {};
  const args: { side: Side; args: string[] }[] = [];
  const logs: string[] = [];
  const pruned: string[][] = [];
  let kafkaStopped = false;
  const rnd = createPrng(5);
  const jitter = (): number => rnd.next();
  const deps: GateDeps = {
    resolveBuild: async (spec) =>
      ({
        spec,
        kind: 'folder',
        commit: null,
        dir: `/b/${spec}`,
        cli: spec.endsWith('.js') ? spec : `/b/${spec}/cli.js`,
        modules: 'own',
        buildMs: 0,
        reused: true,
      }) satisfies Build,
    pruneBuilds: async (inUse) => void pruned.push([...inUse]),
    provisionKafka: async () => ({ provider: 'local', brokers: ['127.0.0.1:1'], stop: async () => void (kafkaStopped = true) }),
    runTrial: async (side, index, attempt, o): Promise<GateTrial> => {
      files[side] = await readFile(o.scenarioFile, 'utf8');
      args.push({ side, args: [...(o.extraArgs ?? [])] });
      const r = ratioOf(side, index, attempt);
      const v = (x: number) => ({ relay: x * 1000, reference: 1000, ratio: x });
      const ok = r !== 'invalid';
      const x = ok ? r * (1 + (jitter() - 0.5) * 0.04) : 1;
      return {
        index,
        side,
        attempt,
        runId: o.runId,
        dir: o.trialsDir,
        wallMs: 1,
        exitCode: ok ? 0 : 2,
        valid: ok,
        invalidReasons: ok ? [] : ['1 message(s) lost'],
        values: { ack: { p50: v(x), p99: v(x) }, e2eCorrected: { p50: v(x), p99: v(x) } },
      };
    },
    log: (line) => void logs.push(line),
  };
  const cfg: GateConfig = {
    baseSpec: 'A',
    newSpec: 'B',
    scenario: loadScenario('smoke'),
    outDir,
    cacheDir: outDir,
    keepBuilds: 5,
    options: DEFAULT_GATE,
    mde: 1.25,
    budgetMs: 8 * 60_000,
    noiseSd: 0.08,
    orderMode: 'random',
    seed: 3,
    maxReruns: 2,
    durationMs: 10_000,
    warmupMs: 5_000,
    maxScheduleLagMs: 100,
    newLatencyMs: 0,
    kafkaProvider: 'auto',
    referenceTiming: 'after',
    ...extra,
  };
  const report = await runGate(cfg, deps);
  const json = JSON.parse(await readFile(join(outDir, 'gate.json'), 'utf8')) as { trials: unknown[] };
  const junit = await readFile(join(outDir, 'junit.xml'), 'utf8');
  await rm(outDir, { recursive: true, force: true });
  return { report, json, junit, files, kafkaStopped, args, logs, pruned };
}

test('same build on both sides: pass (exit 0), every trial in gate.json, Kafka stopped', async () => {
  const g = await gate(() => 2);
  assert.equal(g.report.exitCode, 0);
  assert.equal(g.json.trials.length, 2 * g.report.plan.perSide);
  assert.ok(g.kafkaStopped);
  assert.match(g.files.base!, /reference: kafka-direct/);
  assert.match(g.files.base!, /duration: 10s/);
  assert.match(g.files.base!, /maxScheduleLag: 100ms/);
  assert.doesNotMatch(g.files.new!, /latency/);
  assert.deepEqual(g.pruned, [['/b/A', '/b/B']], "older cached builds are pruned once, sparing both of this gate's");
});

test("a scenario's firstWarmup is dropped: every trial warms up for the gate's --warmup, and an older build would refuse the key", async () => {
  const scaleOut = loadScenario('scale-out');
  const g = await gate(() => 2, { scenario: scaleOut });
  assert.match(await readFile(scaleOut.file, 'utf8'), /^firstWarmup: /m, 'the scenario given sets it');
  for (const side of ['base', 'new']) {
    assert.match(g.files[side]!, /^warmup: 5s$/m, side);
    assert.doesNotMatch(g.files[side]!, /firstWarmup/, side);
  }
});

test('NEW 25 % slower in every trial: regression (exit 1) with a junit failure', async () => {
  const g = await gate((side) => (side === 'new' ? 2.5 : 2));
  assert.equal(g.report.exitCode, 1);
  assert.match(g.junit, /type="regression"/);
});

test('an invalid trial is rerun and the gate still decides; a side that stays invalid exits 2', async () => {
  const once = await gate((side, _i, attempt) => (side === 'base' && attempt === 1 && _i < 2 ? 'invalid' : 2));
  assert.equal(once.report.exitCode, 0);
  assert.equal(once.report.reruns.base, 1);
  const always = await gate((side) => (side === 'new' ? 'invalid' : 2));
  assert.equal(always.report.exitCode, 2);
  assert.match(always.report.decision.invalidReasons.join(' '), /after 2 rerun\(s\)/);
  assert.match(always.junit, /type="invalid"/);
});

test('--new-latency gives NEW a delay on every client→relay hop, and BASE the proxies alone', async () => {
  const g = await gate(() => 2, { newLatencyMs: 2 });
  assert.match(g.files.new!, /action: latency/);
  assert.match(g.files.new!, /delay: 2ms/);
  assert.match(g.files.new!, /direction: to-relay/);
  assert.match(g.files.base!, /delay: 0ms/);
  assert.equal(g.report.new.injected, '2 ms latency on every client→relay hop');
});

test('the reference runs alongside when both builds know --reference-timing; a build from before it makes both sides run it after; workers run normal on both sides', async () => {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const both = await gate(() => 2, { baseSpec: cli, newSpec: cli, referenceTiming: 'alongside', referenceRatePerSec: 40 });
  assert.ok(both.args.length > 0);
  const normal = ['--generator-priority', 'normal'];
  for (const a of both.args) assert.deepEqual(a.args, ['--reference-timing', 'alongside', '--reference-rate', '40', ...normal]);
  assert.equal(both.report.plan.referenceTiming, 'alongside');
  const old = await gate(() => 2, { baseSpec: 'old', newSpec: cli, referenceTiming: 'alongside' });
  // The old build gets no flag it would refuse (it runs its workers normally anyway); the new one is told to.
  for (const a of old.args) assert.deepEqual(a.args, a.side === 'base' ? [] : normal);
  assert.equal(old.report.plan.referenceTiming, 'after');
  assert.ok(old.logs.some((l) => /old predates --reference-timing/.test(l)));
});

test('time left prints whole minutes and the seconds past them', () => {
  assert.equal(minSec(163_000), '2 min 43 s');
  assert.equal(minSec(119_700), '2 min 0 s');
  assert.equal(minSec(42_000), '42 s');
  assert.equal(minSec(-5), '0 s');
});

test('the report sets the noise the trials measured beside the one the plan assumed, and what it could detect', async () => {
  const g = await gate(() => 2);
  const said =
    /Measured in these trials: noise sd (\d\.\d\d) of ln ratio \((ack|e2eCorrected) p50; the plan assumed 0\.08\), so ~\+(\d+(?:\.\d)?) % was detectable\./;
  const m = said.exec(formatGateText(g.report));
  assert.ok(m, formatGateText(g.report));
  assert.match(formatGateMarkdown(g.report), said);
  // The fake trials jitter ±2 %: far quieter than the assumed 0.08, so less than the plan's figure.
  assert.ok(Number(m[1]) > 0 && Number(m[1]) < 0.03, m[1]);
  assert.ok(Number(m[3]) < (g.report.plan.detectable - 1) * 100, `${m[3]} vs plan ${g.report.plan.detectable}`);
  const worst = Math.max(...g.report.decision.rows.filter((r) => r.percentile === 'p50').map((r) => r.noiseSd));
  assert.equal(worst.toFixed(2), m[1]);
});
