export * from './types.js';
export { createKafkajsAdapter } from './kafkajs-adapter.js';
export { kafkaClientErrors } from './errors.js';
export { isRetriableKafkaError, rideOut, RIDE_OUT_MS } from './retry.js';
