import { LRUCache } from 'lru-cache';
import { parseKey } from '../../protocol/src/index.js';
import { decodeMailboxValue, type PendingItem } from './records.js';

/**
 * The state of ONE owned `relay.mailbox` partition, as a fold over its records: per user, the
 * pending (undelivered) messages and receipts in log order, and the user's presence.
 * Pure and synchronous: `apply()` returns what to push; the router does the I/O.
 *
 * While folding (rebuilding after an assignment) nothing is pushed; `goLive()` then returns a
 * replay for every online user with pending items. Live, a new item for an online user is pushed
 * at once, and a newer presence replays everything pending, in order.
 *
 * Presence is decided by log order, not by the clients' epochs (PROTOCOL §5.1): the latest
 * "online" record wins, so a client that lost its epoch counter (a reinstall) still gets live
 * delivery. An "offline" record counts only when it names the connection that holds presence
 * (same epoch, same gateway), so a late disconnect of an old connection cannot hide a newer one.
 */
export interface Presence {
  readonly gatewayId: string | null;
  readonly epoch: number;
}

interface UserBox {
  /** Keyed by msgId for messages, `r/<msgId>/<kind>` for receipts; Map keeps log order. */
  readonly pending: Map<string, PendingItem>;
  presence: Presence | null;
}

export interface Push {
  readonly user: string;
  readonly gatewayId: string;
  readonly items: readonly PendingItem[];
  readonly replay: boolean;
  /**
   * A replay for the connection with this epoch (after its presence, or when a fold ends): the
   * gateway writes `replayed` after the items, once per connection (PROTOCOL §5.1). May be empty.
   */
  readonly epoch?: number;
}

/** A live connection of `user` (on `gatewayId`, with `epoch`) that a newer one on another gateway superseded. */
export interface Replaced {
  readonly user: string;
  readonly gatewayId: string;
  readonly epoch: number;
}

