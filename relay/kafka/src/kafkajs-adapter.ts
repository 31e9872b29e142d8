import kafkajs from 'kafkajs';
import type { Admin as KjsAdmin, Consumer as KjsConsumer, Kafka as KjsKafka, IHeaders, Message, RecordMetadata } from 'kafkajs';
import { kafkaClientError } from './errors.js';
import { recordOffsets } from './offsets.js';
import './kafkajs-request-queue.js';
import { RIDE_OUT_MS, rideOut, type RideOutOptions } from './retry.js';
import type {
  AdapterOptions,
  Admin,
  ClusterInfo,
  ConsumerHandlers,
  ConsumerOptions,
  GroupConsumer,
  InRecord,
  KafkaAdapter,
  OutRecord,
  Producer,
  ProducerOptions,
  TopicSpec,
} from './types.js';

const { Kafka, logLevel: LogLevel, CompressionTypes } = kafkajs;

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const LEVELS = {
  nothing: LogLevel.NOTHING,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
} as const;

function levelFromEnv(): keyof typeof LEVELS {
  const v = process.env.RELAYBENCH_KAFKA_LOG;
  return v !== undefined && v in LEVELS ? (v as keyof typeof LEVELS) : 'nothing';
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return out;
}

export function createKafkajsAdapter(options: AdapterOptions): KafkaAdapter {
  const kafka: KjsKafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: LEVELS[options.logLevel ?? levelFromEnv()],
  });
  const ride: RideOutOptions = {
    boundMs: options.rideOutMs ?? RIDE_OUT_MS,
    log: options.log ?? ((line) => process.stderr.write(`${options.clientId}: ${line}\n`)),
  };

  return {
    brokers: options.brokers,
    producer: (producerOptions?: ProducerOptions) => createProducer(kafka, ride, producerOptions, options.onRequest),
    consumer: (consumerOptions: ConsumerOptions) => createConsumer(kafka, ride, consumerOptions, options.onRequest),
    admin: () => createAdmin(kafka, ride),
  };
}

/**
 * Broker answers after which an idempotent producer id is unusable. kafkajs keeps the dead id,
 * so every later send to that partition fails the same way (tulios/kafkajs#598; seen here after a
 * broker SIGKILL moved partition leaders). The cure, as in spring-kafka, is a new producer: a new
 * producer id whose sequences start at 0. The failed batch itself is still reported as failed
 * (never acked), so nothing is lost; its senders retry.
 */
const FENCING_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

/**
 * Partitions we wrote to that no broker answered for. kafkajs' sendBatch retries only brokers
 * without a response; when a partition's leader moves mid-request to a broker that already
 * answered for its own partitions, that partition is silently skipped and sendBatch still
 * resolves. Seen as acked messages missing from every replica after a broker SIGKILL. Records
 * without an explicit partition cannot be checked (the relay always sets one).
 */
export function unansweredPartitions(
  records: readonly OutRecord[],
  answered: readonly { topicName: string; partition: number }[],
): string[] {
  const got = new Set(answered.map((m) => `${m.topicName}/${m.partition}`));
  const missing = new Set<string>();
  for (const r of records) if (r.partition !== undefined && !got.has(`${r.topic}/${r.partition}`)) missing.add(`${r.topic}/${r.partition}`);
  return [...missing];
}

export function needsNewProducerId(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; typeof x === 'object' && x !== null && depth < 8; depth++) {
    const err = x as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof err.type === 'string' && FENCING_ERRORS.has(err.type)) return true;
    x = err.cause ?? err.originalError;
  }
  return false;
}

