/**
 * Protocol-wide limits and constants. Units are in the names. The decoder enforces the field
 * limits; the WebSocket layer enforces the frame limit (close 1009 above it).
 */

/** The protocol version a client sends in `hello.v` and the server echoes in `welcome.v`. */
export const PROTOCOL_VERSION = 1;

/** Default WebSocket maximum payload (one frame), bytes. Above it the server closes with 1009. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** X25519 public key length (identityKey, signedPrekey), bytes. */
export const PUBLIC_KEY_BYTES = 32;
/** Signature over the signed prekey, bytes (Ed25519/XEdDSA is 64; the range leaves room). */
export const MIN_SIGNATURE_BYTES = 1;
export const MAX_SIGNATURE_BYTES = 256;
/** E2EE message header (ratchet data; used as AEAD associated data), bytes. */
export const MAX_HEADER_BYTES = 1024;
/** Access token, characters (ASCII). */
export const MAX_TOKEN_CHARS = 1024;
/** Extra (msgId, kind) pairs one `receiptSeen` may confirm in `more`. */
export const MAX_RECEIPT_REFS = 512;
/** Redirect URL, characters. */
export const MAX_URL_CHARS = 2048;
/** Error reason text, characters. */
export const MAX_REASON_CHARS = 1024;

/** userId: also the Kafka key prefix, so it never contains `/` or `@`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** msgId: client-generated (UUIDv7 or `<sender>:<epoch>:<counter>`), never contains `/` or `@`. */
export const MSG_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** gatewayId: the relay process that holds a socket (e.g. `host:port` or a name). */
export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
