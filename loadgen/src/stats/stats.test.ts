import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readHlog, writeStageHlog } from './hlog.js';
import { mergeEncoded, mergeSnapshots, percentiles } from './period.js';
import { StageRecorder, type IntervalSnapshot } from './recorder.js';
import { createPrng } from '../rate/prng.js';
import { STAGES } from './stages.js';

const T0 = 1_700_000_000_000;

function sampleValues(seed: number, n: number): number[] {
  const prng = createPrng(seed);
  return Array.from({ length: n }, () => Math.round(Math.exp(6 + 3 * prng.next()))); // ~400 µs … 8 ms
}

for (const useWebAssembly of [true, false]) {
  test(`merging two recorders equals one recorder of all values (${useWebAssembly ? 'wasm' : 'js'})`, () => {
    const a = new StageRecorder({ startMs: T0, useWebAssembly });
    const b = new StageRecorder({ startMs: T0, useWebAssembly });
    const all = new StageRecorder({ startMs: T0, useWebAssembly });
    const va = sampleValues(1, 20_000);
    const vb = sampleValues(2, 5_000).map((v) => v * 10);
    for (const v of va) a.record('e2eCorrected', v);
    for (const v of vb) b.record('e2eCorrected', v);
    for (const v of [...va, ...vb]) all.record('e2eCorrected', v);
    const merged = mergeSnapshots([a.cutInterval(T0 + 1000), b.cutInterval(T0 + 1000)]).e2eCorrected;
    const single = mergeEncoded([all.cutInterval(T0 + 1000).histograms.e2eCorrected]);
    assert.equal(merged.totalCount, 25_000);
    assert.deepEqual(percentiles(merged), percentiles(single));
    for (let p = 0; p <= 100; p += 0.5) assert.equal(merged.getValueAtPercentile(p), single.getValueAtPercentile(p), `p${p}`);
    // Averaging the two p99s would be wrong: the merged p99 is not their mean.
    const pa = percentiles(mergeEncoded([a.cumulative().e2eCorrected])).p99;
    const pb = percentiles(mergeEncoded([b.cumulative().e2eCorrected])).p99;
    assert.notEqual(percentiles(merged).p99, (pa + pb) / 2);
    for (const r of [a, b, all]) r.close();
  });
}

test('cutInterval resets the interval, keeps the cumulative, and stamps bounds', () => {
  const r = new StageRecorder({ startMs: T0 });
  r.record('ack', 100);
  r.record('ack', 200);
  const s1 = r.cutInterval(T0 + 1000);
  r.record('ack', 300);
  const s2 = r.cutInterval(T0 + 2000);
  assert.deepEqual([s1.startMs, s1.endMs, s2.startMs, s2.endMs], [T0, T0 + 1000, T0 + 1000, T0 + 2000]);
  assert.deepEqual(Object.keys(s1.histograms), [...STAGES]);
  assert.equal(mergeEncoded([s1.histograms.ack]).totalCount, 2);
  assert.equal(mergeEncoded([s2.histograms.ack]).totalCount, 1);
  assert.equal(mergeEncoded([s2.histograms.scheduleLag]).totalCount, 0);
  const cumulative = mergeEncoded([r.cumulative().ack]);
  assert.equal(cumulative.totalCount, 3);
  assert.equal(cumulative.maxValue, 300);
  r.close();
  assert.throws(() => r.cumulative());
});

test('out-of-range values are clamped and counted, never thrown', () => {
  const r = new StageRecorder({ startMs: T0 });
  r.record('scheduleLag', -5);
  r.record('scheduleLag', 1e12);
  r.record('scheduleLag', Number.NaN);
  r.record('scheduleLag', 12.4);
  assert.equal(r.clamped, 3);
  const h = mergeEncoded([r.cutInterval(T0 + 1).histograms.scheduleLag]);
  assert.equal(h.totalCount, 4);
  assert.equal(h.getValueAtPercentile(0), 0);
  r.close();
});

test('percentiles of an empty histogram are zeros', () => {
  assert.deepEqual(percentiles(mergeEncoded([])), { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
});

test('hlog round trip: intervals, bounds, tags and counts survive write → read', () => {
  const r = new StageRecorder({ startMs: T0 });
  const snapshots: IntervalSnapshot[] = [];
  for (let i = 0; i < 3; i++) {
    for (const v of sampleValues(10 + i, 1000 * (i + 1))) r.record('ack', v);
    snapshots.push(r.cutInterval(T0 + (i + 1) * 1000));
  }
  const text = writeStageHlog('ack', snapshots, { startTimeMs: T0 }, 'worker-1');
  assert.match(text, /#\[StartTime: /);
  assert.match(text, /#\[BaseTime: /);
  assert.match(text, /^Tag=worker-1,0\.000,1\.000,/m);
  const intervals = readHlog(text);
  assert.equal(intervals.length, 3);
  intervals.forEach((iv, i) => {
    assert.equal(iv.tag, 'worker-1');
    assert.equal(iv.startMs, T0 + i * 1000);
    assert.equal(iv.endMs, T0 + (i + 1) * 1000);
    const original = mergeEncoded([snapshots[i]!.histograms.ack]);
    assert.equal(iv.histogram.totalCount, original.totalCount);
    assert.deepEqual(percentiles(iv.histogram), percentiles(original));
  });
  const untagged = readHlog(writeStageHlog('ack', snapshots.slice(0, 1), { startTimeMs: T0, baseTimeMs: T0 - 5000 }));
  assert.equal(untagged[0]?.tag, undefined);
  assert.equal(untagged[0]?.startMs, T0);
  r.close();
});
