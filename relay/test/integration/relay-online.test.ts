import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { adapterFor, startTestKafka } from '../../../test/helpers/kafka.js';
import WebSocket from 'ws';
import { connectUser, isAck, isDeliver, isError, isReceipt, tokenFor, type TestClient } from '../../../test/helpers/client.js';
import { relayCounter, startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { FRAME_TYPES, RECEIPT_KIND, WIRE_ERRORS, mailboxKey, partitionFor, presenceKey, receiptKey } from '../../protocol/src/index.js';
import { encodeValue } from '../../src/router/records.js';
import { encodePeerHello, encodePeerRecords } from '../../src/peer/peer-codec.js';
import type { InRecord } from '../../kafka/src/index.js';
import { until } from '../support/in-memory-relay.js';

let kafka: LocalKafkaCluster;
let relays: RelayProcess[] = [];
const clients: TestClient[] = [];

before(async () => {
  kafka = await startTestKafka(1);
  relays = [await startRelayProcess(kafka.brokers, { gatewayId: 'r1' }), await startRelayProcess(kafka.brokers, { gatewayId: 'r2' })];
  await waitAllReady(relays);
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all(relays.map((r) => r.stop()));
  await kafka?.stop();
});

async function readPartition(partition: number, until: (records: InRecord[]) => boolean): Promise<InRecord[]> {
  const consumer = adapterFor(kafka, 'reader').consumer({
    groupId: `reader-${Date.now()}`,
    topics: ['relay.mailbox'],
    fromBeginning: true,
  });
  const records: InRecord[] = [];
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.start({
    onBatch: async (batch) => {
      for (const r of batch) if (r.partition === partition) records.push(r);
      if (until(records)) done();
    },
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 20_000))]);
  await consumer.stop();
  return records;
}

/** The records of `user`'s copy of `msgId` in its mailbox partition, read until its tombstone (or 20 s). */
async function readMessageRecords(user: string, msgId: string): Promise<InRecord[]> {
  const key = mailboxKey(user, msgId);
  const records = await readPartition(partitionFor(user, 12), (rs) => rs.some((r) => r.key === key && r.value === null));
  return records.filter((r) => r.key === key);
}

test('integration: online A→B — ✓ when durable, exact ciphertext, ✓✓ after received, read after read, then tombstoned in Kafka', async () => {
  const a = await connectUser(relays[0]!.url, 'alice');
  const b = await connectUser(relays[1]!.url, 'bob');
  clients.push(a, b);
  const ciphertext = new Uint8Array([1, 2, 3, 250, 251, 252]);
  const header = new Uint8Array([9, 8, 7]);
  a.send({ t: FRAME_TYPES.send, msgId: 'alice:1:1', to: 'bob', header, ciphertext });
  const ack = await a.waitFor(isAck, 'ack');
  assert.equal(ack.msgId, 'alice:1:1');
  assert.ok(ack.stamps.producedUs! >= ack.stamps.gwInUs!, 'ack after the produce');

  const d = await b.waitFor(isDeliver, 'deliver');
  assert.equal(d.msgId, 'alice:1:1');
  assert.equal(d.from, 'alice', 'the sender comes from the token');
  assert.deepEqual([...d.ciphertext], [...ciphertext]);
  assert.deepEqual([...d.header], [...header]);
  for (const k of ['gwInUs', 'routedUs', 'gwOutUs'] as const) assert.equal(typeof d.stamps[k], 'number', `stamp ${k}`);
  assert.equal(d.stamps.producedUs, undefined, "producedUs is the ack's alone (PROTOCOL §9)");
  assert.equal(a.frames.filter(isReceipt).length, 0, 'no ✓✓ before received');

  b.send({ t: FRAME_TYPES.received, msgId: d.msgId });
  const delivered = await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.delivered, '✓✓');
  assert.equal((delivered as { by: string }).by, 'bob');
  assert.equal(a.frames.filter((f) => isReceipt(f) && f.kind === RECEIPT_KIND.read).length, 0, 'no read receipt before read');
  b.send({ t: FRAME_TYPES.read, msgId: d.msgId });
  await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.read, 'read receipt');
  a.send({ t: FRAME_TYPES.receiptSeen, msgId: d.msgId, kind: RECEIPT_KIND.delivered });
  a.send({ t: FRAME_TYPES.receiptSeen, msgId: d.msgId, kind: RECEIPT_KIND.read });

  const mine = await readMessageRecords('bob', 'alice:1:1');
  assert.ok(mine.length >= 1 && mine.at(-1)!.value === null, 'the message key ends in a tombstone');
});

