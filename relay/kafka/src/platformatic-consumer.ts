/**
 * The platformatic adapter's group consumer (platformatic-adapter.ts): the library joins the
 * group and heartbeats; the fetching is ours.
 *
 * Why a fetch loop of our own instead of the library's MessagesStream: the router needs what
 * types.ts promises at a rebalance (onAssigned before the new generation's records, per-partition
 * batches, a stale flag, every assigned partition read from its start). The stream re-seeks on a
 * join but still hands over records it buffered for the old generation. Here every fetch belongs
 * to one generation and its records are dropped once the group has moved on.
 */
import type { Consumer as PkConsumer, RecordsBatch } from '@platformatic/kafka';
import { kafkaClientError } from './errors.js';
import { watchMembership, type MembershipLease } from './membership-lease.js';
import { rideOut, type RideOutOptions } from './retry.js';
import { type Base, isRetriablePlatformaticError, loadPk, messageOf, OFFSET_OUT_OF_RANGE } from './platformatic-support.js';
import type { BatchContext, ConsumerHandlers, ConsumerOptions, GroupConsumer, InRecord } from './types.js';

/** One generation of the group, as this member saw it: what it owns and where it reads. */
interface Session {
  readonly kafkaGeneration: number;
  readonly partitions: ReadonlyMap<string, readonly number[]>;
  /** Next offset to fetch per "topic:partition"; absent until the log start is known. */
  readonly positions: Map<string, bigint>;
  /** Leaders with a fetch in flight (one per broker at a time). */
  readonly inFlight: Set<number>;
}

/** One consumer: its settings and where it stands, shared by the functions below. */
interface ConsumerState {
  readonly base: Base;
  readonly ride: RideOutOptions;
  readonly o: ConsumerOptions;
  readonly closed: () => void;
  consumer: PkConsumer | undefined;
  handlers: ConsumerHandlers | undefined;
  session: Session | null;
  running: boolean;
  joins: number;
  failingSince: number;
  readonly linger: number;
  readonly concurrency: number;
  lease: MembershipLease | undefined;
  /** A rejoin of ours is under way (lostGroup); the partitions were given up when it began. */
  rejoining: boolean;
}

export function createConsumer(base: Base, ride: RideOutOptions, o: ConsumerOptions, closed: () => void): GroupConsumer {
  const c: ConsumerState = {
    base,
    ride,
    o,
    closed,
    consumer: undefined,
    handlers: undefined,
    session: null,
    running: false,
    joins: 0,
    failingSince: 0,
    linger: o.fetchLingerMs ?? 0,
    concurrency: Math.max(1, o.partitionsConsumedConcurrently ?? 1),
    lease: undefined,
    rejoining: false,
  };
  return {
    start: (h: ConsumerHandlers): Promise<void> => start(c, h),
    stop: (): Promise<void> => stop(c),
  };
}

const current = (c: ConsumerState, s: Session): boolean =>
  c.running && c.session === s && c.consumer !== undefined && c.consumer.generationId === s.kafkaGeneration;

function crash(c: ConsumerState, e: unknown): void {
  if (!c.running) return;
  c.running = false;
  c.session = null;
  c.lease?.stop();
  void release(c);
  c.handlers?.onCrash?.(kafkaClientError('RB_KCLIENT_CONSUMER_CRASHED', messageOf(e), e));
}

/** A fetch failed: ride it out (backoff, fresh metadata) up to the bound, then crash. */
async function failed(c: ConsumerState, what: string, e: unknown): Promise<void> {
  const now = Date.now();
  if (c.failingSince === 0) c.failingSince = now;
  if (!isRetriablePlatformaticError(e) || now - c.failingSince >= c.ride.boundMs) {
    crash(c, e);
    return;
  }
  c.ride.log(`kafka: consumer ${c.o.groupId}: ${what} failed (${messageOf(e)}); retrying`);
  await sleep(Math.min(2000, 100 + (now - c.failingSince) / 4));
  await c.consumer!.metadata({ topics: [...c.o.topics], forceUpdate: true }).catch(() => {});
}

type JoinPayload = { generationId: number; memberId: string; assignments: { topic: string; partitions: number[] }[] | null };

function onJoin(c: ConsumerState, payload: JoinPayload): void {
  if (!c.running) return;
  c.lease?.joined();
  const partitions = new Map((payload.assignments ?? []).map((a) => [a.topic, [...a.partitions].sort((x, y) => x - y)]));
  const s: Session = { kafkaGeneration: payload.generationId, partitions, positions: new Map(), inFlight: new Set() };
  c.session = s;
  c.failingSince = 0;
  c.handlers!.onAssigned?.({
    generationId: ++c.joins,
    memberId: payload.memberId,
    partitions: Object.fromEntries(partitions),
  });
  void seekToStart(c, s).then(() => pump(c, s));
}

