import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryKafka } from '../kafka/test-support/in-memory-kafka.js';
import { resolveConfig } from './config.js';
import { configDrift, ensureTopics } from './topics.js';

const config = resolveConfig({ brokers: 'in-memory:9092', tokenSecret: 'x'.repeat(16), partitions: 4 });

test('configDrift: a wanted setting the topic lacks is missing; one it sets otherwise differs', () => {
  const drift = configDrift({ a: '1', b: '2', c: '3' }, { a: '1', b: '20', other: 'x' });
  assert.deepEqual(drift.missing, { c: '3' });
  assert.deepEqual(drift.differing, [{ name: 'b', wanted: '2', actual: '20' }]);
  assert.deepEqual(configDrift({ a: '1' }, { a: '1' }), { missing: {}, differing: [] });
});

test('ensureTopics: fresh topics get every setting and nothing is logged', async () => {
  const admin = await new InMemoryKafka().admin();
  const lines: string[] = [];
  await ensureTopics(admin, config, 'relay.deliver.g1', (l) => lines.push(l));
  assert.deepEqual(lines, []);
  const mailbox = await admin.topicConfigs('relay.mailbox');
  assert.equal(mailbox['segment.jitter.ms'], '30000');
  assert.equal(mailbox['cleanup.policy'], 'compact,delete');
  assert.equal(await admin.partitionCount('relay.mailbox'), 4);
});

test('ensureTopics: an older mailbox gets the settings it lacks and keeps the ones set otherwise, logged', async () => {
  const admin = await new InMemoryKafka().admin();
  // As a relay before segment.jitter.ms made it, with an operator's longer tombstone retention.
  await admin.createTopics([
    {
      name: 'relay.mailbox',
      partitions: 4,
      replicationFactor: 1,
      configs: { 'cleanup.policy': 'compact,delete', 'segment.ms': '60000', 'delete.retention.ms': '600000' },
    },
  ]);
  const lines: string[] = [];
  await ensureTopics(admin, config, 'relay.deliver.g1', (l) => lines.push(l));

  const mailbox = await admin.topicConfigs('relay.mailbox');
  assert.equal(mailbox['segment.jitter.ms'], '30000', 'added');
  assert.equal(mailbox['message.timestamp.type'], 'LogAppendTime', 'added');
  assert.equal(mailbox['delete.retention.ms'], '600000', 'kept as the topic had it');
  assert.equal(mailbox['segment.ms'], '60000');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.equal(lines[0], "relay.mailbox: delete.retention.ms is 600000 on the topic, not this relay's 300000; left as it is");
  assert.match(lines[1]!, /^relay\.mailbox: added the settings it lacked: .*segment\.jitter\.ms=30000/);
  assert.doesNotMatch(lines[1]!, /segment\.ms=|cleanup\.policy=|delete\.retention\.ms=/);

  lines.length = 0;
  await ensureTopics(admin, config, 'relay.deliver.g1', (l) => lines.push(l));
  assert.deepEqual(
    lines,
    ["relay.mailbox: delete.retention.ms is 600000 on the topic, not this relay's 300000; left as it is"],
    'a second start has nothing to add',
  );
});

test('ensureTopics: a relay that may not alter topic settings logs it and starts with the topics as they are', async () => {
  const kafka = new InMemoryKafka();
  const admin = await kafka.admin();
  await admin.createTopics([{ name: 'relay.mailbox', partitions: 4, replicationFactor: 1, configs: { 'segment.ms': '60000' } }]);
  const denied = {
    ...admin,
    setTopicConfigs: async () => {
      throw new Error('TOPIC_AUTHORIZATION_FAILED');
    },
  };
  const lines: string[] = [];
  await ensureTopics(denied, config, 'relay.deliver.g1', (l) => lines.push(l));
  assert.deepEqual(lines, [
    'relay.mailbox: could not check or add its settings (TOPIC_AUTHORIZATION_FAILED); going on with the topic as it is',
  ]);
  assert.deepEqual(await admin.topicConfigs('relay.mailbox'), { 'segment.ms': '60000' });
  assert.equal(await admin.partitionCount('relay.deliver.g1'), 1, 'the missing topic was still made');
});
