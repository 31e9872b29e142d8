/**
 * One virtual user's conversations: per peer, a ConversationSender (me → peer) and a
 * ConversationReceiver (peer → me), keyed from the peer's X25519 identity key. The user who writes
 * first fetches the peer's bundle over the protocol (`fetchKeys`) and announces its own key in its
 * headers until the peer answers; the peer keys the conversation from that header (fromHeader), as
 * a Signal client does from a PreKeySignalMessage, with no fetch. Single-threaded.
 *
 * Key bundle layout on the wire (publishKeys/keys): identityKey = raw X25519 identity key,
 * signedPrekey = raw X25519 prekey, signature = Ed25519 signing public key (32 B) || Ed25519
 * signature over signedPrekey (64 B). node:crypto has no XEdDSA, so the signing key travels in the
 * signature field (crypto/identity.ts); the fetching client verifies it as the protocol asks.
 */
import { FRAME_TYPES, type KeysFrame, type PublishKeysFrame } from '../../../relay/protocol/src/index.js';
import { ConversationReceiver, ConversationSender } from '../crypto/conversation.js';
import { verifySignedPrekey, type Identity } from '../crypto/identity.js';
import { decodeHeader } from '../crypto/header.js';
import { deriveBothDirections } from '../crypto/session.js';
import { loadgenError } from '../errors.js';

export interface PeerSession {
  readonly sender: ConversationSender;
  readonly receiver: ConversationReceiver;
}

/** The publishKeys frame for `identity` (reqId chosen by the caller). */
export function publishKeysFrame(identity: Identity, reqId: number): PublishKeysFrame {
  const signature = new Uint8Array(32 + identity.signedPrekey.signature.length);
  signature.set(identity.signingPublicKey, 0);
  signature.set(identity.signedPrekey.signature, 32);
  return { t: FRAME_TYPES.publishKeys, reqId, identityKey: identity.publicKey, signedPrekey: identity.signedPrekey.publicKey, signature };
}

/** True when the bundle's prekey signature verifies against the signing key it carries. */
export function verifyBundle(keys: Pick<KeysFrame, 'signedPrekey' | 'signature'>): boolean {
  if (keys.signature.length !== 96) return false;
  return verifySignedPrekey(keys.signature.subarray(0, 32), keys.signedPrekey, keys.signature.subarray(32));
}

/**
 * Bundles this process has verified, by their exact bytes. Every user of a worker fetches the
 * same few hundred bundles (one per peer), and a signature over the same bytes verifies the same
 * way: each distinct bundle is checked once per worker instead of once per (user, peer) — with
 * uniform recipients that was ≈ 13 % of a worker's CPU. A bundle that differs in any byte is
 * verified on its own. Bounded (cleared when full).
 */
const verifiedBundles = new Set<string>();
const MAX_VERIFIED_BUNDLES = 100_000;

export function verifyBundleOnce(keys: Pick<KeysFrame, 'signedPrekey' | 'signature'>): boolean {
  const id = `${Buffer.from(keys.signedPrekey).toString('base64')}.${Buffer.from(keys.signature).toString('base64')}`;
  if (verifiedBundles.has(id)) return true;
  if (!verifyBundle(keys)) return false;
  if (verifiedBundles.size >= MAX_VERIFIED_BUNDLES) verifiedBundles.clear();
  verifiedBundles.add(id);
  return true;
}

export class Conversations {
  readonly #me: string;
  readonly #identity: Identity;
  readonly #fetch: (peerId: string) => Promise<KeysFrame>;
  readonly #ready = new Map<string, PeerSession>();
  readonly #loading = new Map<string, Promise<PeerSession>>();

  /** `fetch` asks the target for a peer's bundle (rejects on error/timeout). */
  constructor(me: string, identity: Identity, fetch: (peerId: string) => Promise<KeysFrame>) {
    this.#me = me;
    this.#identity = identity;
    this.#fetch = fetch;
  }

  /** The session with `peerId` if its keys are already here (synchronous fast path). */
  get(peerId: string): PeerSession | undefined {
    return this.#ready.get(peerId);
  }

  get size(): number {
    return this.#ready.size;
  }

  /** The session with `peerId`, fetching and verifying its keys once. Rejects with RB_LOADGEN_KEYS. */
  ensure(peerId: string): Promise<PeerSession> {
    const ready = this.#ready.get(peerId);
    if (ready !== undefined) return Promise.resolve(ready);
    let loading = this.#loading.get(peerId);
    if (loading === undefined) {
      loading = this.#load(peerId).finally(() => this.#loading.delete(peerId));
      this.#loading.set(peerId, loading);
    }
    return loading;
  }

  /**
   * A session keyed from the sender's identity key in a first message's header, or undefined when
   * the header carries none. Not kept: the caller keeps it (keep) only once the message decrypts
   * with it, so a forged or damaged key cannot take over the conversation.
   */
  fromHeader(peerId: string, header: Uint8Array): PeerSession | undefined {
    const senderKey = decodeHeader(header)?.senderKey;
    if (senderKey === undefined) return undefined;
    let both: ReturnType<typeof deriveBothDirections>;
    try {
      both = deriveBothDirections(this.#identity.privateKey, senderKey, this.#me, peerId);
    } catch {
      return undefined; // not a usable X25519 key (e.g. a low-order point): the directory decides
    }
    // The peer fetched our bundle to write first: our replies need not announce our key.
    return { sender: new ConversationSender(both.outgoing), receiver: new ConversationReceiver(both.incoming) };
  }

  /** Keeps a session from fromHeader whose message decrypted (a session already there wins). */
  keep(peerId: string, session: PeerSession): void {
    if (!this.#ready.has(peerId)) this.#ready.set(peerId, session);
  }

  async #load(peerId: string): Promise<PeerSession> {
    const keys = await this.#fetch(peerId);
    if (!verifyBundleOnce(keys)) throw loadgenError('RB_LOADGEN_KEYS', `The prekey signature of ${peerId} does not verify.`);
    // The peer's first message may have keyed the conversation while the bundle was on its way:
    // that session has state (ratchet steps) that a second one would lose.
    const known = this.#ready.get(peerId);
    if (known !== undefined) return known;
    // One X25519 agreement for both directions (the same shared secret; distinct HKDF info).
    const both = deriveBothDirections(this.#identity.privateKey, keys.identityKey, this.#me, peerId);
    const session: PeerSession = {
      sender: new ConversationSender(both.outgoing, this.#identity.publicKey),
      receiver: new ConversationReceiver(both.incoming),
    };
    this.#ready.set(peerId, session);
    return session;
  }
}
