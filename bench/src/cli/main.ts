#!/usr/bin/env node
import { Command } from 'commander';
import { registerBaseline } from './commands/baseline.js';
import { registerCollect } from './commands/collect.js';
import { registerCompare } from './commands/compare.js';
import { registerGate } from './commands/gate.js';
import { registerKafka } from './commands/kafka.js';
import { registerLoadgen } from './commands/loadgen.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { defineRelayCommand, reportUsageErrors } from '../../../relay/src/cli.js';
import { ExitCode } from './exit-codes.js';
import { failAndExit } from './fail.js';

const program = new Command();
program
  .name('relaybench')
  .description('Load, break and measure an end-to-end encrypted messenger relay on Kafka: latency from Send to ✓ ✓✓ read.')
  .version('0.1.0')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Exit codes: ${ExitCode.OK} ok · ${ExitCode.GATE_FAILED} objective/regression failed · ${ExitCode.INVALID} bad input or invalid run · ${ExitCode.INFRA} infrastructure failed · ${ExitCode.INTERNAL} internal error · ${ExitCode.INTERRUPTED} interrupted`,
  );
reportUsageErrors(program, 'RB_CLI_USAGE');

registerKafka(program);
defineRelayCommand(program.command('relay'), failAndExit);
registerLoadgen(program);
registerRun(program);
registerReport(program);
registerCompare(program);
registerGate(program);
registerBaseline(program);
registerCollect(program);

await program.parseAsync(process.argv);
