import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromEnv, resolveConfig } from './config.js';

const secret = 'x'.repeat(16);

test('layers: defaults < environment < flags', () => {
  const env = fromEnv({ KAFKA_BROKERS: 'a:1', RELAY_PORT: '9000', RELAY_PARTITIONS: '6', RELAY_TOKEN_SECRET: secret });
  const c = resolveConfig(env, { port: 9100 });
  assert.equal(c.port, 9100, 'flag wins over env');
  assert.equal(c.partitions, 6, 'env wins over default');
  assert.equal(c.maxPayloadBytes, 64 * 1024, 'default');
  assert.deepEqual(c.brokers, ['a:1']);
  assert.ok(Object.isFrozen(c));
});

test('bad configuration is refused with a reason', () => {
  assert.throws(() => resolveConfig({ tokenSecret: secret }), /RB_RELAY_BAD_CONFIG|No Kafka brokers/);
  assert.throws(() => resolveConfig({ brokers: 'a:1' }), /token secret/i);
  assert.throws(() => resolveConfig({ brokers: 'a:1', tokenSecret: secret, partitions: 0 }), /partitions must be a positive integer/);
  assert.throws(() => fromEnv({ RELAY_PORT: 'eighty' }), /RELAY_PORT="eighty" is not a number/);
  assert.throws(() => fromEnv({ RELAY_TEST_HOOKS: '{' }), /RELAY_TEST_HOOKS/);
});

test('the rate burst follows the rate limit unless set', () => {
  assert.equal(resolveConfig({ brokers: 'a:1', tokenSecret: secret, rateLimitPerSec: 300 }).rateBurst, 600);
});
