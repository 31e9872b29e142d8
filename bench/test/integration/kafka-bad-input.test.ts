import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { freePort } from '../../../testbed/process/ports.js';
import { provisionKafka } from '../../../testbed/kafka/provider.js';
import { RelaybenchError } from '../../../relay/protocol/src/relaybench-error.js';

const cli = 'dist/bench/src/cli/main.js';

test('integration: an unreachable --brokers address fails fast with RB_KAFKA_UNREACHABLE', async () => {
  const port = await freePort(); // nothing listens there
  await assert.rejects(provisionKafka({ brokers: `127.0.0.1:${port}` }), (e: unknown) => {
    assert.ok(e instanceof RelaybenchError);
    assert.equal(e.code, 'RB_KAFKA_UNREACHABLE');
    assert.match(e.message, new RegExp(`127.0.0.1:${port}`));
    return true;
  });
});

test('integration: `relaybench kafka info` against an unreachable broker exits 3 with one clear line', async () => {
  const port = await freePort();
  const r = spawnSync(process.execPath, [cli, 'kafka', 'info', '--brokers', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^error RB_KAFKA_UNREACHABLE: No Kafka broker answered/m);
});

test('integration: a broken KAFKA_BROKERS value is rejected with the reason, exit 2', () => {
  const r = spawnSync(process.execPath, [cli, 'kafka', 'info'], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_BROKERS: 'localhost:99999' },
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /RB_KAFKA_BAD_BROKERS/);
  assert.match(r.stderr, /out of range/);
});
