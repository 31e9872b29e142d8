import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_SCENARIO_*: finding, parsing and validating a scenario file (bench/scenarios/*.yaml). */
export const scenarioErrors = {
  RB_SCENARIO_NOT_FOUND: { message: 'No scenario by that name or path.', retriable: false },
  RB_SCENARIO_YAML: { message: 'The scenario file is not valid YAML.', retriable: false },
  RB_SCENARIO_INVALID: { message: 'The scenario file does not match the scenario schema.', retriable: false },
  RB_SCENARIO_OBJECTIVE: { message: 'An objective expression cannot be parsed or does not fit its metric.', retriable: false },
} as const satisfies ErrorTable;

export const scenarioError = errorFactory(scenarioErrors);
