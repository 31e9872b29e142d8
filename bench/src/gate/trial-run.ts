/**
 * One gate trial: the side's own `relaybench run` (its relays and workers come from its build)
 * against the gate's shared Kafka, with the kafka-direct reference, into <trialsDir>/<run-id>/.
 * Its exit code and summary.json become a GateTrial:
 * - exit 0 or 1 (objectives held or not) with a valid summary → a valid trial;
 * - a summary that is invalid (lost, generator-bound) → an invalid trial (the loop reruns it);
 * - exit 3/4/130, or no summary → RB_GATE_TRIAL_FAILED (infrastructure: the gate stops, exit 3).
 */
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Stage } from '../../../loadgen/src/stats/stages.js';
import { spawnSupervised } from '../../../testbed/process/supervisor.js';
import { readSummary } from '../results/store.js';
import type { RunSummary } from '../results/summary.js';
import type { GateTrial, Pct, Side, TrialValue } from './decide.js';
import { gateError } from './errors.js';

export interface TrialRunOptions {
  readonly cli: string;
  readonly scenarioFile: string;
  readonly brokers: readonly string[];
  readonly trialsDir: string;
  readonly runId: string;
  /** Extra `run` flags (e.g. --kafka-provider). */
  readonly extraArgs?: readonly string[];
}

export async function runOneTrial(side: Side, index: number, attempt: number, o: TrialRunOptions): Promise<GateTrial> {
  const args = [
    o.cli,
    'run',
    o.scenarioFile,
    '--brokers',
    o.brokers.join(','),
    '--results-dir',
    o.trialsDir,
    '--run-id',
    o.runId,
    '--reference',
    'kafka-direct',
    '--prometheus',
    'off',
    '--no-progress',
    ...(o.extraArgs ?? []),
  ];
  const t0 = Date.now();
  const logFile = join(o.trialsDir, `${o.runId}.log`);
  const out = createWriteStream(logFile);
  const proc = spawnSupervised(`gate-trial-${o.runId}`, process.execPath, args, { env: { ...process.env, RELAYBENCH_PROMETHEUS: 'off' } });
  proc.child.stdout?.pipe(out, { end: false });
  proc.child.stderr?.pipe(out, { end: false });
  const { code, signal } = await proc.exited;
  out.end();
  const dir = join(o.trialsDir, o.runId);
  const wallMs = Date.now() - t0;
  const exitCode = code ?? 128;
  if (signal !== null || ![0, 1, 2].includes(exitCode) || !existsSync(join(dir, 'summary.json')))
    throw gateError(
      'RB_GATE_TRIAL_FAILED',
      `${side} trial ${o.runId} ended with ${signal ?? `exit ${exitCode}`}${existsSync(join(dir, 'summary.json')) ? '' : ' and wrote no summary.json'}; its output: ${logFile}.`,
    );
  const { summary } = await readSummary(dir);
  return trialFromSummary(summary, { side, index, attempt, dir, wallMs, exitCode });
}

export function trialFromSummary(
  s: RunSummary,
  at: { side: Side; index: number; attempt: number; dir: string; wallMs: number; exitCode: number },
): GateTrial {
  const reasons = [...s.invalidReasons];
  if (s.ledger.lost > 0 && !reasons.some((r) => r.includes('lost'))) reasons.push(`${s.ledger.lost} message(s) lost`);
  if (s.generatorBound && !reasons.some((r) => r.includes('generator-bound'))) reasons.push('generator-bound');
  if (s.reference === null) reasons.push('no kafka-direct reference segment');
  const values: Partial<Record<Stage, Record<Pct, TrialValue>>> = {};
  for (const [stage, p] of Object.entries(s.stages) as [Stage, RunSummary['stages'][Stage]][]) {
    const ref = s.reference?.stages[stage];
    if (ref === undefined || ref.count === 0 || p.count === 0 || ref.p50 <= 0 || ref.p99 <= 0) continue;
    values[stage] = { p50: value(p.p50, ref.p50), p99: value(p.p99, ref.p99) };
  }
  const valid = s.valid && !s.generatorBound && s.ledger.lost === 0 && s.reference !== null;
  return { ...at, runId: s.runId, valid, invalidReasons: valid ? [] : reasons, values };
}

const value = (relay: number, reference: number): TrialValue => ({
  relay,
  reference,
  ratio: Math.round((relay / reference) * 10_000) / 10_000,
});
