// The router's fold and live path over an in-memory Kafka (no JVM): what it pushes, to which
// gateway, in which order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { mailboxKey, partitionFor, presenceKey } from '../../protocol/src/index.js';
import { InMemoryKafka } from '../../kafka/test-support/in-memory-kafka.js';
import type { OutRecord } from '../../kafka/src/index.js';
import { resolveConfig } from '../config.js';
import { createRelayMetrics } from '../metrics.js';
import { encodeValue, type MailboxValue } from './records.js';
import type { Push, Replaced } from './mailbox.js';
import { Router, toDurable } from './router.js';
import { CONSUMER_TUNING, LAZY_FETCH } from './consumer-tuning.js';
import { until } from '../../test/support/in-memory-relay.js';

const config = resolveConfig({ brokers: 'in-memory:9092', tokenSecret: 'test-secret-0123456789abcdef', gatewayId: 'gw-a', partitions: 4 });
const bytes = new Uint8Array([1]);

function record(user: string, key: string, value: MailboxValue | null): OutRecord {
  return {
    topic: config.topics.mailbox,
    partition: partitionFor(user, config.partitions),
    key,
    value: value === null ? null : encodeValue(value),
  };
}
const message = (to: string, msgId: string, from = 'alice') =>
  record(to, mailboxKey(to, msgId), { k: 'm', from, msgId, header: bytes, ciphertext: bytes, gwInUs: 1 });
const presence = (user: string, gatewayId: string | null, epoch: number, was?: string) =>
  record(user, presenceKey(user), { k: 'p', gatewayId, epoch, ...(was === undefined ? {} : { was }) });

async function kafkaWith(records: OutRecord[]): Promise<InMemoryKafka> {
  const kafka = new InMemoryKafka();
  await (await kafka.admin()).createTopics([{ name: config.topics.mailbox, partitions: config.partitions, replicationFactor: 1 }]);
  await (await kafka.producer()).send(records);
  return kafka;
}

function startRouter(kafka: InMemoryKafka) {
  const pushes: Push[] = [];
  const replaced: Replaced[] = [];
  const logs: string[] = [];
  const metrics = new Registry();
  const router = new Router(
    config,
    kafka,
    createRelayMetrics(metrics, config.gatewayId),
    (p) => pushes.push(p),
    (r) => replaced.push(r),
    (l) => logs.push(l),
  );
  return { router, pushes, replaced, metrics, logs };
}

/** This process's produce answer for `records`, as the relay hands it to its router. */
const written = (router: Router, records: OutRecord[], offsets: number[]) =>
  router.applyDurable(toDurable(config.topics.mailbox, records, offsets), 'written');
/** Another relay's produce answer, as its peer link hands it over. */
const fromPeer = (router: Router, records: OutRecord[], offsets: number[]) =>
  router.applyDurable(toDurable(config.topics.mailbox, records, offsets), 'peer');

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return value?.value ?? 0;
}

test('after the fold, pending mail of online users is replayed in log order to the gateway that holds them', async () => {
  const kafka = await kafkaWith([
    message('bob', 'm1'),
    message('carol', 'c1'),
    presence('bob', 'gw-b', 1),
    message('bob', 'm2'),
    message('bob', 'm3'),
    record('bob', mailboxKey('bob', 'm2'), null), // delivered and confirmed: not pending any more
  ]);
  const { router, pushes } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  const toBob = pushes.filter((p) => p.user === 'bob');
  assert.ok(toBob.every((p) => p.replay && p.gatewayId === 'gw-b'));
  assert.deepEqual(
    toBob.flatMap((p) => p.items.map((i) => i.msgId)),
    ['m1', 'm3'],
  );
  assert.equal(pushes.filter((p) => p.user === 'carol').length, 0, 'carol is offline: nothing to push');
  await router.stop();
});

