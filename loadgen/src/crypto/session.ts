// Per-conversation key agreement. A conversation is one *direction* (from → to); A→B and B→A are
// independent chains. Both ends compute the same X25519 shared secret (sender identity private ×
// recipient identity public = recipient identity private × sender identity public), then
// HKDF-SHA256(secret, salt = empty, info = "relaybench/v1/<from>-><to>", 64 bytes) split into a root
// key (32 B, kept for a future DH ratchet) and the initial chain key (32 B) for that direction.
// Simplification: no ephemeral or prekey in the agreement (static-static X25519), which is enough to
// make every conversation's keys distinct and the per-message cost realistic.
import { diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { x25519PublicKeyFromRaw } from './identity.js';

export const CHAIN_KEY_BYTES = 32;

export interface SessionKeys {
  /** 32 bytes. */
  readonly rootKey: Uint8Array;
  /** 32 bytes: chain key 0 of the from → to direction. */
  readonly chainKey: Uint8Array;
}

/** HKDF info string; `from` and `to` are user ids (must not contain "->" ambiguously; ids are opaque). */
export function sessionInfo(fromId: string, toId: string): string {
  return `relaybench/v1/${fromId}->${toId}`;
}

/**
 * Keys of direction `fromId → toId`, from either end: `ownPrivateKey` is the caller's X25519
 * identity private key and `peerPublicKey` the other end's raw 32-byte identity public key.
 * ~50 µs of CPU (one X25519 + one HKDF): once per conversation, not per message.
 * Throws RangeError if `peerPublicKey` is not 32 bytes.
 */
export function deriveSession(ownPrivateKey: KeyObject, peerPublicKey: Uint8Array, fromId: string, toId: string): SessionKeys {
  const shared = diffieHellman({ privateKey: ownPrivateKey, publicKey: x25519PublicKeyFromRaw(peerPublicKey) });
  const okm = new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), sessionInfo(fromId, toId), 2 * CHAIN_KEY_BYTES));
  shared.fill(0);
  return { rootKey: okm.subarray(0, CHAIN_KEY_BYTES), chainKey: okm.subarray(CHAIN_KEY_BYTES) };
}

/**
 * Both directions between me and a peer from ONE X25519 agreement (the shared secret is the same
 * for me → peer and peer → me; only the HKDF info differs): what two deriveSession calls return,
 * at half the Diffie–Hellman cost.
 */
export function deriveBothDirections(
  ownPrivateKey: KeyObject,
  peerPublicKey: Uint8Array,
  meId: string,
  peerId: string,
): { readonly outgoing: SessionKeys; readonly incoming: SessionKeys } {
  const shared = diffieHellman({ privateKey: ownPrivateKey, publicKey: x25519PublicKeyFromRaw(peerPublicKey) });
  const keys = (fromId: string, toId: string): SessionKeys => {
    const okm = new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), sessionInfo(fromId, toId), 2 * CHAIN_KEY_BYTES));
    return { rootKey: okm.subarray(0, CHAIN_KEY_BYTES), chainKey: okm.subarray(CHAIN_KEY_BYTES) };
  };
  const both = { outgoing: keys(meId, peerId), incoming: keys(peerId, meId) };
  shared.fill(0);
  return both;
}
