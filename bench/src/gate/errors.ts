import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_GATE_*: `relaybench compare`, `relaybench baseline` and `relaybench gate`. */
export const gateErrors = {
  RB_GATE_BAD_OPTION: { message: 'A compare, baseline or gate option is not valid.', retriable: false },
  RB_GATE_SCENARIO_MISMATCH: { message: 'BASE and NEW come from different scenarios; comparing them means nothing.', retriable: false },
  RB_GATE_INVALID_BASELINE_RUN: {
    message: 'An invalid run (lost messages, generator-bound, nothing sent) cannot become a baseline.',
    retriable: false,
  },
  RB_GATE_BAD_BUILD: { message: 'A gate side is neither a build folder (a checkout with dist/) nor a git ref.', retriable: false },
  RB_GATE_BUILD_FAILED: { message: 'Building a gate side (git worktree, npm ci or tsc) failed.', retriable: true },
  RB_GATE_TRIAL_FAILED: {
    message: 'A gate trial could not run: its relays, workers or Kafka failed (not an invalid measurement).',
    retriable: true,
  },
} as const satisfies ErrorTable;

export const gateError = errorFactory(gateErrors);
