// Exact accounting of every message of one worker, from intended send to ✓ (ack), delivery,
// ✓✓ (delivered receipt) and read receipt. Single-threaded, synchronous, O(1) per event.
//
// Definitions (all counts exact):
// - sent: expect() calls (distinct msgIds). acked: distinct msgIds acked.
// - delivered: distinct msgIds delivered and decrypted at least once (first delivery counts).
// - redelivered: raw re-deliveries of a msgId already delivered (transport-level; deduped by msgId).
// - duplicated: user-visible duplicates that survive msgId dedupe: a first delivery whose
//   (conversation, counter) was already delivered under another msgId. Also counted in delivered.
// - reordered: a first delivery whose counter is lower than the highest already delivered in its
//   conversation (conversation = ordered pair from → to).
// - misdelivered: delivered to a user other than the expected recipient (not counted delivered).
// - lost: at finish(), sent and acked but never delivered (and no decrypt failure explains it).
//   Call finish() only after the grace period for in-flight messages has elapsed.
// - unacked: at finish(), sent but never acked (delivered or not).
// - decryptFailures: onDecryptFailure() calls. unexpected: deliveries of msgIds never expected.
// Memory: one entry per in-flight message; an entry is deleted once acked, delivered and all
// expected receipts are in; its msgId then moves to a bounded memory of retired ids (so late
// re-deliveries still count as redelivered) that forgets the oldest first. Per conversation: a
// delivered-counter watermark plus the set of delivered counters above it (grows only while a
// gap — a lost message — persists).

import { LRUCache } from 'lru-cache';

export const ReceiptKind = { delivered: 'delivered', read: 'read' } as const;
export type ReceiptKind = (typeof ReceiptKind)[keyof typeof ReceiptKind];

export interface Expectation {
  readonly from: string;
  readonly to: string;
  /** Ratchet counter of the message in its conversation (0, 1, 2, …). */
  readonly counter: number;
  /** Intended send time, µs (wall clock). */
  readonly intendedUs: number;
  /** Actual send time, µs (wall clock). */
  readonly sentUs: number;
}

export interface LedgerCounts {
  sent: number;
  acked: number;
  delivered: number;
  deliveredReceipts: number;
  readReceipts: number;
  lost: number;
  unacked: number;
  duplicated: number;
  redelivered: number;
  reordered: number;
  misdelivered: number;
  unexpected: number;
  decryptFailures: number;
  errorsByCode: Record<string, number>;
}

/** Every count zero: the start of a ledger, a merge or a test's fixture. */
export function emptyLedger(): LedgerCounts {
  return {
    sent: 0,
    acked: 0,
    delivered: 0,
    deliveredReceipts: 0,
    readReceipts: 0,
    lost: 0,
    unacked: 0,
    duplicated: 0,
    redelivered: 0,
    reordered: 0,
    misdelivered: 0,
    unexpected: 0,
    decryptFailures: 0,
    errorsByCode: {},
  };
}

export interface LedgerOptions {
  /** Retire an entry only once its ✓✓ receipt is in (default true). */
  readonly expectDeliveredReceipts?: boolean;
  /** Retire an entry only once its read receipt is in (default true). */
  readonly expectReadReceipts?: boolean;
  /** How many retired msgIds to remember for late re-delivery detection (default 100,000). */
  readonly retiredMemory?: number;
}

/** Result of onDeliver(), so the caller knows whether to record latency / send receipts. */
export type DeliverOutcome = 'first' | 'duplicate' | 'redelivered' | 'misdelivered' | 'unexpected';

const ACKED = 1;
const DELIVERED = 2;
const DELIVERED_RECEIPT = 4;
const READ_RECEIPT = 8;
const DECRYPT_FAILED = 16;

interface ConversationState {
  highestCounter: number;
  /** All counters below this were delivered. */
  watermark: number;
  /** Delivered counters ≥ watermark. */
  above: Set<number>;
}

interface Entry {
  readonly to: string;
  readonly counter: number;
  readonly intendedUs: number;
  readonly sentUs: number;
  readonly conversation: ConversationState;
  flags: number;
  producedUs?: number;
  awaitingProduce?: ProduceHopStamps;
}

/** A deliver's relay stamps on either side of the produce, kept when the deliver overtook its ack. */
export interface ProduceHopStamps {
  readonly gwInUs?: number;
  readonly routedUs?: number;
}

