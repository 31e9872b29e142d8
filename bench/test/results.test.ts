import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeEncoded, percentiles } from '../../loadgen/src/stats/period.js';
import { mergeWorkerResults, sumLedgers } from '../src/results/merge.js';
import { readHlogs, readSummary, writeRunFolder, makeRunId } from '../src/results/store.js';
import { syntheticWorkerResult } from './synthetic.js';
import { syntheticRun } from './synthetic-run.js';

test('merge: percentiles come from added histograms, counts are exact sums', () => {
  const a = syntheticWorkerResult({ workerId: 'a', seed: 1, ratePerSec: 100, intervals: 5 });
  const b = syntheticWorkerResult({ workerId: 'b', seed: 2, ratePerSec: 300, intervals: 5, scale: 3 });
  const m = mergeWorkerResults([a, b]);
  const all = mergeEncoded([...a.intervals, ...b.intervals].map((iv) => iv.histograms.e2eCorrected));
  assert.deepEqual(m.stages.e2eCorrected, percentiles(all));
  assert.equal(m.stages.e2eCorrected.count, 2000);
  assert.equal(m.ledger.sent, 2000);
  assert.equal(m.targetRatePerSec, 400);
  assert.equal(m.series.length, 5);
  assert.equal(m.series[0]!.sentPerSec, 400);
  assert.equal(m.gating.e2eCorrected!.p99.length, 5);
  assert.equal(m.gating.storeForward, undefined, 'empty stages have no series');
  // Each interval merges both workers: its count is the sum.
  assert.equal(mergeEncoded([m.intervals[2]!.histograms.ack]).totalCount, 400);
  // A merged p99 is not the mean of the two p99s.
  const pa = percentiles(mergeEncoded(a.intervals.map((iv) => iv.histograms.e2eCorrected))).p99;
  const pb = percentiles(mergeEncoded(b.intervals.map((iv) => iv.histograms.e2eCorrected))).p99;
  assert.notEqual(m.stages.e2eCorrected.p99, (pa + pb) / 2);
});

test('sumLedgers merges errorsByCode', () => {
  const l = sumLedgers([
    { ...syntheticWorkerResult({ intervals: 1 }).ledger, errorsByCode: { X: 1 } },
    { ...syntheticWorkerResult({ intervals: 1 }).ledger, errorsByCode: { X: 2, Y: 1 } },
  ]);
  assert.deepEqual(l.errorsByCode, { X: 3, Y: 1 });
  assert.equal(l.sent, 400);
});

test('summary: verdicts, validity and exit codes', () => {
  const ok = syntheticRun({ intervals: 5 }).summary;
  assert.equal(ok.status, 'pass', JSON.stringify(ok.objectives.filter((v) => !v.pass)));
  assert.equal(ok.exitCode, 0);
  const slow = syntheticRun({ intervals: 5, scale: 30 }).summary;
  assert.equal(slow.status, 'fail');
  assert.equal(slow.exitCode, 1);
  assert.ok(slow.objectives.some((v) => v.objective.startsWith('p99(e2eCorrected)') && !v.pass));
  const lost = syntheticRun({ intervals: 5, lost: 3 }).summary;
  assert.equal(lost.status, 'invalid');
  assert.equal(lost.exitCode, 2);
  assert.match(lost.invalidReasons.join(), /3 message\(s\) lost/);
  const bound = syntheticRun({ intervals: 5, generatorBound: true }).summary;
  assert.equal(bound.exitCode, 2);
  assert.ok(bound.generatorBound);
  const ref = syntheticRun({ intervals: 5, reference: true }).summary;
  assert.ok(ref.reference !== null);
  assert.ok(
    ref.reference.ratios.e2eCorrected!.p50 > 2.5 && ref.reference.ratios.e2eCorrected!.p50 < 4,
    String(ref.reference.ratios.e2eCorrected!.p50),
  );
});

test('run folder: summary.json, hlogs per stage, report.html, summary.md, junit.xml', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rb-results-'));
  try {
    const { summary, segments } = syntheticRun({ intervals: 4, reference: true });
    await writeRunFolder(dir, summary, segments);
    const back = await readSummary(dir);
    assert.equal(back.summary.runId, summary.runId);
    const hlogs = await readHlogs(dir);
    assert.equal(hlogs.e2eCorrected!.length, 8, '4 intervals × 2 segments');
    assert.deepEqual(new Set(hlogs.e2eCorrected!.map((iv) => iv.tag)), new Set(['main', 'reference']));
    const md = await readFile(join(dir, 'summary.md'), 'utf8');
    assert.match(md, /PASS \(exit 0\)/);
    assert.match(md, /p99\(e2eCorrected\) <= 250ms/);
    const junit = await readFile(join(dir, 'junit.xml'), 'utf8');
    assert.match(junit, /<testsuite name="smoke" tests="8" failures="0"/);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<canvas id="chart-distribution">/);
    assert.doesNotMatch(
      html,
      /<script[^>]+src=|<link[^>]|<img[^>]+src=|url\(\s*['"]?https?:|@import/i,
      'self-contained: no external scripts, styles, images or fonts',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('run ids are UTC timestamps plus the scenario', () => {
  assert.equal(makeRunId('smoke', new Date(Date.UTC(2026, 10, 27, 1, 15, 0))), '20261127-011500-smoke');
});
