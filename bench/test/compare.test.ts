import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCompare } from '../src/cli/commands/compare.js';
import { updateBaseline } from '../src/gate/baseline.js';
import { REPO_ROOT } from '../src/scenarios/loader.js';
import { writeRunFolder } from '../src/results/store.js';
import { syntheticRun, type SyntheticRunOptions } from './synthetic-run.js';

let dir: string;
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rb-compare-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes one synthetic run's summary.json; returns its path. */
async function run(o: SyntheticRunOptions): Promise<string> {
  const { summary } = syntheticRun({ intervals: 20, ratePerSec: 200, ...o, runId: `20261127-0000${String(n).padStart(2, '0')}-smoke` });
  const path = join(dir, `run-${n++}.json`);
  await writeFile(path, JSON.stringify(summary));
  return path;
}

/** `count` trials with seeds from `seed0`; `scaleOf(i)` per trial. */
async function trials(count: number, seed0: number, scaleOf: (i: number) => number, extra: SyntheticRunOptions = {}): Promise<string> {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) paths.push(await run({ intervals: 8, seed: seed0 + i, scale: scaleOf(i), ...extra }));
  return paths.join(',');
}

test('identical inputs: descriptive, exit 0', async () => {
  const a = await run({ seed: 1 });
  const r = await runCompare(a, a, {});
  assert.equal(r.exitCode, 0, r.text);
  assert.ok(r.report.rows.every((x) => x.verdict === 'pass' && x.change === 1));
  assert.equal(r.report.method, 'intervals');
  assert.equal(r.report.verdict, 'descriptive');
});

test('same build, different seeds (A/A) passes', async () => {
  const r = await runCompare(await run({ seed: 2 }), await run({ seed: 3 }), {});
  assert.equal(r.exitCode, 0, r.text);
});

test('one run per side: a 25 % shift is shown, but no regression is called from its intervals (exit 0)', async () => {
  const r = await runCompare(await run({ seed: 4 }), await run({ seed: 5, scale: 1.25 }), { format: 'md' });
  assert.equal(r.exitCode, 0, r.text);
  assert.equal(r.report.verdict, 'descriptive');
  const p99 = r.report.rows.find((x) => x.stage === 'e2eCorrected' && x.percentile === 'p99')!;
  assert.equal(p99.verdict, 'changed');
  assert.ok(p99.change > 1.15 && p99.change < 1.4, String(p99.change));
  assert.match(
    r.text,
    /DESCRIPTIVE — cannot call a regression: 1 trial\(s\) on a side: the 1 s intervals of one run are not independent samples/,
  );
  assert.match(r.text, /relaybench gate/);
});

test('a 25 % shift across all of 7 trials fails with exit 1 (per-trial interval)', async () => {
  const base = await trials(7, 100, () => 1);
  const cand = await trials(7, 200, () => 1.25);
  const r = await runCompare(base, cand, {});
  assert.equal(r.report.method, 'trials');
  assert.equal(r.exitCode, 1, r.text);
  const p50 = r.report.rows.find((x) => x.stage === 'e2eCorrected' && x.percentile === 'p50')!;
  assert.equal(p50.verdict, 'regression');
  assert.ok(p50.low > 1.1 && p50.high < 1.4, `${p50.low} … ${p50.high}`);
  const p99 = r.report.rows.find((x) => x.stage === 'e2eCorrected' && x.percentile === 'p99')!;
  assert.ok(Math.abs(p99.pValue - 1 / 3432) < 1e-9, `fully separated 7 vs 7: p = 1/3432, got ${p99.pValue}`);
});

test('3 against 3 cannot reach alpha 0.01: the verdict says so instead of passing', async () => {
  const r = await runCompare(await trials(3, 500, () => 1), await trials(3, 600, () => 1.6), { minTrials: '3' });
  assert.equal(r.report.method, 'trials');
  assert.equal(r.report.verdict, 'descriptive');
  assert.match(r.report.cannotDecide ?? '', /needs ≥ 5 trials per side/);
});

test('runs from different machines are never compared in absolute time', async () => {
  const other = await run({ seed: 40, scale: 1.5 });
  const text = JSON.parse(await readFile(other, 'utf8')) as { machine: { cores: number } };
  text.machine.cores = 64;
  await writeFile(other, JSON.stringify(text));
  const r = await runCompare(await trials(5, 700, () => 1), [other, other, other, other, other].join(','), {});
  assert.equal(r.report.sameMachine, false);
  assert.ok(r.report.rows.every((x) => x.verdict === 'not-comparable' && !Number.isFinite(x.change)));
  assert.equal(r.exitCode, 0, r.text);
  assert.match(r.text, /different machines: absolute times are not compared/);
});

