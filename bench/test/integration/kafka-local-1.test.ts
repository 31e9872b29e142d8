import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { archiveMaps, classArchivePath } from '../../../testbed/kafka/local/class-archive.js';
import { javaBinary } from '../../../testbed/kafka/local/jars.js';
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

// `make test` runs `relaybench kafka fetch` first, which makes the archive; a developer's bare
// `node --test` may not have, and then only CI insists.
test('integration: the broker runs on the class archive `kafka fetch` made, and the JVM maps it', (t) => {
  const archive = classArchivePath(javaBinary());
  if (!existsSync(archive)) {
    assert.notEqual(process.env.CI, 'true', `CI ran \`kafka fetch\`, so ${archive} must exist`);
    return t.skip(`no class archive yet (${archive}): run relaybench kafka fetch`);
  }
  const pid = cluster().nodes[0]!.pid();
  assert.ok(pid !== undefined);
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(args.includes(`-XX:SharedArchiveFile=${archive}`), `broker flags: ${args.filter((a) => a.startsWith('-X')).join(' ')}`);
  assert.ok(archiveMaps(javaBinary(), archive), 'java -Xshare:on maps the archive');
});
