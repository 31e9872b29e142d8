/**
 * The field schema of every frame: which fields exist, their wire format and whether they are
 * optional. The codec compiles it into validators and canonical field orders. The mapped types
 * below make the compiler reject a schema that drifts from the interfaces in `frames.ts`
 * (a missing, extra or wrongly-optional field, or a kind of the wrong JS type).
 */
import type { FrameByName, FrameName } from './frames.js';
import {
  GATEWAY_ID_PATTERN,
  MAX_HEADER_BYTES,
  MAX_REASON_CHARS,
  MAX_RECEIPT_REFS,
  MAX_SIGNATURE_BYTES,
  MAX_TOKEN_CHARS,
  MAX_URL_CHARS,
  MIN_SIGNATURE_BYTES,
  MSG_ID_PATTERN,
  PUBLIC_KEY_BYTES,
  USER_ID_PATTERN,
} from './limits.js';

/** Wire formats of number fields. */
export type NumberKind = 'uint' | 'timeUs' | 'receiptKind';
/** Wire formats of string fields. */
export type StringKind = 'userId' | 'msgId' | 'gatewayId' | 'token' | 'url' | 'reason';
/** Wire formats of binary fields. */
export type BinKind = 'publicKey' | 'signature' | 'header' | 'ciphertext';
/** Wire formats of array fields. */
export type ListKind = 'receiptRefs';
export type FieldKind = NumberKind | StringKind | BinKind | ListKind | 'stamps';

type KindFor<V> = V extends Uint8Array
  ? BinKind
  : V extends readonly unknown[]
    ? ListKind
    : V extends string
      ? StringKind
      : V extends number
        ? NumberKind
        : 'stamps';
type FieldSpecFor<V> = undefined extends V
  ? { readonly kind: KindFor<NonNullable<V>>; readonly optional: true }
  : { readonly kind: KindFor<V>; readonly optional?: false };
type FieldsOf<F> = { readonly [K in Exclude<keyof F, 't'>]-?: FieldSpecFor<F[K]> };
export type FrameSchema = { readonly [N in FrameName]: FieldsOf<FrameByName[N]> };

/** Field order here is the canonical encoding order (after `t`). */
export const FRAME_SCHEMA = {
  hello: { v: { kind: 'uint' }, token: { kind: 'token' }, epoch: { kind: 'uint' } },
  welcome: {
    v: { kind: 'uint' },
    userId: { kind: 'userId' },
    gatewayId: { kind: 'gatewayId' },
    serverTimeUs: { kind: 'timeUs' },
  },
  redirect: { url: { kind: 'url' } },
  error: {
    code: { kind: 'uint' },
    reason: { kind: 'reason' },
    msgId: { kind: 'msgId', optional: true },
    reqId: { kind: 'uint', optional: true },
  },
  send: {
    msgId: { kind: 'msgId' },
    to: { kind: 'userId' },
    header: { kind: 'header' },
    ciphertext: { kind: 'ciphertext' },
  },
  ack: { msgId: { kind: 'msgId' }, stamps: { kind: 'stamps' } },
  deliver: {
    msgId: { kind: 'msgId' },
    from: { kind: 'userId' },
    header: { kind: 'header' },
    ciphertext: { kind: 'ciphertext' },
    stamps: { kind: 'stamps' },
    sentAtUs: { kind: 'timeUs', optional: true },
  },
  received: { msgId: { kind: 'msgId' } },
  read: { msgId: { kind: 'msgId' }, from: { kind: 'userId', optional: true } },
  receipt: {
    msgId: { kind: 'msgId' },
    kind: { kind: 'receiptKind' },
    by: { kind: 'userId' },
    stamps: { kind: 'stamps' },
  },
  receiptSeen: { msgId: { kind: 'msgId' }, kind: { kind: 'receiptKind' }, more: { kind: 'receiptRefs', optional: true } },
  replayed: { n: { kind: 'uint' } },
  publishKeys: {
    reqId: { kind: 'uint' },
    identityKey: { kind: 'publicKey' },
    signedPrekey: { kind: 'publicKey' },
    signature: { kind: 'signature' },
  },
  keysPublished: { reqId: { kind: 'uint' } },
  fetchKeys: { reqId: { kind: 'uint' }, userId: { kind: 'userId' } },
  keys: {
    reqId: { kind: 'uint' },
    userId: { kind: 'userId' },
    identityKey: { kind: 'publicKey' },
    signedPrekey: { kind: 'publicKey' },
    signature: { kind: 'signature' },
  },
  ping: { n: { kind: 'uint' } },
  pong: { n: { kind: 'uint' } },
} as const satisfies FrameSchema;

