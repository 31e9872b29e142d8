/**
 * Signed, expiring access tokens (not JWT; deliberately smaller):
 *
 *   token   = payload "." mac
 *   payload = base64url(UTF-8 JSON {"sub": <userId>, "exp": <expiry, ms since the Unix epoch>})
 *   mac     = base64url(HMAC-SHA256(secret, ASCII bytes of payload))
 *
 * base64url without padding (RFC 4648 §5). The MAC is checked (constant time) before the payload
 * is parsed, so unauthenticated JSON is never parsed. A token is expired when nowMs >= exp.
 * Synchronous; one HMAC per call (a few µs). `secret` must be at least 16 bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { protocolError } from './errors.js';
import { MAX_TOKEN_CHARS, USER_ID_PATTERN } from './limits.js';

export interface TokenClaims {
  /** The userId the token authenticates. */
  readonly sub: string;
  /** Expiry, wall-clock milliseconds since the Unix epoch. */
  readonly expMs: number;
}

export type TokenSecret = string | Uint8Array;

const MIN_SECRET_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

function mac(secret: TokenSecret, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'ascii').digest('base64url');
}

function checkSecret(secret: TokenSecret): void {
  const bytes = typeof secret === 'string' ? Buffer.byteLength(secret) : secret instanceof Uint8Array ? secret.byteLength : 0;
  if (bytes < MIN_SECRET_BYTES) throw protocolError('RB_PROTO_BAD_ARGUMENT', `Token secret must be at least ${MIN_SECRET_BYTES} bytes.`);
}

/** Signs a token for `sub` valid until `expMs`. Throws RB_PROTO_BAD_ARGUMENT on a bad userId, expiry or secret. */
export function signToken(claims: TokenClaims, secret: TokenSecret): string {
  checkSecret(secret);
  if (typeof claims.sub !== 'string' || !USER_ID_PATTERN.test(claims.sub)) {
    throw protocolError('RB_PROTO_BAD_ARGUMENT', 'Token sub must be a valid userId.');
  }
  if (!Number.isSafeInteger(claims.expMs) || claims.expMs < 0) {
    throw protocolError('RB_PROTO_BAD_ARGUMENT', 'Token expMs must be a non-negative integer (ms since epoch).');
  }
  const payload = Buffer.from(JSON.stringify({ sub: claims.sub, exp: claims.expMs }), 'utf8').toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

/**
 * Verifies `token` at time `nowMs` (wall-clock ms) and returns its claims. Throws
 * RB_PROTO_TOKEN_INVALID (malformed, too long, wrong signature, bad claims) or
 * RB_PROTO_TOKEN_EXPIRED (valid signature, nowMs >= exp); RB_PROTO_BAD_ARGUMENT for a short secret.
 */
export function verifyToken(token: unknown, secret: TokenSecret, nowMs: number): TokenClaims {
  checkSecret(secret);
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) throw invalid('bad length');
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) throw invalid('expected payload.mac');
  const payload = token.slice(0, dot);
  const given = token.slice(dot + 1);
  if (!B64URL.test(payload) || !B64URL.test(given)) throw invalid('not base64url');
  const expected = Buffer.from(mac(secret, payload), 'ascii');
  const givenBytes = Buffer.from(given, 'ascii');
  if (givenBytes.length !== expected.length || !timingSafeEqual(givenBytes, expected)) throw invalid('signature mismatch');

  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid('payload is not JSON');
  }
  const { sub, exp } = (typeof claims === 'object' && claims !== null ? claims : {}) as Record<string, unknown>;
  if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub) || typeof exp !== 'number' || !Number.isSafeInteger(exp)) {
    throw invalid('bad claims');
  }
  if (nowMs >= exp) throw protocolError('RB_PROTO_TOKEN_EXPIRED', `Expired at ${new Date(exp).toISOString()}.`);
  return { sub, expMs: exp };
}

function invalid(why: string) {
  return protocolError('RB_PROTO_TOKEN_INVALID', `(${why})`);
}