test('integration: a read after a reconnect names the sender; without it the new connection is refused (error 6)', async () => {
  const a = await connectUser(relays[0]!.url, 'rr-alice');
  const b1 = await connectUser(relays[1]!.url, 'rr-bob');
  clients.push(a, b1);
  a.send({ t: FRAME_TYPES.send, msgId: 'rr-alice:1:1', to: 'rr-bob', header: new Uint8Array([1]), ciphertext: new Uint8Array([2]) });
  const d = await b1.waitFor(isDeliver, 'deliver');
  b1.send({ t: FRAME_TYPES.received, msgId: d.msgId });
  await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.delivered, '✓✓');
  // The deletion is lazy (PROTOCOL §5.2): a reconnect before it is in the log may replay the
  // message, and then the new connection rightly holds it. Wait for the tombstone, so the new
  // connection's presence follows it in the partition and the router has nothing to replay.
  assert.equal((await readMessageRecords('rr-bob', d.msgId)).at(-1)?.value, null, 'the deletion is in the log');
  // The delivering socket dies before the user reads; the server keeps no copy after `received`.
  b1.ws.terminate();
  const b2 = await connectUser(relays[0]!.url, 'rr-bob');
  clients.push(b2);
  await b2.waitFor((f) => f.t === FRAME_TYPES.replayed, 'replayed');
  assert.equal(b2.frames.filter(isDeliver).length, 0, 'nothing replayed after the deletion');
  b2.send({ t: FRAME_TYPES.read, msgId: d.msgId });
  const refused = await b2.waitFor(isError, 'error 6');
  assert.equal(refused.code, WIRE_ERRORS.FORBIDDEN.code);
  assert.equal(refused.msgId, d.msgId);
  b2.send({ t: FRAME_TYPES.read, msgId: d.msgId, from: 'rr-alice' });
  const read = await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.read, 'read receipt');
  assert.equal((read as { by: string }).by, 'rr-bob');
});

test('integration: a retried send with the same msgId is acked again but delivered once', async () => {
  const a = await connectUser(relays[1]!.url, 'carol');
  const b = await connectUser(relays[1]!.url, 'dave');
  clients.push(a, b);
  const frame = {
    t: FRAME_TYPES.send,
    msgId: 'carol:1:7',
    to: 'dave',
    header: new Uint8Array([1]),
    ciphertext: new Uint8Array([2]),
  } as const;
  a.send(frame);
  await b.waitFor(isDeliver, 'first delivery');
  a.send(frame);
  await a.waitCount(isAck, 2, 'two acks');
  // A later message proves the router got past the duplicate without delivering it.
  a.send({ ...frame, msgId: 'carol:1:8' });
  await b.waitFor((f) => isDeliver(f) && f.msgId === 'carol:1:8', 'the next message');
  assert.equal(b.frames.filter((f) => isDeliver(f) && f.msgId === 'carol:1:7').length, 1);
});

test('integration: GET /routes agrees with the consumer group', async () => {
  const routes = (await (await fetch(`${relays[0]!.httpUrl}/routes`)).json()) as {
    partitions: Record<string, string>;
    members: { gatewayId: string; partitions: number[] }[];
  };
  const admin = await adapterFor(kafka).admin();
  const group = await admin.describeGroup('relay');
  await admin.close();
  const fromGroup: Record<string, number[]> = {};
  for (const m of group.members) fromGroup[m.clientId.split('|')[1]!] = [...(m.partitions['relay.mailbox'] ?? [])].sort((x, y) => x - y);
  const fromRoutes = Object.fromEntries(routes.members.map((m) => [m.gatewayId, m.partitions]));
  assert.deepEqual(fromRoutes, fromGroup);
  assert.equal(Object.keys(routes.partitions).length, 12);
  const urls = new Set(Object.values(routes.partitions));
  assert.deepEqual([...urls].sort(), relays.map((r) => r.url).sort());
});

