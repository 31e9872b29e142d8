/** A whole synthetic run (scenario → merged segments → summary), as the orchestrator builds it. */
import { evaluateAll } from '../src/gate/evaluate.js';
import { assembleSummary } from '../src/results/assemble.js';
import { mergeWorkerResults } from '../src/results/merge.js';
import type { SegmentIntervals } from '../src/results/store.js';
import { segmentSummary, type RunSummary, type SegmentSummary } from '../src/results/summary.js';
import { loadScenario } from '../src/scenarios/loader.js';
import { syntheticWorkerResult, type SyntheticOptions } from './synthetic.js';

export interface SyntheticRunOptions extends SyntheticOptions {
  readonly scenario?: string;
  readonly workers?: number;
  readonly reference?: boolean;
  readonly runId?: string;
  /** Latency scale of the kafka-direct reference (default 0.3). */
  readonly referenceScale?: number;
}

export function syntheticRun(o: SyntheticRunOptions = {}): { summary: RunSummary; segments: SegmentIntervals[] } {
  const scenario = loadScenario(o.scenario ?? 'smoke');
  const workers = o.workers ?? 2;
  const specs: { name: string; mode: 'relay' | 'kafka-direct'; relays: number; ratePerSec: number; startMs: number }[] = [];
  const t0 = o.startMs ?? 1_780_000_000_000;
  if (scenario.phases.length > 0)
    scenario.phases.forEach((p, i) =>
      specs.push({ name: p.name, mode: 'relay', relays: p.relays, ratePerSec: p.ratePerSec, startMs: t0 + i * 100_000 }),
    );
  else specs.push({ name: 'main', mode: 'relay', relays: scenario.relays, ratePerSec: o.ratePerSec ?? 200, startMs: t0 });
  if (o.reference === true)
    specs.push({
      name: 'reference',
      mode: 'kafka-direct',
      relays: 0,
      ratePerSec: o.ratePerSec ?? 200,
      startMs: t0 + specs.length * 100_000,
    });
  const segments: SegmentSummary[] = [];
  const intervals: SegmentIntervals[] = [];
  specs.forEach((spec, si) => {
    const results = Array.from({ length: workers }, (_, w) =>
      syntheticWorkerResult({
        ...o,
        workerId: `w${w}`,
        mode: spec.mode,
        startMs: spec.startMs,
        seed: (o.seed ?? 1) * 1000 + si * 10 + w,
        ratePerSec: Math.round(spec.ratePerSec / workers),
        scale: spec.mode === 'kafka-direct' ? (o.referenceScale ?? 0.3) : o.scale,
        lost: spec.mode === 'relay' && w === 0 ? o.lost : 0,
        generatorBound: spec.mode === 'relay' && w === 0 ? o.generatorBound : false,
      }),
    );
    const merged = mergeWorkerResults(results);
    const verdicts = spec.mode === 'relay' ? evaluateAll(scenario.objectives, merged, spec.name) : [];
    segments.push(
      segmentSummary({ name: spec.name, mode: spec.mode, relays: spec.relays, durationMs: (o.intervals ?? 30) * 1000 }, merged, verdicts),
    );
    intervals.push({ segment: spec.name, intervals: merged.intervals });
  });
  const summary = assembleSummary(
    {
      runId: o.runId ?? `20261127-011500-${scenario.name}`,
      createdAt: new Date(t0).toISOString(),
      scenario,
      versions: { relaybench: '0.1.0', node: process.versions.node, kafka: '3.9.1', prometheus: null },
      machine: { cores: 2, cpuModel: 'synthetic CPU', memoryBytes: 24 * 2 ** 30, os: 'Linux 6', arch: 'x64' },
      kafka: { provider: 'local', brokers: 1, partitions: 12 },
      prometheus: { status: 'off', url: null },
      interrupted: false,
    },
    segments,
  );
  return { summary, segments: intervals };
}
