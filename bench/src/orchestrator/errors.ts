import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_RUN_*: `relaybench run` — options, and the processes it starts (relays, workers). */
export const runErrors = {
  RB_RUN_BAD_OPTION: { message: 'A run option is not valid.', retriable: false },
  RB_RUN_INFRA_RELAY: { message: 'A relay process did not start, did not become ready, or died during the run.', retriable: true },
  RB_RUN_INFRA_WORKER: { message: 'A load-generator worker process failed or exited without a result.', retriable: true },
  RB_RUN_INFRA_RESULT: { message: 'A worker result file is missing or not a WorkerResult.', retriable: false },
  RB_RUN_INTERRUPTED: { message: 'The run was interrupted (SIGINT/SIGTERM) before it had results to write.', retriable: true },
} as const satisfies ErrorTable;

export const runError = errorFactory(runErrors);
