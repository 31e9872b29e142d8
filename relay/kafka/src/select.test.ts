import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaClientFromEnv } from './select.js';

test('RELAYBENCH_KAFKA_CLIENT picks the client; unset or empty means platformatic', () => {
  assert.equal(kafkaClientFromEnv({}), 'platformatic');
  assert.equal(kafkaClientFromEnv({ RELAYBENCH_KAFKA_CLIENT: '' }), 'platformatic');
  assert.equal(kafkaClientFromEnv({ RELAYBENCH_KAFKA_CLIENT: 'kafkajs' }), 'kafkajs');
});

test('an unknown client is a clear error naming the ones there are', () => {
  assert.throws(
    () => kafkaClientFromEnv({ RELAYBENCH_KAFKA_CLIENT: 'librdkafka' }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'RB_KCLIENT_UNKNOWN');
      assert.match(e.message, /librdkafka.*kafkajs, platformatic/);
      return true;
    },
  );
  assert.throws(() => kafkaClientFromEnv({ RELAYBENCH_KAFKA_CLIENT: 'toString' }), /RB_KCLIENT_UNKNOWN|use one of/);
});
