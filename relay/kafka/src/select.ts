/**
 * Which client the message path uses: @platformatic/kafka unless RELAYBENCH_KAFKA_CLIENT=kafkajs.
 * The default is the one that measured cheaper with the whole fault suite passing
 * (docs/measurements.md, "a second adapter behind relay/kafka"). The relay reads it from its
 * environment; `relaybench run --kafka-client` sets that for the relays it starts.
 */
import { kafkaClientError } from './errors.js';
import { createKafkajsAdapter } from './kafkajs-adapter.js';
import { createPlatformaticAdapter } from './platformatic-adapter.js';
import type { AdapterOptions, KafkaAdapter } from './types.js';

export const KAFKA_CLIENTS = {
  kafkajs: createKafkajsAdapter,
  platformatic: createPlatformaticAdapter,
} as const;

export type KafkaClientName = keyof typeof KAFKA_CLIENTS;

export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'platformatic';

/** The client RELAYBENCH_KAFKA_CLIENT names (default DEFAULT_KAFKA_CLIENT); RB_KCLIENT_UNKNOWN for any other value. */
export function kafkaClientFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientName {
  const v = env.RELAYBENCH_KAFKA_CLIENT;
  if (v === undefined || v === '') return DEFAULT_KAFKA_CLIENT;
  if (Object.hasOwn(KAFKA_CLIENTS, v)) return v as KafkaClientName;
  throw kafkaClientError(
    'RB_KCLIENT_UNKNOWN',
    `RELAYBENCH_KAFKA_CLIENT=${v}: use one of ${Object.keys(KAFKA_CLIENTS).join(', ')} (or leave it unset for ${DEFAULT_KAFKA_CLIENT}).`,
  );
}

/** The adapter of the client the environment names. */
export function createKafkaAdapter(options: AdapterOptions): KafkaAdapter {
  return KAFKA_CLIENTS[kafkaClientFromEnv()](options);
}
