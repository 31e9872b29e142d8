import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalCluster } from '../../testbed/kafka/local/local-cluster.js';
import type { LocalKafkaCluster } from '../../testbed/kafka/cluster.js';
import { createKafkajsAdapter, type KafkaAdapter } from '../../relay/kafka/src/index.js';
import { isAlive } from '../../testbed/process/supervisor.js';

/**
 * A real local Kafka for one test file. The file owns it: call `stop()` in `after()`; the
 * supervisor also kills the JVMs if the test process dies.
 */
export async function startTestKafka(brokers: 1 | 3 = 1): Promise<LocalKafkaCluster> {
  return startLocalCluster({ brokers, log: (l) => process.stderr.write(`# ${l}\n`) });
}

/**
 * One real Kafka for the calling test file: started before its tests, stopped after them, and no
 * JVM of it may outlive the file. Returns the cluster (valid once the tests run).
 */
export function kafkaForFile(brokers: 1 | 3 = 1): () => LocalKafkaCluster {
  let cluster: LocalKafkaCluster | undefined;
  let pids: number[] = [];
  before(async () => {
    cluster = await startTestKafka(brokers);
    pids = cluster.nodes.map((n) => n.pid()).filter((p): p is number => p !== undefined);
    assert.equal(pids.length, brokers);
  });
  after(async () => {
    await cluster?.stop();
    assert.deepEqual(survivingJvms(pids), [], 'no Kafka JVM may outlive the test');
  });
  return () => cluster!;
}

export function adapterFor(cluster: { brokers: readonly string[] }, clientId = 'test'): KafkaAdapter {
  return createKafkajsAdapter({ brokers: cluster.brokers, clientId });
}

/** PIDs of this cluster's JVMs that are still running (should be none after stop()). */
export function survivingJvms(pids: readonly number[]): number[] {
  return pids.filter((p) => isAlive(p));
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}