test('a switch of relays recorded while no router was live (a rebalance) is told after the fold: the older connection is closed (4011)', async () => {
  // carol switched within her relay: that gateway closed the older connection itself.
  const kafka = await kafkaWith([
    presence('bob', 'gw-b', 1),
    presence('bob', 'gw-c', 2),
    presence('carol', 'gw-b', 1),
    presence('carol', 'gw-b', 2),
  ]);
  const { router, pushes, replaced } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  assert.deepEqual(replaced, [{ user: 'bob', gatewayId: 'gw-b', epoch: 1 }]);
  assert.deepEqual(
    pushes.filter((p) => p.user === 'bob').map((p) => [p.gatewayId, p.epoch]),
    [['gw-c', 2]],
  );
  await router.stop();
});

test('live: a new message to an online user is pushed once, to the latest presence (log order, not epochs); an offline user gets nothing', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router, pushes, replaced } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  const producer = await kafka.producer();
  // gw-new's epoch is lower (a reinstalled client): it is still the newer connection.
  await producer.send([presence('bob', 'gw-c', 2), presence('bob', 'gw-new', 1), message('bob', 'm1'), message('dave', 'd1')]);
  await until(() => pushes.some((p) => p.user === 'bob' && p.items.length > 0));
  // A late disconnect of gw-c is not the holder's; gw-new's own disconnect is.
  await producer.send([presence('bob', null, 2, 'gw-c'), message('bob', 'm2'), presence('bob', null, 1, 'gw-new'), message('bob', 'm3')]);
  await until(() => router.ownership().reduce((n, o) => n + o.pending, 0) === 4);
  assert.deepEqual(
    pushes.map((p) => [p.user, p.gatewayId, p.replay, p.epoch, p.items.map((i) => i.msgId)]),
    [
      ['bob', 'gw-b', true, 1, []],
      ['bob', 'gw-c', true, 2, []],
      ['bob', 'gw-new', true, 1, []],
      ['bob', 'gw-new', false, undefined, ['m1']],
      ['bob', 'gw-new', false, undefined, ['m2']],
    ],
    'an empty replay ends each presence; dave and the offline bob get nothing',
  );
  assert.deepEqual(replaced, [
    { user: 'bob', gatewayId: 'gw-b', epoch: 1 },
    { user: 'bob', gatewayId: 'gw-c', epoch: 2 },
  ]);
  await router.stop();
});

test('own writes: a record at the next offset is applied at once and skipped when fetched; one past a gap waits for the record before it; log order holds', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router, pushes, metrics } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  const m1 = message('bob', 'm1');
  const m3 = message('bob', 'm3');
  // The produce answers came back before the fetch: m1 at offset 1 (next), m3 at 3 (2 not seen yet).
  written(router, [m1, m3], [1, 3]);
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[], ['m1']],
    'm1 at once; m3 must not overtake the unseen offset 2',
  );
  await (await kafka.producer()).send([m1, message('bob', 'm2'), m3]);
  await until(() => router.ownership().reduce((n, o) => n + o.pending, 0) === 3);
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[], ['m1'], ['m2'], ['m3']],
    'each pushed once, in log order',
  );
  // m2 came with the fetch; m3 waited behind it and was applied from the produce answer.
  assert.equal(await counter(metrics, 'relay_router_records_total', { source: 'written' }), 2);
  assert.equal(await counter(metrics, 'relay_router_records_total', { source: 'fetched' }), 1);
  await router.stop();
});

test('own writes: nothing is applied early while folding, for a partition not owned, or from another topic', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router, pushes } = startRouter(kafka);
  written(router, [message('bob', 'early')], [1]); // not started: owns nothing
  await router.start();
  await until(() => router.ready);
  written(router, [{ ...message('bob', 'other'), topic: 'elsewhere' }], [1]);
  written(router, [message('bob', 'unknown')], [-1]);
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[]],
  );
  await router.stop();
});

