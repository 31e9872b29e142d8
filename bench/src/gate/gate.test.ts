// The gate's decision on synthetic trials (no Kafka, no processes): known answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, effectText, DEFAULT_GATE, type GateTrial, type Side } from './decide.js';
import { criticalRank, hodgesLehmann, planTrials, pooledLogSd, smallestP } from './estimate.js';
import { createPrng } from '../../../loadgen/src/rate/prng.js';
import { runTrialLoop, trialOrder } from './trials.js';

/** A trial whose relay/reference ratios are `ratio` × a per-trial jitter (seeded, ±3 %). */
function trial(side: Side, index: number, ratio: number, valid = true): GateTrial {
  const v = (r: number) => ({ relay: r * 1000, reference: 1000, ratio: r });
  return {
    index,
    side,
    attempt: 1,
    runId: `t${index}-${side}`,
    dir: `/tmp/t${index}`,
    wallMs: 1,
    exitCode: valid ? 0 : 2,
    valid,
    invalidReasons: valid ? [] : ['segment main was generator-bound'],
    values: { ack: { p50: v(ratio), p99: v(ratio * 3) }, e2eCorrected: { p50: v(ratio * 2), p99: v(ratio * 5) } },
  };
}

function sides(perSide: number, base: (i: number) => number, cand: (i: number) => number): GateTrial[] {
  const out: GateTrial[] = [];
  for (let i = 0; i < perSide; i++) out.push(trial('base', 2 * i, base(i)), trial('new', 2 * i + 1, cand(i)));
  return out;
}

const jitter = (seed: number) => {
  const r = createPrng(seed);
  return () => 1 + (r.next() - 0.5) * 0.06;
};

test('identical sides pass, and every row states an interval that covers no change', () => {
  const j = jitter(1);
  const values = Array.from({ length: 6 }, () => 2 * j());
  const d = decide(
    sides(
      6,
      (i) => values[i]!,
      (i) => values[i]!,
    ),
  );
  assert.equal(d.verdict, 'pass');
  for (const r of d.rows) {
    assert.equal(r.verdict, 'pass');
    assert.ok(r.effect.low <= 1 && r.effect.high >= 1, `${r.stage} ${r.percentile}: ${r.effect.low}…${r.effect.high}`);
  }
});

test('same build with trial-to-trial noise (A/A) passes for many seeds', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const j = jitter(seed);
    const d = decide(
      sides(
        6,
        () => 2 * j(),
        () => 2 * j(),
      ),
    );
    assert.equal(d.verdict, 'pass', `seed ${seed}`);
  }
});

test('a 25 % shift in every trial fails, and the effect is reported with its interval', () => {
  const j = jitter(2);
  const d = decide(
    sides(
      6,
      () => 2 * j(),
      () => 2.5 * j(),
    ),
  );
  assert.equal(d.verdict, 'regression');
  const row = d.rows.find((r) => r.stage === 'e2eCorrected' && r.percentile === 'p50')!;
  assert.equal(row.verdict, 'regression');
  assert.ok(row.effect.ratio > 1.18 && row.effect.ratio < 1.32, String(row.effect.ratio));
  assert.match(effectText(row.effect, 0.95), /^\+2\d % \(95 % CI \+\d+ … \+\d+ %\)$/);
});

test('one outlier trial on the new side does not fail the gate', () => {
  const j = jitter(3);
  // 10 per side (the default plan): the interval leaves the outlier's pairs out — a pass.
  const ten = decide(
    sides(
      10,
      () => 2 * j(),
      (i) => (i === 3 ? 6 : 2 * j()),
    ),
  );
  assert.equal(ten.verdict, 'pass');
  // 6 per side: its pairs reach the interval's upper end — never a regression, but too noisy to pass.
  const six = decide(
    sides(
      6,
      () => 2 * j(),
      (i) => (i === 3 ? 6 : 2 * j()),
    ),
  );
  assert.equal(six.verdict, 'invalid');
  assert.match(six.invalidReasons.join(' '), /inconclusive: the 95 % interval of \w+ p50 reaches/);
});

test('a pass must rule out +50 %: trials too noisy for that are inconclusive (exit 2), not a pass', () => {
  const j = jitter(11);
  const noisy = decide(
    sides(
      10,
      () => 2 * j() ** 40,
      () => 2 * j() ** 40,
    ),
  );
  assert.equal(noisy.verdict, 'invalid');
  assert.ok(noisy.rows.some((r) => r.verdict === 'inconclusive'));
  const quiet = decide(
    sides(
      10,
      () => 2 * j(),
      () => 2 * j(),
    ),
  );
  assert.equal(quiet.verdict, 'pass');
  assert.equal(
    decide(
      sides(
        10,
        () => 2 * j() ** 40,
        () => 2 * j() ** 40,
      ),
      { ...DEFAULT_GATE, resolution: 100 },
    ).verdict,
    'pass',
  );
});

