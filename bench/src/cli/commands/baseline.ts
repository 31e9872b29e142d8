import type { Command } from 'commander';
import { relative } from 'node:path';
import { updateBaseline } from '../../gate/baseline.js';
import { failAndExit } from '../fail.js';

export function registerBaseline(program: Command): void {
  const baseline = program.command('baseline').description('manage the committed baselines in results/baselines/');
  baseline
    .command('update')
    .description('write results/baselines/<scenario>.json from one or more valid run folders (one trial each)')
    .argument('<run-dir...>', 'run folders (results/<run-id>) of the same scenario')
    .option('--out <file>', 'write here instead of results/baselines/<scenario>.json')
    .option('--append', 'keep the trials already in the file and add these (the last 20 are kept)')
    .option('--force', 'accept an invalid or interrupted run (lost messages, generator-bound, cut short) — for test fixtures only')
    .option('--note <text>', 'free text stored in the file')
    .action(async (runDirs: string[], o: { out?: string; append?: boolean; force?: boolean; note?: string }) => {
      try {
        const { path, baseline: b } = await updateBaseline(runDirs, o);
        process.stdout.write(
          `baseline ${relative(process.cwd(), path) || path}: scenario ${b.scenario}, ${b.trials.length} trial(s): ${b.trials.map((t) => t.runId).join(', ')}\n`,
        );
      } catch (e) {
        failAndExit(e);
      }
    });
}
