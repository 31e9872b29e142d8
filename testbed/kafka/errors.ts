import { errorFactory, type ErrorTable } from '../../relay/protocol/src/relaybench-error.js';

/** RB_KAFKA_*: provisioning a Kafka cluster (local jars, Docker, or an existing one). */
export const kafkaErrors = {
  RB_KAFKA_BAD_BROKERS: { message: 'The broker list is not valid (expected host:port[,host:port...]).', retriable: false },
  RB_KAFKA_UNREACHABLE: { message: 'No Kafka broker answered at the given address within the time limit.', retriable: true },
  RB_KAFKA_JAVA_MISSING: {
    message: 'Java 17 or newer is needed to run Kafka locally: install it (apt-get install openjdk-17-jre-headless) or pass --brokers.',
    retriable: false,
  },
  RB_KAFKA_MAVEN_MISSING: {
    message: 'Maven is needed to fetch the Apache Kafka jars: install it (apt-get install maven) or pass --brokers.',
    retriable: false,
  },
  RB_KAFKA_JARS_FAILED: { message: 'Maven could not resolve the Apache Kafka jars from Maven Central.', retriable: true },
  RB_KAFKA_START_FAILED: { message: 'A local Kafka broker did not start.', retriable: true },
  RB_KAFKA_NOT_READY: { message: 'The Kafka cluster did not report all its brokers in time.', retriable: true },
  RB_KAFKA_DOCKER_FAILED: { message: 'Starting Kafka in Docker failed.', retriable: true },
  RB_KAFKA_BAD_OPTION: { message: 'A Kafka provisioning option is not valid.', retriable: false },
} as const satisfies ErrorTable;

export const kafkaError = errorFactory(kafkaErrors);
