/**
 * Partition leadership and ISR of the relay's mailbox topic, to time a broker fault's recovery.
 * kafkajs directly: the project's Kafka adapter (relay/kafka) has no partition metadata, and
 * only the bench needs it. A fresh client per look, since a killed broker's connections linger.
 */
import kafkajs from 'kafkajs';
import '../../../relay/kafka/src/kafkajs-request-queue.js'; // no 1 ms timer loop per connection

const { Kafka, logLevel } = kafkajs;

export interface PartitionState {
  readonly partition: number;
  /** Node id of the leader; -1 when there is none. */
  readonly leader: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
}

export interface TopicState {
  readonly brokers: readonly number[];
  readonly partitions: readonly PartitionState[];
}

/** Registered brokers and the partitions of `topic`, as the controller sees them now. */
export async function topicState(bootstrap: readonly string[], topic: string): Promise<TopicState> {
  const kafka = new Kafka({
    clientId: 'relaybench-faults',
    brokers: [...bootstrap],
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 1, initialRetryTime: 100 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const t = meta.topics.find((x) => x.name === topic);
    return {
      brokers: cluster.brokers.map((b) => b.nodeId),
      partitions: (t?.partitions ?? []).map((p) => ({
        partition: p.partitionId,
        leader: p.leader,
        isr: [...p.isr],
        replicas: [...p.replicas],
      })),
    };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Leaders moved off `node`: every partition has a leader, and none is `node`. */
export function leadersMovedOff(t: TopicState, node: number): boolean {
  return t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0 && p.leader !== node);
}

/** `node` is registered and back in the ISR of every partition it replicates. */
export function backInSync(t: TopicState, node: number): boolean {
  return (
    t.brokers.includes(node) && t.partitions.length > 0 && t.partitions.every((p) => !p.replicas.includes(node) || p.isr.includes(node))
  );
}
