/**
 * Numeric codes that travel on the wire: `error.code` frames and WebSocket close codes. Each
 * lives in one table here and in `relay/PROTOCOL.md`; numbers are stable and never reused.
 * Unknown numbers (a newer peer) resolve through a fallback instead of failing.
 */
import type { ProtocolErrorCode } from './errors.js';

export interface WireErrorSpec {
  readonly code: number;
  readonly name: string;
  /** True when the same request may succeed if retried later (after a backoff). */
  readonly retriable: boolean;
  readonly message: string;
}

/** `error.code` values. */
export const WIRE_ERRORS = {
  MALFORMED_FRAME: { code: 1, retriable: false, message: 'The frame could not be decoded.' },
  UNSUPPORTED_VERSION: { code: 2, retriable: false, message: 'The protocol version in hello is not supported.' },
  AUTH_FAILED: { code: 3, retriable: false, message: 'The token is invalid.' },
  TOKEN_EXPIRED: { code: 4, retriable: false, message: 'The token has expired; get a new one and reconnect.' },
  NOT_AUTHENTICATED: { code: 5, retriable: false, message: 'A frame other than hello arrived before welcome.' },
  FORBIDDEN: { code: 6, retriable: false, message: 'The request concerns data this user may not act on.' },
  RATE_LIMITED: { code: 7, retriable: true, message: 'Too many frames; slow down and retry later.' },
  PAYLOAD_TOO_LARGE: { code: 8, retriable: false, message: 'The frame or one of its fields is too large.' },
  BAD_FIELD: { code: 9, retriable: false, message: 'A field is missing or invalid.' },
  KEYS_NOT_FOUND: { code: 10, retriable: false, message: 'No key bundle is published for that user.' },
  UNAVAILABLE: { code: 11, retriable: true, message: 'A backend (Kafka) is unavailable; retry with the same msgId.' },
  OVERLOADED: { code: 12, retriable: true, message: 'The relay is overloaded; retry later.' },
  DUPLICATE_HELLO: { code: 13, retriable: false, message: 'hello was sent twice on one connection.' },
  INTERNAL: { code: 14, retriable: false, message: 'Internal relay error.' },
} as const;

export type WireErrorName = keyof typeof WIRE_ERRORS;
export type WireErrorCode = (typeof WIRE_ERRORS)[WireErrorName]['code'];

const WIRE_BY_CODE = new Map<number, WireErrorSpec>(Object.entries(WIRE_ERRORS).map(([name, spec]) => [spec.code, { ...spec, name }]));

/** The spec of a wire error code; unknown codes get `UNKNOWN`, not retriable. */
export function wireError(code: number): WireErrorSpec {
  return WIRE_BY_CODE.get(code) ?? { code, name: 'UNKNOWN', retriable: false, message: `Unknown error code ${code}.` };
}

/** Which wire error a server reports for a protocol error raised while handling a client frame. */
export const WIRE_ERROR_FOR_PROTOCOL_ERROR: Readonly<Record<ProtocolErrorCode, WireErrorName>> = {
  RB_PROTO_MALFORMED: 'MALFORMED_FRAME',
  RB_PROTO_UNKNOWN_FRAME: 'MALFORMED_FRAME',
  RB_PROTO_WRONG_DIRECTION: 'MALFORMED_FRAME',
  RB_PROTO_BAD_FIELD: 'BAD_FIELD',
  RB_PROTO_TOKEN_INVALID: 'AUTH_FAILED',
  RB_PROTO_TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  RB_PROTO_BAD_KEY: 'INTERNAL',
  RB_PROTO_BAD_ARGUMENT: 'INTERNAL',
};

/** What a client does after a close code. */
export type ReconnectPolicy = 'no' | 'backoff' | 'now' | 'redirect';

export interface CloseCodeSpec {
  readonly code: number;
  readonly name: string;
  readonly reconnect: ReconnectPolicy;
  readonly message: string;
}

/** WebSocket close codes: RFC 6455 ones plus private 4xxx codes. */
export const CLOSE_CODES = {
  NORMAL: { code: 1000, reconnect: 'no', message: 'Normal closure.' },
  GOING_AWAY: { code: 1001, reconnect: 'now', message: 'The relay is shutting down or the client is leaving.' },
  WS_PROTOCOL: {
    code: 1002,
    reconnect: 'no',
    message: 'The client broke WebSocket framing (RFC 6455), e.g. an unmasked frame or a reserved opcode.',
  },
  POLICY: { code: 1008, reconnect: 'no', message: 'Policy violation.' },
  TOO_BIG: { code: 1009, reconnect: 'no', message: 'A frame exceeded the maximum payload.' },
  INTERNAL: { code: 1011, reconnect: 'backoff', message: 'Internal relay error.' },
  SERVICE_RESTART: { code: 1012, reconnect: 'backoff', message: 'The relay is restarting.' },
  MOVED: { code: 4001, reconnect: 'redirect', message: 'Reconnect to the URL of the preceding redirect frame.' },
  PROTOCOL_ERROR: { code: 4002, reconnect: 'no', message: 'Protocol error (see the preceding error frame).' },
  AUTH: { code: 4003, reconnect: 'no', message: 'Authentication failed or the token expired.' },
  RATE_LIMITED: { code: 4008, reconnect: 'backoff', message: 'The client kept exceeding the rate limit.' },
  SLOW_READER: { code: 4009, reconnect: 'backoff', message: 'The client read too slowly; the send buffer passed its high-water mark.' },
  CONNECTION_LIMIT: { code: 4010, reconnect: 'backoff', message: 'The relay is at its connection limit.' },
  REPLACED: { code: 4011, reconnect: 'no', message: 'A newer connection of the same user replaced this one.' },
} as const satisfies Record<string, { code: number; reconnect: ReconnectPolicy; message: string }>;

export type CloseCodeName = keyof typeof CLOSE_CODES;
export type CloseCode = (typeof CLOSE_CODES)[CloseCodeName]['code'];

const CLOSE_BY_CODE = new Map<number, CloseCodeSpec>(Object.entries(CLOSE_CODES).map(([name, spec]) => [spec.code, { ...spec, name }]));

/**
 * The spec of a close code. Unknown codes: 4xxx/other private → `UNKNOWN` with backoff
 * (a newer relay may define it); 1006 (abnormal, no close frame) also backs off.
 */
export function closeCode(code: number): CloseCodeSpec {
  return CLOSE_BY_CODE.get(code) ?? { code, name: 'UNKNOWN', reconnect: 'backoff', message: `Unknown close code ${code}.` };
}
