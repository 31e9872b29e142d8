/**
 * Which client the message path uses: kafkajs unless RELAYBENCH_KAFKA_CLIENT=platformatic
 * (docs/architecture.md, "Two adapters, side by side": measured, and why kafkajs stays the
 * default). Read from the environment so that every process of a run (relays, kafka-direct
 * workers) picks the same one without each command growing a flag.
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

/** The client RELAYBENCH_KAFKA_CLIENT names (default kafkajs); RB_KCLIENT_UNKNOWN for any other value. */
export function kafkaClientFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientName {
  const v = env.RELAYBENCH_KAFKA_CLIENT;
  if (v === undefined || v === '') return 'kafkajs';
  if (Object.hasOwn(KAFKA_CLIENTS, v)) return v as KafkaClientName;
  throw kafkaClientError(
    'RB_KCLIENT_UNKNOWN',
    `RELAYBENCH_KAFKA_CLIENT=${v}: use one of ${Object.keys(KAFKA_CLIENTS).join(', ')} (or leave it unset for kafkajs).`,
  );
}

/** The adapter of the client the environment names. */
export function createKafkaAdapter(options: AdapterOptions): KafkaAdapter {
  return KAFKA_CLIENTS[kafkaClientFromEnv()](options);
}
