import type { Command } from 'commander';
import { failAndExit } from '../fail.js';
import { brokersFlag, durationFlag } from '../../distributed/cli.js';
import { collectRun } from '../../distributed/collect.js';
import { distError } from '../../distributed/errors.js';
import { printableSummary } from '../../orchestrator/print.js';

interface CollectFlags {
  readonly brokers?: string;
  readonly resultsDir?: string;
  readonly workers?: string;
  readonly timeout?: string;
  readonly force?: boolean;
}

export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description(
      'merge the results that `loadgen --join` workers published to Kafka for a run into results/<run-id>/, exactly as for local workers',
    )
    .argument('<run-id>', 'the run id the joiners joined (--join <run-id>)')
    .option('--brokers <list>', "the run's Kafka (host:port,...; or KAFKA_BROKERS)")
    .option('--results-dir <dir>', 'parent folder of run folders (env RELAYBENCH_RESULTS_DIR; default results)')
    .option('--workers <n>', 'results each segment must have (default: as many workers as the coordinator assigned)')
    .option('--timeout <time>', 'wait this long for results still being published (default 60s)')
    .option('--force', 'overwrite an existing results/<run-id>/summary.json')
    .addHelpText(
      'after',
      `
Reads relaybench.control.<run-id> (the run record: scenario, objectives, segments; the
assignments) and relaybench.results.<run-id> (each worker's gzipped, chunked WorkerResult),
then writes summary.json, <stage>.hlog, report.html, summary.md, junit.xml, scenario.yaml and
workers/<id>.{plan,result}.json. See docs/distributed.md.
Exit: like run — 0 every objective passed · 1 an objective failed · 2 bad input, no such run, or
an invalid run (messages lost, generator-bound) · 3 a worker's result is missing or Kafka failed.`,
    )
    .action(async (runId: string, flags: CollectFlags) => {
      try {
        let workers: number | undefined;
        if (flags.workers !== undefined) {
          workers = Number(flags.workers);
          if (!Number.isInteger(workers) || workers < 1 || workers > 1000)
            throw distError('RB_DIST_BAD_OPTION', `--workers ${flags.workers}: expected a whole number ≥ 1.`);
        }
        const { summary, dir } = await collectRun({
          runId,
          brokers: brokersFlag(flags.brokers, process.env, 'collect'),
          resultsDir: flags.resultsDir ?? process.env.RELAYBENCH_RESULTS_DIR ?? 'results',
          ...(workers === undefined ? {} : { workers }),
          timeoutMs: durationFlag(flags.timeout, '--timeout', 60_000),
          force: flags.force === true,
          log: (l) => process.stderr.write(`${l}\n`),
        });
        process.stdout.write(printableSummary(summary, dir));
        process.exit(summary.exitCode);
      } catch (e) {
        failAndExit(e);
      }
    });
}
