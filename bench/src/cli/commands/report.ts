import type { Command } from 'commander';
import { readHlogs, readSummary, renderOutputs } from '../../results/store.js';
import { failAndExit } from '../fail.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('re-render report.html, summary.md and junit.xml of a run folder from its summary.json and .hlog files')
    .argument('<run-dir>', 'a run folder (results/<run-id>) or its summary.json')
    .action(async (path: string) => {
      try {
        const { summary, dir } = await readSummary(path);
        const written = await renderOutputs(dir, { summary, hlogs: await readHlogs(dir) });
        for (const f of written) process.stdout.write(`${f}\n`);
      } catch (e) {
        failAndExit(e);
      }
    });
}
