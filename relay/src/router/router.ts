import type { Admin, Assignment, BatchContext, FetchPolicy, InRecord, KafkaAdapter, OutRecord } from '../../kafka/src/index.js';
import { nowUs } from '../../protocol/src/index.js';
import type { RelayConfig } from '../config.js';
import type { RelayMetrics } from '../metrics.js';
import { PartitionMailbox, type Push, type Replaced } from './mailbox.js';
import { CONSUMER_TUNING, LAZY_FETCH, LAZY_AFTER_ASSIGNMENT_MS } from './consumer-tuning.js';
import { restartingConsumer, type RestartingConsumer } from '../restarting-consumer.js';

/** A durable record of relay.mailbox with the offset Kafka wrote it at, from a produce answer. */
export interface DurableRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: Buffer | null;
}

/** Where an applied record came from: this process's produce answer, a peer's, or the fetch. */
type Source = 'written' | 'peer';

/** Records ahead of a gap kept per partition while the missing offsets are on their way. */
const MAX_AHEAD = 10_000;

/**
 * The router role: a member of consumer group `relay` on `relay.mailbox`. For each owned
 * partition it folds the log from the start into a PartitionMailbox (until the high watermark
 * seen at assignment), then goes live and hands pushes to `deliver`.
 *
 * kafkajs re-reads every assigned partition from the start after each rebalance (nothing is
 * committed), so every assignment resets every owned partition: the state is the log.
 * Live, the process's own writes and its peers' are applied from their produce answers
 * (`applyDurable`), in offset order with what the fetch brings. While every peer hands it its
 * writes and nothing is missing, the fetch is a lazy backstop (`fetchPolicy`).
 */
export type Deliver = (push: Push) => void;
/** Tells the gateway holding a superseded connection to close it (4011). */
export type NotifyReplaced = (replaced: Replaced) => void;

interface Owned {
  readonly mailbox: PartitionMailbox;
  readonly generation: number;
  readonly startedMs: number;
  /** Offset of the last record at assignment time; live once it has been applied. -1 = empty. */
  target: Promise<number>;
  /**
   * The offset after the last record applied: every record below it is in the mailbox. Offsets
   * are numbers here: exact up to 2^53, ≈ 285 years of this partition at 1 M records/s.
   */
  next: number;
  /** Records applied from produce answers, by offset, until the fetch brings them back. */
  readonly written: Map<number, string | null>;
  /** Produce answers past a gap (offset > next), applied once the gap is filled. */
  readonly ahead: Map<number, DurableRecord & { source: Source }>;
}

export class Router {
  readonly #config: RelayConfig;
  readonly #kafka: KafkaAdapter;
  readonly #metrics: RelayMetrics;
  readonly #deliver: Deliver;
  readonly #notifyReplaced: NotifyReplaced;
  readonly #log: (line: string) => void;
  #consumer: RestartingConsumer | null = null;
  #admin: Admin | null = null;
  #owned = new Map<number, Owned>();
  #generation = 0;
  #assignedOnce = false;
  #assignedAtMs = 0;
  /** True while every other relay writing to relay.mailbox hands this one its writes (relay/src/peer/). */
  #peersLinked: () => boolean = () => false;

