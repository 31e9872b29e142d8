import type { Command } from 'commander';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { failAndExit } from '../fail.js';
import { readSide } from '../../gate/comparable.js';
import { compareRuns, DEFAULT_COMPARE, type CompareOptions, type CompareReport } from '../../gate/compare.js';
import { gateError } from '../../gate/errors.js';
import { formatCompare, type CompareFormat } from '../../gate/format.js';

export interface CompareFlags {
  readonly format?: string;
  readonly thresholdP50?: string;
  readonly thresholdP99?: string;
  readonly alpha?: string;
  readonly minTrials?: string;
  readonly allowScenarioMismatch?: boolean;
}

/** The command without process effects: parses flags, reads both sides, returns text and exit code. */
export async function runCompare(base: string, candidate: string, flags: CompareFlags): Promise<{ text: string; exitCode: ExitCodeValue; report: CompareReport }> {
  const format = (flags.format ?? 'text') as CompareFormat;
  if (!['text', 'md', 'json'].includes(format)) throw gateError('RB_GATE_BAD_OPTION', `--format ${flags.format}: expected md, json or text.`);
  const options: CompareOptions = {
    thresholdP50: ratio('--threshold-p50', flags.thresholdP50, DEFAULT_COMPARE.thresholdP50),
    thresholdP99: ratio('--threshold-p99', flags.thresholdP99, DEFAULT_COMPARE.thresholdP99),
    alpha: probability('--alpha', flags.alpha, DEFAULT_COMPARE.alpha),
    minTrials: flags.minTrials === undefined ? 3 : positiveInt('--min-trials', flags.minTrials),
  };
  const a = await readSide(split(base));
  const b = await readSide(split(candidate));
  if (a.scenario !== b.scenario && flags.allowScenarioMismatch !== true) throw gateError('RB_GATE_SCENARIO_MISMATCH', `BASE is ${a.scenario}, NEW is ${b.scenario} (--allow-scenario-mismatch to compare anyway).`);
  const report = compareRuns(a, b, options);
  const exitCode = report.verdict === 'invalid' ? ExitCode.INVALID : report.verdict === 'regression' ? ExitCode.GATE_FAILED : ExitCode.OK;
  return { text: formatCompare(report, format), exitCode, report };
}

const split = (arg: string) =>
  arg
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function ratio(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1) throw gateError('RB_GATE_BAD_OPTION', `${flag} ${v}: expected a ratio ≥ 1 (1.10 = +10 %).`);
  return n;
}

function probability(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw gateError('RB_GATE_BAD_OPTION', `${flag} ${v}: expected a probability in (0, 1), e.g. 0.01.`);
  return n;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2) throw gateError('RB_GATE_BAD_OPTION', `${flag} ${v}: expected a whole number ≥ 2.`);
  return n;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('regression gate: compare two runs (or a baseline) per stage and percentile; fails only on a change that is both large and significant')
    .argument('<base>', 'run folder, summary.json or baseline file; several, comma-separated, are trials')
    .argument('<new>', 'run folder, summary.json or baseline file; several, comma-separated, are trials')
    .option('--format <format>', 'md | json | text', 'text')
    .option('--threshold-p50 <ratio>', 'p50 change ratio that counts as a regression', String(DEFAULT_COMPARE.thresholdP50))
    .option('--threshold-p99 <ratio>', 'p99 change ratio that counts as a regression', String(DEFAULT_COMPARE.thresholdP99))
    .option('--alpha <p>', 'significance level of the one-sided Mann–Whitney test', String(DEFAULT_COMPARE.alpha))
    .option('--min-trials <n>', 'trials per side needed to test per trial instead of per interval', '3')
    .option('--allow-scenario-mismatch', 'compare runs of different scenarios anyway')
    .addHelpText(
      'after',
      `
Regression = change above the threshold AND one-sided Mann–Whitney p < alpha, over per-trial
percentiles (≥ --min-trials trials per side) or else per-interval percentiles. With the in-run
kafka-direct reference on both sides, ratios to it are compared instead of absolute times.
Exit: 0 pass · 1 regression · 2 invalid input or invalid run (lost > 0, generator-bound).`,
    )
    .action(async (base: string, candidate: string, flags: CompareFlags) => {
      try {
        const { text, exitCode } = await runCompare(base, candidate, flags);
        process.stdout.write(text);
        process.exitCode = exitCode;
      } catch (e) {
        failAndExit(e);
      }
    });
}
