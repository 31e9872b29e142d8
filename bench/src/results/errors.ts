import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_RESULTS_*: reading and writing run folders, summary.json and baseline files. */
export const resultsErrors = {
  RB_RESULTS_NOT_FOUND: { message: 'No run folder, summary.json or baseline file at that path.', retriable: false },
  RB_RESULTS_BAD_FILE: { message: 'The file is not a relaybench summary.json or baseline (or has an unsupported schemaVersion).', retriable: false },
  RB_RESULTS_WRITE_FAILED: { message: 'Writing the run folder failed.', retriable: true },
} as const satisfies ErrorTable;

export const resultsError = errorFactory(resultsErrors);
