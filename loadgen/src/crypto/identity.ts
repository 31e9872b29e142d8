// Identity keys for one virtual user: an X25519 identity key (key agreement), an Ed25519 signing
// key, and a signed prekey (a second X25519 key whose raw public bytes the signing key signs).
// Simplification, on purpose: Signal signs with the X25519 identity key itself (XEdDSA); node:crypto
// has no XEdDSA, so the user carries a separate Ed25519 key. Private keys never leave this process
// and are never logged.
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** Raw public keys are always 32 bytes (X25519 and Ed25519 alike). */
export const RAW_PUBLIC_KEY_BYTES = 32;

// DER SubjectPublicKeyInfo prefixes: SEQUENCE{ SEQUENCE{ OID }, BIT STRING(0 unused bits, 32 B) }.
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SPKI_BYTES = X25519_SPKI_PREFIX.length + RAW_PUBLIC_KEY_BYTES;

export interface SignedPrekey {
  /** Raw X25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
  /** Ed25519 signature (64 bytes) over `publicKey`, by the owner's signing key. */
  readonly signature: Uint8Array;
}

export interface Identity {
  /** Raw X25519 identity public key, 32 bytes: what a key directory publishes. */
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
  /** Raw Ed25519 public key, 32 bytes, that verifies `signedPrekey.signature`. */
  readonly signingPublicKey: Uint8Array;
  readonly signingPrivateKey: KeyObject;
  readonly signedPrekey: SignedPrekey;
}

/** Raw 32-byte public key of an X25519 or Ed25519 KeyObject (public or private). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.subarray(der.length - RAW_PUBLIC_KEY_BYTES));
}

/** Fresh identity. Synchronous, ~0.1 ms of CPU (three key pairs + one signature): not hot path. */
export function generateIdentity(): Identity {
  const identity = generateKeyPairSync('x25519');
  const signing = generateKeyPairSync('ed25519');
  const prekey = generateKeyPairSync('x25519');
  const prekeyPublic = rawPublicKey(prekey.publicKey);
  return {
    publicKey: rawPublicKey(identity.publicKey),
    privateKey: identity.privateKey,
    signingPublicKey: rawPublicKey(signing.publicKey),
    signingPrivateKey: signing.privateKey,
    signedPrekey: {
      publicKey: prekeyPublic,
      privateKey: prekey.privateKey,
      signature: new Uint8Array(sign(null, prekeyPublic, signing.privateKey)),
    },
  };
}

/** True iff `signature` is the Ed25519 signature of `prekeyPublic` by `signingPublicKey`. Never throws. */
export function verifySignedPrekey(signingPublicKey: Uint8Array, prekeyPublic: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, prekeyPublic, ed25519PublicKeyFromRaw(signingPublicKey), signature);
  } catch {
    return false;
  }
}

/**
 * Caches raw public key → KeyObject. Importing a key costs a DER parse; a conversation does it
 * once per peer, so the cache turns it into a Map lookup. Bounded: past `maxEntries` the oldest
 * entry is evicted (Map insertion order). Single-threaded; not shared across worker threads.
 */
export class PublicKeyCache {
  readonly #prefix: Buffer;
  readonly #maxEntries: number;
  readonly #map = new Map<string, KeyObject>();
  #imports = 0;

  constructor(prefix: Buffer, maxEntries = 200_000) {
    this.#prefix = prefix;
    this.#maxEntries = maxEntries;
  }

  /** KeyObject for a raw 32-byte public key; throws RangeError if `raw` is not 32 bytes. */
  get(raw: Uint8Array): KeyObject {
    if (raw.length !== RAW_PUBLIC_KEY_BYTES) throw new RangeError(`public key must be ${RAW_PUBLIC_KEY_BYTES} bytes, got ${raw.length}`);
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64');
    let key = this.#map.get(id);
    if (key === undefined) {
      const der = Buffer.allocUnsafe(SPKI_BYTES);
      this.#prefix.copy(der, 0);
      der.set(raw, this.#prefix.length);
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      this.#imports++;
      if (this.#map.size >= this.#maxEntries) this.#map.delete(this.#map.keys().next().value as string);
      this.#map.set(id, key);
    }
    return key;
  }

  get size(): number {
    return this.#map.size;
  }

  /** How many DER imports happened (cache misses) since creation. */
  get imports(): number {
    return this.#imports;
  }

  clear(): void {
    this.#map.clear();
  }
}

/** Process-wide caches (one per key type). */
export const x25519Keys = new PublicKeyCache(X25519_SPKI_PREFIX);
export const ed25519Keys = new PublicKeyCache(ED25519_SPKI_PREFIX);

/** Raw 32-byte X25519 public key → cached KeyObject. Throws RangeError on a wrong length. */
export function x25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  return x25519Keys.get(raw);
}

/** Raw 32-byte Ed25519 public key → cached KeyObject. Throws RangeError on a wrong length. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  return ed25519Keys.get(raw);
}
