import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/**
 * RB_DIST_*: distributed load generation (`relaybench loadgen --join`, `run --remote-workers`,
 * `collect`). Which of them are infrastructure failures (exit 3) is decided in exit.ts.
 */
export const distErrors = {
  RB_DIST_BAD_OPTION: { message: 'A distributed-run option is not valid.', retriable: false },
  RB_DIST_NO_ASSIGNMENT: { message: 'No coordinator assigned a plan to this joiner within its join timeout.', retriable: true },
  RB_DIST_JOINERS_MISSING: { message: 'Fewer load-generator joiners than the scenario needs joined the run in time.', retriable: true },
  RB_DIST_WORKER_LOST: { message: 'A remote worker did not accept its plan, reported a failure, or went silent.', retriable: true },
  RB_DIST_RUN_EXISTS: { message: 'This run id already has a coordinator on this Kafka cluster.', retriable: false },
  RB_DIST_NO_RUN: { message: 'No run record for this run id on this Kafka cluster.', retriable: false },
  RB_DIST_RESULTS_MISSING: { message: 'Results of some assigned workers are missing or unreadable on the results topic.', retriable: true },
} as const satisfies ErrorTable;

export type DistErrorCode = keyof typeof distErrors;
export const distError = errorFactory(distErrors);
