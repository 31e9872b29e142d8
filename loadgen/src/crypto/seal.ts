// AES-256-GCM sealing of one message under a single-use message key.
// Nonce: a fixed 12-byte zero nonce. GCM needs each (key, nonce) pair to be unique; the ratchet
// hands out every message key exactly once and a key seals exactly one message, so the pair is
// unique without sending or deriving a nonce (the same argument as TLS 1.3 / Noise per-key
// sequence nonces, with sequence number 0). Never call seal() twice with the same message key.
// Associated data: the header bytes, so the relay can read them but not alter them.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const MESSAGE_KEY_BYTES = 32;
export const TAG_BYTES = 16;
const NONCE = Buffer.alloc(12);

/**
 * Encrypt: returns ciphertext || 16-byte tag (a new buffer; inputs are not modified or retained).
 * Throws RangeError if `messageKey` is not 32 bytes (a programming error, not bad input).
 */
export function seal(messageKey: Uint8Array, header: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (messageKey.length !== MESSAGE_KEY_BYTES) throw new RangeError(`message key must be ${MESSAGE_KEY_BYTES} bytes`);
  const cipher = createCipheriv('aes-256-gcm', messageKey, NONCE, { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([head, tail, cipher.getAuthTag()], head.length + tail.length + TAG_BYTES);
}

export type OpenResult =
  | { readonly ok: true; readonly plaintext: Uint8Array }
  /** 'malformed': shorter than a tag or a wrong key length; 'tag': authentication failed. */
  | { readonly ok: false; readonly reason: 'tag' | 'malformed' };

/** Decrypt and authenticate `sealed` (ciphertext || tag) with `header` as AAD. Never throws. */
export function open(messageKey: Uint8Array, header: Uint8Array, sealed: Uint8Array): OpenResult {
  if (messageKey.length !== MESSAGE_KEY_BYTES || sealed.length < TAG_BYTES) return { ok: false, reason: 'malformed' };
  const cut = sealed.length - TAG_BYTES;
  try {
    const decipher = createDecipheriv('aes-256-gcm', messageKey, NONCE, { authTagLength: TAG_BYTES });
    decipher.setAAD(header);
    decipher.setAuthTag(sealed.subarray(cut));
    const head = decipher.update(sealed.subarray(0, cut));
    const tail = decipher.final();
    return { ok: true, plaintext: tail.length === 0 ? head : Buffer.concat([head, tail]) };
  } catch {
    return { ok: false, reason: 'tag' };
  }
}
