/**
 * Baselines: results/baselines/<scenario>.json (committed). The comparable part of one or more
 * valid runs (one trial each): enough for `compare`, the report and change-point history.
 * DESIGN §7: stored baselines serve history and a first check; the hard gate is BASE and NEW
 * built and run in the same CI job.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../scenarios/loader.js';
import { readSummary } from '../results/store.js';
import { BASELINE_SCHEMA_VERSION, trialOf, type BaselineFile, type Trial } from './comparable.js';
import { gateError } from './errors.js';

export const BASELINES_DIR = join(REPO_ROOT, 'results', 'baselines');
/** Trials kept in one baseline file (oldest dropped first). */
export const MAX_TRIALS = 20;

export function baselinePath(scenario: string, dir = BASELINES_DIR): string {
  return join(dir, `${scenario}.json`);
}

export interface UpdateOptions {
  /** Output file (default results/baselines/<scenario>.json). */
  readonly out?: string;
  /** Keep the file's trials and add these (default: replace). */
  readonly append?: boolean;
  /** Accept an invalid run (never for a real baseline; for fixtures). */
  readonly force?: boolean;
  readonly note?: string;
  readonly now?: Date;
}

export async function updateBaseline(
  runDirs: readonly string[],
  options: UpdateOptions = {},
): Promise<{ path: string; baseline: BaselineFile }> {
  if (runDirs.length === 0) throw gateError('RB_GATE_BAD_OPTION', 'Give at least one run folder.');
  const summaries = await Promise.all(runDirs.map(async (d) => (await readSummary(d)).summary));
  const scenarios = new Set(summaries.map((s) => s.scenario.name));
  if (scenarios.size > 1) throw gateError('RB_GATE_SCENARIO_MISMATCH', `Runs of ${[...scenarios].join(', ')}.`);
  for (const s of summaries) {
    if (options.force === true) continue;
    if (!s.valid) throw gateError('RB_GATE_INVALID_BASELINE_RUN', `${s.runId}: ${s.invalidReasons.join('; ')}.`);
    // Cut short: its load and its windows are not the scenario's, so it compares with nothing.
    if (s.status === 'interrupted') throw gateError('RB_GATE_INVALID_BASELINE_RUN', `${s.runId}: the run was interrupted.`);
  }
  const first = summaries[0]!;
  const path = options.out ?? baselinePath(first.scenario.name);
  let trials: Trial[] = summaries.map(trialOf);
  if (options.append === true) {
    try {
      const old = JSON.parse(await readFile(path, 'utf8')) as BaselineFile;
      if (old.scenario !== first.scenario.name) throw gateError('RB_GATE_SCENARIO_MISMATCH', `${path} is a baseline of ${old.scenario}.`);
      const fresh = new Set(trials.map((t) => t.runId));
      trials = [...old.trials.filter((t) => !fresh.has(t.runId)), ...trials];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  trials = trials.slice(-MAX_TRIALS);
  const baseline: BaselineFile = {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    kind: 'relaybench-baseline',
    scenario: first.scenario.name,
    updatedAt: (options.now ?? new Date()).toISOString(),
    machine: first.machine,
    versions: first.versions,
    note:
      options.note ??
      `Made by \`relaybench baseline update\` from ${trials.map((t) => t.runId).join(', ')}. Absolute times hold for this machine only; ratios to the kafka-direct reference travel better.`,
    trials,
  };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(baseline, null, 1)}\n`);
  return { path, baseline };
}
