/**
 * Reading and writing a run's two topics through the project's Kafka adapter. kafkajs only
 * consumes through groups, so every reader uses a fresh group id, starts at the log start and
 * never commits: each reader sees the whole (small, per-run) log, in order.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, GroupConsumer, InRecord, KafkaAdapter, Producer } from '../../../relay/kafka/src/index.js';
import { controlTopic, encodeMessage, resultsTopic, RUN_TOPIC_RETENTION_MS, type ControlMessage, type ResultsMessage } from './protocol.js';

/** Creates the run's topics when missing (one partition each; replicated like the cluster allows, up to 3). */
// Retriable Kafka errors (a fresh cluster's passing states) are ridden out by the adapter (relay/kafka/src/retry.ts).
export async function ensureRunTopics(admin: Admin, runId: string): Promise<void> {
  const brokers = (await admin.describeCluster()).brokers.length;
  const replicationFactor = Math.max(1, Math.min(3, brokers));
  const configs = { 'cleanup.policy': 'delete', 'retention.ms': String(RUN_TOPIC_RETENTION_MS) };
  const specs = [controlTopic(runId), resultsTopic(runId)].map((name) => ({ name, partitions: 1, replicationFactor, configs }));
  try {
    await admin.createTopics(specs);
  } catch (e) {
    // Several joiners may create them at once; losing that race is fine.
    const existing = new Set(await admin.listTopics());
    if (!specs.every((s) => existing.has(s.name))) throw e;
  }
}

export async function runTopicsExist(admin: Admin, runId: string): Promise<boolean> {
  const existing = new Set(await admin.listTopics());
  return existing.has(controlTopic(runId)) && existing.has(resultsTopic(runId));
}

/** The offset the next record of a one-partition topic will get. */
export async function endOffset(admin: Admin, topic: string): Promise<bigint> {
  const p = (await admin.topicOffsets(topic))[0];
  return p === undefined ? 0n : BigInt(p.high);
}

export interface RunLogReader {
  /** Resolves once every record that existed when the reader opened has been handed over. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Hands every record of `topics` (from the start) to `onRecord`, synchronously and in offset
 * order per topic. `onCrash` hears a consumer that gave up.
 */
export async function readRunLog(
  adapter: KafkaAdapter,
  admin: Admin,
  options: {
    readonly topics: readonly string[];
    readonly groupPrefix: string;
    readonly onRecord: (r: InRecord) => void;
    readonly onCrash?: (e: Error) => void;
  },
): Promise<RunLogReader> {
  const ends = new Map<string, bigint>();
  for (const t of options.topics) ends.set(t, await endOffset(admin, t));
  const pending = new Set([...ends].filter(([, end]) => end > 0n).map(([t]) => t));
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (pending.size === 0) markCaughtUp();
  const consumer: GroupConsumer = adapter.consumer({
    groupId: `${options.groupPrefix}-${randomBytes(6).toString('hex')}`,
    topics: options.topics,
    fromBeginning: true,
    maxWaitMs: 100,
  });
  // A consumer that kafkajs restarted after a retriable error reads its topics from the start
  // again (nothing is committed): each record is handed over once.
  const next = new Map<string, bigint>();
  await consumer.start({
    onBatch: async (records) => {
      for (const r of records) {
        const offset = BigInt(r.offset);
        if (offset < (next.get(r.topic) ?? 0n)) continue;
        next.set(r.topic, offset + 1n);
        options.onRecord(r);
        if (pending.has(r.topic) && BigInt(r.offset) + 1n >= ends.get(r.topic)!) {
          pending.delete(r.topic);
          if (pending.size === 0) markCaughtUp();
        }
      }
    },
    onCrash: (e) => options.onCrash?.(e),
  });
  return { caughtUp, stop: () => consumer.stop() };
}

/**
 * Sends one message per produce request, in call order (a result chunk must be a batch of its
 * own to stay under the broker's per-batch limit).
 */
export class RunLogWriter {
  readonly #producer: Producer;
  readonly #runId: string;
  #tail: Promise<void> = Promise.resolve();

  constructor(producer: Producer, runId: string) {
    this.#producer = producer;
    this.#runId = runId;
  }

  control(m: ControlMessage): Promise<void> {
    return this.#send(controlTopic(this.#runId), m);
  }

  results(m: ResultsMessage): Promise<void> {
    return this.#send(resultsTopic(this.#runId), m);
  }

  #send(topic: string, m: ControlMessage | ResultsMessage): Promise<void> {
    const value = encodeMessage(this.#runId, m);
    const sent = this.#tail.then(async () => {
      await this.#producer.send([{ topic, partition: 0, key: this.#runId, value }]);
    });
    this.#tail = sent.catch(() => {});
    return sent;
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#producer.close();
  }
}
