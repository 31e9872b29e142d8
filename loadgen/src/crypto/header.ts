// Message header: fixed 24-byte big-endian layout, visible to the relay (routing/timing data only),
// authenticated as AES-GCM associated data.
//   offset 0  u8   version (= HEADER_VERSION)
//   offset 1  u8   flags (reserved, 0)
//   offset 2  u16  reserved (0)
//   offset 4  u32  conversationId (opaque to crypto; 0 when unused)
//   offset 8  u64  counter (ratchet step; ≤ 2^53 − 1)
//   offset 16 f64  sentAtUs: the *intended* send time, wall-clock µs since the epoch
export const HEADER_VERSION = 1;
export const HEADER_BYTES = 24;

export interface HeaderFields {
  /** Ratchet counter, non-negative safe integer. */
  readonly counter: number;
  /** Intended send time, µs since the epoch (float64, sub-µs allowed). */
  readonly sentAtUs: number;
  /** Optional u32 conversation tag; 0 when absent. */
  readonly conversationId?: number;
}

/** Encode into a new 24-byte buffer. Throws RangeError on an out-of-range counter or conversationId. */
export function encodeHeader(fields: HeaderFields): Uint8Array {
  const { counter, sentAtUs, conversationId = 0 } = fields;
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`counter out of range: ${counter}`);
  if (!Number.isInteger(conversationId) || conversationId < 0 || conversationId > 0xffffffff)
    throw new RangeError(`conversationId out of range: ${conversationId}`);
  const buf = new Uint8Array(HEADER_BYTES);
  const view = new DataView(buf.buffer);
  view.setUint8(0, HEADER_VERSION);
  view.setUint32(4, conversationId);
  view.setUint32(8, Math.floor(counter / 0x1_0000_0000));
  view.setUint32(12, counter >>> 0);
  view.setFloat64(16, sentAtUs);
  return buf;
}

/** Decode; null when the length, version or counter is invalid. Never throws. */
export function decodeHeader(bytes: Uint8Array): Required<HeaderFields> | null {
  if (bytes.length !== HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getUint8(0) !== HEADER_VERSION) return null;
  const high = view.getUint32(8);
  if (high > 0x1fffff) return null;
  const counter = high * 0x1_0000_0000 + view.getUint32(12);
  return { counter, sentAtUs: view.getFloat64(16), conversationId: view.getUint32(4) };
}
