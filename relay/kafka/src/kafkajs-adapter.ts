import kafkajs from 'kafkajs';
import type { Admin as KjsAdmin, Consumer as KjsConsumer, Kafka as KjsKafka, IHeaders, Message } from 'kafkajs';
import { kafkaClientError } from './errors.js';
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

  return {
    brokers: options.brokers,
    producer: (producerOptions?: ProducerOptions) => createProducer(kafka, producerOptions),
    consumer: (consumerOptions: ConsumerOptions) => createConsumer(kafka, consumerOptions),
    admin: () => createAdmin(kafka),
  };
}

async function createProducer(kafka: KjsKafka, options: ProducerOptions = {}): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
  });
  try {
    await producer.connect();
  } catch (e) {
    throw kafkaClientError('RB_KCLIENT_CONNECT', String(e), e);
  }
  return {
    async send(records: readonly OutRecord[]): Promise<void> {
      if (records.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      for (const r of records) {
        let list = byTopic.get(r.topic);
        if (list === undefined) byTopic.set(r.topic, (list = []));
        const m: Message = { key: r.key, value: r.value };
        if (r.partition !== undefined) m.partition = r.partition;
        if (r.headers !== undefined) m.headers = { ...r.headers };
        list.push(m);
      }
      try {
        await producer.sendBatch({
          acks: -1,
          timeout: options.requestTimeoutMs ?? 30000,
          compression: CompressionTypes.None,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (e) {
        throw kafkaClientError('RB_KCLIENT_PRODUCE', e instanceof Error ? e.message : String(e), e);
      }
    },
    close: () => producer.disconnect(),
  };
}

function createConsumer(kafka: KjsKafka, options: ConsumerOptions): GroupConsumer {
  const consumer: KjsConsumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 10000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
    maxWaitTimeInMs: options.maxWaitMs ?? 100,
    minBytes: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  let running = false;

  return {
    async start(handlers: ConsumerHandlers): Promise<void> {
      // kafkajs does not expose Kafka's generation id; a per-member join counter stands in for it.
      let joins = 0;
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        handlers.onAssigned?.({
          generationId: ++joins,
          memberId: e.payload.memberId,
          partitions: e.payload.memberAssignment,
        });
      });
      consumer.on(consumer.events.CRASH, (e) => {
        if (running) handlers.onCrash?.(kafkaClientError('RB_KCLIENT_CONSUMER_CRASHED', String(e.payload.error), e.payload.error));
      });
      try {
        await consumer.connect();
        for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
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
        },
      });
    },
    async stop(): Promise<void> {
      running = false;
      await consumer.disconnect();
    },
  };
}

async function createAdmin(kafka: KjsKafka): Promise<Admin> {
  const admin: KjsAdmin = kafka.admin();
  try {
    await admin.connect();
  } catch (e) {
    throw kafkaClientError('RB_KCLIENT_CONNECT', String(e), e);
  }
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
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
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: s.replicationFactor,
            configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
      }),
    deleteTopics: (names) => wrap('deleteTopics', () => admin.deleteTopics({ topics: [...names] })),
    listTopics: () => wrap('listTopics', () => admin.listTopics()),
    describeCluster: () =>
      wrap('describeCluster', async (): Promise<ClusterInfo> => {
        const c = await admin.describeCluster();
        return { clusterId: c.clusterId, controller: c.controller, brokers: c.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })) };
      }),
    topicOffsets: (topic) =>
      wrap('topicOffsets', async () =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })).sort((a, b) => a.partition - b.partition),
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