test('own writes: an answer that named the wrong offset is counted, logged, and the fetched record is still delivered', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router, pushes, metrics, logs } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  written(router, [message('bob', 'claimed')], [1]);
  await (await kafka.producer()).send([message('bob', 'actual')]);
  await until(() => router.ownership().reduce((n, o) => n + o.pending, 0) === 2);
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[], ['claimed'], ['actual']],
  );
  assert.equal(await counter(metrics, 'relay_router_written_mismatch_total'), 1);
  assert.ok(logs.some((l) => l.includes('offset 1 holds')));
  await router.stop();
});

test('peer hand-over: records past a gap wait and follow in offset order once a peer fills it; the fetch then applies nothing twice', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router, pushes, metrics } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  const [m1, m2, m3, m4] = ['m1', 'm2', 'm3', 'm4'].map((id) => message('bob', id));
  fromPeer(router, [m3!, m4!], [3, 4]); // the peer's answer came first
  written(router, [m1!], [1]);
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[], ['m1']],
    'm3 and m4 wait for offset 2',
  );
  fromPeer(router, [m2!], [2]);
  fromPeer(router, [m2!], [2]); // handed over twice: applied once
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[], ['m1'], ['m2'], ['m3'], ['m4']],
  );
  await (await kafka.producer()).send([m1!, m2!, m3!, m4!, message('bob', 'm5')]);
  await until(() => pushes.length === 6);
  assert.deepEqual(
    pushes.map((p) => p.items.map((i) => i.msgId)),
    [[], ['m1'], ['m2'], ['m3'], ['m4'], ['m5']],
    'the fetch skipped m1–m4 and brought m5',
  );
  assert.equal(await counter(metrics, 'relay_router_records_total', { source: 'peer' }), 3);
  assert.equal(await counter(metrics, 'relay_router_written_mismatch_total'), 0);
  await router.stop();
});

test('fetch policy: lazy only once live, past the settling time after an assignment, with every peer linked and no gap waiting', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router } = startRouter(kafka);
  const eager = { maxWaitMs: CONSUMER_TUNING.maxWaitMs, minBytes: 1 };
  const later = () => performance.now() + 60_000;
  let linked = true;
  router.peersLinked = () => linked;
  await router.start();
  await until(() => router.ready);
  assert.deepEqual(router.fetchPolicy(), eager, 'just assigned: peers may still hand records to the previous owner');
  assert.deepEqual(router.fetchPolicy(later()), LAZY_FETCH);
  linked = false;
  assert.deepEqual(router.fetchPolicy(later()), eager, 'a peer without a link: its writes come only by the fetch');
  linked = true;
  fromPeer(router, [message('bob', 'm2')], [2]);
  assert.deepEqual(router.fetchPolicy(later()), eager, 'offset 1 is missing: the fetch must bring it soon');
  fromPeer(router, [message('bob', 'm1')], [1]);
  assert.deepEqual(router.fetchPolicy(later()), LAZY_FETCH);
  await router.stop();
});

test('a membership in doubt (onRevoked): the router routes nothing of its old partitions, own writes, peers’ or fetched, and is not ready', async () => {
  const kafka = await kafkaWith([presence('bob', 'gw-b', 1)]);
  const { router, pushes, logs } = startRouter(kafka);
  await router.start();
  await until(() => router.ready);
  const before = pushes.length;
  kafka.revoke('relay', 'no heartbeat answered for 5.1 s');
  assert.equal(router.ready, false);
  assert.deepEqual(router.ownership(), []);
  const m1 = message('bob', 'm1');
  const m2 = message('bob', 'm2');
  written(router, [m1], [1]);
  fromPeer(router, [m2], [2]);
  await (await kafka.producer()).send([m1, m2]);
  await new Promise((r) => setImmediate(r));
  assert.equal(pushes.length, before, 'another member may own bob’s partition now');
  assert.ok(logs.some((l) => l.includes('no partitions: no heartbeat answered')));
  await router.stop();
});
