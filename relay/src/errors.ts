import { errorFactory, type ErrorTable } from '../protocol/src/relaybench-error.js';

/** RB_RELAY_*: the relay process (configuration and start-up; client errors travel as wire codes). */
export const relayErrors = {
  RB_RELAY_BAD_CONFIG: { message: 'The relay configuration is not valid.', retriable: false },
  RB_RELAY_START_FAILED: { message: 'The relay could not start.', retriable: true },
  RB_RELAY_NO_SECRET: { message: 'No token secret is configured: set RELAY_TOKEN_SECRET or pass --token-secret.', retriable: false },
} as const satisfies ErrorTable;

export const relayError = errorFactory(relayErrors);