  constructor(
    config: RelayConfig,
    kafka: KafkaAdapter,
    metrics: RelayMetrics,
    deliver: Deliver,
    notifyReplaced: NotifyReplaced,
    log: (line: string) => void,
  ) {
    this.#config = config;
    this.#kafka = kafka;
    this.#metrics = metrics;
    this.#deliver = deliver;
    this.#notifyReplaced = notifyReplaced;
    this.#log = log;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Partitions owned now, and whether each has finished its fold. */
  ownership(): { partition: number; live: boolean; pending: number; online: number }[] {
    return [...this.#owned.values()]
      .map((o) => ({
        partition: o.mailbox.partition,
        live: o.mailbox.live,
        pending: o.mailbox.pendingCount,
        online: o.mailbox.onlineCount,
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Set by the relay once its peer links exist; until then the fetch stays eager. */
  set peersLinked(linked: () => boolean) {
    this.#peersLinked = linked;
  }

  /**
   * Eager (answered at the first appended byte) unless every record the router needs also comes
   * from a produce answer: every owned partition live with no gap waiting, every peer linked, and
   * the peers' tables of who owns what younger than this assignment. Then the fetch only checks
   * and fills gaps, and the broker answers it once per LAZY_FETCH.maxWaitMs instead of per write.
   */
  fetchPolicy(nowMs = performance.now()): FetchPolicy {
    const eager = { maxWaitMs: CONSUMER_TUNING.maxWaitMs, minBytes: 1 };
    if (nowMs - this.#assignedAtMs < LAZY_AFTER_ASSIGNMENT_MS || !this.#peersLinked()) return eager;
    for (const o of this.#owned.values()) if (!o.mailbox.live || o.ahead.size > 0) return eager;
    return LAZY_FETCH;
  }

  /** Ready = assigned at least once, its consumer not down after a crash, and every owned partition folded. */
  get ready(): boolean {
    return this.#assignedOnce && this.#consumer?.down !== true && [...this.#owned.values()].every((o) => o.mailbox.live);
  }

  async start(): Promise<void> {
    this.#admin = await this.#kafka.admin();
    const make = () =>
      this.#kafka.consumer({
        groupId: 'relay',
        sharedGroup: true,
        topics: [this.#config.topics.mailbox],
        fromBeginning: true,
        sessionTimeoutMs: this.#config.sessionTimeoutMs,
        heartbeatIntervalMs: Math.max(300, Math.floor(this.#config.sessionTimeoutMs / 6)),
        ...CONSUMER_TUNING,
        fetchPolicy: () => this.fetchPolicy(),
        partitionsConsumedConcurrently: this.#config.partitions,
      });
    this.#consumer = restartingConsumer(make, (line) => this.#log(`router: ${line}`));
    await this.#consumer.start({
      onAssigned: (a) => this.#onAssigned(a),
      onBatch: (records, ctx) => this.#onBatch(records, ctx),
      onRevoked: (reason) => this.#revoke(reason),
      onCrash: (e) => this.#revoke(`its consumer crashed: ${e.message}; a new one joins in a moment`),
    });
  }

  /**
   * The group may have given this member's partitions to another (a lost membership, a crash):
   * route none of them, own writes and peers' hand-overs included, until assigned again. Every
   * record is in the log, so the next owner (this one again, or another) folds it from there.
   */
  #revoke(why: string): void {
    this.#generation++;
    this.#owned.clear();
    this.#metrics.ownedPartitions.set(0);
    this.#metrics.consumerLag.reset();
    this.#log(`router: generation ${this.#generation}, no partitions: ${why}`);
    this.#updateGauges();
  }

  #onAssigned(a: Assignment): void {
    this.#generation++;
    this.#assignedOnce = true;
    this.#assignedAtMs = performance.now();
    this.#metrics.rebalances.inc();
    const partitions = a.partitions[this.#config.topics.mailbox] ?? [];
    const targets = this.#fetchTargets();
    this.#owned.clear();
    this.#metrics.consumerLag.reset();
    for (const p of partitions) {
      const mailbox = new PartitionMailbox(p);
      const owned: Owned = {
        mailbox,
        generation: this.#generation,
        startedMs: performance.now(),
        target: targets.then((t) => t.get(p) ?? -1),
        next: 0,
        written: new Map(),
        ahead: new Map(),
      };
      this.#owned.set(p, owned);
      // An empty partition has nothing to fold: live as soon as its target is known.
      void owned.target.then((target) => {
        if (target < 0 && this.#owned.get(p) === owned && !mailbox.live) this.#finishFold(owned);
      });
    }
    this.#metrics.ownedPartitions.set(partitions.length);
    this.#log(`router: generation ${this.#generation}, partitions [${partitions.join(',')}]`);
    this.#updateGauges();
  }

  async #fetchTargets(): Promise<Map<number, number>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const offsets = await this.#admin!.topicOffsets(this.#config.topics.mailbox);
        return new Map(offsets.map((o) => [o.partition, Number(o.high) - 1]));
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async #onBatch(records: readonly InRecord[], ctx: BatchContext): Promise<void> {
    const owned = this.#owned.get(ctx.partition);
    if (owned === undefined) return;
    const target = await owned.target;
    if (this.#owned.get(ctx.partition) !== owned || !ctx.isRunning()) return; // a rebalance overtook us
    const mailbox = owned.mailbox;
    let count = 0;
    for (const r of records) {
      const offset = Number(r.offset);
      if (offset < owned.next) this.#fetchedAgain(owned, offset, r);
      else {
        if (owned.written.size > 0) owned.written.clear(); // the fetch passed them: any left were compacted away
        owned.next = offset + 1;
        if (mailbox.live) {
          owned.ahead.delete(offset); // the log's own copy wins
          this.#route(owned, r.key, r.value, r.timestampMs);
          this.#metrics.routerRecords.inc({ source: 'fetched' });
          this.#applyAhead(owned);
        } else {
          mailbox.apply(r.key, r.value, r.timestampMs, nowUs());
          this.#metrics.foldRecords.inc();
          if (offset >= target) this.#finishFold(owned);
        }
      }
      if (++count % 500 === 0) {
        await ctx.heartbeat();
        if (!ctx.isRunning() || this.#owned.get(ctx.partition) !== owned) return; // a rebalance began meanwhile: the next owner folds again
      }
    }
    const last = records.at(-1);
    if (last !== undefined) {
      const lag = Number(BigInt(ctx.highWatermark) - BigInt(last.offset) - 1n);
      this.#metrics.consumerLag.set({ partition: String(ctx.partition) }, Math.max(0, lag));
    }
    this.#updateGauges();
  }

  /**
   * Records whose produce was acknowledged, applied at once instead of when the fetch brings them
   * back: the fetch wait was the relay's largest extra step over bare Kafka (docs/architecture.md,
   * Decisions). `written` = this process's own writes (`offsets` from its produce answer, -1
   * unknown), called after the writers' ✓ went out; `peer` = another relay's, handed over by its
   * peer link. Only the record at exactly the next offset is applied, so the fold stays in log
   * order; one past a gap waits in `ahead` for the records before it (from a peer, or the fetch).
   */
  applyDurable(records: readonly DurableRecord[], source: Source): void {
    let applied = false;
    for (const r of records) {
      const owned = this.#owned.get(r.partition);
      if (owned === undefined || !owned.mailbox.live || r.offset < owned.next) continue;
      if (r.offset > owned.next) {
        if (owned.ahead.size < MAX_AHEAD) owned.ahead.set(r.offset, { ...r, source });
        continue;
      }
      this.#applyNext(owned, r, source);
      this.#applyAhead(owned);
      applied = true;
    }
    if (applied) this.#updateGauges();
  }

  #applyNext(owned: Owned, r: DurableRecord, source: Source): void {
    owned.next = r.offset + 1;
    owned.written.set(r.offset, r.key);
    this.#route(owned, r.key, r.value, Date.now());
    this.#metrics.routerRecords.inc({ source });
  }

  /** Applies what waited behind a gap that is now filled; drops what the fetch already passed. */
  #applyAhead(owned: Owned): void {
    if (owned.ahead.size === 0) return;
    for (let r = owned.ahead.get(owned.next); r !== undefined; r = owned.ahead.get(owned.next)) {
      owned.ahead.delete(r.offset);
      this.#applyNext(owned, r, r.source);
    }
    for (const offset of owned.ahead.keys()) if (offset < owned.next) owned.ahead.delete(offset);
  }

  /** A fetched record below `next`: applied from this process's write, or fetched twice. */
  #fetchedAgain(owned: Owned, offset: number, r: InRecord): void {
    const key = owned.written.get(offset);
    if (key === undefined) return; // fetched twice (a refetch after an error): already applied
    owned.written.delete(offset);
    if (key === r.key) return;
    // The produce answer named the wrong offset: the mailbox holds a record out of place. Apply
    // the fetched one too, so nothing is lost (a message applied twice is dropped as a duplicate).
    this.#metrics.routerWrittenMismatch.inc();
    this.#log(`router: partition ${owned.mailbox.partition} offset ${offset} holds ${r.key ?? 'null'}, not the written ${key ?? 'null'}`);
    this.#route(owned, r.key, r.value, r.timestampMs);
  }

  /** Applies one record to a live mailbox and does what it asks. */
  #route(owned: Owned, key: string | null, value: Buffer | null, timestampMs: number): void {
    const routedUs = nowUs();
    const result = owned.mailbox.apply(key, value, timestampMs, routedUs);
    if (result.kind === 'push') {
      const push = result.push;
      const first = push.items[0];
      if (first !== undefined && first.type === 'message' && !push.replay && first.stamps.gwInUs !== undefined) {
        this.#metrics.routerLatency.observe(Math.max(0, routedUs - first.stamps.gwInUs) / 1e6);
      }
      if (push.replay) this.#metrics.replayed.inc(push.items.length);
      this.#push(push);
    } else if (result.kind === 'presence') {
      if (result.replaced !== null) this.#notifyReplaced(result.replaced);
      this.#metrics.replayed.inc(result.push.items.length);
      this.#push(result.push);
    } else if (result.kind === 'duplicate') {
      this.#metrics.duplicatesDropped.inc();
    }
  }

  #finishFold(owned: Owned): void {
    const pushes = owned.mailbox.goLive();
    this.#metrics.foldSeconds.observe((performance.now() - owned.startedMs) / 1000);
    for (const push of pushes) {
      this.#metrics.replayed.inc(push.items.length);
      this.#push(push);
    }
    // Switches recorded while no router was live (this rebalance) told no older connection (§5.1).
    for (const replaced of owned.mailbox.takeFoldReplaced(Date.now())) this.#notifyReplaced(replaced);
  }

  #push(push: Push): void {
    const hooks = this.#config.testHooks;
    if (hooks.drop.length === 0 && hooks.duplicate.length === 0) this.#deliver(push);
    else this.#deliverWithHooks(push);
  }

  /** Test hooks (off by default): drop = never push; duplicate = push again under a new id. */
  #deliverWithHooks(push: Push): void {
    const hooks = this.#config.testHooks;
    const items = push.items.filter((i) => !(i.type === 'message' && hooks.drop.includes(i.msgId)));
    if (items.length > 0) this.#deliver({ ...push, items });
    for (const i of items) {
      if (i.type === 'message' && hooks.duplicate.includes(i.msgId)) {
        const copyId = `${i.msgId}.dup`;
        this.#deliver({ ...push, items: [{ ...i, msgId: copyId, value: { ...i.value, msgId: copyId } }] });
      }
    }
  }

  #updateGauges(): void {
    let pending = 0;
    let online = 0;
    for (const o of this.#owned.values()) {
      pending += o.mailbox.pendingCount;
      online += o.mailbox.onlineCount;
    }
    this.#metrics.pending.set(pending);
    this.#metrics.onlineUsers.set(online);
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
    await this.#admin?.close();
    this.#owned.clear();
  }
}

/** The mailbox records among a produce request's, with the offsets its answer gave them. */
export function toDurable(mailboxTopic: string, records: readonly OutRecord[], offsets: readonly number[]): DurableRecord[] {
  const out: DurableRecord[] = [];
  records.forEach((r, i) => {
    const offset = offsets[i] ?? -1;
    if (r.topic !== mailboxTopic || r.partition === undefined || offset < 0) return;
    out.push({ partition: r.partition, offset, key: r.key, value: r.value });
  });
  return out;
}
