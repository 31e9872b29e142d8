// Message header: big-endian, visible to the relay (routing/timing data only), authenticated as
// AES-GCM associated data. 24 bytes, or 56 when it announces the sender's identity key:
//   offset 0  u8   version (= HEADER_VERSION)
//   offset 1  u8   flags: bit 0 (FLAG_SENDER_KEY) = the sender's identity key follows; others 0
//   offset 2  u16  reserved (0)
//   offset 4  u32  conversationId (opaque to crypto; 0 when unused)
//   offset 8  u64  counter (ratchet step; ≤ 2^53 − 1)
//   offset 16 f64  sentAtUs: the *intended* send time, wall-clock µs since the epoch
//   offset 24 32 B the sender's raw X25519 identity public key (with FLAG_SENDER_KEY only)
// The key rides in the first messages of a conversation as in Signal's PreKeySignalMessage, so a
// recipient keys the conversation from the message itself instead of asking the directory first.
export const HEADER_VERSION = 1;
export const HEADER_BYTES = 24;
export const SENDER_KEY_BYTES = 32;
export const FLAG_SENDER_KEY = 0x01;

export interface HeaderFields {
  /** Ratchet counter, non-negative safe integer. */
  readonly counter: number;
  /** Intended send time, µs since the epoch (float64, sub-µs allowed). */
  readonly sentAtUs: number;
  /** Optional u32 conversation tag; 0 when absent. */
  readonly conversationId?: number;
  /** The sender's raw 32-byte X25519 identity public key, announced to a new peer (decoded: a view into the header). */
  readonly senderKey?: Uint8Array;
}

export type DecodedHeader = Required<Omit<HeaderFields, 'senderKey'>> & Pick<HeaderFields, 'senderKey'>;

/** Encode into a new buffer. Throws RangeError on an out-of-range counter, conversationId or senderKey length. */
export function encodeHeader(fields: HeaderFields): Uint8Array {
  const { counter, sentAtUs, conversationId = 0, senderKey } = fields;
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`counter out of range: ${counter}`);
  if (!Number.isInteger(conversationId) || conversationId < 0 || conversationId > 0xffffffff)
    throw new RangeError(`conversationId out of range: ${conversationId}`);
  if (senderKey !== undefined && senderKey.length !== SENDER_KEY_BYTES)
    throw new RangeError(`senderKey must be ${SENDER_KEY_BYTES} bytes, not ${senderKey.length}`);
  const buf = new Uint8Array(HEADER_BYTES + (senderKey === undefined ? 0 : SENDER_KEY_BYTES));
  const view = new DataView(buf.buffer);
  view.setUint8(0, HEADER_VERSION);
  if (senderKey !== undefined) {
    view.setUint8(1, FLAG_SENDER_KEY);
    buf.set(senderKey, HEADER_BYTES);
  }
  view.setUint32(4, conversationId);
  view.setUint32(8, Math.floor(counter / 0x1_0000_0000));
  view.setUint32(12, counter >>> 0);
  view.setFloat64(16, sentAtUs);
  return buf;
}

/** Decode; null when the length, version, flags or counter is invalid. Never throws. */
export function decodeHeader(bytes: Uint8Array): DecodedHeader | null {
  if (bytes.length < HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getUint8(0) !== HEADER_VERSION) return null;
  const flags = view.getUint8(1);
  if ((flags & ~FLAG_SENDER_KEY) !== 0) return null;
  const withKey = flags === FLAG_SENDER_KEY;
  if (bytes.length !== HEADER_BYTES + (withKey ? SENDER_KEY_BYTES : 0)) return null;
  const high = view.getUint32(8);
  if (high > 0x1fffff) return null;
  const counter = high * 0x1_0000_0000 + view.getUint32(12);
  const fields = { counter, sentAtUs: view.getFloat64(16), conversationId: view.getUint32(4) };
  // A view, not a copy: every decrypt decodes the header, and most never look at the key.
  return withKey ? { ...fields, senderKey: bytes.subarray(HEADER_BYTES) } : fields;
}
