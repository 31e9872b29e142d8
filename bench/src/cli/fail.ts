import { isRelaybenchError } from '../../../relay/protocol/src/relaybench-error.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** Maps an error to its exit code: bad input → 2, infrastructure → 3, anything unexpected → 4. */
export function exitCodeFor(e: unknown): ExitCodeValue {
  if (!isRelaybenchError(e)) return ExitCode.INTERNAL;
  if (e.code === 'RB_RUN_INTERRUPTED') return ExitCode.INTERRUPTED;
  // A peer or Kafka did not do its part (distributed: a joiner or a result that never came; a
  // worker: relays that do not answer, or a kafka-direct path that cannot be set up).
  if (
    /^RB_(KAFKA|KCLIENT|RELAY_START|RUN_INFRA|GATE_BUILD_FAILED|GATE_TRIAL_FAILED|DIST_(NO_ASSIGNMENT|JOINERS_MISSING|WORKER_LOST|RESULTS_MISSING)|LOADGEN_(ROUTES|CONNECT|TIMEOUT|KAFKA_DIRECT))/.test(
      e.code,
    ) &&
    // …unless what failed was the input: a bad option, or a Kafka client this build does not have.
    !/BAD_|^RB_KCLIENT_UNKNOWN$/.test(e.code)
  )
    return ExitCode.INFRA;
  return ExitCode.INVALID;
}

/** Prints `error RB_X: sentence` (no stack for known errors) and exits with the mapped code. */
export function failAndExit(e: unknown): never {
  if (isRelaybenchError(e)) {
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
  } else {
    process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(exitCodeFor(e));
}
