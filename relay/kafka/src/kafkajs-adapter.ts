import kafkajs from 'kafkajs';
import type { Admin as KjsAdmin, Kafka as KjsKafka, Message, Producer as KjsProducer, RecordMetadata } from 'kafkajs';
import { kafkaClientError } from './errors.js';
import { recordOffsets } from './offsets.js';
import './kafkajs-request-queue.js';
import { createConsumer } from './kafkajs-consumer.js';
import { RIDE_OUT_MS, rideOut, type RideOutOptions } from './retry.js';
import type {
  AdapterOptions,
  Admin,
  ClusterInfo,
  ConsumerOptions,
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
  let producer = await connectProducer(kafka, ride, onRequest);
  let replacing: Promise<void> | null = null;
  const replace = (dead: typeof producer): Promise<void> => {
    if (producer !== dead) return Promise.resolve(); // another failed send replaced it already
    replacing ??= connectProducer(kafka, ride, onRequest)
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
      const byTopic = messagesByTopic(records);
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
      return answeredOffsets(records, answered);
    },
    close: async () => {
      await replacing;
      await producer.disconnect();
    },
  };
}

async function connectProducer(kafka: KjsKafka, ride: RideOutOptions, onRequest?: (apiName: string) => void): Promise<KjsProducer> {
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
}

function messagesByTopic(records: readonly OutRecord[]): Map<string, Message[]> {
  const byTopic = new Map<string, Message[]>();
  for (const r of records) {
    let list = byTopic.get(r.topic);
    if (list === undefined) byTopic.set(r.topic, (list = []));
    const m: Message = { key: r.key, value: r.value };
    if (r.partition !== undefined) m.partition = r.partition;
    if (r.headers !== undefined) m.headers = { ...r.headers };
    list.push(m);
  }
  return byTopic;
}

/** The offset each record was written at; a partition no broker answered for fails the whole batch (unansweredPartitions). */
function answeredOffsets(records: readonly OutRecord[], answered: RecordMetadata[]): number[] {
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
    topicConfigs: (topic) => wrap('topicConfigs', () => topicOverrides(admin, topic)),
    // AlterConfigs (kafkajs has no incremental form) replaces all of a topic's own settings, so
    // the ones already set are sent again beside the new ones.
    setTopicConfigs: (topic, configs) =>
      wrap('setTopicConfigs', async () => {
        const merged = { ...(await topicOverrides(admin, topic)), ...configs };
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: topic,
              configEntries: Object.entries(merged).map(([name, value]) => ({ name, value })),
            },
          ],
        });
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

async function topicOverrides(admin: KjsAdmin, topic: string): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  });
  const own = (resources[0]?.configEntries ?? []).filter((e) => e.configSource === kafkajs.ConfigSource.TOPIC_CONFIG);
  return Object.fromEntries(own.map((e) => [e.configName, e.configValue]));
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