/** Timing of an expected message, returned by onAck/onDeliver for latency recording. */
export interface EntryTiming {
  readonly intendedUs: number;
  readonly sentUs: number;
  /** The relay's `ack.stamps.producedUs` (µs, when the produce was acknowledged), if the ack came first. */
  readonly producedUs?: number;
  /** On the ack: the deliver's stamps when the deliver came first (awaitProduce), so the produce hops can be recorded now. */
  readonly awaitingProduce?: ProduceHopStamps;
}

export class Ledger {
  readonly #entries = new Map<string, Entry>();
  readonly #conversations = new Map<string, ConversationState>();
  /**
   * lru-cache, not a Set trimmed by deleting `values().next()`: V8 leaves each deleted entry as a
   * hole at the front of the Set's table until a rehash, and `values().next()` walks the holes.
   * From a run's 100,001st message on, that trim cost ≈ 23 µs a message at 100,000 ids
   * (`bench/benchmarks/bounded-memory.ts`; ≈ 80 µs in a loaded worker), lru-cache under 1 µs.
   * `has()` does not refresh an id, so the oldest retired id is forgotten first.
   */
  readonly #retired: LRUCache<string, true> | null;
  readonly #completeMask: number;
  readonly #errors = new Map<string, number>();
  #sent = 0;
  #acked = 0;
  #delivered = 0;
  #deliveredReceipts = 0;
  #readReceipts = 0;
  #duplicated = 0;
  #redelivered = 0;
  #reordered = 0;
  #misdelivered = 0;
  #unexpected = 0;
  #decryptFailures = 0;

  constructor(options: LedgerOptions = {}) {
    const retiredMemory = options.retiredMemory ?? 100_000;
    this.#retired = retiredMemory > 0 ? new LRUCache({ max: retiredMemory }) : null;
    this.#completeMask =
      ACKED |
      DELIVERED |
      (options.expectDeliveredReceipts === false ? 0 : DELIVERED_RECEIPT) |
      (options.expectReadReceipts === false ? 0 : READ_RECEIPT);
  }

  /** Messages still tracked (not yet complete). */
  get pending(): number {
    return this.#entries.size;
  }

  /** Grows with every ack, delivery and receipt: the drain waits while it keeps moving. */
  get progress(): number {
    return this.#acked + this.#delivered + this.#deliveredReceipts + this.#readReceipts + this.#redelivered;
  }

