import { Decoder, Encoder } from '@msgpack/msgpack';
import type { KeyBundle } from './keystore.js';

const decoder = new Decoder();
const encoder = new Encoder();

export function encodeKeyBundle(b: KeyBundle): Buffer {
  const bytes = encoder.encode({ identityKey: b.identityKey, signedPrekey: b.signedPrekey, signature: b.signature });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A `relay.keys` value (MessagePack {identityKey, signedPrekey, signature}); undefined if malformed. */
export function decodeKeyBundle(buf: Buffer): KeyBundle | undefined {
  try {
    const v = decoder.decode(buf) as Partial<KeyBundle> | null;
    if (v !== null && v.identityKey instanceof Uint8Array && v.signedPrekey instanceof Uint8Array && v.signature instanceof Uint8Array)
      return v as KeyBundle;
  } catch {
    // malformed
  }
  return undefined;
}
