// Topics outlive relays: a relay started on a cluster whose relay.mailbox an older relay made adds
// the settings the topic lacks and keeps the ones set on it, on a real broker (where AlterConfigs
// replaces all of a topic's own settings, so the adapter must send the kept ones again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adapterFor, kafkaForFile } from '../../../test/helpers/kafka.js';
import { startRelayProcess } from '../../../test/helpers/relays.js';

const cluster = kafkaForFile(1);

test(
  'integration: a relay on an older relay.mailbox adds segment.jitter.ms and keeps an operator’s setting',
  { timeout: 120_000 },
  async () => {
    const admin = await adapterFor(cluster(), 'older-relay').admin();
    try {
      await admin.createTopics([
        {
          name: 'relay.mailbox',
          partitions: 4,
          replicationFactor: 1,
          configs: { 'cleanup.policy': 'compact,delete', 'segment.ms': '60000', 'delete.retention.ms': '600000' },
        },
      ]);
      assert.equal((await admin.topicConfigs('relay.mailbox'))['segment.jitter.ms'], undefined, 'the older topic lacks it');

      const relay = await startRelayProcess(cluster().brokers, { gatewayId: 'r1', partitions: 4 });
      try {
        const configs = await admin.topicConfigs('relay.mailbox');
        assert.equal(configs['segment.jitter.ms'], '30000', 'added');
        assert.equal(configs['min.insync.replicas'], '1', 'added');
        assert.equal(configs['delete.retention.ms'], '600000', 'the operator’s value stays');
        assert.equal(configs['segment.ms'], '60000', 'kept through the alter');
        assert.equal(configs['cleanup.policy'], 'compact,delete', 'kept through the alter');
        // Only the topic's own settings: the broker's defaults are not reported as the topic's.
        assert.equal(configs['max.message.bytes'], undefined);
      } finally {
        await relay.stop();
      }
    } finally {
      await admin.close();
    }
  },
);
