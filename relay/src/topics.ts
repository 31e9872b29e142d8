/**
 * The relay's topics, created at start if missing and given the settings they lack: several
 * relays start together and race to create the shared ones, and a broker may not serve fresh
 * metadata at once — both are retried here so startRelay reads as "ensure the topics" and
 * nothing more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, TopicSpec } from '../kafka/src/index.js';
import { backoffDelayMs } from '../protocol/src/index.js';
import type { RelayConfig } from './config.js';
import { relayError } from './errors.js';

/** Topic creation and metadata: 200 ms doubling to 2 s. */
const TOPICS_BACKOFF = { initialMs: 200, maxMs: 2000, random: Math.random };

/**
 * Creates relay.mailbox, relay.keys and this gateway's relay.deliver topic if missing, checks
 * relay.mailbox has the configured partition count (else RB_RELAY_BAD_CONFIG), and adds to
 * existing topics the settings they lack (alignTopicConfigs).
 */
export async function ensureTopics(admin: Admin, config: RelayConfig, deliverTopic: string, log: (line: string) => void): Promise<void> {
  const specs = topicSpecs(config, deliverTopic);
  await createTopics(admin, specs);
  await checkPartitions(admin, config);
  for (const spec of specs) await alignTopicConfigs(admin, spec, log);
}

async function checkPartitions(admin: Admin, config: RelayConfig): Promise<void> {
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

interface Differing {
  readonly name: string;
  readonly wanted: string;
  readonly actual: string;
}

/** What a topic's own settings lack of the wanted ones, and which it sets otherwise. */
export function configDrift(
  wanted: Readonly<Record<string, string>>,
  actual: Readonly<Record<string, string>>,
): { missing: Record<string, string>; differing: Differing[] } {
  const missing: Record<string, string> = {};
  const differing: Differing[] = [];
  for (const [name, value] of Object.entries(wanted)) {
    const set = actual[name];
    if (set === undefined) missing[name] = value;
    else if (set !== value) differing.push({ name, wanted: value, actual: set });
  }
  return { missing, differing };
}

/**
 * Topics outlive relays (a persistent cluster, an upgrade), and Kafka applies a topic's settings
 * only when it is created: a topic made by an older relay lacks the settings added since (such as
 * relay.mailbox's segment.jitter.ms). Those are added. A setting the topic has with another value
 * is left as it is and logged: an operator may have chosen it, and the relay cannot tell. Best
 * effort: a relay that may not read or alter topic settings (a cluster's ACLs) logs that and
 * starts with the topics as they are.
 */
async function alignTopicConfigs(admin: Admin, spec: TopicSpec, log: (line: string) => void): Promise<void> {
  try {
    const { missing, differing } = configDrift(spec.configs ?? {}, await admin.topicConfigs(spec.name));
    for (const d of differing) log(`${spec.name}: ${d.name} is ${d.actual} on the topic, not this relay's ${d.wanted}; left as it is`);
    const added = Object.entries(missing);
    if (added.length === 0) return;
    await admin.setTopicConfigs(spec.name, missing);
    log(`${spec.name}: added the settings it lacked: ${added.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  } catch (e) {
    log(
      `${spec.name}: could not check or add its settings (${e instanceof Error ? e.message : String(e)}); going on with the topic as it is`,
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
