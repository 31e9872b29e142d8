/** A Kafka cluster the harness can use, whoever provides it. `stop()` is idempotent. */
export interface KafkaCluster {
  readonly provider: 'external' | 'docker' | 'local';
  /** host:port list for clients. */
  readonly brokers: readonly string[];
  /** Where broker logs go (local provider), for error messages and reports. */
  readonly logDir?: string;
  readonly kafkaVersion?: string;
  stop(): Promise<void>;
}

/** A local cluster also lets fault tests kill and restart one broker. */
export interface LocalKafkaCluster extends KafkaCluster {
  readonly provider: 'local';
  readonly nodes: readonly LocalNode[];
  kill(nodeId: number, signal?: NodeJS.Signals): Promise<void>;
  restart(nodeId: number): Promise<void>;
}

export interface LocalNode {
  readonly nodeId: number;
  readonly broker: string;
  pid(): number | undefined;
}
