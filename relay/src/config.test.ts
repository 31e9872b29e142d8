import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromEnv, resolveConfig } from './config.js';
import { peerUrlOf } from './http.js';

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
  assert.throws(
    () => resolveConfig({ brokers: 'a:1', tokenSecret: secret, writeTimeoutMs: 0 }),
    /writeTimeoutMs must be a positive integer/,
  );
});

test('the write timeout: 30 s unless RELAY_WRITE_TIMEOUT_MS or the flag says otherwise', () => {
  assert.equal(resolveConfig({ brokers: 'a:1', tokenSecret: secret }).writeTimeoutMs, 30_000);
  const env = fromEnv({ KAFKA_BROKERS: 'a:1', RELAY_TOKEN_SECRET: secret, RELAY_WRITE_TIMEOUT_MS: '8000' });
  assert.equal(resolveConfig(env).writeTimeoutMs, 8000);
  assert.equal(resolveConfig(env, { writeTimeoutMs: 5000 }).writeTimeoutMs, 5000);
});

test('the produce linger: 1 ms unless RELAY_PRODUCE_LINGER_MS or the flag says otherwise; 0 turns it off; a bad one refused', () => {
  assert.equal(resolveConfig({ brokers: 'a:1', tokenSecret: secret }).produceLingerMs, 1);
  const env = fromEnv({ KAFKA_BROKERS: 'a:1', RELAY_TOKEN_SECRET: secret, RELAY_PRODUCE_LINGER_MS: '0' });
  assert.equal(resolveConfig(env).produceLingerMs, 0);
  assert.equal(resolveConfig(env, { produceLingerMs: 3 }).produceLingerMs, 3);
  for (const bad of [-1, 0.5, 5000])
    assert.throws(
      () => resolveConfig({ brokers: 'a:1', tokenSecret: secret, produceLingerMs: bad }),
      /RB_RELAY_BAD_CONFIG|produceLingerMs must be a whole number of ms from 0 to 1000/,
    );
});

test('the rate burst follows the rate limit unless set', () => {
  assert.equal(resolveConfig({ brokers: 'a:1', tokenSecret: secret, rateLimitPerSec: 300 }).rateBurst, 600);
});

test('peer URL: the own address by default; none on a wildcard host or with TLS unless set; off; a bad one refused', () => {
  const base = { brokers: 'a:1', tokenSecret: secret };
  assert.equal(peerUrlOf(resolveConfig(base), 8123), 'ws://127.0.0.1:8123/');
  assert.equal(peerUrlOf(resolveConfig({ ...base, host: '::1' }), 8123), 'ws://[::1]:8123/');
  assert.equal(peerUrlOf(resolveConfig({ ...base, host: '0.0.0.0' }), 8123), undefined);
  assert.equal(peerUrlOf(resolveConfig({ ...base, tlsCertFile: 'c.pem', tlsKeyFile: 'k.pem' }), 8123), undefined);
  assert.equal(
    peerUrlOf(resolveConfig(fromEnv({ RELAY_PEER_URL: 'ws://relay-1:8080/' }), base, { host: '0.0.0.0' }), 8123),
    'ws://relay-1:8080/',
  );
  assert.equal(peerUrlOf(resolveConfig({ ...base, peerUrl: 'off' }), 8123), undefined);
  for (const bad of ['http://relay-1/', 'ws://a|b/', 'relay-1:8080'])
    assert.throws(() => resolveConfig({ ...base, peerUrl: bad }), /RB_RELAY_BAD_CONFIG|must be a ws:\/\/ or wss:\/\/ URL, or off/);
});
