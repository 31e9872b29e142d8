/**
 * An in-memory KafkaAdapter for unit tests (no JVM): topics with partitions and offsets; the first
 * member of a consumer group is assigned every partition of its topics and reads them from the
 * start (later members of the group get none: standbys); a produce is acked once appended. Enough for the relay's fold and session logic; not a
 * model of rebalancing, replication or failures (integration tests use a real Kafka for those).
 *
 * Tests may hold produces (`holdProduces`) to see what the relay does before its write is
 * durable, and read every topic's log (`log`). Single-threaded like the code under test: every
 * call completes or queues; consumers get batches on later turns of the event loop.
 */
import type {
  Admin,
  Assignment,
  ClusterInfo,
  ConsumerHandlers,
  ConsumerOptions,
  GroupConsumer,
  InRecord,
  KafkaAdapter,
  OutRecord,
  PartitionOffsets,
  Producer,
  TopicSpec,
} from '../src/types.js';

interface Member {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly clientId: string;
  /** Topics → the partitions this member owns. */
  readonly assigned: Record<string, number[]>;
  handlers: ConsumerHandlers | null;
  /** topic/partition → next offset to hand over. */
  readonly positions: Map<string, number>;
  readonly busy: Set<string>;
}

export class InMemoryKafka implements KafkaAdapter {
  readonly brokers = ['in-memory:9092'] as const;
  readonly #topics = new Map<string, InRecord[][]>();
  /** Each topic's own settings, as Admin.topicConfigs reports them. */
  readonly #topicConfigs = new Map<string, Record<string, string>>();
  readonly #members = new Set<Member>();
  /** Every appended record, across topics and partitions, in append order. */
  readonly #journal: InRecord[] = [];
  #held: (() => void)[] | null = null;
  #fetchesHeld = false;
  readonly #heldWaiters: { count: number; resolve: () => void }[] = [];
  #generation = 0;

  constructor(readonly clientId = 'in-memory') {}

  /** Every record of `topic` in offset order, per partition (throws for an unknown topic). */
  log(topic: string, partition?: number): readonly InRecord[] {
    const parts = this.#partitions(topic);
    return partition === undefined ? parts.flat() : parts[partition]!;
  }

  /** Every record appended so far, in the order the adapter acknowledged them (all topics). */
  journal(): readonly InRecord[] {
    return this.#journal;
  }

