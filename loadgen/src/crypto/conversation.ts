// Facade used by the virtual users: one ConversationSender per (me → peer) direction and one
// ConversationReceiver per (peer → me) direction. Neither is thread-safe; both are synchronous.
import type { KeyObject } from 'node:crypto';
import { decodeHeader, encodeHeader } from './header.js';
import { ReceivingChain, SendingChain, DEFAULT_MAX_SKIPPED } from './ratchet.js';
import { open, seal } from './seal.js';
import { deriveSession } from './session.js';

export interface ConversationEnds {
  /** The caller's own X25519 identity private key. */
  readonly ownPrivateKey: KeyObject;
  /** The other end's raw 32-byte X25519 identity public key. */
  readonly peerPublicKey: Uint8Array;
  /** User ids of the direction being keyed (sender, recipient). */
  readonly fromId: string;
  readonly toId: string;
}

/** Keys already derived for this direction (deriveBothDirections), instead of the ends. */
export type ConversationKeys = ConversationEnds | { readonly chainKey: Uint8Array };

const chainKeyOf = (k: ConversationKeys): Uint8Array =>
  'chainKey' in k ? k.chainKey : deriveSession(k.ownPrivateKey, k.peerPublicKey, k.fromId, k.toId).chainKey;

export interface EncryptedMessage {
  /** 24-byte header (see header.ts), sent in clear and authenticated. */
  readonly header: Uint8Array;
  /** ciphertext || 16-byte GCM tag. */
  readonly ciphertext: Uint8Array;
  readonly counter: number;
}

export type DecryptResult =
  | {
      readonly ok: true;
      readonly plaintext: Uint8Array;
      readonly counter: number;
      readonly sentAtUs: number;
      readonly conversationId: number;
    }
  | { readonly ok: false; readonly reason: DecryptFailureReason };

/**
 * 'tag': authentication failed (tampered ciphertext/header/tag, or wrong key) — nothing committed.
 * 'replay': that counter's key is gone (already used, or evicted from the skip window).
 * 'too-far': counter more than the skip window ahead. 'malformed': undecodable header or too short.
 */
export type DecryptFailureReason = 'tag' | 'replay' | 'too-far' | 'malformed';

export class ConversationSender {
  readonly #chain: SendingChain;
  #announce: Uint8Array | undefined;

  /**
   * `announce`: the caller's own raw identity public key, carried in every header (FLAG_SENDER_KEY)
   * until peerHeard(): the peer can key this conversation from the message, as from a Signal
   * PreKeySignalMessage, without fetching the sender's bundle first.
   */
  constructor(ends: ConversationKeys, announce?: Uint8Array) {
    this.#chain = new SendingChain(chainKeyOf(ends));
    this.#announce = announce;
  }

  /** A message from the peer decrypted: it has our key, so headers stop carrying it. */
  peerHeard(): void {
    this.#announce = undefined;
  }

  /** Counter the next message will carry. */
  get nextCounter(): number {
    return this.#chain.counter;
  }

  /** Encrypt one message; the counter comes from the chain. Returns new buffers. */
  encrypt(plaintext: Uint8Array, fields: { readonly sentAtUs: number; readonly conversationId?: number }): EncryptedMessage {
    const { counter, messageKey } = this.#chain.next();
    const header = encodeHeader({
      counter,
      sentAtUs: fields.sentAtUs,
      conversationId: fields.conversationId ?? 0,
      ...(this.#announce === undefined ? {} : { senderKey: this.#announce }),
    });
    return { header, ciphertext: seal(messageKey, header, plaintext), counter };
  }
}

export class ConversationReceiver {
  readonly #chain: ReceivingChain;

  constructor(ends: ConversationKeys, maxSkipped = DEFAULT_MAX_SKIPPED) {
    this.#chain = new ReceivingChain(chainKeyOf(ends), maxSkipped);
  }

  /** Skipped keys dropped because the window was full. */
  get evictedKeys(): number {
    return this.#chain.evicted;
  }

  /** Authenticate and decrypt. Never throws on bad input; state changes only on success. */
  decrypt(header: Uint8Array, ciphertext: Uint8Array): DecryptResult {
    const fields = decodeHeader(header);
    if (fields === null) return { ok: false, reason: 'malformed' };
    const prepared = this.#chain.prepare(fields.counter);
    if (!prepared.ok) return prepared;
    const opened = open(prepared.messageKey, header, ciphertext);
    if (!opened.ok) return opened;
    this.#chain.commit(prepared);
    return {
      ok: true,
      plaintext: opened.plaintext,
      counter: fields.counter,
      sentAtUs: fields.sentAtUs,
      conversationId: fields.conversationId,
    };
  }
}