test('integration: peer links — writes for a partition the other relay owns are handed to it, in order, once; a client token cannot open a peer link', async () => {
  const [r1, r2] = relays as [RelayProcess, RelayProcess];
  const routes = (await (await fetch(`${r1.httpUrl}/routes`)).json()) as { members: { gatewayId: string; partitions: number[] }[] };
  const owned = new Set(routes.members.find((m) => m.gatewayId === 'r2')!.partitions);
  let target = '';
  for (let i = 0; target === ''; i++) if (owned.has(partitionFor(`pia${i}`, 12))) target = `pia${i}`;
  const pia = await connectUser(r2.url, target);
  const sam = await connectUser(r1.url, 'sam');
  clients.push(pia, sam);
  // r1 writes each message; r2 owns pia's partition. Send until r2 has been handed one (the link
  // and r1's table of owners come within a second of r2 joining), then a few more.
  const received = () => relayCounter(r2.httpUrl, 'relay_peer_records_received_total');
  const before = await received();
  const ids: string[] = [];
  const send = async () => {
    ids.push(`sam:1:${ids.length + 1}`);
    sam.send({
      t: FRAME_TYPES.send,
      msgId: ids.at(-1)!,
      to: target,
      header: new Uint8Array([1]),
      ciphertext: new Uint8Array([ids.length]),
    });
    await sam.waitCount(isAck, ids.length, `ack ${ids.length}`);
  };
  await until(async () => (await send(), (await received()) > before), 'r2 handed a record by r1', 30_000, 100);
  for (let i = 0; i < 10; i++) await send();
  const delivered = await pia.waitCount(isDeliver, ids.length, 'every message');
  assert.deepEqual(
    delivered.filter(isDeliver).map((f) => f.msgId),
    ids,
    'each delivered once, in the order sent',
  );
  assert.ok((await relayCounter(r2.httpUrl, 'relay_peer_records_received_total')) > before);
  assert.equal(await relayCounter(r2.httpUrl, 'relay_router_written_mismatch_total'), 0);

  // A user's token, even for a user named like a relay, is not a peer token: the link is closed.
  const intruder = new WebSocket(new URL('_relaybench/peer', r2.url), { perMessageDeflate: false });
  await new Promise((resolve) => intruder.once('open', resolve));
  const closed = new Promise<number>((resolve) => {
    intruder.once('close', resolve);
    setTimeout(() => resolve(-1), 10_000).unref(); // -1: still open, the relay took the token
  });
  intruder.send(encodePeerHello('r1', tokenFor('relaybench.peer')));
  intruder.send(encodePeerRecords([{ partition: partitionFor(target, 12), offset: 0, key: mailboxKey(target, 'forged'), value: null }]));
  assert.equal(await closed, 1008);
});

test('integration: offline B gets 100 messages on reconnect to a different relay, in order, exactly once; A gets the receipts', async () => {
  const b0 = await connectUser(relays[0]!.url, 'erin');
  b0.close();
  await b0.closed;
  const a = await connectUser(relays[0]!.url, 'frank');
  clients.push(a);
  const ids = Array.from({ length: 100 }, (_, i) => `frank:1:${i + 1}`);
  for (const msgId of ids) a.send({ t: FRAME_TYPES.send, msgId, to: 'erin', header: new Uint8Array([1]), ciphertext: Buffer.from(msgId) });
  await a.waitCount(isAck, 100, '100 acks');

  const b = await connectUser(relays[1]!.url, 'erin');
  clients.push(b);
  const delivered = await b.waitCount(isDeliver, 100, '100 deliveries');
  assert.equal(b.frames[0]!.t, FRAME_TYPES.welcome, 'welcome comes before any replayed delivery');
  assert.deepEqual(
    delivered.map((d) => (d as { msgId: string }).msgId),
    ids,
    'all 100, in send order',
  );
  for (const d of delivered) b.send({ t: FRAME_TYPES.received, msgId: (d as { msgId: string }).msgId });
  const receipts = await a.waitCount((f) => isReceipt(f) && f.kind === RECEIPT_KIND.delivered, 100, '100 ✓✓');
  assert.equal(new Set(receipts.map((r) => (r as { msgId: string }).msgId)).size, 100);
  // All 100 receipts confirmed in one frame (receiptSeen.more): every receipt key ends in a tombstone.
  a.send({
    t: FRAME_TYPES.receiptSeen,
    msgId: ids[0]!,
    kind: RECEIPT_KIND.delivered,
    more: ids.slice(1).map((id) => [id, RECEIPT_KIND.delivered] as const),
  });
  const receiptKeys = new Set(ids.map((id) => receiptKey('frank', id, RECEIPT_KIND.delivered)));
  const tombstoned = (rs: InRecord[]) => {
    const last = new Map<string, unknown>();
    for (const r of rs) if (receiptKeys.has(r.key ?? '')) last.set(r.key ?? '', r.value);
    return [...receiptKeys].filter((k) => last.get(k) === null).length;
  };
  const frankRecords = await readPartition(partitionFor('frank', 12), (rs) => tombstoned(rs) === 100);
  assert.equal(tombstoned(frankRecords), 100, 'every confirmed receipt is tombstoned');
  // Give the relay time to re-deliver anything it wrongly still holds; nothing may come.
  const more = new Promise((r) => setTimeout(r, 1000));
  await more;
  assert.equal(b.frames.filter(isDeliver).length, 100, 'exactly once');
});

