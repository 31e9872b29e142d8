// The gateway's registry of sessions on one relay, against an in-memory Kafka (no JVM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSE_CODES, FRAME_TYPES } from '../../protocol/src/index.js';
import { TestClient, connectUser, isDeliver } from '../../../test/helpers/client.js';
import { startInMemoryRelay, until } from '../../test/support/in-memory-relay.js';

test("a second connection of a user replaces the first (close 4011) and gets the user's mail", async () => {
  const { relay, url, stop } = await startInMemoryRelay();
  try {
    const first = await connectUser(url, 'bob');
    const second = await connectUser(url, 'bob');
    assert.equal(await first.closed, CLOSE_CODES.REPLACED.code);
    const a = await connectUser(url, 'alice');
    a.send({ t: FRAME_TYPES.send, msgId: 'm1', to: 'bob', header: new Uint8Array([1]), ciphertext: new Uint8Array([2]) });
    const d = await second.waitFor(isDeliver, 'deliver on the newer connection');
    assert.equal(d.msgId, 'm1');
    await until(() => relay.gateway.connectionCount === 2);
    a.close();
    second.close();
  } finally {
    await stop();
  }
});

test('at maxConnections a new connection is closed with 4010', async () => {
  const { url, stop } = await startInMemoryRelay({ maxConnections: 1 });
  try {
    const a = await connectUser(url, 'alice');
    const b = new TestClient(url);
    assert.equal(await b.closed, CLOSE_CODES.CONNECTION_LIMIT.code);
    a.close();
  } finally {
    await stop();
  }
});
