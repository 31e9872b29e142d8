import type { ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_CLI_*: the command line itself, before any command runs. */
export const cliErrors = {
  RB_CLI_USAGE: {
    message: 'The command line is not valid: an unknown command or option, or a missing value or argument.',
    retriable: false,
  },
} as const satisfies ErrorTable;
