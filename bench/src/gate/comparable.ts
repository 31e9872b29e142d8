/**
 * What `compare` needs from a run, whatever file it came from: a run folder, a summary.json, or
 * a baseline file (results/baselines/<scenario>.json, which holds one trial per run it was made
 * from). Several paths on one side add up to several trials.
 */
import { readFile, stat } from 'node:fs/promises';
import type { LedgerCounts } from '../../../loadgen/src/ledger.js';
import type { Percentiles } from '../../../loadgen/src/stats/period.js';
import type { Stage } from '../../../loadgen/src/stats/stages.js';
import { resultsError } from '../results/errors.js';
import type { StageSeries } from '../results/merge.js';
import { readSummary } from '../results/store.js';
import type { RunSummary } from '../results/summary.js';

export const BASELINE_SCHEMA_VERSION = 1;

/** One run's comparable part (also the unit a baseline stores). */
export interface Trial {
  readonly runId: string;
  readonly createdAt: string;
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
  readonly generatorBound: boolean;
  readonly ledger: LedgerCounts;
  readonly rate: RunSummary['rate'];
  readonly stages: Readonly<Record<Stage, Percentiles>>;
  readonly histograms: Readonly<Record<Stage, string>>;
  readonly gating: Readonly<Partial<Record<Stage, StageSeries>>>;
  /** The in-run kafka-direct reference's percentiles, when the run had one. */
  readonly reference: { readonly stages: Readonly<Record<Stage, Percentiles>> } | null;
  /** How the local workers were scheduled (`run --generator-priority`); null for remote workers. */
  readonly workersScheduled?: string | null;
  /** The Kafka client of the message path (`run --kafka-client`); absent before it could be chosen (kafkajs). */
  readonly kafkaClient?: string;
}

export interface BaselineFile {
  readonly schemaVersion: typeof BASELINE_SCHEMA_VERSION;
  readonly kind: 'relaybench-baseline';
  readonly scenario: string;
  readonly updatedAt: string;
  readonly machine: RunSummary['machine'];
  readonly versions: RunSummary['versions'];
  readonly note: string;
  readonly trials: readonly Trial[];
}

export interface Comparable {
  /** Paths it was read from. */
  readonly sources: readonly string[];
  readonly scenario: string;
  readonly trials: readonly Trial[];
  /** The machine the runs were made on (null when the files do not say). */
  readonly machine?: RunSummary['machine'] | null;
  /** The baseline file the side was read from, with its own note (absent for runs). */
  readonly baseline?: { readonly path: string; readonly note: string } | null;
}

/** Same machine for timing purposes: core count and CPU model (memory and OS do not set speed). */
export function sameMachine(a: Comparable['machine'], b: Comparable['machine']): boolean {
  if (a === undefined || a === null || b === undefined || b === null) return true;
  return a.cores === b.cores && a.cpuModel === b.cpuModel && a.arch === b.arch;
}

/**
 * How each side's workers were scheduled, when the sides differ (else null). A real-time worker
 * sends on time where a normal one waits for a core, so the schedule lag and some of the latency
 * move with the scheduler, not the code (docs/measurements.md, "the load generator served first").
 */
export function schedulerDifference(base: readonly Trial[], candidate: readonly Trial[]): { base: string; new: string } | null {
  // No field: a run from before --generator-priority (a committed baseline, say), whose workers ran normally.
  return difference(base, candidate, (t) => (t.workersScheduled === undefined ? 'normal' : (t.workersScheduled ?? 'remote workers')));
}

/** Which Kafka client each side's relays used, when the sides differ (else null): an A/B of the clients is a legitimate compare, but it must say so. */
export function clientDifference(base: readonly Trial[], candidate: readonly Trial[]): { base: string; new: string } | null {
  return difference(base, candidate, (t) => t.kafkaClient ?? 'kafkajs');
}

function difference(base: readonly Trial[], candidate: readonly Trial[], of: (t: Trial) => string): { base: string; new: string } | null {
  const modes = (ts: readonly Trial[]) => [...new Set(ts.map(of))].sort().join(' + ');
  const a = modes(base);
  const b = modes(candidate);
  return a === b ? null : { base: a, new: b };
}

export function trialOf(s: RunSummary): Trial {
  return {
    runId: s.runId,
    createdAt: s.createdAt,
    valid: s.valid,
    invalidReasons: s.invalidReasons,
    generatorBound: s.generatorBound,
    ledger: s.ledger,
    rate: s.rate,
    stages: s.stages,
    histograms: s.histograms,
    gating: s.gating,
    reference: s.reference === null ? null : { stages: s.reference.stages },
    // Absent in a summary from before --generator-priority; schedulerDifference reads that as normal.
    ...(s.generatorPriority === undefined ? {} : { workersScheduled: s.generatorPriority?.applied ?? null }),
    ...(s.kafka.client === undefined ? {} : { kafkaClient: s.kafka.client }),
  };
}

/** Reads one path (run folder, summary.json or baseline). */
export async function readComparable(path: string): Promise<Comparable> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw resultsError('RB_RESULTS_NOT_FOUND', path);
  }
  if (!isDir) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw resultsError('RB_RESULTS_BAD_FILE', `${path}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    const b = raw as Partial<BaselineFile> | null;
    if (b !== null && typeof b === 'object' && b.kind === 'relaybench-baseline') {
      if (
        b.schemaVersion !== BASELINE_SCHEMA_VERSION ||
        !Array.isArray(b.trials) ||
        b.trials.length === 0 ||
        typeof b.scenario !== 'string'
      )
        throw resultsError(
          'RB_RESULTS_BAD_FILE',
          `${path}: a baseline needs schemaVersion ${BASELINE_SCHEMA_VERSION}, a scenario and at least one trial.`,
        );
      const baseline = { path, note: typeof b.note === 'string' ? b.note : '' };
      return { sources: [path], scenario: b.scenario, trials: b.trials, machine: b.machine ?? null, baseline };
    }
  }
  const { summary } = await readSummary(path);
  return { sources: [path], scenario: summary.scenario.name, trials: [trialOf(summary)], machine: summary.machine };
}

/** Several paths (one side of a comparison) → one Comparable with all their trials. */
export async function readSide(paths: readonly string[]): Promise<Comparable> {
  const parts = await Promise.all(paths.map(readComparable));
  const scenarios = new Set(parts.map((p) => p.scenario));
  if (scenarios.size > 1) throw resultsError('RB_RESULTS_BAD_FILE', `${paths.join(', ')}: mixes scenarios ${[...scenarios].join(', ')}.`);
  const machines = parts.map((p) => p.machine ?? null);
  const machine = machines.every((m) => sameMachine(m, machines[0] ?? null)) ? (machines[0] ?? null) : null;
  const baseline = parts.find((p) => p.baseline != null)?.baseline ?? null;
  return {
    sources: parts.flatMap((p) => p.sources),
    scenario: parts[0]!.scenario,
    trials: parts.flatMap((p) => p.trials),
    machine,
    baseline,
  };
}
