/**
 * server.properties for combined broker+controller KRaft nodes on loopback, sized for a small
 * machine. One node: a single voter. Three nodes: a static 3-voter quorum, RF 3, min ISR 2.
 */
export interface NodePorts {
  readonly nodeId: number;
  readonly brokerPort: number;
  readonly controllerPort: number;
}

export function nodeProperties(node: NodePorts, all: readonly NodePorts[], logDir: string): string {
  const n = all.length;
  const voters = all.map((p) => `${p.nodeId}@127.0.0.1:${p.controllerPort}`).join(',');
  const rf = Math.min(3, n);
  const minIsr = Math.max(1, rf - 1);
  const lines: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': node.nodeId,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    'default.replication.factor': rf,
    'min.insync.replicas': minIsr,
    // Internal topics must fit the cluster, or consumer groups never find a coordinator (kafkajs#1752).
    'offsets.topic.replication.factor': rf,
    'offsets.topic.num.partitions': 12,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': minIsr,
    'transaction.state.log.num.partitions': 4,
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': minIsr,
    'group.initial.rebalance.delay.ms': 0,
    // Lets the relay choose short session timeouts, so a crashed router is replaced in seconds.
    'group.min.session.timeout.ms': 1000,
    'auto.create.topics.enable': 'false',
    'num.network.threads': n === 1 ? 2 : 1,
    'num.io.threads': 2,
    'num.replica.fetchers': 1,
    'background.threads': 2,
    'log.cleaner.threads': 1,
    'num.recovery.threads.per.data.dir': 1,
    // Faster detection of a dead broker in fault tests (defaults: 9 s / 2 s).
    'broker.session.timeout.ms': 6000,
    'broker.heartbeat.interval.ms': 1000,
    'replica.lag.time.max.ms': 10000,
  };
  return Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
    .concat('\n');
}

export const LOG4J2_PROPERTIES = `# Written by relaybench: broker logs go to the node's stdout, which the provider sends to a file.
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
# The log cleaner's INFO lines (one block per partition per pass) stay: bench/benchmarks/broker-events
# reads them. (A logger named kafka.log.LogCleaner was set to warn here; Kafka 4 logs the cleaner
# from org.apache.kafka.storage.internals.log, so it never applied.)
`;

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid format). Like
 * Kafka's `Uuid.randomUuid()`, never one starting with '-': the storage tool's argument parser
 * would take `-t -abc…` for an option.
 */
export function randomClusterId(random: (n: number) => Uint8Array): string {
  for (;;) {
    const id = Buffer.from(random(16)).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