async function createProducer(
  kafka: KjsKafka,
  ride: RideOutOptions,
  options: ProducerOptions = {},
  onRequest?: (apiName: string) => void,
): Promise<Producer> {
  const connect = async () => {
    const p = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: false,
    });
    if (onRequest !== undefined) p.on(p.events.REQUEST, (e) => onRequest(e.payload.apiName));
    try {
      await rideOut('producer connect', () => p.connect(), ride);
    } catch (e) {
      throw kafkaClientError('RB_KCLIENT_CONNECT', String(e), e);
    }
    return p;
  };
  let producer = await connect();
  let replacing: Promise<void> | null = null;
  const replace = (dead: typeof producer): Promise<void> => {
    if (producer !== dead) return Promise.resolve(); // another failed send replaced it already
    replacing ??= connect()
      .then((fresh) => {
        producer = fresh;
        options.onProducerReplaced?.();
        dead.disconnect().catch(() => {});
      })
      .catch(() => {}) // the next failure tries again
      .finally(() => (replacing = null));
    return replacing;
  };
  return {
    async send(records: readonly OutRecord[]): Promise<readonly number[]> {
      if (records.length === 0) return [];
      const byTopic = new Map<string, Message[]>();
      for (const r of records) {
        let list = byTopic.get(r.topic);
        if (list === undefined) byTopic.set(r.topic, (list = []));
        const m: Message = { key: r.key, value: r.value };
        if (r.partition !== undefined) m.partition = r.partition;
        if (r.headers !== undefined) m.headers = { ...r.headers };
        list.push(m);
      }
      const p = producer;
      let answered: RecordMetadata[];
      try {
        answered = await p.sendBatch({
          acks: -1,
          timeout: options.requestTimeoutMs ?? 30000,
          compression: CompressionTypes.None,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (e) {
        if (needsNewProducerId(e)) await replace(p);
        throw kafkaClientError('RB_KCLIENT_PRODUCE', e instanceof Error ? e.message : String(e), e);
      }
      const unanswered = unansweredPartitions(records, answered);
      if (unanswered.length > 0)
        throw kafkaClientError(
          'RB_KCLIENT_PRODUCE',
          `kafkajs reported success without a broker's answer for ${unanswered.join(', ')}; the records there were never written, so the whole batch counts as failed.`,
        );
      return recordOffsets(
        records,
        answered.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset })),
      );
    },
    close: async () => {
      await replacing;
      await producer.disconnect();
    },
  };
}

function createConsumer(
  kafka: KjsKafka,
  ride: RideOutOptions,
  options: ConsumerOptions,
  onRequest?: (apiName: string) => void,
): GroupConsumer {
  const consumer: KjsConsumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 10000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
    maxWaitTimeInMs: options.maxWaitMs ?? 100,
    minBytes: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  if (onRequest !== undefined) consumer.on(consumer.events.REQUEST, (e) => onRequest(e.payload.apiName));
  let running = false;
  const linger = options.fetchLingerMs ?? 0;

  return {
    async start(handlers: ConsumerHandlers): Promise<void> {
      // kafkajs does not expose Kafka's generation id; a per-member join counter stands in for it.
      let joins = 0;
      /** When the current streak of restarted crashes began (0 = none since the last join). */
      let crashingSince = 0;
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        crashingSince = 0;
        handlers.onAssigned?.({
          generationId: ++joins,
          memberId: e.payload.memberId,
          partitions: e.payload.memberAssignment,
        });
      });
      // kafkajs restarts the consumer itself after a retriable error (payload.restart), e.g. "the
      // coordinator is loading" on a fresh cluster: that is logged, not fatal, unless it lasts
      // past the bound. A crash kafkajs does not restart from is reported at once.
      consumer.on(consumer.events.CRASH, (e) => {
        if (!running) return;
        const now = Date.now();
        if (crashingSince === 0) crashingSince = now;
        const reason = String(e.payload.error);
        if (e.payload.restart && now - crashingSince < ride.boundMs) {
          ride.log(`kafka: consumer ${options.groupId} hit a retriable error (${reason}); kafkajs restarts it`);
          return;
        }
        const bounded = e.payload.restart ? `still failing after ${Math.round((now - crashingSince) / 1000)} s of restarts: ` : '';
        running = false;
        void consumer.disconnect().catch(() => {});
        handlers.onCrash?.(kafkaClientError('RB_KCLIENT_CONSUMER_CRASHED', `${bounded}${reason}`, e.payload.error));
      });
      try {
        await rideOut(`consumer ${options.groupId} connect`, () => consumer.connect(), ride);
        for (const topic of options.topics)
          await rideOut(
            `consumer ${options.groupId} subscribe ${topic}`,
            () => consumer.subscribe({ topic, fromBeginning: options.fromBeginning }),
            ride,
          );
      } catch (e) {
        throw kafkaClientError('RB_KCLIENT_CONNECT', String(e), e);
      }
      running = true;
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
          const records: InRecord[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key === null ? null : m.key.toString(),
            value: m.value,
            timestampMs: Number(m.timestamp),
            headers: headersOf(m.headers),
          }));
          await handlers.onBatch(records, {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: batch.highWatermark,
            heartbeat,
            isRunning: () => isRunning() && !isStale(),
          });
          // kafkajs fetches again only once every batch of the last fetch is handled (its
          // fetcher awaits the worker queue), so a pause here is a fetch linger.
          if (linger > 0 && isRunning() && !isStale()) await new Promise((r) => setTimeout(r, linger));
        },
      });
    },
    async stop(): Promise<void> {
      running = false;
      await consumer.disconnect();
    },
  };
}

