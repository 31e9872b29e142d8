import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adapterFor, kafkaForFile, waitFor } from '../../../test/helpers/kafka.js';
import type { InRecord } from '../../../relay/kafka/src/index.js';

const cluster = kafkaForFile(1);

test('integration: 1 broker — 10,000 keyed records with acks=all all arrive, in order per key', async () => {
  const kafka = adapterFor(cluster());
  const admin = await kafka.admin();
  await admin.createTopics([{ name: 'acceptance', partitions: 12, replicationFactor: 1 }]);
  assert.equal(await admin.partitionCount('acceptance'), 12);

  const producer = await kafka.producer();
  const keys = 100;
  const total = 10_000;
  for (let start = 0; start < total; start += 500) {
    const batch = Array.from({ length: 500 }, (_, i) => {
      const n = start + i;
      return { topic: 'acceptance', key: `user-${n % keys}`, value: Buffer.from(String(Math.floor(n / keys))) };
    });
    await producer.send(batch);
  }
  const offsets = await admin.topicOffsets('acceptance');
  assert.equal(
    offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0),
    total,
    'the log holds every record',
  );

  const seen = new Map<string, number[]>();
  let received = 0;
  const consumer = kafka.consumer({ groupId: 'acceptance-group', topics: ['acceptance'], fromBeginning: true });
  await consumer.start({
    onBatch: async (records: readonly InRecord[]) => {
      for (const r of records) {
        const list = seen.get(r.key ?? '') ?? [];
        list.push(Number(r.value?.toString()));
        seen.set(r.key ?? '', list);
        received++;
      }
    },
  });
  await waitFor('all records consumed', () => received >= total, 60_000);
  await consumer.stop();
  await producer.close();
  await admin.close();

  assert.equal(received, total, 'exactly every record, no duplicates');
  assert.equal(seen.size, keys);
  for (const [key, values] of seen) {
    assert.deepEqual(
      values,
      Array.from({ length: total / keys }, (_, i) => i),
      `order holds for ${key}`,
    );
  }
});
