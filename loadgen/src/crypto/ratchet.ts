// Symmetric-key ratchet (one direction of one conversation):
//   messageKey_n   = HMAC-SHA256(chainKey_n, 0x01)
//   chainKey_{n+1} = HMAC-SHA256(chainKey_n, 0x02)
// Counters start at 0. Keys are single use: the sender never yields a counter twice, and the
// receiver deletes a message key once a message under it authenticated (forward secrecy).
// The receiver commits state only after authentication (prepare → open → commit), so a forged or
// tampered message cannot burn a key or advance the chain.
import { createHmac } from 'node:crypto';

const MESSAGE_KEY_INPUT = Buffer.of(0x01);
const CHAIN_KEY_INPUT = Buffer.of(0x02);

/** Default bound on skipped (not yet received) message keys held per receiving chain. */
export const DEFAULT_MAX_SKIPPED = 1000;

function hmac(key: Uint8Array, input: Buffer): Buffer {
  return createHmac('sha256', key).update(input).digest();
}

export interface ChainStep {
  readonly counter: number;
  /** 32 bytes; the caller owns it and must use it for exactly one message. */
  readonly messageKey: Uint8Array;
}

/**
 * Both chains keep their chain key in one buffer of their own and overwrite it at each step,
 * instead of holding each step's HMAC output. A conversation's chain key lives from one of its
 * messages to the next (seconds), long enough to reach V8's old generation: a fresh buffer per
 * step meant two ArrayBuffers per message dying there, and freeing dead ArrayBuffers was most of
 * a worker's old-generation compaction pause. In place, that pause fell from a median ≈ 10 ms to
 * ≈ 7.5 (docs/measurements.md, late afternoon of 2026-12-07). It also erases the previous key.
 */

/** Sending side. Not thread-safe; one instance per direction. */
export class SendingChain {
  readonly #chainKey: Uint8Array;
  #counter = 0;

  /** `chainKey`: 32 bytes from deriveSession; copied. */
  constructor(chainKey: Uint8Array) {
    this.#chainKey = Buffer.from(chainKey);
  }

  /** Counter the next call to `next()` will use. */
  get counter(): number {
    return this.#counter;
  }

  /** Advance one step: the message key for the current counter. Two HMACs, ~2 µs. */
  next(): ChainStep {
    const step = { counter: this.#counter, messageKey: hmac(this.#chainKey, MESSAGE_KEY_INPUT) };
    this.#chainKey.set(hmac(this.#chainKey, CHAIN_KEY_INPUT));
    this.#counter++;
    return step;
  }
}

/** A key ready to try, plus the state change to apply if the message authenticates. */
export interface PreparedKey {
  readonly ok: true;
  readonly counter: number;
  readonly messageKey: Uint8Array;
  /** Skipped keys (counter, key) to remember on commit; empty unless the counter jumped ahead. */
  readonly skipped: ReadonlyArray<readonly [number, Uint8Array]>;
  /** Chain key / next counter after commit; undefined when the key came from the skipped map. */
  readonly nextChainKey: Uint8Array | undefined;
}

export type PrepareFailure =
  /** Key no longer held: already used (re-delivery) or its skipped key was evicted from the window. */
  | { readonly ok: false; readonly reason: 'replay' }
  /** Counter more than `maxSkipped` ahead of the chain: refusing to derive that many keys. */
  | { readonly ok: false; readonly reason: 'too-far' };

/**
 * Receiving side with a bounded window for out-of-order delivery. Not thread-safe. Memory: at most
 * `maxSkipped` 32-byte keys; beyond that the oldest skipped key is evicted (that message will then
 * fail as 'replay', and `evicted` counts it).
 */
export class ReceivingChain {
  readonly #chainKey: Uint8Array;
  #nextCounter = 0;
  readonly #skipped = new Map<number, Uint8Array>();
  readonly #maxSkipped: number;
  #evicted = 0;

  constructor(chainKey: Uint8Array, maxSkipped = DEFAULT_MAX_SKIPPED) {
    this.#chainKey = Buffer.from(chainKey);
    this.#maxSkipped = maxSkipped;
  }

  /** Lowest counter never reached by the chain (all lower keys were used or are held as skipped). */
  get nextCounter(): number {
    return this.#nextCounter;
  }

  get skippedCount(): number {
    return this.#skipped.size;
  }

  /** Skipped keys dropped because the window was full. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Key for `counter` without changing state. `counter` must be a non-negative safe integer. */
  prepare(counter: number): PreparedKey | PrepareFailure {
    if (counter < this.#nextCounter) {
      const key = this.#skipped.get(counter);
      if (key === undefined) return { ok: false, reason: 'replay' };
      return { ok: true, counter, messageKey: key, skipped: [], nextChainKey: undefined };
    }
    if (counter - this.#nextCounter > this.#maxSkipped) return { ok: false, reason: 'too-far' };
    const skipped: Array<readonly [number, Uint8Array]> = [];
    let chainKey = this.#chainKey;
    for (let n = this.#nextCounter; n < counter; n++) {
      skipped.push([n, hmac(chainKey, MESSAGE_KEY_INPUT)]);
      chainKey = hmac(chainKey, CHAIN_KEY_INPUT);
    }
    return { ok: true, counter, messageKey: hmac(chainKey, MESSAGE_KEY_INPUT), skipped, nextChainKey: hmac(chainKey, CHAIN_KEY_INPUT) };
  }

  /**
   * Apply a prepared key after its message authenticated: the key is forgotten, the chain advances.
   * Must be called at most once per prepare(), with no other commit in between.
   */
  commit(prepared: PreparedKey): void {
    if (prepared.nextChainKey === undefined) {
      this.#skipped.delete(prepared.counter);
      return;
    }
    for (const [n, key] of prepared.skipped) {
      if (this.#skipped.size >= this.#maxSkipped) {
        this.#skipped.delete(this.#skipped.keys().next().value as number);
        this.#evicted++;
      }
      this.#skipped.set(n, key);
    }
    this.#chainKey.set(prepared.nextChainKey);
    this.#nextCounter = prepared.counter + 1;
  }
}