/** Every assigned partition is read from its log start (the relay never commits). */
async function seekToStart(c: ConsumerState, s: Session, only?: ReadonlySet<string>): Promise<void> {
  const topics = [...s.partitions.keys()];
  if (topics.length === 0) return;
  for (;;) {
    if (!current(c, s)) return;
    try {
      const offsets = await c.consumer!.listOffsets({ topics, timestamp: -2n });
      for (const [topic, ps] of s.partitions)
        for (const p of ps)
          if (only === undefined || only.has(`${topic}:${p}`)) s.positions.set(`${topic}:${p}`, offsets.get(topic)?.[p] ?? 0n);
      c.failingSince = 0;
      return;
    } catch (e) {
      await failed(c, 'looking up partitions', e);
    }
  }
}

/** Starts a fetch from every leader of this session's partitions that has none in flight. */
function pump(c: ConsumerState, s: Session): void {
  if (!current(c, s) || s.positions.size === 0) return;
  void c.consumer!.metadata({ topics: [...s.partitions.keys()] }).then(
    (md) => {
      if (!current(c, s)) return;
      const byLeader = new Map<number, { topicId: string; partitions: FetchPartition[] }[]>();
      const topicNames = new Map<string, string>();
      for (const [topic, ps] of s.partitions) {
        const t = md.topics.get(topic);
        if (t === undefined) continue;
        topicNames.set(t.id, topic);
        for (const p of ps) {
          const leader = t.partitions[p]?.leader ?? -1;
          const fetchOffset = s.positions.get(`${topic}:${p}`);
          if (leader < 0 || s.inFlight.has(leader) || fetchOffset === undefined) continue;
          let list = byLeader.get(leader);
          if (list === undefined) byLeader.set(leader, (list = []));
          const epoch = t.partitions[p]!.leaderEpoch;
          list.push({
            topicId: t.id,
            partitions: [{ partition: p, fetchOffset, currentLeaderEpoch: epoch, lastFetchedEpoch: -1, partitionMaxBytes: 1_048_576 }],
          });
        }
      }
      for (const [leader, topics] of byLeader) void fetchFrom(c, s, leader, topics, topicNames);
    },
    async (e: unknown) => {
      await failed(c, 'looking up partitions', e);
      pump(c, s);
    },
  );
}

async function fetchFrom(c: ConsumerState, s: Session, leader: number, topics: FetchTopic[], names: Map<string, string>): Promise<void> {
  s.inFlight.add(leader);
  let response: FetchResponse | undefined;
  let error: unknown;
  let handed = 0;
  try {
    const { maxWaitMs: maxWaitTime, minBytes } = c.o.fetchPolicy?.() ?? { maxWaitMs: c.o.maxWaitMs ?? 100, minBytes: 1 };
    response = await deadline(
      c.consumer!.fetch({ node: leader, topics, maxWaitTime, minBytes, maxBytes: 10_485_760 }),
      maxWaitTime + FETCH_STALL_MS,
      `fetch from broker ${leader}`,
    );
  } catch (e) {
    error = e;
    // A partition-level error fails the whole response; the other partitions' records are still good.
    response = (e as { response?: FetchResponse }).response;
  }
  try {
    if (response !== undefined && current(c, s)) handed = await handOver(c, s, response, names);
    if (error !== undefined && current(c, s)) await recover(c, s, leader, error, response, names);
    else c.failingSince = 0;
  } catch (e) {
    crash(c, e); // a handler threw: the relay's bug, not Kafka's
    return;
  } finally {
    s.inFlight.delete(leader);
  }
  const pauseMs = pauseBeforeNextFetchMs(c.linger, handed);
  if (pauseMs > 0 && current(c, s)) await sleep(pauseMs);
  pump(c, s);
}

/**
 * The linger gathers the rest of a burst (a message's records, other users') into the next fetch.
 * A fetch that brought no records ended because the broker's wait ran out: there is no burst to
 * gather, so the next fetch goes at once instead of costing an idle relay a timer wake-up per
 * fetch (≈ 25 a second, with the lazy router fetch and the gateway's). The kafkajs adapter's
 * linger already works so: it sits in eachBatch, which kafkajs calls only for records.
 */
