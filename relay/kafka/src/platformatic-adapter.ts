/**
 * The second client behind types.ts: @platformatic/kafka (pure JS) for the producer and the group
 * consumer, the two on the message path. Admin stays kafkajs' (startup and routes only), so the
 * two adapters agree on topics and groups by construction.
 *
 * Why a fetch loop of our own instead of the library's MessagesStream: the router needs what
 * types.ts promises at a rebalance (onAssigned before the new generation's records, per-partition
 * batches, a stale flag, every assigned partition read from its start). The stream re-seeks on a
 * join but still hands over records it buffered for the old generation. Here every fetch belongs
 * to one generation and its records are dropped once the group has moved on.
 *
 * The package (≈ 0.5 s to import) is loaded only when this adapter is used.
 */
import type { Consumer as PkConsumer, Producer as PkProducer, RecordsBatch } from '@platformatic/kafka';
import { kafkaClientError } from './errors.js';
import { recordOffsets } from './offsets.js';
import { createKafkajsAdapter } from './kafkajs-adapter.js';
import { RIDE_OUT_MS, rideOut, type RideOutOptions } from './retry.js';
import { isRetriablePlatformaticError, OFFSET_OUT_OF_RANGE, requestCounter } from './platformatic-support.js';
import type {
  AdapterOptions,
  BatchContext,
  ConsumerHandlers,
  ConsumerOptions,
  GroupConsumer,
  InRecord,
  KafkaAdapter,
  OutRecord,
  Producer,
  ProducerOptions,
} from './types.js';

type Pk = typeof import('@platformatic/kafka');
let loaded: Promise<Pk> | undefined;
const loadPk = (): Promise<Pk> => (loaded ??= import('@platformatic/kafka'));

export function createPlatformaticAdapter(options: AdapterOptions): KafkaAdapter {
  const ride: RideOutOptions = {
    boundMs: options.rideOutMs ?? RIDE_OUT_MS,
    log: options.log ?? ((line) => process.stderr.write(`${options.clientId}: ${line}\n`)),
  };
  const base = {
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: options.connectionTimeoutMs ?? 3000,
    retries: options.retries ?? 5,
    retryDelay: 200,
  };
  const admin = createKafkajsAdapter({ ...options, onRequest: undefined });
  const stopCounting = options.onRequest === undefined ? () => {} : requestCounter(options.onRequest);
  let open = 0;
  const closed = () => {
    if (--open === 0) stopCounting();
  };
  return {
    brokers: options.brokers,
    producer: async (po?: ProducerOptions) => {
      open++;
      return createProducer(await loadPk(), base, ride, po, closed);
    },
    consumer: (co: ConsumerOptions) => {
      open++;
      return createConsumer(base, ride, co, closed);
    },
    admin: () => admin.admin(),
  };
}

type Base = { clientId: string; bootstrapBrokers: string[]; connectTimeout: number; retries: number; retryDelay: number };

// ---- producer --------------------------------------------------------------------------------

/**
 * The library counts an idempotent producer's sequence numbers only on success, so two requests
 * in flight to one partition would reuse a sequence (refused as OUT_OF_ORDER_SEQUENCE_NUMBER, or
 * worse, taken for a duplicate). So: one request in flight; sends that arrive meanwhile go
 * together in the next request, and each caller hears that request's outcome. After any failed
 * request the sequence state is unknown (part may have been written), so the producer is
 * replaced before the next request: a new producer id whose sequences start at 0 (a reused
 * sequence would be taken for a duplicate and dropped while reported as written). Failed sends
 * are reported at once, never acked.
 */
async function createProducer(pk: Pk, base: Base, ride: RideOutOptions, o: ProducerOptions = {}, closed: () => void): Promise<Producer> {
  const connect = async (): Promise<PkProducer> => {
    const p = new pk.Producer({
      ...base,
      idempotent: true,
      acks: pk.ProduceAcks.ALL,
      timeout: o.requestTimeoutMs ?? 30000,
      autocreateTopics: false,
    });
    p.on('error', () => {}); // failures reach the send that hit them
    try {
      await rideOut('producer connect', () => p.initIdempotentProducer({}), { ...ride, retriable: isRetriablePlatformaticError });
    } catch (e) {
      void p.close().catch(() => {});
      throw kafkaClientError('RB_KCLIENT_CONNECT', messageOf(e), e);
    }
    return p;
  };
  /** null after a failed request: the next request first gets a fresh producer id. */
  let producer: PkProducer | null = await connect();
  let waiting: { records: OutRecord[]; done: Deferred<readonly number[]> } | null = null;
  let inFlight: Promise<void> | null = null;

  const flush = async (): Promise<void> => {
    while (waiting !== null) {
      const { records, done } = waiting;
      waiting = null;
      try {
        if (producer === null) {
          producer = await connect();
          o.onProducerReplaced?.();
        }
        const result = await producer.send({ messages: records.map(toMessage) });
        const answers = (result.offsets ?? []).map((w) => ({ topic: w.topic, partition: w.partition, baseOffset: w.offset }));
        done.resolve(recordOffsets(records, answers));
      } catch (e) {
        // The senders hear it at once (they resend); the producer is not used again.
        done.reject(kafkaClientError('RB_KCLIENT_PRODUCE', messageOf(e), e));
        if (producer !== null) void producer.close().catch(() => {});
        producer = null;
      }
    }
    inFlight = null;
  };
  return {
    send(records: readonly OutRecord[]): Promise<readonly number[]> {
      if (records.length === 0) return Promise.resolve([]);
      waiting ??= { records: [], done: deferred() };
      // Senders that share a request each get the offsets of their own records.
      const from = waiting.records.length;
      waiting.records.push(...records);
      const result = waiting.done.promise.then((all) => all.slice(from, from + records.length));
      inFlight ??= flush();
      return result;
    },
    close: async () => {
      await inFlight;
      await producer?.close();
      closed();
    },
  };
}

