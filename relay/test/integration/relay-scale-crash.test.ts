import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { adapterFor, startTestKafka, waitFor } from '../../../test/helpers/kafka.js';
import { connectUser, isAck, isDeliver, type TestClient } from '../../../test/helpers/client.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { FRAME_TYPES, partitionFor, type ServerFrame } from '../../protocol/src/index.js';

let kafka: LocalKafkaCluster;
let relays: RelayProcess[] = [];
const sockets = new Set<TestClient>();

before(async () => {
  kafka = await startTestKafka(1);
  relays = [];
  for (const id of ['s1', 's2', 's3']) relays.push(await startRelayProcess(kafka.brokers, { gatewayId: id }));
  await waitAllReady(relays);
});
after(async () => {
  for (const c of sockets) c.ws.terminate();
  await Promise.all(relays.map((r) => r.stop()));
  await kafka?.stop();
});

/** A user that survives its relay dying: reconnects elsewhere and resends what was not acked. */
class User {
  client!: TestClient;
  readonly acked = new Set<string>();
  readonly unacked = new Map<string, { to: string }>();
  readonly deliveries = new Map<string, number>();
  constructor(readonly name: string) {}

  async connect(url: string): Promise<void> {
    this.client = await connectUser(url, this.name);
    this.#seen = 0;
    sockets.add(this.client);
    const client = this.client;
    client.ws.on('message', () => {
      if (this.client === client) this.#drain();
    });
    this.#drain();
    for (const [msgId, { to }] of this.unacked) this.#sendFrame(msgId, to);
  }

  #seen = 0;
  #drain(): void {
    const frames: ServerFrame[] = this.client.frames;
    for (; this.#seen < frames.length; this.#seen++) {
      const f = frames[this.#seen]!;
      if (isAck(f)) {
        this.acked.add(f.msgId);
        this.unacked.delete(f.msgId);
      } else if (isDeliver(f)) {
        this.deliveries.set(f.msgId, (this.deliveries.get(f.msgId) ?? 0) + 1);
        this.client.send({ t: FRAME_TYPES.received, msgId: f.msgId });
      }
    }
  }

  send(msgId: string, to: string): void {
    this.unacked.set(msgId, { to });
    this.#sendFrame(msgId, to);
  }

  #sendFrame(msgId: string, to: string): void {
    if (this.client.closeCode === null)
      this.client.send({ t: FRAME_TYPES.send, msgId, to, header: new Uint8Array([1]), ciphertext: Buffer.from(msgId) });
  }
}

const users: User[] = [];
const partnerOf = (i: number) => (i % 2 === 0 ? i + 1 : i - 1);

test('integration: scale-out — 3 relays, 12 partitions, 200 users spread over them; every message delivered; /routes agrees with the group', async () => {
  for (let i = 0; i < 200; i++) {
    const u = new User(`u${i}`);
    await u.connect(relays[i % 3]!.url);
    users.push(u);
  }
  for (let i = 0; i < 200; i++) for (let k = 1; k <= 2; k++) users[i]!.send(`u${i}:1:${k}`, `u${partnerOf(i)}`);
  await waitFor(
    'every message delivered',
    () => users.every((u, i) => [1, 2].every((k) => u.deliveries.has(`u${partnerOf(i)}:1:${k}`))),
    60_000,
    100,
  );
  assert.equal(
    users.reduce((s, u) => s + u.acked.size, 0),
    400,
  );

  const admin = await adapterFor(kafka).admin();
  const group = await admin.describeGroup('relay');
  await admin.close();
  const routes = (await (await fetch(`${relays[2]!.httpUrl}/routes`)).json()) as {
    partitions: Record<string, string>;
    members: { gatewayId: string; partitions: number[] }[];
  };
  assert.equal(group.members.length, 3);
  assert.equal(Object.keys(routes.partitions).length, 12);
  for (const m of group.members) {
    const gw = m.clientId.split('|')[1];
    assert.deepEqual(
      routes.members.find((r) => r.gatewayId === gw)?.partitions,
      [...(m.partitions['relay.mailbox'] ?? [])].sort((a, b) => a - b),
    );
  }
});

