import { errorFactory, type ErrorTable } from '../../protocol/src/relaybench-error.js';

/** RB_KCLIENT_*: the Kafka client adapter. */
export const kafkaClientErrors = {
  RB_KCLIENT_CONNECT: { message: 'Could not connect to the Kafka cluster.', retriable: true },
  RB_KCLIENT_PRODUCE: { message: 'A produce request was not acknowledged by the in-sync replicas.', retriable: true },
  RB_KCLIENT_ADMIN: { message: 'A Kafka admin request failed.', retriable: true },
  RB_KCLIENT_UNKNOWN: { message: 'No Kafka client of that name.', retriable: false },
  RB_KCLIENT_CONSUMER_CRASHED: { message: 'The Kafka consumer stopped after an error it could not recover from.', retriable: true },
} as const satisfies ErrorTable;

export const kafkaClientError = errorFactory(kafkaClientErrors);
