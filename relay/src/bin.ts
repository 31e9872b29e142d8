#!/usr/bin/env node
// `relaybench-relay`: one relay process (gateway + router) until SIGTERM. The same flags as
// `relaybench relay`; this entry point needs nothing from the bench.
import { Command } from 'commander';
import { isRelaybenchError } from '../protocol/src/relaybench-error.js';
import { defineRelayCommand, reportUsageErrors } from './cli.js';

/** Exit codes as `relaybench` numbers them (docs/cli.md): 2 bad configuration, 3 start-up failed, 4 a bug. */
function fail(e: unknown): never {
  if (!isRelaybenchError(e)) {
    process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(4);
  }
  process.stderr.write(`error ${e.code}: ${e.message}\n`);
  process.exit(e.retriable ? 3 : 2);
}

// A flag the relay does not know, or one without its value, is bad configuration like any other.
await defineRelayCommand(reportUsageErrors(new Command('relaybench-relay'), 'RB_RELAY_BAD_CONFIG'), fail)
  .showHelpAfterError()
  .parseAsync(process.argv);