test('workers scheduled differently on the two sides are said (a run from before the field counts as normal), not gated', async () => {
  const rt = await run({ seed: 41 });
  const text = JSON.parse(await readFile(rt, 'utf8')) as Record<string, unknown>;
  text.generatorPriority = { requested: 'realtime', applied: 'realtime', detail: 'SCHED_FIFO priority 1' };
  await writeFile(rt, JSON.stringify(text));
  const old = await run({ seed: 42 });
  const oldText = JSON.parse(await readFile(old, 'utf8')) as Record<string, unknown>;
  delete oldText.generatorPriority;
  await writeFile(old, JSON.stringify(oldText));
  const r = await runCompare(old, rt, {});
  assert.deepEqual(r.report.workersScheduled, { base: 'normal', new: 'realtime' });
  assert.match(r.text, /BASE's workers ran normal, NEW's realtime \(run --generator-priority\)/);
  assert.equal(r.exitCode, 0, r.text);
  const same = await runCompare(rt, rt, {});
  assert.equal(same.report.workersScheduled, null);
  assert.doesNotMatch(same.text, /generator-priority/);
});

test('relays on different Kafka clients are said (a run from before the field used kafkajs), not gated', async () => {
  const pk = await run({ seed: 43 });
  const text = JSON.parse(await readFile(pk, 'utf8')) as { kafka: Record<string, unknown> };
  text.kafka.client = 'platformatic';
  await writeFile(pk, JSON.stringify(text));
  const old = await run({ seed: 44 });
  const r = await runCompare(old, pk, {});
  assert.deepEqual(r.report.kafkaClient, { base: 'kafkajs', new: 'platformatic' });
  assert.match(r.text, /BASE's relays used kafkajs, NEW's platformatic \(run --kafka-client\)/);
  assert.equal(r.exitCode, 0, r.text);
  const same = await runCompare(pk, pk, {});
  assert.equal(same.report.kafkaClient, null);
  assert.doesNotMatch(same.text, /kafka-client/);
});

test('a single noisy outlier trial does not fail (5 trials per side)', async () => {
  const base = await trials(5, 300, () => 1);
  const cand = await trials(5, 400, (i) => (i === 3 ? 3 : 1));
  const r = await runCompare(base, cand, {});
  assert.equal(r.exitCode, 0, r.text);
});

test('a single noisy interval does not fail either', async () => {
  const r = await runCompare(await run({ seed: 6 }), await run({ seed: 7, scale: (i) => (i === 10 ? 5 : 1) }), {});
  assert.equal(r.exitCode, 0, r.text);
});

test('a small shift (5 %) below the threshold passes even when significant', async () => {
  const r = await runCompare(await run({ seed: 8 }), await run({ seed: 9, scale: 1.05 }), {});
  assert.equal(r.exitCode, 0, r.text);
});

test('lost > 0 or generator-bound on either side exits 2', async () => {
  const good = await run({ seed: 10 });
  const lost = await runCompare(good, await run({ seed: 11, lost: 2 }), {});
  assert.equal(lost.exitCode, 2);
  assert.match(lost.text, /INVALID/);
  assert.match(lost.text, /2 message\(s\) lost/);
  const bound = await runCompare(await run({ seed: 12, generatorBound: true }), good, {});
  assert.equal(bound.exitCode, 2);
  assert.match(bound.text, /generator-bound/);
});

test('with the in-run reference on both sides, ratios are compared: a uniformly slower machine passes', async () => {
  const base = await run({ seed: 13, reference: true, referenceScale: 0.3 });
  // Everything 25 % slower, the bare Kafka path included: the relay's overhead is unchanged.
  const slowerMachine = await run({ seed: 14, reference: true, scale: 1.25, referenceScale: 0.375 });
  const r = await runCompare(base, slowerMachine, { format: 'json' });
  assert.equal(r.exitCode, 0, r.text);
  assert.ok(r.report.rows.find((x) => x.stage === 'e2eCorrected')!.normalized);
  // A relay that got 25 % slower while Kafka did not is still shown (and caught with trials).
  const slowerRelay = await runCompare(base, await run({ seed: 15, reference: true, scale: 1.25, referenceScale: 0.3 }), {});
  assert.equal(
    slowerRelay.report.rows.find((x) => x.stage === 'e2eCorrected' && x.percentile === 'p50')!.verdict,
    'changed',
    slowerRelay.text,
  );
  const many = await runCompare(
    await trials(5, 800, () => 1, { reference: true, referenceScale: 0.3 }),
    await trials(5, 900, () => 1.25, { reference: true, referenceScale: 0.3 }),
    {},
  );
  assert.equal(many.exitCode, 1, many.text);
});

