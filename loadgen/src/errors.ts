import { errorFactory, type ErrorTable } from '../../relay/protocol/src/index.js';

/**
 * RB_LOADGEN_*: the load generator. Bad input (plan, flags) is not retriable; a target that
 * cannot be reached may be. Codes are stable and never reused; wire errors received from the relay
 * are counted in the ledger by their wire name (e.g. `WIRE_RATE_LIMITED`), not thrown.
 */
export const loadgenErrors = {
  RB_LOADGEN_BAD_PLAN: { message: 'The worker plan is not valid.', retriable: false },
  RB_LOADGEN_BAD_FLAG: { message: 'A command-line flag is not valid.', retriable: false },
  RB_LOADGEN_NO_SECRET: { message: 'No token secret: pass --token-secret or set RELAY_TOKEN_SECRET.', retriable: false },
  RB_LOADGEN_PLAN_FILE: { message: 'The plan file could not be read or parsed as JSON.', retriable: false },
  RB_LOADGEN_RESULT_FILE: { message: 'The result file could not be written.', retriable: false },
  RB_LOADGEN_ROUTES: { message: 'The routing hint (GET /routes) could not be read from the relay.', retriable: true },
  RB_LOADGEN_CONNECT: { message: 'A virtual user could not connect to its target.', retriable: true },
  RB_LOADGEN_HANDSHAKE: { message: 'The relay refused a virtual user at hello (error frame or close before welcome).', retriable: false },
  RB_LOADGEN_KEYS: { message: 'A peer key bundle could not be fetched or its signature did not verify.', retriable: false },
  RB_LOADGEN_TIMEOUT: { message: 'A request to the target was not answered in time.', retriable: true },
  RB_LOADGEN_METRICS_PORT: { message: 'The metrics endpoint could not listen on the requested port.', retriable: false },
  RB_LOADGEN_DECRYPT: { message: 'A delivered message failed authentication or decryption (counted, never delivered).', retriable: false },
  RB_LOADGEN_FOREIGN_RECEIPT: {
    message: "A receipt came from a user other than the message's recipient (counted, ignored).",
    retriable: false,
  },
  RB_LOADGEN_SENDER_OFFLINE: {
    message: 'A scheduled send found its sender offline after waiting for keys; the message was not sent.',
    retriable: false,
  },
  RB_LOADGEN_KAFKA_DIRECT: { message: 'The kafka-direct reference path could not be set up.', retriable: true },
} as const satisfies ErrorTable;

export type LoadgenErrorCode = keyof typeof loadgenErrors;
export const loadgenError = errorFactory(loadgenErrors);
