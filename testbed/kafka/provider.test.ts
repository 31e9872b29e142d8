import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseProvider } from './provider.js';
import { parseBrokers } from './external.js';
import { nodeProperties, randomClusterId } from './local/properties.js';

const docker = (answers: boolean) => async () => answers;

test('--brokers wins over KAFKA_BROKERS and over Docker', async () => {
  const c = await chooseProvider({ brokers: 'a:1,b:2', env: { KAFKA_BROKERS: 'c:3' } }, docker(true));
  assert.deepEqual(c, { kind: 'external', brokers: ['a:1', 'b:2'], reason: '--brokers given' });
});

test('KAFKA_BROKERS is used when no flag is given', async () => {
  const c = await chooseProvider({ env: { KAFKA_BROKERS: 'kafka.example:9092' } }, docker(true));
  assert.equal(c.kind, 'external');
  assert.deepEqual(c.brokers, ['kafka.example:9092']);
});

test('a broken KAFKA_BROKERS is an error naming the variable, never silently ignored', async () => {
  await assert.rejects(chooseProvider({ env: { KAFKA_BROKERS: 'nohost' } }, docker(false)), /KAFKA_BROKERS="nohost".*no port/);
});

test('Docker is chosen when an engine answers and one broker is wanted; local otherwise', async () => {
  assert.equal((await chooseProvider({ env: {} }, docker(true))).kind, 'docker');
  assert.equal((await chooseProvider({ env: {} }, docker(false))).kind, 'local');
  assert.equal((await chooseProvider({ env: {}, count: 3 }, docker(true))).kind, 'local');
});

test('a forced provider is honoured', async () => {
  assert.equal((await chooseProvider({ env: {}, provider: 'local' }, docker(true))).kind, 'local');
  assert.equal((await chooseProvider({ env: {}, provider: 'docker' }, docker(false))).kind, 'docker');
  // Docker runs one broker: asking it for three is refused, not quietly served with one.
  await assert.rejects(chooseProvider({ env: {}, provider: 'docker', count: 3 }, docker(true)), /RB_KAFKA_BAD_OPTION|runs one broker/);
  await assert.rejects(chooseProvider({ env: {}, provider: 'external' }, docker(false)), /RB_KAFKA_BAD_OPTION|needs --brokers/);
});

test('parseBrokers accepts host:port lists and explains each kind of mistake', () => {
  assert.deepEqual(parseBrokers(' 127.0.0.1:9092 , kafka-1.local:19092'), ['127.0.0.1:9092', 'kafka-1.local:19092']);
  assert.deepEqual(parseBrokers('[::1]:9092'), ['[::1]:9092']);
  assert.throws(() => parseBrokers(''), /empty/);
  assert.throws(() => parseBrokers('a:1,,b:2'), /Entry 2 is empty/);
  assert.throws(() => parseBrokers('localhost'), /no port/);
  assert.throws(() => parseBrokers('localhost:http'), /not a port number/);
  assert.throws(() => parseBrokers('localhost:0'), /out of range/);
  assert.throws(() => parseBrokers('bad host:9092'), /not a host name/);
});

test('three-node properties form a 3-voter quorum with RF 3 and min ISR 2', () => {
  const nodes = [1, 2, 3].map((i) => ({ nodeId: i, brokerPort: 9000 + i, controllerPort: 9100 + i }));
  const p = nodeProperties(nodes[1]!, nodes, '/tmp/x');
  assert.match(p, /^controller\.quorum\.voters=1@127\.0\.0\.1:9101,2@127\.0\.0\.1:9102,3@127\.0\.0\.1:9103$/m);
  assert.match(p, /^node\.id=2$/m);
  assert.match(p, /^default\.replication\.factor=3$/m);
  assert.match(p, /^min\.insync\.replicas=2$/m);
  assert.match(p, /^offsets\.topic\.replication\.factor=3$/m);
  const single = nodeProperties(nodes[0]!, [nodes[0]!], '/tmp/y');
  assert.match(single, /^offsets\.topic\.replication\.factor=1$/m);
  assert.match(single, /^min\.insync\.replicas=1$/m);
});

test('cluster ids are 22-character base64url and never start with "-" (the storage tool would read an option)', () => {
  const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
  let i = 0;
  // The first draw encodes to "-…" (0xf8 → '-' in base64url); the generator must try again.
  const id = randomClusterId(() => draws[i++]!);
  assert.equal(Buffer.alloc(16, 0xf8).toString('base64url')[0], '-');
  assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  assert.equal(i, 2);
});
