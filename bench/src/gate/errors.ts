import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_GATE_*: `relaybench compare` and `relaybench baseline`. */
export const gateErrors = {
  RB_GATE_BAD_OPTION: { message: 'A compare or baseline option is not valid.', retriable: false },
  RB_GATE_SCENARIO_MISMATCH: { message: 'BASE and NEW come from different scenarios; comparing them means nothing.', retriable: false },
  RB_GATE_INVALID_BASELINE_RUN: { message: 'An invalid run (lost messages, generator-bound, nothing sent) cannot become a baseline.', retriable: false },
} as const satisfies ErrorTable;

export const gateError = errorFactory(gateErrors);