async function createAdmin(kafka: KjsKafka, ride: RideOutOptions): Promise<Admin> {
  const admin: KjsAdmin = kafka.admin();
  try {
    await rideOut('admin connect', () => admin.connect(), ride);
  } catch (e) {
    throw kafkaClientError('RB_KCLIENT_CONNECT', String(e), e);
  }
  const wrap = async <T>(what: string, f: () => Promise<T>, boundMs = ride.boundMs): Promise<T> => {
    try {
      return await rideOut(what, f, { ...ride, boundMs });
    } catch (e) {
      throw kafkaClientError('RB_KCLIENT_ADMIN', `${what}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  };
  return {
    createTopics: (specs: readonly TopicSpec[]) =>
      wrap('createTopics', async () => {
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((s) => !existing.has(s.name));
        if (missing.length === 0) return;
        await createIfMissing(admin, {
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: s.replicationFactor,
            configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
      }),
    // Best effort at shutdown (the relay's own deliver topic): not worth waiting for a gone cluster.
    deleteTopics: (names) => wrap('deleteTopics', () => admin.deleteTopics({ topics: [...names] }), 0),
    listTopics: () => wrap('listTopics', () => admin.listTopics()),
    describeCluster: () =>
      wrap('describeCluster', async (): Promise<ClusterInfo> => {
        const c = await admin.describeCluster();
        return {
          clusterId: c.clusterId,
          controller: c.controller,
          brokers: c.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
        };
      }),
    topicOffsets: (topic) =>
      wrap('topicOffsets', async () =>
        (await admin.fetchTopicOffsets(topic))
          .map((p) => ({ partition: p.partition, low: p.low, high: p.high }))
          .sort((a, b) => a.partition - b.partition),
      ),
    partitionCount: (topic) =>
      wrap('partitionCount', async () => {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        return md.topics[0]?.partitions.length ?? 0;
      }),
    describeGroup: (groupId) =>
      wrap('describeGroup', async () => {
        const { groups } = await admin.describeGroups([groupId]);
        const g = groups[0];
        if (g === undefined) return { state: 'Dead', members: [] };
        return {
          state: g.state,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            clientId: m.clientId,
            partitions: decodeAssignment(m.memberAssignment),
          })),
        };
      }),
    close: () => admin.disconnect(),
  };
}

function decodeAssignment(buf: Buffer): Record<string, number[]> {
  if (buf.length === 0) return {};
  const decoded = kafkajs.AssignerProtocol.MemberAssignment.decode(buf);
  return decoded === null ? {} : decoded.assignment;
}

/** Relays starting together race to create the shared topics: "already exists" is the goal reached. */
async function createIfMissing(admin: KjsAdmin, request: Parameters<KjsAdmin['createTopics']>[0]): Promise<void> {
  try {
    await admin.createTopics(request);
  } catch (e) {
    if (
      !/already exists/i.test(e instanceof Error ? e.message : String(e)) &&
      !/TOPIC_ALREADY_EXISTS/.test(String((e as { type?: unknown }).type))
    )
      throw e;
  }
}
