import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_FAULT_*: fault scenarios (`faults:` in a scenario file). A fault that fails to run raises the relay's or Kafka's own infrastructure code. */
export const faultErrors = {
  RB_FAULT_UNSUPPORTED: { message: 'A fault of the scenario cannot run against this system under test.', retriable: false },
} as const satisfies ErrorTable;

export const faultError = errorFactory(faultErrors);
