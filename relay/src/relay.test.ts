// startRelay over an in-memory Kafka (no JVM): the HTTP endpoints, and the two ways a push
// reaches a user — the fast path on this process, or the holding gateway's relay.deliver topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_TYPES } from '../protocol/src/index.js';
import { connectUser, isDeliver, type TestClient } from '../../test/helpers/client.js';
import { startInMemoryRelay, until } from '../test/support/in-memory-relay.js';
import type { RelayHandle } from './relay.js';

const send = (c: TestClient, to: string, msgId: string) =>
  c.send({ t: FRAME_TYPES.send, msgId, to, header: new Uint8Array([1]), ciphertext: new Uint8Array([2]) });

async function delivered(relay: RelayHandle): Promise<Record<string, number>> {
  const { values } = await relay.metrics.delivered.get();
  return Object.fromEntries(values.map((v) => [`${v.labels.path}/${v.labels.kind}`, v.value]));
}

async function routerRecords(relay: RelayHandle): Promise<{ written: number; fetched: number }> {
  const { values } = await relay.metrics.routerRecords.get();
  const of = (source: string) => values.find((v) => v.labels.source === source)?.value ?? 0;
  return { written: of('written'), fetched: of('fetched') };
}

test('healthz and readyz answer once started; readyz turns 503 while draining', async () => {
  const { relay, url, stop } = await startInMemoryRelay();
  const http = url.replace(/^ws/, 'http');
  assert.equal((await fetch(`${http}healthz`)).status, 200);
  assert.equal((await fetch(`${http}readyz`)).status, 200);
  assert.equal((await fetch(`${http}nowhere`)).status, 404);
  const stopping = stop();
  assert.equal(relay.ready(), false);
  await stopping;
});

test('a recipient on this process is reached on the fast path', async () => {
  const { relay, url, stop } = await startInMemoryRelay();
  try {
    const a = await connectUser(url, 'alice');
    const b = await connectUser(url, 'bob');
    send(a, 'bob', 'm1');
    assert.equal((await b.waitFor(isDeliver, 'deliver')).msgId, 'm1');
    assert.deepEqual(await delivered(relay), { 'fast/message': 1 });
    a.close();
    b.close();
  } finally {
    await stop();
  }
});

test('a write to a partition this process owns reaches its recipient from the produce answer, with fetches held; the fetch then adds no copy', async () => {
  const { relay, url, kafka, stop } = await startInMemoryRelay();
  try {
    const a = await connectUser(url, 'alice');
    const b = await connectUser(url, 'bob');
    const release = kafka.holdFetches();
    send(a, 'bob', 'm1');
    assert.equal((await b.waitFor(isDeliver, 'deliver')).msgId, 'm1');
    release();
    send(a, 'bob', 'm2');
    await b.waitFor((f) => isDeliver(f) && f.msgId === 'm2', 'm2');
    await until(async () => (await routerRecords(relay)).fetched >= 1, 'the fetch of m1');
    assert.ok((await routerRecords(relay)).written >= 1, 'm1 was applied from its produce answer');
    assert.deepEqual(
      b.frames.filter(isDeliver).map((f) => f.msgId),
      ['m1', 'm2'],
    );
    a.close();
    b.close();
  } finally {
    await stop();
  }
});

test("a recipient on another process is reached through that gateway's relay.deliver topic", async () => {
  const one = await startInMemoryRelay({ gatewayId: 'gw-one' });
  const two = await startInMemoryRelay({ gatewayId: 'gw-two' }, one.kafka); // a standby router: gw-one's owns every partition
  try {
    const b = await connectUser(two.url, 'bob');
    const a = await connectUser(one.url, 'alice');
    send(a, 'bob', 'm1');
    assert.equal((await b.waitFor(isDeliver, 'deliver')).msgId, 'm1');
    assert.deepEqual(await delivered(one.relay), { 'topic/message': 1 });
    assert.ok(one.kafka.log('relay.deliver.gw-two').length >= 1);
    a.close();
    b.close();
  } finally {
    await two.stop();
    await one.stop();
  }
});
