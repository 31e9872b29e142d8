// One connection's protocol against an in-memory Kafka (no JVM): what the session answers, and
// in which order it writes to Kafka and to the socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FRAME_TYPES,
  PROTOCOL_VERSION,
  RECEIPT_KIND,
  mailboxKey,
  presenceKey,
  receiptKey,
  type ReceiptKind,
} from '../../protocol/src/index.js';
import { TestClient, connectUser, isAck, isDeliver, isError, isReceipt, tokenFor } from '../../../test/helpers/client.js';
import { startInMemoryRelay, until } from '../../test/support/in-memory-relay.js';
import { decodeMailboxValue } from '../router/records.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const send = (c: TestClient, to: string, msgId: string) =>
  c.send({ t: FRAME_TYPES.send, msgId, to, header: bytes('h'), ciphertext: bytes(msgId) });

test('a bad token is refused, and a valid hello is welcomed only once its presence record is durable', async () => {
  const { kafka, url, stop } = await startInMemoryRelay();
  try {
    const bad = new TestClient(url);
    await bad.opened;
    bad.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor('alice', 'another-secret-0123456789'), epoch: 1 });
    await bad.closed;
    assert.ok(bad.frames.some(isError), 'an error frame before the close');
    assert.ok(!bad.frames.some((f) => f.t === FRAME_TYPES.welcome));

    const release = kafka.holdProduces();
    const c = new TestClient(url);
    await c.opened;
    c.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor('alice'), epoch: 2 });
    await kafka.producesHeld(1);
    assert.ok(!c.frames.some((f) => f.t === FRAME_TYPES.welcome), 'no welcome while the presence record is not durable');
    assert.ok(!kafka.journal().some((r) => r.key === presenceKey('alice')));
    release();
    const welcome = await c.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome');
    assert.equal(welcome.t === FRAME_TYPES.welcome && welcome.userId, 'alice');
    assert.ok(kafka.journal().some((r) => r.key === presenceKey('alice') && r.value !== null));
    c.close();
  } finally {
    await stop();
  }
});

test('a connection closed before its welcome is not recorded online by a later request (it would supersede the next one)', async () => {
  const { kafka, relay, url, stop } = await startInMemoryRelay();
  try {
    const release = kafka.holdProduces();
    const bob = new TestClient(url);
    await bob.opened;
    bob.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor('bob'), epoch: 1 });
    await kafka.producesHeld(1); // bob's presence is in flight: alice's queues behind it
    const alice = new TestClient(url);
    await alice.opened;
    alice.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor('alice'), epoch: 1 });
    const hellosRead = async () => (await relay.metrics.framesIn.get()).values.find((v) => v.labels.type === 'hello')?.value ?? 0;
    const closes = async () => (await relay.metrics.closes.get()).values.reduce((n, v) => n + v.value, 0);
    await until(async () => (await hellosRead()) === 2, 'both hellos read');
    alice.close();
    await until(async () => (await closes()) >= 1, 'alice gone');
    release();
    await bob.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome');
    await until(() => kafka.journal().some((r) => r.key === presenceKey('alice')), "alice's disconnect record");
    const alicePresence = kafka.journal().filter((r) => r.key === presenceKey('alice'));
    const online = alicePresence.filter((r) => {
      const v = r.value === null ? undefined : decodeMailboxValue(r.value);
      return v?.k === 'p' && v.gatewayId !== null;
    });
    assert.equal(online.length, 0, 'alice was recorded online after she had gone');
    assert.ok(!alice.frames.some((f) => f.t === FRAME_TYPES.welcome));
    bob.close();
  } finally {
    await stop();
  }
});

test('send is acked only after its record is durable, and the ack names the message', async () => {
  const { kafka, url, stop } = await startInMemoryRelay();
  try {
    const a = await connectUser(url, 'alice');
    const release = kafka.holdProduces();
    send(a, 'bob', 'm1');
    await kafka.producesHeld(1);
    assert.ok(!a.frames.some(isAck), 'no ack before the produce');
    release();
    const ack = await a.waitFor(isAck, 'ack');
    assert.equal(ack.msgId, 'm1');
    assert.ok(
      kafka.journal().some((r) => r.key === mailboxKey('bob', 'm1') && r.value !== null),
      "the message is in bob's mailbox",
    );
    a.close();
  } finally {
    await stop();
  }
});