test('too few valid trials on a side: invalid (exit 2), never pass', () => {
  const trials = sides(
    6,
    () => 2,
    () => 2,
  ).map((t) => (t.side === 'new' && t.index > 4 ? { ...t, valid: false } : t));
  const d = decide(trials);
  assert.equal(d.verdict, 'invalid');
  assert.match(d.invalidReasons[0]!, /new: 2 valid trial/);
});

test('an invalid trial is rerun on its side; the gate then decides on valid trials', async () => {
  const order = trialOrder(5, 'alternate', 1);
  let flaky = 1;
  const seen: string[] = [];
  const out = await runTrialLoop(order, 2, async (side, index, attempt) => {
    seen.push(`${side}#${attempt}`);
    const bad = side === 'new' && flaky > 0 && attempt === 1;
    if (bad) flaky--;
    return trial(side, index, 2, !bad);
  });
  assert.equal(out.gaveUp, null);
  assert.deepEqual(out.reruns, { base: 0, new: 1 });
  assert.deepEqual(seen.slice(0, 3), ['base#1', 'new#1', 'new#2']);
  assert.equal(out.trials.length, 11);
  assert.equal(decide(out.trials).verdict, 'pass');
});

test('a side that stays invalid past its reruns stops the loop and the gate is invalid', async () => {
  const out = await runTrialLoop(trialOrder(5, 'alternate', 1), 2, async (side, index) => trial(side, index, 2, side === 'base'));
  assert.match(out.gaveUp ?? '', /new trial .* after 2 rerun\(s\)/);
  assert.equal(out.trials.filter((t) => t.side === 'new').length, 3);
  assert.equal(decide(out.trials).verdict, 'invalid');
});

test('orders are balanced; the random order is reproducible from its seed', () => {
  for (const mode of ['alternate', 'random'] as const) {
    const o = trialOrder(7, mode, 42);
    assert.equal(o.filter((s) => s === 'base').length, 7);
    assert.equal(o.filter((s) => s === 'new').length, 7);
  }
  assert.deepEqual(trialOrder(7, 'random', 42), trialOrder(7, 'random', 42));
  assert.deepEqual(trialOrder(3, 'alternate', 0), ['base', 'new', 'new', 'base', 'base', 'new']);
});

test('Hodges–Lehmann: exact ranks, a known shift, and no interval from too few trials', () => {
  assert.deepEqual(criticalRank(5, 5, 0.95).k, 3); // P(U ≤ 2) = 4/252 ≤ 0.025 < P(U ≤ 3) = 7/252
  assert.equal(criticalRank(3, 3, 0.95).k, 0); // 2/20 > 0.05: the 3-vs-3 trap
  assert.ok(smallestP(5, 5) < 0.01 && smallestP(3, 3) === 0.05);
  const e = hodgesLehmann([1, 2, 3, 4, 5], [1.5, 3, 4.5, 6, 7.5]);
  assert.ok(Math.abs(e.ratio - 1.5) < 1e-9, String(e.ratio));
  assert.ok(e.low <= 1.5 && e.high >= 1.5);
  assert.equal(hodgesLehmann([1, 2, 3], [1, 2, 3]).attainable, false);
});

test('trial planning: enough trials for an interval, more for a smaller effect, capped by the budget', () => {
  const base = { threshold: 1.05, noiseSd: 0.08, level: 0.95, trialMs: 45_000 };
  const roomy = planTrials({ ...base, mde: 1.25, budgetMs: 3_600_000 });
  assert.equal(roomy.perSide, 5);
  const finer = planTrials({ ...base, mde: 1.21, budgetMs: 3_600_000 });
  assert.ok(finer.perSide > roomy.perSide && finer.detectable <= 1.21);
  const tight = planTrials({ ...base, mde: 1.21, budgetMs: 6 * 60_000 });
  assert.equal(tight.budgetBound, true);
  assert.ok(tight.perSide >= 5);
  assert.equal(DEFAULT_GATE.level, 0.95);
});

test("the trials' own noise: sd of ln values within each side, pooled; none without two values on a side", () => {
  const e = Math.exp;
  assert.ok(Math.abs(pooledLogSd([e(0), e(2)], [e(1), e(3)]) - Math.SQRT2) < 1e-12);
  assert.ok(Math.abs(pooledLogSd([e(0), e(2)], [5]) - Math.SQRT2) < 1e-12, 'a side of one adds nothing');
  assert.ok(Number.isNaN(pooledLogSd([1], [2])));
  // A shift between the sides is the effect, not noise.
  assert.equal(pooledLogSd([2, 2, 2], [3, 3, 3]), 0);
  const j = jitter(7);
  const d = decide(
    sides(
      10,
      () => 2 * j(),
      () => 2.5 * j(),
    ),
  );
  for (const r of d.rows) assert.ok(r.noiseSd > 0.005 && r.noiseSd < 0.03, `${r.stage} ${r.percentile}: ${r.noiseSd}`);
});