export type ApplyResult =
  | { readonly kind: 'push'; readonly push: Push }
  | { readonly kind: 'presence'; readonly push: Push; readonly replaced: Replaced | null }
  | { readonly kind: 'duplicate'; readonly user: string; readonly msgId: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed' };

const NONE: ApplyResult = { kind: 'none' };

/**
 * How many resolved (tombstoned) message ids to remember per partition, to drop a late copy of a
 * send (a retry whose original was delivered meanwhile). At 1,000 msg/s over 12 partitions that
 * is 4 minutes of history; retries come within seconds. Messages only: a late copy of a receipt is
 * harmless (pending again, the client counts it once). Was 100,000 ids of messages and receipts —
 * ≈ 600,000 strings per relay owning 6 partitions, ≈ 200 MB of heap filling over the first minutes
 * of a long run, and the GC work grew with it (steady: e2e p99 rose from ≈ 60 to ≈ 600 ms).
 * Kept in an lru-cache: a Set trimmed by deleting `values().next()` walks the holes V8 leaves at
 * the front of its table until a rehash: ≈ 8 µs a tombstone at 20,000 ids once a partition has
 * seen that many (`bench/benchmarks/bounded-memory.ts`), lru-cache under 1 µs.
 */
export const RECENT_DONE_LIMIT = 20_000;

/**
 * How far back a fold looks for connections it must still close (4011). A live router tells the
 * older connection's gateway at once; records that arrived while no router was live (a
 * rebalance: a session timeout, then the fold) told nobody. A minute covers that gap many times;
 * older switches were told by the router of their time.
 */
export const FOLD_REPLACED_WINDOW_MS = 60_000;
/** Superseded connections remembered per user while folding (a user switching relays faster than this is an attack, not a client). */
const FOLD_REPLACED_PER_USER = 4;

export class PartitionMailbox {
  readonly partition: number;
  #users = new Map<string, UserBox>();
  #recentDone = new LRUCache<string, true>({ max: RECENT_DONE_LIMIT });
  #live = false;
  /** While folding: per user, the connections a newer one on another gateway superseded, with their record's time. */
  #foldReplaced = new Map<string, { replaced: Replaced; atMs: number }[]>();
  #pendingCount = 0;
  #onlineCount = 0;

  constructor(partition: number) {
    this.partition = partition;
  }

  get live(): boolean {
    return this.#live;
  }
  get pendingCount(): number {
    return this.#pendingCount;
  }
  get onlineCount(): number {
    return this.#onlineCount;
  }

  presenceOf(user: string): Presence | null {
    return this.#users.get(user)?.presence ?? null;
  }

  pendingOf(user: string): PendingItem[] {
    return [...(this.#users.get(user)?.pending.values() ?? [])];
  }

  /**
   * `producedUs` is not a stamp of pushed items: it is the producing gateway's clock when Kafka
   * acknowledged the write (PROTOCOL §9), known to that gateway's `ack` only, not to the router.
   * `timestampMs` is the record's time: a fold keeps the relay switches of its last minute.
   */
  apply(key: string | null, value: Buffer | null, timestampMs: number, routedUs: number): ApplyResult {
    if (key === null) return { kind: 'malformed' };
    let parsed;
    try {
      parsed = parseKey(key);
    } catch {
      return { kind: 'malformed' };
    }
    const user = parsed.user;
    if (parsed.kind === 'presence') {
      const v = value === null ? undefined : decodeMailboxValue(value);
      if (v === undefined || v.k !== 'p') return { kind: 'malformed' };
      return v.gatewayId === null
        ? this.#offline(user, v.epoch, v.was)
        : this.#online(user, { gatewayId: v.gatewayId, epoch: v.epoch }, timestampMs);
    }
    const isMessage = parsed.kind === 'mailbox';
    const slot = parsed.kind === 'mailbox' ? parsed.msgId : `r/${parsed.msgId}/${parsed.receiptKind}`;
    const doneKey = isMessage ? `${user}/${slot}` : '';
    if (value === null) {
      const box = this.#users.get(user);
      if (box?.pending.delete(slot) === true) this.#pendingCount--;
      if (isMessage) this.#remember(doneKey);
      if (box !== undefined) this.#maybeForget(user, box);
      return NONE;
    }
    const v = decodeMailboxValue(value);
    if (v === undefined || v.k === 'p') return { kind: 'malformed' };
    const box = this.#box(user);
    if (box.pending.has(slot) || (isMessage && this.#recentDone.has(doneKey))) return { kind: 'duplicate', user, msgId: parsed.msgId };
    const item: PendingItem =
      v.k === 'm'
        ? { type: 'message', msgId: v.msgId, value: v, stamps: { gwInUs: v.gwInUs, routedUs } }
        : { type: 'receipt', msgId: v.msgId, kind: v.kind, value: v, stamps: { gwInUs: v.gwInUs, routedUs } };
    box.pending.set(slot, item);
    this.#pendingCount++;
    const gw = box.presence?.gatewayId ?? null;
    if (this.#live && gw !== null) return { kind: 'push', push: { user, gatewayId: gw, items: [item], replay: false } };
    return NONE;
  }

  /** Ends the fold: returns one replay per online user with pending items, in log order. */
  goLive(): Push[] {
    this.#live = true;
    const pushes: Push[] = [];
    for (const [user, box] of this.#users) {
      const p = box.presence;
      // Empty replays too: a connection welcomed while this partition folded still awaits its `replayed`.
      if (p !== null && p.gatewayId !== null)
        pushes.push({ user, gatewayId: p.gatewayId, items: [...box.pending.values()], replay: true, epoch: p.epoch });
    }
    return pushes;
  }

  #online(user: string, next: Presence & { gatewayId: string }, timestampMs: number): ApplyResult {
    const box = this.#box(user);
    const current = box.presence;
    const wasOnline = current?.gatewayId != null;
    box.presence = next;
    if (!wasOnline) this.#onlineCount++;
    // One live connection per user across relays: the older one's gateway must close it (4011).
    const replaced =
      wasOnline && current!.gatewayId !== next.gatewayId ? { user, gatewayId: current!.gatewayId!, epoch: current!.epoch } : null;
    if (!this.#live) {
      if (replaced !== null) this.#rememberFoldReplaced(replaced, timestampMs);
      return NONE;
    }
    // Always a replay, empty or not: its end is the connection's `replayed` frame.
    const push = { user, gatewayId: next.gatewayId, items: [...box.pending.values()], replay: true, epoch: next.epoch };
    return { kind: 'presence', push, replaced };
  }

  #rememberFoldReplaced(replaced: Replaced, atMs: number): void {
    const list = this.#foldReplaced.get(replaced.user) ?? [];
    list.push({ replaced, atMs });
    if (list.length > FOLD_REPLACED_PER_USER) list.shift();
    this.#foldReplaced.set(replaced.user, list);
  }

  /**
   * After `goLive()`, once: the connections superseded by records of the last
   * FOLD_REPLACED_WINDOW_MS before `nowMs` that the fold saw, for their gateways to close (4011).
   * A connection already gone, or already told, is not found there: the notice is then ignored.
   * The connection holding presence is never named (a presence record written twice).
   */
  takeFoldReplaced(nowMs: number): Replaced[] {
    const out: Replaced[] = [];
    for (const [user, list] of this.#foldReplaced) {
      const now = this.presenceOf(user);
      for (const { replaced: r, atMs } of list) {
        const holds = now?.gatewayId === r.gatewayId && now.epoch === r.epoch;
        if (atMs >= nowMs - FOLD_REPLACED_WINDOW_MS && !holds) out.push(r);
      }
    }
    this.#foldReplaced.clear();
    return out;
  }

  /** A clean disconnect: only of the connection that holds presence (`was` = its gateway; absent in old records). */
  #offline(user: string, epoch: number, was: string | undefined): ApplyResult {
    const box = this.#users.get(user);
    const current = box?.presence ?? null;
    if (box === undefined || current === null || current.gatewayId === null) return NONE;
    if (current.epoch !== epoch || (was !== undefined && was !== current.gatewayId)) return NONE;
    box.presence = { gatewayId: null, epoch };
    this.#onlineCount--;
    this.#maybeForget(user, box);
    return NONE;
  }

  #box(user: string): UserBox {
    let box = this.#users.get(user);
    if (box === undefined) this.#users.set(user, (box = { pending: new Map(), presence: null }));
    return box;
  }

  /** An offline user with nothing pending needs no memory. */
  #maybeForget(user: string, box: UserBox): void {
    if (box.pending.size === 0 && (box.presence === null || box.presence.gatewayId === null)) this.#users.delete(user);
  }

  #remember(doneKey: string): void {
    this.#recentDone.set(doneKey, true);
  }
}