test('a baseline file works as BASE; bad flags and scenario mismatch are bad input', async () => {
  const runDir = join(dir, 'run-dir');
  const { summary, segments } = syntheticRun({ intervals: 6, seed: 20 });
  await writeRunFolder(runDir, summary, segments);
  const out = join(dir, 'baselines', 'smoke.json');
  const { baseline } = await updateBaseline([runDir], { out });
  assert.equal(baseline.trials.length, 1);
  await updateBaseline([runDir], { out, append: true });
  const r = await runCompare(out, runDir, {});
  assert.equal(r.exitCode, 0, r.text);
  await assert.rejects(runCompare(out, runDir, { thresholdP99: '0.5' }), /RB_GATE_BAD_OPTION|ratio ≥ 1/);
  await assert.rejects(runCompare(out, runDir, { format: 'xml' }), /expected md, json or text/);
  const other = syntheticRun({ intervals: 3, scenario: 'group-fanout' }).summary;
  const otherPath = join(dir, 'other.json');
  await writeFile(otherPath, JSON.stringify(other));
  await assert.rejects(runCompare(out, otherPath, {}), (e: Error & { code?: string }) => e.code === 'RB_GATE_SCENARIO_MISMATCH');
  await assert.rejects(runCompare(join(dir, 'nope'), runDir, {}), (e: Error & { code?: string }) => e.code === 'RB_RESULTS_NOT_FOUND');
  const invalid = join(dir, 'invalid-dir');
  const bad = syntheticRun({ intervals: 3, seed: 21, lost: 1 });
  await writeRunFolder(invalid, bad.summary, bad.segments);
  await assert.rejects(updateBaseline([invalid], { out }), (e: Error & { code?: string }) => e.code === 'RB_GATE_INVALID_BASELINE_RUN');
  const cut = join(dir, 'interrupted-dir');
  await writeRunFolder(cut, { ...summary, status: 'interrupted' }, segments);
  await assert.rejects(updateBaseline([cut], { out }), /interrupted/);
  await updateBaseline([cut], { out: join(dir, 'forced.json'), force: true });
});

test("a baseline's age beside NEW's runs is said; from a week on, with the advice to make it again (never gated)", async () => {
  const t0 = 1_780_000_000_000;
  const baseDir = join(dir, 'age-base');
  const made = syntheticRun({ intervals: 6, seed: 30, startMs: t0 });
  await writeRunFolder(baseDir, made.summary, made.segments);
  const out = join(dir, 'baselines', 'aged.json');
  await updateBaseline([baseDir], { out, note: 'five runs of abc123' });
  const later = async (hours: number) => {
    const folder = join(dir, `age-new-${hours}`);
    const r = syntheticRun({ intervals: 6, seed: 31, startMs: t0 + hours * 3_600_000 });
    await writeRunFolder(folder, r.summary, r.segments);
    return folder;
  };
  const fresh = await runCompare(out, await later(2), {});
  assert.equal(fresh.exitCode, 0, fresh.text);
  assert.equal(fresh.report.baseline?.note, 'five runs of abc123');
  assert.equal(fresh.report.baseline?.stale, false);
  assert.match(fresh.text, /BASE is the baseline \S*aged\.json, its newest run 2026-\d\d-\d\d \d\d:\d\d UTC, 2\.0 h before NEW\)/);
  const old = await runCompare(out, await later(24 * 10), {});
  assert.equal(old.exitCode, 0, old.text);
  assert.ok(Math.abs(old.report.baseline!.daysBeforeNew - 10) < 1e-9);
  assert.match(
    old.text,
    /10\.0 days before NEW: a baseline 7\+ days older .* make it again from fresh runs \(`relaybench baseline update`\)/,
  );
  const runs = await runCompare(baseDir, await later(24 * 10), {});
  assert.equal(runs.report.baseline, null);
  assert.doesNotMatch(runs.text, /BASE is the baseline/);
});

test('the CLI maps verdicts to exit codes (0 pass or descriptive, 1 regression, 2 invalid)', async () => {
  const cli = join(REPO_ROOT, 'dist', 'bench', 'src', 'cli', 'main.js');
  const exec = promisify(execFile);
  const code = async (...args: string[]) =>
    exec(process.execPath, [cli, ...args]).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
  const a = await run({ seed: 30 });
  assert.equal(await code('compare', a, a), 0);
  assert.equal(await code('compare', a, await run({ seed: 31, scale: 1.25 })), 0);
  assert.equal(await code('compare', await trials(5, 1000, () => 1), await trials(5, 1100, () => 1.25)), 1);
  assert.equal(await code('compare', a, await run({ seed: 32, lost: 1 })), 2);
  assert.equal(await code('compare', a, join(dir, 'missing.json')), 2);
});