export function pauseBeforeNextFetchMs(lingerMs: number, recordsHanded: number): number {
  return recordsHanded > 0 ? lingerMs : 0;
}

/** Hands each partition's records to onBatch, `concurrency` partitions at a time; returns how many records. */
async function handOver(c: ConsumerState, s: Session, response: FetchResponse, names: Map<string, string>): Promise<number> {
  const batches: { records: InRecord[]; ctx: BatchContext }[] = [];
  for (const t of response.responses) {
    const topic = names.get(t.topicId);
    if (topic === undefined) continue;
    for (const p of t.partitions) {
      const key = `${topic}:${p.partitionIndex}`;
      const from = s.positions.get(key);
      if (p.errorCode !== 0 || from === undefined || p.records === undefined) continue;
      const { records, next } = decode(topic, p.partitionIndex, p.records, from);
      s.positions.set(key, next);
      if (records.length === 0) continue;
      batches.push({
        records,
        ctx: {
          topic,
          partition: p.partitionIndex,
          highWatermark: String(p.highWatermark),
          // The library heartbeats on its own timer: a long batch yields to it here.
          heartbeat: () => new Promise<void>((resolve) => setImmediate(resolve)),
          isRunning: () => current(c, s),
        },
      });
    }
  }
  for (let i = 0; i < batches.length && current(c, s); i += c.concurrency)
    await Promise.all(batches.slice(i, i + c.concurrency).map((b) => c.handlers!.onBatch(b.records, b.ctx)));
  return batches.reduce((n, b) => n + b.records.length, 0);
}

/** Per-partition errors: a moved log start is re-read from its start; a moved leader needs fresh metadata. */
async function recover(
  c: ConsumerState,
  s: Session,
  leader: number,
  e: unknown,
  response: FetchResponse | undefined,
  names: Map<string, string>,
): Promise<void> {
  const outOfRange: { topic: string; partition: number }[] = [];
  for (const t of response?.responses ?? [])
    for (const p of t.partitions)
      if (p.errorCode === OFFSET_OUT_OF_RANGE) outOfRange.push({ topic: names.get(t.topicId) ?? '', partition: p.partitionIndex });
  if (outOfRange.length > 0) {
    // Only these start again from the log start; the others keep their positions.
    const moved = new Set(outOfRange.map(({ topic, partition }) => `${topic}:${partition}`));
    for (const key of moved) s.positions.delete(key);
    await seekToStart(c, s, moved);
    return;
  }
  await failed(c, `fetch from broker ${leader}`, e);
}

/** The coordinator may have given this member's partitions to another: let them go (shared groups), join again. */
function lostGroup(c: ConsumerState, why: string): void {
  if (!c.running || c.rejoining) return;
  c.rejoining = true;
  const shared = c.o.sharedGroup === true;
  const held = shared && c.session !== null;
  if (shared) c.session = null;
  c.ride.log(
    `kafka: consumer ${c.o.groupId}: ${why}; ${shared ? 'its partitions are given up until it has joined again' : 'joining again'}`,
  );
  if (held) c.handlers?.onRevoked?.(why);
  void join(c).then(
    () => (c.rejoining = false),
    (e: unknown) => {
      c.rejoining = false;
      crash(c, e);
    },
  );
}

const join = (c: ConsumerState) =>
  rideOut(
    `consumer ${c.o.groupId} join`,
    async () => {
      if (!(await coordinatorKnown(c))) throw Object.assign(new Error(COORDINATOR_GONE), { coordinatorGone: true });
      return c.consumer!.joinGroup({});
    },
    // Riding out a gone coordinator would only retry it: this consumer crashes, and a new one joins.
    { ...c.ride, retriable: (e) => (e as { coordinatorGone?: boolean }).coordinatorGone !== true && isRetriablePlatformaticError(e) },
  );

const COORDINATOR_GONE = 'its group coordinator left the cluster; a new consumer finds the new one';

/**
 * The library finds the group's coordinator once and never again, and a group operation whose
 * coordinator is no longer in the metadata throws in a callback (reading `host` of undefined in
 * its connection pool), which ends the process. So before a join or a clean leave: is the
 * coordinator it would use still a broker? If not, this consumer is given up (a new one joins).
 */
async function coordinatorKnown(c: ConsumerState): Promise<boolean> {
  const pk = c.consumer!;
  const id = pk.coordinatorId;
  if (id === null || id === undefined) return true; // not found yet: the library will ask the cluster
  const md = await deadline(pk.metadata({ topics: [...c.o.topics], forceUpdate: true }), 5000, 'metadata');
  return md.brokers.has(id);
}

