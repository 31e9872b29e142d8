/**
 * The relay's topics, created at start if missing: several relays start together and race to
 * create the shared ones, and a broker may not serve fresh metadata at once — both are retried
 * here so startRelay reads as "ensure the topics" and nothing more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, TopicSpec } from '../kafka/src/index.js';
import { backoffDelayMs } from '../protocol/src/index.js';
import type { RelayConfig } from './config.js';
import { relayError } from './errors.js';

/** Topic creation and metadata: 200 ms doubling to 2 s. */
const TOPICS_BACKOFF = { initialMs: 200, maxMs: 2000, random: Math.random };

/**
 * Creates relay.mailbox, relay.keys and this gateway's relay.deliver topic if missing, and checks
 * relay.mailbox has the configured partition count (else RB_RELAY_BAD_CONFIG).
 */
export async function ensureTopics(admin: Admin, config: RelayConfig, deliverTopic: string): Promise<void> {
  await createTopics(admin, topicSpecs(config, deliverTopic));
  // Right after creation a broker may not host the metadata yet ("does not host this
  // topic-partition"): ask again for a few seconds before calling it a failure.
  let actual = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      actual = await admin.partitionCount(config.topics.mailbox);
      if (actual > 0 || attempt >= 10) break;
    } catch (e) {
      if (attempt >= 10) throw e;
    }
    await sleep(backoffDelayMs(attempt, TOPICS_BACKOFF));
  }
  if (actual !== config.partitions) {
    throw relayError(
      'RB_RELAY_BAD_CONFIG',
      `${config.topics.mailbox} has ${actual} partitions but this relay is configured for ${config.partitions}.`,
    );
  }
}

function topicSpecs(config: RelayConfig, deliverTopic: string): TopicSpec[] {
  const rf = config.replicationFactor;
  const minIsr = String(Math.max(1, rf - 1));
  return [
    {
      name: config.topics.mailbox,
      partitions: config.partitions,
      replicationFactor: rf,
      configs: {
        'cleanup.policy': 'compact,delete',
        'retention.ms': String(30 * 24 * 3600 * 1000),
        // Segments roll in minutes so compaction can delete delivered mail soon (default: 7 days).
        'segment.ms': '60000',
        // Each segment rolls 30–60 s after its first record, drawn afresh per segment. Without
        // it all partitions roll within 0.2 s of each other, and the cleaner then compacts all of
        // them in one burst of 1–3 s: on a 2-core host those were a run's slowest seconds
        // (docs/measurements.md, afternoon of 2026-12-07).
        'segment.jitter.ms': '30000',
        'min.cleanable.dirty.ratio': '0.1',
        'delete.retention.ms': '300000',
        'min.insync.replicas': minIsr,
        // Broker time on the records (console tools, retention); the stamps use the relay's clocks (PROTOCOL §9).
        'message.timestamp.type': 'LogAppendTime',
      },
    },
    {
      name: config.topics.keys,
      partitions: config.partitions,
      replicationFactor: rf,
      configs: { 'cleanup.policy': 'compact', 'min.insync.replicas': minIsr },
    },
    { name: deliverTopic, partitions: 1, replicationFactor: rf, configs: { 'retention.ms': '3600000', 'min.insync.replicas': minIsr } },
  ];
}

async function createTopics(admin: Admin, specs: TopicSpec[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics(specs);
      return;
    } catch (e) {
      // Several relays starting together race to create the shared topics.
      if (attempt >= 5) throw e;
      await sleep(backoffDelayMs(attempt, TOPICS_BACKOFF));
    }
  }
}