test('received: the receipt to the sender is written before the tombstone', async () => {
  const { kafka, url, stop } = await startInMemoryRelay();
  try {
    const a = await connectUser(url, 'alice');
    const b = await connectUser(url, 'bob');
    send(a, 'bob', 'm1');
    await b.waitFor(isDeliver, 'deliver');
    const release = kafka.holdProduces();
    b.send({ t: FRAME_TYPES.received, msgId: 'm1' });
    await kafka.producesHeld(1);
    const tombstone = (r: { key: string | null; value: Buffer | null }) => r.key === mailboxKey('bob', 'm1') && r.value === null;
    assert.ok(!kafka.journal().some(tombstone), 'no tombstone while the receipt is not durable');
    release();
    const receipt = await a.waitFor(isReceipt, 'receipt');
    assert.deepEqual([receipt.msgId, receipt.kind, receipt.by], ['m1', RECEIPT_KIND.delivered, 'bob']);
    await until(() => kafka.journal().some(tombstone));
    const keys = kafka.journal().map((r) => r.key);
    assert.ok(keys.indexOf(receiptKey('alice', 'm1', RECEIPT_KIND.delivered)) < kafka.journal().findIndex(tombstone));
    a.close();
    b.close();
  } finally {
    await stop();
  }
});

test('received for a message not delivered on this connection is FORBIDDEN and writes nothing', async () => {
  const { kafka, url, stop } = await startInMemoryRelay();
  try {
    const b = await connectUser(url, 'bob');
    const before = kafka.journal().length;
    b.send({ t: FRAME_TYPES.received, msgId: 'never-delivered' });
    const err = await b.waitFor(isError, 'error');
    assert.equal(err.t === FRAME_TYPES.error && err.msgId, 'never-delivered');
    assert.equal(kafka.journal().length, before);
    b.close();
  } finally {
    await stop();
  }
});

test('a user who comes online gets welcome first, then its pending mail in send order', async () => {
  const { url, stop } = await startInMemoryRelay();
  try {
    const a = await connectUser(url, 'alice');
    const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
    for (const id of ids) send(a, 'bob', id);
    await a.waitCount(isAck, ids.length, 'acks');
    const b = await connectUser(url, 'bob');
    const delivered = await b.waitCount(isDeliver, ids.length, 'replay');
    assert.deepEqual(
      delivered.filter(isDeliver).map((d) => d.msgId),
      ids,
    );
    assert.equal(b.frames[0]!.t, FRAME_TYPES.welcome, 'welcome before any deliver');
    a.close();
    b.close();
  } finally {
    await stop();
  }
});

test('a reader that stops reading is closed with 4009 (slow reader) and its mail stays pending', async () => {
  const { kafka, relay, url, stop } = await startInMemoryRelay({ highWaterBytes: 64 * 1024, slowReaderMs: 300 });
  try {
    const a = await connectUser(url, 'alice');
    const b = await connectUser(url, 'bob');
    b.ws.pause(); // the kernel buffers fill, then the relay's send buffer
    const big = new Uint8Array(60_000);
    const count = 400; // 24 MB: more than loopback's socket buffers hold
    for (let i = 0; i < count; i++) a.send({ t: FRAME_TYPES.send, msgId: `s${i}`, to: 'bob', header: bytes('h'), ciphertext: big });
    await a.waitCount(isAck, count, 'acks', 120_000);
    await until(async () => ((await relay.metrics.slowReaders.get()).values[0]?.value ?? 0) >= 1);
    b.ws.resume();
    // 4009 on the wire, or 1006 when bob took over 2 s to read up to the close frame and was cut off.
    assert.ok([4009, 1006].includes(await b.closed));
    assert.equal((await relay.metrics.slowReaders.get()).values[0]?.value, 1, 'one slow-reader close');
    assert.equal(a.closeCode, null, 'the sender, who reads, stays connected');
    const tombstones = kafka.journal().filter((r) => r.key?.startsWith('bob/') === true && r.value === null);
    assert.equal(tombstones.length, 0, 'nothing was confirmed, so nothing was deleted');
    a.close();
  } finally {
    await stop();
  }
});