  hasTopic(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** Produces wait until `release()`: the relay's records are not durable meanwhile. */
  holdProduces(): () => void {
    this.#held ??= [];
    return () => {
      const waiting = this.#held ?? [];
      this.#held = null;
      for (const go of waiting) go();
    };
  }

  /** Consumers are handed nothing until `release()`: what a slow fetch looks like. */
  holdFetches(): () => void {
    this.#fetchesHeld = true;
    return () => {
      this.#fetchesHeld = false;
      for (const m of this.#members) for (const [topic, ps] of Object.entries(m.assigned)) for (const p of ps) this.#wake(m, topic, p);
    };
  }

  /** Every member of `groupId` hears that its membership is in doubt (onRevoked), as when its heartbeats go unanswered. */
  revoke(groupId: string, reason: string): void {
    for (const m of this.#members) if (m.groupId === groupId) m.handlers?.onRevoked?.(reason);
  }

  /** Resolves once `count` produce requests are waiting on `holdProduces`. */
  producesHeld(count: number): Promise<void> {
    if ((this.#held?.length ?? 0) >= count) return Promise.resolve();
    return new Promise((resolve) => this.#heldWaiters.push({ count, resolve }));
  }

  async producer(): Promise<Producer> {
    return {
      send: async (records) => {
        const held = this.#held;
        if (held !== null) {
          const go = new Promise<void>((resolve) => held.push(resolve));
          for (const w of this.#heldWaiters.filter((x) => held.length >= x.count)) {
            this.#heldWaiters.splice(this.#heldWaiters.indexOf(w), 1);
            w.resolve();
          }
          await go;
        }
        return records.map((r) => this.#append(r));
      },
      close: async () => {},
    };
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    const member: Member = {
      groupId: options.groupId,
      topics: options.topics,
      clientId: this.clientId,
      assigned: {},
      handlers: null,
      positions: new Map(),
      busy: new Set(),
    };
    return {
      start: async (handlers) => {
        const standby = [...this.#members].some((m) => m.groupId === options.groupId);
        for (const t of options.topics) member.assigned[t] = standby ? [] : this.#partitions(t).map((_, i) => i);
        member.handlers = handlers;
        this.#members.add(member);
        const assignment: Assignment = {
          generationId: ++this.#generation,
          memberId: `${options.groupId}-member`,
          partitions: member.assigned,
        };
        handlers.onAssigned?.(assignment);
        for (const t of options.topics) for (const p of member.assigned[t]!) this.#wake(member, t, p);
      },
      stop: async () => {
        this.#members.delete(member);
        member.handlers = null;
      },
    };
  }

  async admin(): Promise<Admin> {
    return {
      createTopics: async (specs: readonly TopicSpec[]) => {
        for (const s of specs)
          if (!this.#topics.has(s.name)) {
            this.#topics.set(
              s.name,
              Array.from({ length: s.partitions }, () => []),
            );
            this.#topicConfigs.set(s.name, { ...s.configs });
          }
      },
      deleteTopics: async (names) => {
        for (const n of names) {
          this.#topics.delete(n);
          this.#topicConfigs.delete(n);
        }
      },
      listTopics: async () => [...this.#topics.keys()],
      describeCluster: async (): Promise<ClusterInfo> => ({
        clusterId: 'in-memory',
        controller: 0,
        brokers: [{ nodeId: 0, host: 'in-memory', port: 9092 }],
      }),
      topicOffsets: async (topic): Promise<PartitionOffsets[]> =>
        this.#partitions(topic).map((log, partition) => ({ partition, low: '0', high: String(log.length) })),
      partitionCount: async (topic) => this.#topics.get(topic)?.length ?? 0,
      topicConfigs: async (topic) => ({ ...this.#configsOf(topic) }),
      setTopicConfigs: async (topic, configs) => {
        this.#topicConfigs.set(topic, { ...this.#configsOf(topic), ...configs });
      },
      describeGroup: async (groupId) => {
        const members = [...this.#members].filter((m) => m.groupId === groupId);
        return {
          state: members.length > 0 ? 'Stable' : 'Empty',
          members: members.map((m) => ({ memberId: `${groupId}-member`, clientId: m.clientId, partitions: m.assigned })),
        };
      },
      close: async () => {},
    };
  }

  #configsOf(topic: string): Record<string, string> {
    this.#partitions(topic); // the same error for a missing topic
    return this.#topicConfigs.get(topic) ?? {};
  }

  #partitions(topic: string): InRecord[][] {
    const parts = this.#topics.get(topic);
    if (parts === undefined) throw new Error(`in-memory kafka: no topic ${topic}`);
    return parts;
  }

  /** Returns the record's offset. */
  #append(r: OutRecord): number {
    const partition = r.partition ?? 0;
    const log = this.#partitions(r.topic)[partition];
    if (log === undefined) throw new Error(`in-memory kafka: ${r.topic} has no partition ${partition}`);
    const record: InRecord = {
      topic: r.topic,
      partition,
      offset: String(log.length),
      key: r.key,
      value: r.value,
      timestampMs: Date.now(),
      headers: { ...r.headers },
    };
    log.push(record);
    this.#journal.push(record);
    for (const m of this.#members) if (m.assigned[r.topic]?.includes(partition) === true) this.#wake(m, r.topic, partition);
    return Number(record.offset);
  }

  /** Hands a member the records of one partition it has not seen, one batch at a time, in offset order. */
  #wake(m: Member, topic: string, partition: number): void {
    const key = `${topic}/${partition}`;
    if (m.busy.has(key)) return;
    m.busy.add(key);
    setImmediate(async () => {
      try {
        for (;;) {
          const log = this.#topics.get(topic)?.[partition];
          const from = m.positions.get(key) ?? 0;
          if (m.handlers === null || log === undefined || from >= log.length || this.#fetchesHeld) break;
          const batch = log.slice(from);
          m.positions.set(key, log.length);
          const ctx = {
            topic,
            partition,
            highWatermark: String(log.length),
            heartbeat: async () => {},
            isRunning: () => m.handlers !== null,
          };
          await m.handlers.onBatch(batch, ctx);
        }
      } catch (e) {
        m.handlers?.onCrash?.(e instanceof Error ? e : new Error(String(e)));
      } finally {
        m.busy.delete(key);
      }
    });
  }
}
