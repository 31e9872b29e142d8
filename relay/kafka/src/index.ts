export * from './types.js';
export { createKafkajsAdapter } from './kafkajs-adapter.js';
export { kafkaClientErrors } from './errors.js';
