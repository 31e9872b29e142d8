/**
 * The narrow Kafka surface the project uses. Two clients sit behind it: @platformatic/kafka
 * (platformatic-adapter.ts, the default) and kafkajs (kafkajs-adapter.ts); select.ts picks one,
 * and the relay's code depends on this interface alone. bench/benchmarks/kafka-clients.ts
 * compares the clients on the relay's pattern (docs/measurements.md, "a second adapter behind
 * relay/kafka": why platformatic is the default). Offsets are decimal strings (int64 does not
 * fit a JS number).
 */

export interface OutRecord {
  readonly topic: string;
  /** Explicit partition: the relay chooses it from the recipient id, so all writers agree. */
  readonly partition?: number;
  readonly key: string;
  /** null = tombstone (compaction deletes the key). */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface InRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly timestampMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** acks=all, idempotent. `send` resolves only once every record is durable (all in-sync replicas). */
export interface Producer {
  /**
   * Records may span topics and partitions; one request per broker. Rejects with RB_KCLIENT_PRODUCE.
   * Resolves with the offset each record was written at, in the order given (-1 where the record
   * named no partition): the relay's router applies its own process's writes from these.
   */
  send(records: readonly OutRecord[]): Promise<readonly number[]>;
  close(): Promise<void>;
}

export interface Assignment {
  /** Grows with each assignment this member receives (kafkajs hides Kafka's own generation id). */
  readonly generationId: number;
  readonly memberId: string;
  readonly partitions: Readonly<Record<string, readonly number[]>>;
}

export interface BatchContext {
  readonly topic: string;
  readonly partition: number;
  /** The partition's high watermark when the batch was fetched (lag = hw - last offset - 1). */
  readonly highWatermark: string;
  /** Keep the group membership alive during long work inside a batch. */
  heartbeat(): Promise<void>;
  /** False once a rebalance or stop has begun: stop working on this batch. */
  isRunning(): boolean;
}

export interface ConsumerHandlers {
  /**
   * Called synchronously when the member gets a new assignment (every rebalance), before
   * records of the new generation are handed over. Never commits: state is rebuilt from the log.
   */
  onAssigned?(assignment: Assignment): void;
  /** Records of one partition in offset order. Partitions are handled concurrently. */
  onBatch(records: readonly InRecord[], ctx: BatchContext): Promise<void>;
  /**
   * The member may have lost its partitions without a rebalance it took part in (its heartbeats
   * went unanswered; the coordinator may have given them to another member): act on nothing of
   * the last assignment until the next onAssigned. The consumer joins again by itself.
   */
  onRevoked?(reason: string): void;
  onCrash?(error: Error): void;
}

export interface ConsumerOptions {
  readonly groupId: string;
  /**
   * Members split the partitions (the routers' `relay` group): a member that may have lost its
   * membership gives its partitions up at once (onRevoked) and joins again, or two members would
   * act on one partition. A group of one (a gateway's own, a run's) keeps fetching meanwhile.
   */
  readonly sharedGroup?: boolean;
  readonly topics: readonly string[];
  /** Start at the log start when the group has no committed offset (the relay never commits). */
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly maxWaitMs?: number;
  readonly partitionsConsumedConcurrently?: number;
  /**
   * After records were handled, wait this long before the next fetch (default 0), so records
   * appended meanwhile come back in one fetch instead of one fetch (and one broker wake-up, one
   * consumer wake-up) each. Adds at most this much to a record that arrives during the wait;
   * one arriving while the consumer waits on the broker is returned at once. Idle: no effect.
   */
  readonly fetchLingerMs?: number;
  /**
   * Asked before each fetch: how long the broker may hold it and how many bytes it waits for.
   * Default `{ maxWaitMs, minBytes: 1 }` (answered as soon as anything is appended). The relay's
   * router asks lazily while its peers hand it their writes directly (relay/src/peer/). The
   * kafkajs adapter ignores it (its fetch settings are fixed when the consumer is made).
   */
  readonly fetchPolicy?: () => FetchPolicy;
}

export interface FetchPolicy {
  readonly maxWaitMs: number;
  readonly minBytes: number;
}

export interface GroupConsumer {
  start(handlers: ConsumerHandlers): Promise<void>;
  /** Leaves the group (a clean leave makes the rebalance immediate). */
  stop(): Promise<void>;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface ClusterInfo {
  readonly clusterId: string;
  readonly controller: number | null;
  readonly brokers: readonly { nodeId: number; host: string; port: number }[];
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

export interface GroupMember {
  readonly memberId: string;
  readonly clientId: string;
  readonly partitions: Readonly<Record<string, readonly number[]>>;
}

export interface Admin {
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  describeCluster(): Promise<ClusterInfo>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  partitionCount(topic: string): Promise<number>;
  /** The settings set on the topic itself (not those it inherits from the broker's defaults). */
  topicConfigs(topic: string): Promise<Record<string, string>>;
  /** Sets these settings on the topic; the others set on it stay as they are. */
  setTopicConfigs(topic: string, configs: Readonly<Record<string, string>>): Promise<void>;
  describeGroup(groupId: string): Promise<{ state: string; members: GroupMember[] }>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** Send-side batching is the caller's (each send is one request); this only bounds retries. */
  readonly requestTimeoutMs?: number;
  /** Called after the producer was replaced because its producer id became unusable (metrics, logs). */
  readonly onProducerReplaced?: () => void;
}

export interface KafkaAdapter {
  readonly brokers: readonly string[];
  producer(options?: ProducerOptions): Promise<Producer>;
  consumer(options: ConsumerOptions): GroupConsumer;
  admin(): Promise<Admin>;
}

export interface AdapterOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Bounds the first connection, so an unreachable broker fails fast with a clear error. */
  readonly connectionTimeoutMs?: number;
  readonly retries?: number;
  /**
   * How long retriable errors (a fresh cluster's passing states) are ridden out before an
   * operation fails (retry.ts; default 60 s). 0 = fail at the first error (readiness probes).
   */
  readonly rideOutMs?: number;
  /** Where the retries are logged, with their reason (default: stderr). */
  readonly log?: (line: string) => void;
  /** kafkajs' own logging; off unless RELAYBENCH_KAFKA_LOG=debug|info|warn|error. */
  readonly logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** Called once per request any client of this adapter sends to a broker, with Kafka's API name (Produce, Fetch, Heartbeat, …). Synchronous; keep it cheap. */
  readonly onRequest?: (apiName: string) => void;
}
