import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaForFile, waitFor } from '../../../test/helpers/kafka.js';
import { KAFKA_CLIENTS, type InRecord, type KafkaClientName } from '../../../relay/kafka/src/index.js';

const cluster = kafkaForFile(3);

// Each adapter in turn (the broker killed for the one before is started again first).
for (const client of Object.keys(KAFKA_CLIENTS) as KafkaClientName[])
  test(`integration: 3 brokers, RF=3, min ISR 2 — SIGKILL one broker mid-production, every acknowledged record is read back (${client})`, async () => {
    for (const n of cluster().nodes) if (n.pid() === undefined) await cluster().restart(n.nodeId);
    const topic = `durable-${client}`;
    const kafka = KAFKA_CLIENTS[client]({ brokers: cluster().brokers, clientId: topic });
    const admin = await kafka.admin();
    await admin.createTopics([{ name: topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    const producer = await kafka.producer();

    const acked = new Set<string>();
    let attempted = 0;
    let failedBatches = 0;
    let killed = false;
    const produceUntil = async (target: number) => {
      while (acked.size < target) {
        const batch = Array.from({ length: 50 }, () => `r${attempted++}`);
        try {
          await producer.send(batch.map((id) => ({ topic, key: id, value: Buffer.from(id) })));
          for (const id of batch) acked.add(id);
        } catch {
          failedBatches++; // not acknowledged: the record may or may not be there, and need not be
        }
      }
    };
    await produceUntil(2_000);
    // Kill a broker that leads at least one partition, so leadership really has to move.
    const victim = cluster().nodes[1]!;
    await cluster().kill(victim.nodeId, 'SIGKILL');
    killed = true;
    await produceUntil(6_000);
    assert.ok(killed);
    assert.equal(victim.pid(), undefined, 'the broker is dead');

    const seen = new Set<string>();
    const consumer = kafka.consumer({ groupId: `${topic}-check`, topics: [topic], fromBeginning: true });
    await consumer.start({
      onBatch: async (records: readonly InRecord[]) => {
        for (const r of records) seen.add(r.value?.toString() ?? '');
      },
    });
    await waitFor('every acknowledged record read back', () => [...acked].every((id) => seen.has(id)), 90_000, 200);
    await consumer.stop();
    await producer.close();
    await admin.close();
    const missing = [...acked].filter((id) => !seen.has(id));
    assert.deepEqual(missing, [], 'no acknowledged record is lost');
    process.stderr.write(
      `# ${client}: acknowledged ${acked.size} of ${attempted} attempted, ${failedBatches} batches failed during failover\n`,
    );
  });