async function start(c: ConsumerState, h: ConsumerHandlers): Promise<void> {
  const pk = await loadPk();
  c.handlers = h;
  c.consumer = new pk.Consumer({
    ...c.base,
    groupId: c.o.groupId,
    sessionTimeout: c.o.sessionTimeoutMs ?? 10000,
    heartbeatInterval: c.o.heartbeatIntervalMs ?? 1000,
    rebalanceTimeout: c.o.sessionTimeoutMs ?? 10000,
    autocommit: false,
    minBytes: 1,
    maxWaitTime: c.o.maxWaitMs ?? 100,
  });
  // The library retries a failed rejoin a few times, then emits 'error'; a broker restart
  // outlasts that, so the join is ridden out (lostGroup) up to the same bound as everything else.
  c.consumer.on('error', (e: unknown) => lostGroup(c, `its rejoin failed (${messageOf(e)})`));
  c.consumer.on('consumer:group:join', (payload: JoinPayload) => onJoin(c, payload));
  c.consumer.topics.trackAll(...c.o.topics);
  c.running = true;
  if (c.o.sharedGroup === true)
    c.lease = watchMembership(c.consumer, {
      sessionMs: c.o.sessionTimeoutMs ?? 10000,
      intervalMs: c.o.heartbeatIntervalMs ?? 1000,
      holding: () => c.session !== null,
      lost: (why) => lostGroup(c, why),
    });
  try {
    await join(c);
  } catch (e) {
    c.running = false;
    c.lease?.stop();
    void release(c);
    throw kafkaClientError('RB_KCLIENT_CONNECT', messageOf(e), e);
  }
}

async function stop(c: ConsumerState): Promise<void> {
  const wasOpen = c.consumer !== undefined;
  c.running = false;
  c.session = null;
  c.lease?.stop();
  await release(c);
  if (wasOpen) c.closed();
}

type FetchTopic = Parameters<PkConsumer['fetch']>[0]['topics'][number];
type FetchResponse = Awaited<ReturnType<PkConsumer['fetch']>>;
type FetchPartition = FetchTopic['partitions'][number];

const IS_CONTROL = 0x20;

/**
 * A fetch not answered this long after its wait (the library's own request timeout is 5 s) is
 * given up and sent again; the library's MessagesStream guards against a callback that never
 * comes in the same way. Its late answer, if any, is dropped.
 */
const FETCH_STALL_MS = 30_000;

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer in ${Math.round(ms / 1000)} s`), { canRetry: true })), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** One partition's batches to InRecords from `from` on, and the next offset to fetch. */
export function decode(
  topic: string,
  partition: number,
  batches: readonly RecordsBatch[],
  from: bigint,
): { records: InRecord[]; next: bigint } {
  const records: InRecord[] = [];
  let next = from;
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last + 1n > next) next = last + 1n;
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue; // a batch starts before the offset asked for, or another answer already handed these over
      const headers: Record<string, string> = {};
      for (const [k, v] of r.headers) if (k !== null) headers[k.toString()] = v === null ? '' : v.toString();
      records.push({
        topic,
        partition,
        offset: String(offset),
        key: r.key === null ? null : r.key.toString(),
        value: r.value,
        timestampMs: Number(batch.firstTimestamp + r.timestampDelta),
        headers,
      });
    }
  }
  return { records, next };
}

/**
 * Closes the library's consumer, however this one ends (stopped, crashed, never joined): leaving
 * the group when its coordinator is still a broker, else without a group operation (see
 * coordinatorKnown).
 */
async function release(c: ConsumerState): Promise<void> {
  if (c.consumer === undefined) return;
  const clean = await coordinatorKnown(c).catch(() => false);
  await (clean ? leave(c.consumer) : abandon(c.consumer));
}

/** Closes the consumer, leaving the group (a clean leave makes the rebalance immediate); errors are moot by then. */
const leave = (c: PkConsumer): Promise<void> => new Promise((resolve) => c.close(true, () => resolve()));

/**
 * Closes the consumer's connections without a group operation (see coordinatorKnown): for a
 * consumer given up, whose coordinator may be gone. The group drops the member after its
 * session timeout. The library's Consumer.close always leaves the group first, so this is its
 * base client's close.
 */
const abandon = (c: PkConsumer): Promise<void> =>
  new Promise((resolve) => {
    const base = Object.getPrototypeOf(Object.getPrototypeOf(c)) as { close(cb: () => void): void };
    base.close.call(c, () => resolve());
  });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