function toMessage(r: OutRecord) {
  const headers = new Map<Buffer, Buffer>();
  for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(Buffer.from(k), Buffer.from(v));
  // A null value is written as Kafka's null (a tombstone), which the library does since 1.2x.
  return { topic: r.topic, partition: r.partition, key: Buffer.from(r.key), value: r.value as Buffer, headers };
}

// ---- consumer --------------------------------------------------------------------------------

/** One generation of the group, as this member saw it: what it owns and where it reads. */
interface Session {
  readonly kafkaGeneration: number;
  readonly partitions: ReadonlyMap<string, readonly number[]>;
  /** Next offset to fetch per "topic:partition"; absent until the log start is known. */
  readonly positions: Map<string, bigint>;
  /** Leaders with a fetch in flight (one per broker at a time). */
  readonly inFlight: Set<number>;
}

function createConsumer(base: Base, ride: RideOutOptions, o: ConsumerOptions, closed: () => void): GroupConsumer {
  let consumer: PkConsumer | undefined;
  let handlers: ConsumerHandlers | undefined;
  let session: Session | null = null;
  let running = false;
  let joins = 0;
  let failingSince = 0;
  const linger = o.fetchLingerMs ?? 0;
  const concurrency = Math.max(1, o.partitionsConsumedConcurrently ?? 1);

  const current = (s: Session): boolean =>
    running && session === s && consumer !== undefined && consumer.generationId === s.kafkaGeneration;

  const crash = (e: unknown): void => {
    if (!running) return;
    running = false;
    session = null;
    if (consumer !== undefined) void leave(consumer);
    handlers?.onCrash?.(kafkaClientError('RB_KCLIENT_CONSUMER_CRASHED', messageOf(e), e));
  };

  /** A fetch failed: ride it out (backoff, fresh metadata) up to the bound, then crash. */
  const failed = async (what: string, e: unknown): Promise<void> => {
    const now = Date.now();
    if (failingSince === 0) failingSince = now;
    if (!isRetriablePlatformaticError(e) || now - failingSince >= ride.boundMs) {
      crash(e);
      return;
    }
    ride.log(`kafka: consumer ${o.groupId}: ${what} failed (${messageOf(e)}); retrying`);
    await sleep(Math.min(2000, 100 + (now - failingSince) / 4));
    await consumer!.metadata({ topics: [...o.topics], forceUpdate: true }).catch(() => {});
  };

  const onJoin = (payload: { generationId: number; memberId: string; assignments: { topic: string; partitions: number[] }[] | null }) => {
    if (!running) return;
    const partitions = new Map((payload.assignments ?? []).map((a) => [a.topic, [...a.partitions].sort((x, y) => x - y)]));
    const s: Session = { kafkaGeneration: payload.generationId, partitions, positions: new Map(), inFlight: new Set() };
    session = s;
    failingSince = 0;
    handlers!.onAssigned?.({
      generationId: ++joins,
      memberId: payload.memberId,
      partitions: Object.fromEntries(partitions),
    });
    void seekToStart(s).then(() => pump(s));
  };

  /** Every assigned partition is read from its log start (the relay never commits). */
  const seekToStart = async (s: Session, only?: ReadonlySet<string>): Promise<void> => {
    const topics = [...s.partitions.keys()];
    if (topics.length === 0) return;
    for (;;) {
      if (!current(s)) return;
      try {
        const offsets = await consumer!.listOffsets({ topics, timestamp: -2n });
        for (const [topic, ps] of s.partitions)
          for (const p of ps)
            if (only === undefined || only.has(`${topic}:${p}`)) s.positions.set(`${topic}:${p}`, offsets.get(topic)?.[p] ?? 0n);
        failingSince = 0;
        return;
      } catch (e) {
        await failed('looking up partitions', e);
      }
    }
  };

  /** Starts a fetch from every leader of this session's partitions that has none in flight. */
  const pump = (s: Session): void => {
    if (!current(s) || s.positions.size === 0) return;
    void consumer!.metadata({ topics: [...s.partitions.keys()] }).then(
      (md) => {
        if (!current(s)) return;
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
        for (const [leader, topics] of byLeader) void fetchFrom(s, leader, topics, topicNames);
      },
      async (e: unknown) => {
        await failed('looking up partitions', e);
        pump(s);
      },
    );
  };

  const fetchFrom = async (s: Session, leader: number, topics: FetchTopic[], names: Map<string, string>): Promise<void> => {
    s.inFlight.add(leader);
    let response: FetchResponse | undefined;
    let error: unknown;
    try {
      const { maxWaitMs: maxWaitTime, minBytes } = o.fetchPolicy?.() ?? { maxWaitMs: o.maxWaitMs ?? 100, minBytes: 1 };
      response = await deadline(
        consumer!.fetch({ node: leader, topics, maxWaitTime, minBytes, maxBytes: 10_485_760 }),
        maxWaitTime + FETCH_STALL_MS,
        `fetch from broker ${leader}`,
      );
    } catch (e) {
      error = e;
      // A partition-level error fails the whole response; the other partitions' records are still good.
      response = (e as { response?: FetchResponse }).response;
    }
    try {
      if (response !== undefined && current(s)) await handOver(s, response, names);
      if (error !== undefined && current(s)) await recover(s, leader, error, response, names);
      else failingSince = 0;
    } catch (e) {
      crash(e); // a handler threw: the relay's bug, not Kafka's
      return;
    } finally {
      s.inFlight.delete(leader);
    }
    if (linger > 0 && current(s)) await sleep(linger);
    pump(s);
  };

  /** Hands each partition's records to onBatch, `concurrency` partitions at a time. */
  const handOver = async (s: Session, response: FetchResponse, names: Map<string, string>): Promise<void> => {
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
            isRunning: () => current(s),
          },
        });
      }
    }
    for (let i = 0; i < batches.length && current(s); i += concurrency)
      await Promise.all(batches.slice(i, i + concurrency).map((b) => handlers!.onBatch(b.records, b.ctx)));
  };

  /** Per-partition errors: a moved log start is re-read from its start; a moved leader needs fresh metadata. */
  const recover = async (
    s: Session,
    leader: number,
    e: unknown,
    response: FetchResponse | undefined,
    names: Map<string, string>,
  ): Promise<void> => {
    const outOfRange: { topic: string; partition: number }[] = [];
    for (const t of response?.responses ?? [])
      for (const p of t.partitions)
        if (p.errorCode === OFFSET_OUT_OF_RANGE) outOfRange.push({ topic: names.get(t.topicId) ?? '', partition: p.partitionIndex });
    if (outOfRange.length > 0) {
      // Only these start again from the log start; the others keep their positions.
      const moved = new Set(outOfRange.map(({ topic, partition }) => `${topic}:${partition}`));
      for (const key of moved) s.positions.delete(key);
      await seekToStart(s, moved);
      return;
    }
    await failed(`fetch from broker ${leader}`, e);
  };

  const join = () =>
    rideOut(`consumer ${o.groupId} join`, () => consumer!.joinGroup({}), { ...ride, retriable: isRetriablePlatformaticError });

  return {
    async start(h: ConsumerHandlers): Promise<void> {
      const pk = await loadPk();
      handlers = h;
      consumer = new pk.Consumer({
        ...base,
        groupId: o.groupId,
        sessionTimeout: o.sessionTimeoutMs ?? 10000,
        heartbeatInterval: o.heartbeatIntervalMs ?? 1000,
        rebalanceTimeout: o.sessionTimeoutMs ?? 10000,
        autocommit: false,
        minBytes: 1,
        maxWaitTime: o.maxWaitMs ?? 100,
      });
      // The library retries a failed rejoin a few times, then emits 'error'; a broker restart
      // outlasts that, so the join is ridden out here up to the same bound as everything else.
      consumer.on('error', (e: unknown) => {
        if (!running) return;
        ride.log(`kafka: consumer ${o.groupId} lost the group (${messageOf(e)}); rejoining`);
        void join().catch(crash);
      });
      consumer.on('consumer:group:join', onJoin);
      consumer.topics.trackAll(...o.topics);
      running = true;
      try {
        await join();
      } catch (e) {
        running = false;
        void leave(consumer);
        throw kafkaClientError('RB_KCLIENT_CONNECT', messageOf(e), e);
      }
    },
    async stop(): Promise<void> {
      const wasOpen = consumer !== undefined;
      running = false;
      session = null;
      if (consumer !== undefined) await leave(consumer);
      if (wasOpen) closed();
    },
  };
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

// ---- small helpers ---------------------------------------------------------------------------

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // a caller that stopped listening must not crash the process
  return { promise, resolve, reject };
}

/** Closes the consumer, leaving the group (a clean leave makes the rebalance immediate); errors are moot by then. */
const leave = (c: PkConsumer): Promise<void> => new Promise((resolve) => c.close(true, () => resolve()));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function messageOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return `${e.message} (${e.errors.map(messageOf).join('; ')})`;
  return e instanceof Error ? e.message : String(e);
}