test('integration: crash — SIGKILL one of 3 relays during traffic; clients reconnect elsewhere; nothing acknowledged is lost; duplicates are only re-deliveries of the same id', async () => {
  const victim = relays[2]!;
  const survivors = relays.slice(0, 2);
  const onVictim = users.filter((_, i) => i % 3 === 2);
  let round = 0;
  let killed = false;
  const traffic = (async () => {
    for (round = 0; round < 40; round++) {
      for (let i = 0; i < 60; i++) users[i]!.send(`u${i}:2:${round}`, `u${partnerOf(i)}`);
      if (round === 15) {
        await victim.stop('SIGKILL');
        killed = true;
        // Its clients see the socket die and reconnect to a survivor (new epoch → replay).
        await Promise.all(onVictim.map((u, j) => u.connect(survivors[j % 2]!.url)));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await traffic;
  assert.ok(killed);
  await waitFor('every send acknowledged', () => users.every((u) => u.unacked.size === 0), 60_000, 200);
  const expected: [User, string][] = [];
  for (let i = 0; i < 60; i++) for (let r = 0; r < 40; r++) expected.push([users[partnerOf(i)]!, `u${i}:2:${r}`]);
  await waitFor('every acknowledged message delivered', () => expected.every(([u, id]) => u.deliveries.has(id)), 90_000, 200);
  const lost = expected.filter(([u, id]) => !u.deliveries.has(id));
  assert.equal(lost.length, 0);
  let redeliveries = 0;
  for (const u of users) {
    for (const [id, n] of u.deliveries) {
      assert.ok(/^u\d+:[12]:\d+$/.test(id), `only real message ids arrive (${id})`);
      redeliveries += n - 1;
    }
  }
  process.stderr.write(`# crash: ${expected.length} messages acknowledged and delivered, ${redeliveries} re-deliveries of the same id\n`);
  relays = survivors;
});

test('integration: SIGTERM drains — clients are closed with 1012, the process exits 0 and its partitions move', async () => {
  const leaving = relays[1]!;
  const stay = relays[0]!;
  const c = await connectUser(leaving.url, 'drain-me');
  sockets.add(c);
  await leaving.stop('SIGTERM');
  assert.equal(await c.closed, 1012);
  assert.equal((await leaving.proc.exited).code, 0);
  await waitAllReady([stay]);
  const routes = (await (await fetch(`${stay.httpUrl}/routes`)).json()) as { partitions: Record<string, string> };
  assert.deepEqual(new Set(Object.values(routes.partitions)), new Set([stay.url]));
  relays = [stay];
});

test('integration: a user who switches relays while its partition has no live router (its owner stalled) still gets the older connection closed with 4011', async () => {
  const [x, y] = [await startRelayProcess(kafka.brokers, { gatewayId: 's4' }), await startRelayProcess(kafka.brokers, { gatewayId: 's5' })];
  relays = [...relays, x, y];
  await waitAllReady(relays);
  const routesNow = async () => (await (await fetch(`${relays[0]!.httpUrl}/routes`)).json()) as { partitions: Record<string, string> };
  await waitFor('3 routers own the 12 partitions', async () => new Set(Object.values((await routesNow()).partitions)).size === 3);
  const partitions = (await routesNow()).partitions;
  // A user whose partition belongs to relay O; its old connection on A, its new one on B (A, B ≠ O).
  const user = Array.from({ length: 100 }, (_, i) => `switcher${i}`).find(
    (u) => partitions[String(partitionFor(u, 12))] === relays[0]!.url,
  )!;
  const [owner, a, b] = [relays[0]!, relays[1]!, relays[2]!];
  const older = await connectUser(a.url, user);
  sockets.add(older);
  await older.waitFor((f) => f.t === FRAME_TYPES.replayed, 'the first connection is live');
  const pid = owner.proc.pid;
  process.kill(pid, 'SIGSTOP');
  try {
    // Welcomed (its presence is in the log) while the only router of that partition is stalled:
    // nobody tells relay A now; the partition's next router must, once it has read the log.
    const newer = await connectUser(b.url, user);
    sockets.add(newer);
    await waitFor('the older connection closed', () => older.closeCode !== null, 60_000);
    assert.equal(older.closeCode, 4011);
    await newer.waitFor((f) => f.t === FRAME_TYPES.replayed, 'the newer connection is replayed by the new router');
    assert.equal(newer.closeCode, null, 'the newer connection stays');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
});