/** Stamp fields, in canonical order. Each is an optional `timeUs`. */
export const STAMP_FIELDS = ['gwInUs', 'producedUs', 'routedUs', 'gwOutUs'] as const;

/** Returned by a field check when the value does not fit. */
export const INVALID: unique symbol = Symbol('invalid');

/**
 * Checks one decoded value; returns the value to keep (possibly normalized, e.g. stamps rebuilt
 * without unknown keys) or INVALID. Pure and allocation-free except for stamps.
 */
export type FieldCheck = (value: unknown) => unknown;

const isUint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTimeUs = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const str =
  (pattern: RegExp): FieldCheck =>
  (v) =>
    typeof v === 'string' && pattern.test(v) ? v : INVALID;
const text =
  (min: number, max: number): FieldCheck =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max ? v : INVALID;
const bin =
  (min: number, max: number): FieldCheck =>
  (v) =>
    v instanceof Uint8Array && v.byteLength >= min && v.byteLength <= max ? v : INVALID;

function checkStamps(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return INVALID;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return INVALID;
  const src = v as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const name of STAMP_FIELDS) {
    const s = src[name];
    if (s === undefined) continue;
    if (!isTimeUs(s)) return INVALID;
    out[name] = s as number;
  }
  return out;
}

/** An array of at most MAX_RECEIPT_REFS `[msgId, receiptKind]` pairs (exactly two elements each). */
function checkReceiptRefs(v: unknown): unknown {
  if (!Array.isArray(v) || v.length > MAX_RECEIPT_REFS) return INVALID;
  for (const ref of v as unknown[]) {
    if (!Array.isArray(ref) || ref.length !== 2) return INVALID;
    const [id, kind] = ref as unknown[];
    if (typeof id !== 'string' || !MSG_ID_PATTERN.test(id) || (kind !== 1 && kind !== 2)) return INVALID;
  }
  return v; // a fresh array from the decoder, already in canonical shape
}

/** `ws://` or `wss://` followed by something; no whitespace or control characters. */
const URL_PATTERN = new RegExp(`^wss?://[\\x21-\\x7e]{1,${MAX_URL_CHARS - 6}}$`);
/** Tokens are ASCII `base64url.base64url`; the decoder checks charset and length only. */
const TOKEN_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_TOKEN_CHARS}}$`);

export const FIELD_CHECKS: Readonly<Record<FieldKind, FieldCheck>> = {
  uint: (v) => (isUint(v) ? v : INVALID),
  timeUs: (v) => (isTimeUs(v) ? v : INVALID),
  receiptKind: (v) => (v === 1 || v === 2 ? v : INVALID),
  userId: str(USER_ID_PATTERN),
  msgId: str(MSG_ID_PATTERN),
  gatewayId: str(GATEWAY_ID_PATTERN),
  token: str(TOKEN_PATTERN),
  url: str(URL_PATTERN),
  reason: text(0, MAX_REASON_CHARS),
  publicKey: bin(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES),
  signature: bin(MIN_SIGNATURE_BYTES, MAX_SIGNATURE_BYTES),
  header: bin(0, MAX_HEADER_BYTES),
  // Bounded by the WebSocket frame limit (DEFAULT_MAX_FRAME_BYTES), not here.
  ciphertext: bin(1, Number.MAX_SAFE_INTEGER),
  stamps: checkStamps,
  receiptRefs: checkReceiptRefs,
};