test('integration: pushes to a gateway whose topic was deleted are dropped; another gateway’s user still gets every message, in order', async () => {
  // Both recipients' partitions are owned by relay 0, so its router pushes to the other gateways' topics.
  const routes = (await (await fetch(`${relays[0]!.httpUrl}/routes`)).json()) as { partitions: Record<string, string> };
  const ownedBy0 = (user: string) => routes.partitions[String(partitionFor(user, 12))] === relays[0]!.url;
  const pick = (prefix: string) => Array.from({ length: 200 }, (_, i) => `${prefix}${i}`).find(ownedBy0)!;
  const [vera, gus] = [pick('vera'), pick('gus')];
  // gus is online at a gateway that drained: its topic is gone (a request naming it fails whole).
  const admin = await adapterFor(kafka).admin();
  await admin.createTopics([{ name: 'relay.deliver.ghost', partitions: 1, replicationFactor: 1 }]);
  const producer = await adapterFor(kafka).producer();
  const presence = encodeValue({ k: 'p', gatewayId: 'ghost', epoch: 1 });
  await producer.send([{ topic: 'relay.mailbox', partition: partitionFor(gus, 12), key: presenceKey(gus), value: presence }]);
  await producer.close();
  await admin.deleteTopics(['relay.deliver.ghost']);
  // The deletion reaches the broker's metadata a moment later: until then a push to the topic
  // still succeeds, and nothing would be dropped (CI saw that once: dropped 0 in 388 ms).
  await until(async () => !(await admin.listTopics()).includes('relay.deliver.ghost'), 'the ghost topic gone');
  await admin.close();

  const v = await connectUser(relays[1]!.url, vera);
  const w = await connectUser(relays[0]!.url, 'walt');
  clients.push(v, w);
  await v.waitFor((f) => f.t === FRAME_TYPES.replayed, 'replayed');
  const ids = Array.from({ length: 40 }, (_, i) => `walt:1:${i + 1}`);
  for (const [i, msgId] of ids.entries()) {
    w.send({ t: FRAME_TYPES.send, msgId, to: vera, header: new Uint8Array([1]), ciphertext: Buffer.from(msgId) });
    w.send({ t: FRAME_TYPES.send, msgId: `walt:2:${i + 1}`, to: gus, header: new Uint8Array([1]), ciphertext: Buffer.from(msgId) });
  }
  await w.waitCount(isAck, 80, '80 acks');
  // A retried request may have been written in part: a copy is allowed (clients drop it by id), a
  // reorder is not. So wait for 40 distinct messages, not 40 frames: CI once counted 40 frames
  // with copies among them while walt:1:29–40 were still on their way.
  const firsts = () => [...new Set(v.frames.filter(isDeliver).map((f) => f.msgId))];
  await until(() => firsts().length >= 40, '40 distinct deliveries');
  assert.deepEqual(firsts(), ids);
  // The pushes to the deleted gateway are dropped at the first retry of the request that failed,
  // which may come after vera's copies were written by that very request (here: 435 ms in, with
  // nothing dropped yet). So wait for the drop, then check vera's order again.
  const dropped = () => relayCounter(relays[0]!.httpUrl, 'relay_deliver_dropped_total');
  await until(async () => (await dropped()) > 0, 'relay 0 giving up its pushes to the deleted gateway', 60_000, 100);
  assert.deepEqual(firsts(), ids);
});