test('rate limit: answers to what the connection pushed (received, read, receiptSeen) are not charged; anything else is', async () => {
  // 1 frame/s, burst 10 (the bucket never holds more than 10): bob answers 40 frames at once,
  // and each sender confirms its 10 receipts in one frame and still has its budget for 4 sends.
  const { url, stop } = await startInMemoryRelay({ rateLimitPerSec: 1, rateBurst: 10 });
  try {
    const senders = await Promise.all(['s0', 's1', 's2', 's3'].map((u) => connectUser(url, u)));
    const idsOf = (i: number, from = 0) => Array.from({ length: 5 }, (_, n) => `m${i}-${n + from}`);
    senders.forEach((s, i) => idsOf(i).forEach((id) => send(s, 'bob', id)));
    await Promise.all(senders.map((s) => until(() => s.frames.filter(isAck).length === 5)));
    const bob = await connectUser(url, 'bob');
    const ids = senders.flatMap((_, i) => idsOf(i));
    await until(() => bob.frames.filter(isDeliver).length === ids.length);
    for (const id of ids) bob.send({ t: FRAME_TYPES.received, msgId: id });
    for (const id of ids) bob.send({ t: FRAME_TYPES.read, msgId: id });
    await Promise.all(senders.map((s) => until(() => s.frames.filter(isReceipt).length === 10)));
    assert.deepEqual(bob.frames.filter(isError), [], 'no received or read was refused');
    senders.forEach((s, i) => {
      const [first, ...more] = s.frames.filter(isReceipt).map((r) => [r.msgId, r.kind] as [string, ReceiptKind]);
      s.send({ t: FRAME_TYPES.receiptSeen, msgId: first![0], kind: first![1], more });
      idsOf(i, 5)
        .slice(0, 4)
        .forEach((id) => send(s, 'carol', id));
    });
    await Promise.all(senders.map((s) => until(() => s.frames.filter(isAck).length === 9)));
    for (const s of senders) assert.deepEqual(s.frames.filter(isError), [], 'the confirmed receipts were paid for by the pushes');
    // The same confirmations again answer nothing the connection holds: charged, and over the burst.
    for (const id of [...ids, ...ids.slice(0, 10)]) bob.send({ t: FRAME_TYPES.received, msgId: id });
    const refused = await bob.waitFor((f) => isError(f) && f.code === 7, 'error 7');
    assert.ok(refused.t === FRAME_TYPES.error && ids.includes(refused.msgId ?? ''));
    for (const c of [...senders, bob]) c.close();
  } finally {
    await stop();
  }
});

test('a delivery the connection forgot (over its cap) is answered error 6; unreceived it replays on the next connection, received its read can name from', async () => {
  const { url, stop } = await startInMemoryRelay({ maxUnconfirmedPerConnection: 1 });
  try {
    const alice = await connectUser(url, 'alice');
    const bob = await connectUser(url, 'bob');
    const delivered = (c: TestClient, id: string) => c.waitFor((f) => isDeliver(f) && f.msgId === id, `deliver ${id}`);
    const refused = (id: string) => bob.waitFor((f) => isError(f) && f.code === 6 && f.msgId === id, `error 6 for ${id}`);
    send(alice, 'bob', 'm1');
    await delivered(bob, 'm1');
    bob.send({ t: FRAME_TYPES.received, msgId: 'm1' });
    await alice.waitFor((f) => isReceipt(f) && f.msgId === 'm1', '✓✓ m1');
    send(alice, 'bob', 'm2'); // bob's connection now forgets m1 (received, not read)
    await delivered(bob, 'm2');
    bob.send({ t: FRAME_TYPES.read, msgId: 'm1' });
    await refused('m1');
    bob.send({ t: FRAME_TYPES.read, msgId: 'm1', from: 'alice' });
    await alice.waitFor((f) => isReceipt(f) && f.msgId === 'm1' && f.kind === RECEIPT_KIND.read, 'read m1');
    send(alice, 'bob', 'm3'); // …and now m2, never received
    await delivered(bob, 'm3');
    bob.send({ t: FRAME_TYPES.received, msgId: 'm2' });
    await refused('m2');
    bob.close();
    const again = await connectUser(url, 'bob');
    await delivered(again, 'm2');
    for (const c of [alice, again]) c.close();
  } finally {
    await stop();
  }
});
