export * from './types.js';
export { createKafkajsAdapter } from './kafkajs-adapter.js';
export { createPlatformaticAdapter } from './platformatic-adapter.js';
export { createKafkaAdapter, DEFAULT_KAFKA_CLIENT, kafkaClientFromEnv, KAFKA_CLIENTS, type KafkaClientName } from './select.js';
export { kafkaClientErrors } from './errors.js';
export { isRetriableKafkaError, rideOut, RIDE_OUT_MS } from './retry.js';
