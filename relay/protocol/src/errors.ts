/**
 * RB_PROTO_*: every error the protocol module can raise. Codes are stable and never reused once
 * retired; `docs/errors.md` (section "Protocol") lists each one and a test keeps the two in step.
 * Decoding errors say what was wrong with the peer's bytes; BAD_ARGUMENT says the caller (our own
 * code) passed something the protocol cannot represent.
 */
import { errorFactory, type ErrorTable } from './relaybench-error.js';

export const PROTOCOL_ERRORS = {
  RB_PROTO_MALFORMED: {
    message: 'The frame is not exactly one well-formed MessagePack map.',
    retriable: false,
  },
  RB_PROTO_UNKNOWN_FRAME: {
    message: 'The frame type `t` is missing or not a frame type of this protocol version.',
    retriable: false,
  },
  RB_PROTO_WRONG_DIRECTION: {
    message: 'The frame type is valid but may not travel in this direction (client/server).',
    retriable: false,
  },
  RB_PROTO_BAD_FIELD: {
    message: 'A frame field is missing, has the wrong type, or is outside its allowed format or length.',
    retriable: false,
  },
  RB_PROTO_TOKEN_INVALID: {
    message: 'The access token is malformed or its signature does not match.',
    retriable: false,
  },
  RB_PROTO_TOKEN_EXPIRED: {
    message: 'The access token has expired; obtain a new one.',
    retriable: false,
  },
  RB_PROTO_BAD_KEY: {
    message: 'The Kafka record key is not a relaybench mailbox, receipt or presence key.',
    retriable: false,
  },
  RB_PROTO_BAD_ARGUMENT: {
    message: 'A protocol helper was called with a value the protocol cannot represent.',
    retriable: false,
  },
} as const satisfies ErrorTable;

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

/** Creates a RelaybenchError from the table; `detail` is appended to the table's sentence. */
export const protocolError = errorFactory(PROTOCOL_ERRORS);