  /** Register a message at send time. A msgId already known is ignored (returns false). */
  expect(msgId: string, e: Expectation): boolean {
    if (this.#entries.has(msgId) || this.#retired?.has(msgId) === true) return false;
    const key = `${e.from}\u0000${e.to}`;
    let conversation = this.#conversations.get(key);
    if (conversation === undefined) {
      conversation = { highestCounter: -1, watermark: 0, above: new Set() };
      this.#conversations.set(key, conversation);
    }
    this.#entries.set(msgId, { to: e.to, counter: e.counter, intendedUs: e.intendedUs, sentUs: e.sentUs, conversation, flags: 0 });
    this.#sent++;
    return true;
  }

  /** ✓ from the relay. Returns the timing on the first ack of a known msgId, else undefined. */
  onAck(msgId: string, _nowUs: number, producedUs?: number): EntryTiming | undefined {
    const entry = this.#entries.get(msgId);
    if (entry === undefined || entry.flags & ACKED) return undefined;
    entry.flags |= ACKED;
    if (producedUs !== undefined) entry.producedUs = producedUs;
    this.#acked++;
    this.#maybeRetire(msgId, entry);
    return entry;
  }

  /**
   * The deliver of msgId came before its ack: keep its stamps, so the ack (which alone carries
   * `producedUs`) can record the produce hops. Without this, the hops would leave out exactly the
   * messages whose ack was slower than their delivery, a biased sample (a delay on the links does it
   * to one message in seven).
   */
  awaitProduce(msgId: string, stamps: ProduceHopStamps): void {
    const entry = this.#entries.get(msgId);
    if (entry !== undefined && !(entry.flags & ACKED)) entry.awaitingProduce = stamps;
  }

  /**
   * A decrypted delivery to user `to`. Only 'first' and 'duplicate' count as delivered; the caller
   * records latency for 'first' (use `timing`). See the header comment for the definitions.
   */
  onDeliver(msgId: string, to: string, counter: number, _nowUs: number): { outcome: DeliverOutcome; timing?: EntryTiming } {
    const entry = this.#entries.get(msgId);
    if (entry === undefined) {
      if (this.#retired?.has(msgId) === true) {
        this.#redelivered++;
        return { outcome: 'redelivered' };
      }
      this.#unexpected++;
      return { outcome: 'unexpected' };
    }
    if (entry.flags & DELIVERED) {
      this.#redelivered++;
      return { outcome: 'redelivered' };
    }
    if (to !== entry.to || counter !== entry.counter) {
      this.#misdelivered++;
      return { outcome: 'misdelivered' };
    }
    entry.flags |= DELIVERED;
    this.#delivered++;
    const c = entry.conversation;
    let outcome: DeliverOutcome = 'first';
    if (counter < c.watermark || c.above.has(counter)) {
      this.#duplicated++;
      outcome = 'duplicate';
    } else if (counter === c.watermark) {
      c.watermark++;
      while (c.above.delete(c.watermark)) c.watermark++;
    } else {
      c.above.add(counter);
    }
    if (counter < c.highestCounter) this.#reordered++;
    else c.highestCounter = counter;
    this.#maybeRetire(msgId, entry);
    return { outcome, timing: entry };
  }

  /**
   * ✓✓ or read receipt back at the sender; counted once per msgId. Returns the timing on first.
   * `by`, when given, must be the recipient: a receipt from anyone else is 'foreign' and not counted.
   */
  onReceipt(msgId: string, kind: ReceiptKind, by?: string): EntryTiming | 'foreign' | undefined {
    const entry = this.#entries.get(msgId);
    if (entry === undefined) return undefined;
    if (by !== undefined && by !== entry.to) return 'foreign';
    const flag = kind === 'read' ? READ_RECEIPT : DELIVERED_RECEIPT;
    if (entry.flags & flag) return undefined;
    entry.flags |= flag;
    if (kind === 'read') this.#readReceipts++;
    else this.#deliveredReceipts++;
    this.#maybeRetire(msgId, entry);
    return entry;
  }

  /** A delivery of msgId failed authentication/decryption. */
  onDecryptFailure(msgId: string): void {
    this.#decryptFailures++;
    const entry = this.#entries.get(msgId);
    if (entry !== undefined) entry.flags |= DECRYPT_FAILED;
  }

  /**
   * A delivery the recipient could not open because the ratchet key of its counter was already
   * used: a copy of a message it already decrypted. Never counts as delivered. Counted as
   * redelivered when its msgId was delivered before (transport retry), else as duplicated (the
   * same content under another msgId — a duplicate that msgId dedupe alone would let through).
   */
  onReplay(msgId: string): 'redelivered' | 'duplicate' {
    const entry = this.#entries.get(msgId);
    if ((entry !== undefined && entry.flags & DELIVERED) || this.#retired?.has(msgId) === true) {
      this.#redelivered++;
      return 'redelivered';
    }
    this.#duplicated++;
    return 'duplicate';
  }

  /** Running counts without the end-of-run classification (lost and unacked are 0). O(1) except errorsByCode. */
  liveCounts(): LedgerCounts {
    return this.#counts(0, 0);
  }

  /** An error frame or client-side error, by stable code (e.g. 'RB_…'). */
  onError(code: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  /** The first `limit` lost msgIds (acked, never delivered), to look them up in Kafka or the relay logs. */
  lostIds(limit = 20): string[] {
    const out: string[] = [];
    for (const [msgId, entry] of this.#entries) {
      if (out.length >= limit) break;
      if (entry.flags & ACKED && !(entry.flags & DELIVERED) && !(entry.flags & DECRYPT_FAILED)) out.push(msgId);
    }
    return out;
  }

  /** Exact counts; classifies remaining entries as lost/unacked. Idempotent; does not clear state. */
  finish(): LedgerCounts {
    let lost = 0;
    let unacked = 0;
    for (const entry of this.#entries.values()) {
      if (!(entry.flags & ACKED)) unacked++;
      else if (!(entry.flags & DELIVERED) && !(entry.flags & DECRYPT_FAILED)) lost++;
    }
    return this.#counts(lost, unacked);
  }

  #counts(lost: number, unacked: number): LedgerCounts {
    return {
      sent: this.#sent,
      acked: this.#acked,
      delivered: this.#delivered,
      deliveredReceipts: this.#deliveredReceipts,
      readReceipts: this.#readReceipts,
      lost,
      unacked,
      duplicated: this.#duplicated,
      redelivered: this.#redelivered,
      reordered: this.#reordered,
      misdelivered: this.#misdelivered,
      unexpected: this.#unexpected,
      decryptFailures: this.#decryptFailures,
      errorsByCode: Object.fromEntries(this.#errors),
    };
  }

  #maybeRetire(msgId: string, entry: Entry): void {
    if ((entry.flags & this.#completeMask) !== this.#completeMask) return;
    this.#entries.delete(msgId);
    this.#retired?.set(msgId, true);
  }
}
