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
export async function runCompare(
  base: string,
  candidate: string,
  flags: CompareFlags,
): Promise<{ text: string; exitCode: ExitCodeValue; report: CompareReport }> {
  const format = (flags.format ?? 'text') as CompareFormat;
  if (!['text', 'md', 'json'].includes(format))
    throw gateError('RB_GATE_BAD_OPTION', `--format ${flags.format}: expected md, json or text.`);
  const options: CompareOptions = {
    thresholdP50: ratio('--threshold-p50', flags.thresholdP50, DEFAULT_COMPARE.thresholdP50),
    thresholdP99: ratio('--threshold-p99', flags.thresholdP99, DEFAULT_COMPARE.thresholdP99),
    alpha: probability('--alpha', flags.alpha, DEFAULT_COMPARE.alpha),
    ...(flags.minTrials === undefined ? {} : { minTrials: positiveInt('--min-trials', flags.minTrials) }),
  };
  const a = await readSide(split(base));
  const b = await readSide(split(candidate));
  if (a.scenario !== b.scenario && flags.allowScenarioMismatch !== true)
    throw gateError(
      'RB_GATE_SCENARIO_MISMATCH',
      `BASE is ${a.scenario}, NEW is ${b.scenario} (--allow-scenario-mismatch to compare anyway).`,
    );
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
    .description(
      'describe the change between runs (or a baseline) per stage and percentile; calls a regression only from repeated trials per side (for CI use `relaybench gate`)',
    )
    .argument('<base>', 'run folder, summary.json or baseline file; several, comma-separated, are trials')
    .argument('<new>', 'run folder, summary.json or baseline file; several, comma-separated, are trials')
    .option('--format <format>', 'md | json | text', 'text')
    .option('--threshold-p50 <ratio>', 'p50 change ratio that counts as a regression', String(DEFAULT_COMPARE.thresholdP50))
    .option('--threshold-p99 <ratio>', 'p99 change ratio that counts as a regression', String(DEFAULT_COMPARE.thresholdP99))
    .option('--alpha <p>', 'one-sided error rate: the interval of the change is at level 1 − 2·alpha', String(DEFAULT_COMPARE.alpha))
    .option('--min-trials <n>', 'trials per side to compare per trial (default: the fewest for which the interval exists, 5 at alpha 0.01)')
    .option('--allow-scenario-mismatch', 'compare runs of different scenarios anyway')
    .addHelpText(
      'after',
      `
One run per side is DESCRIPTIVE: the changes are shown, no regression is called (the 1 s
intervals of one run are not independent samples). With ≥ --min-trials runs per side (comma-
separated), regression = the whole Hodges–Lehmann interval of NEW ÷ BASE (per-trial percentiles)
above the threshold. With the in-run kafka-direct reference on both sides, ratios to it are
compared instead of absolute times; runs from different machines are never compared in absolute
time. A baseline file as BASE is named with its newest run's time (from 7 days older than NEW's
on, with a reminder to make it again). The CI decision is \`relaybench gate BASE NEW\` (both
builds, interleaved, same machine).
Exit: 0 pass or descriptive · 1 regression · 2 invalid input or invalid run (lost > 0, generator-bound).`,
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
