// The promises of relay/kafka/src/types.ts, held by each adapter against one real broker: records
// (with headers and tombstones) arrive once each and in order per partition, onAssigned comes
// before a generation's records, a second member's join hands partitions over and each member
// reads what it got from the log start, a clean stop hands everything back, and concurrent sends
// are all acknowledged and written, each caller told its records' offsets; a partition whose log start moved past the member is re-read
// from its new start, alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka } from 'kafkajs';
import { kafkaForFile, waitFor } from '../../../test/helpers/kafka.js';
import { KAFKA_CLIENTS, type Assignment, type InRecord, type KafkaClientName } from '../../kafka/src/index.js';

const cluster = kafkaForFile(1);

const PARTITIONS = 4;

/** A group member that records what it was given, in the order it was given. */
function member(client: KafkaClientName, topic: string, name: string) {
  const adapter = KAFKA_CLIENTS[client]({ brokers: cluster().brokers, clientId: `${client}-${name}` });
  const events: ({ kind: 'assigned'; a: Assignment } | { kind: 'batch'; partition: number; records: readonly InRecord[] })[] = [];
  const consumer = adapter.consumer({
    groupId: `${topic}-group`,
    topics: [topic],
    fromBeginning: true,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    maxWaitMs: 100,
    partitionsConsumedConcurrently: PARTITIONS,
  });
  return {
    events,
    start: () =>
      consumer.start({
        onAssigned: (a) => events.push({ kind: 'assigned', a }),
        onBatch: async (records, ctx) => {
          if (ctx.isRunning()) events.push({ kind: 'batch', partition: ctx.partition, records });
        },
      }),
    stop: () => consumer.stop(),
    /** Records handed over since the last assignment, by partition. */
    current(): Map<number, InRecord[]> {
      const lastAssigned = events.findLastIndex((e) => e.kind === 'assigned');
      const out = new Map<number, InRecord[]>();
      for (const e of events.slice(lastAssigned + 1))
        if (e.kind === 'batch') out.set(e.partition, [...(out.get(e.partition) ?? []), ...e.records]);
      return out;
    },
    owned(): number[] {
      const a = events.findLast((e) => e.kind === 'assigned');
      return a?.kind === 'assigned' ? [...(a.a.partitions[topic] ?? [])].sort() : [];
    },
  };
}

const sum = (m: Map<number, InRecord[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);

for (const client of Object.keys(KAFKA_CLIENTS) as KafkaClientName[]) {
  test(`integration: ${client} adapter keeps types.ts's promises on a real broker`, { timeout: 180_000 }, async () => {
    const topic = `adapters-${client}`;
    const adapter = KAFKA_CLIENTS[client]({ brokers: cluster().brokers, clientId: `${client}-producer` });
    const admin = await adapter.admin();
    await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
    const producer = await adapter.producer();

    // 400 records over 4 partitions, sent by 40 concurrent callers; every 10th is a tombstone.
    const sends = Array.from({ length: 40 }, (_, c) =>
      producer.send(
        Array.from({ length: 10 }, (_, i) => ({
          topic,
          partition: c % PARTITIONS,
          key: `k-${c}-${i}`,
          value: i === 9 ? null : Buffer.from(`v-${c}-${i}`),
          headers: { caller: String(c) },
        })),
      ),
    );
    const written = await Promise.all(sends);
    const offsets = await admin.topicOffsets(topic);
    assert.equal(
      offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
      400,
      'every acknowledged record is in the log, once',
    );

    const a = member(client, topic, 'a');
    await a.start();
    await waitFor(`${client}: member a reads all 400`, () => sum(a.current()) >= 400, 60_000);
    assert.equal(a.events[0]?.kind, 'assigned', 'onAssigned comes before any record');
    assert.deepEqual(a.owned(), [0, 1, 2, 3]);
    for (const [p, records] of a.current()) {
      const callers = records.map((r) => Number(r.headers.caller));
      assert.ok(
        callers.every((c) => c % PARTITIONS === p),
        'each record is on the partition it was sent to',
      );
      const perCaller = new Map<number, string[]>();
      for (const r of records) perCaller.set(Number(r.headers.caller), [...(perCaller.get(Number(r.headers.caller)) ?? []), r.key ?? '']);
      for (const [c, keys] of perCaller)
        assert.deepEqual(
          keys,
          Array.from({ length: 10 }, (_, i) => `k-${c}-${i}`),
          "one caller's records in order, once each",
        );
      assert.deepEqual(
        records.map((r) => Number(r.offset)),
        records.map((r) => {
          const [, c, i] = (r.key ?? '').split('-');
          return written[Number(c)]![Number(i)];
        }),
        'send() resolved with the offset each record was written at (what the router applies its own writes by)',
      );
      const offsetsSeen = records.map((r) => BigInt(r.offset));
      assert.ok(
        offsetsSeen.every((o, i) => i === 0 || o > offsetsSeen[i - 1]!),
        'offsets ascend within a partition',
      );
    }
    const tombstones = [...a.current().values()].flat().filter((r) => r.value === null);
    assert.equal(tombstones.length, 40, 'a null value arrives as null (a tombstone), not as an empty buffer');
    assert.equal(
      [...a.current().values()]
        .flat()
        .find((r) => r.key === 'k-3-4')
        ?.value?.toString(),
      'v-3-4',
    );

    // A second member: the partitions are split, each member reads what it got from the start.
    const b = member(client, topic, 'b');
    await b.start();
    await waitFor(
      `${client}: a rebalance splits the partitions`,
      () => a.owned().length + b.owned().length === PARTITIONS && a.owned().length > 0 && b.owned().length > 0,
      60_000,
    );
    const expected = (m: typeof a) =>
      m.owned().reduce((n, p) => n + (offsets.find((o) => o.partition === p) ? Number(offsets[p]!.high) : 0), 0);
    await waitFor(
      `${client}: both members re-read their partitions from the start`,
      () => sum(a.current()) === expected(a) && sum(b.current()) === expected(b),
      60_000,
    );
    for (const m of [a, b]) assert.deepEqual([...m.current().keys()].sort(), m.owned(), 'records only from owned partitions');

    // A clean stop hands every partition back to the member that stays.
    await b.stop();
    await waitFor(`${client}: a gets every partition back`, () => a.owned().length === PARTITIONS, 60_000);
    await waitFor(`${client}: a re-reads all 400`, () => sum(a.current()) === 400, 60_000);

    await a.stop();
    await producer.close();
    await admin.deleteTopics([topic]);
    await admin.close();
  });
}

/**
 * A partition whose log start moved past the member's position (retention, or deleteRecords)
 * answers OFFSET_OUT_OF_RANGE. That partition alone starts again from its new log start; the
 * member keeps its group membership and its other partitions' positions (no record read twice).
 */
for (const client of Object.keys(KAFKA_CLIENTS) as KafkaClientName[]) {
  test(`integration: ${client} adapter re-reads only an out-of-range partition, from its new start`, { timeout: 180_000 }, async () => {
    const topic = `out-of-range-${client}`;
    const adapter = KAFKA_CLIENTS[client]({ brokers: cluster().brokers, clientId: `${client}-oor` });
    const admin = await adapter.admin();
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const producer = await adapter.producer();
    const send = (partition: number, from: number, count: number) =>
      producer.send(
        Array.from({ length: count }, (_, i) => ({
          topic,
          partition,
          key: `p${partition}-${from + i}`,
          value: Buffer.from('x'),
          headers: {},
        })),
      );
    await Promise.all([send(0, 0, 10), send(1, 0, 10)]);

    // The first batch holds the member's fetch loop until the log start of partition 0 has moved.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    const seen: { partition: number; offset: string }[] = [];
    const assignments: Assignment[] = [];
    const consumer = adapter.consumer({
      groupId: `${topic}-group`,
      topics: [topic],
      fromBeginning: true,
      maxWaitMs: 100,
      partitionsConsumedConcurrently: 2,
    });
    await consumer.start({
      onAssigned: (a) => assignments.push(a),
      onBatch: async (records, ctx) => {
        for (const r of records) seen.push({ partition: ctx.partition, offset: r.offset });
        if (first) {
          first = false;
          await held;
        }
      },
    });
    await waitFor(`${client}: the first batch arrives`, () => !first, 60_000);

    const kafkajsAdmin = new Kafka({ brokers: [...cluster().brokers], clientId: 'oor-admin', logLevel: 0 }).admin();
    await kafkajsAdmin.connect();
    await kafkajsAdmin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded (kafkajs)
    await Promise.all([send(0, 10, 10), send(1, 10, 10)]);
    await kafkajsAdmin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '20' }] });
    assert.equal((await admin.topicOffsets(topic)).find((p) => p.partition === 0)?.low, '20', 'partition 0 now starts at 20');
    release();

    await waitFor(`${client}: partition 1 is read to its end`, () => seen.filter((s) => s.partition === 1).length >= 20, 60_000);
    await send(0, 20, 5);
    await waitFor(
      `${client}: partition 0 is read again past the moved start`,
      () => seen.some((s) => s.partition === 0 && s.offset === '24'),
      60_000,
    );

    const offsetsOf = (partition: number) => seen.filter((s) => s.partition === partition).map((s) => Number(s.offset));
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    assert.deepEqual(offsetsOf(1), range(0, 20), 'the other partition kept its position: each record once, in order');
    const p0 = offsetsOf(0);
    assert.deepEqual(p0.slice(p0.indexOf(20)), range(20, 25), 'partition 0 resumes at its new log start');
    assert.ok(
      p0.every((o) => o < 10 || o >= 20),
      'the deleted records 10–19 are never handed over',
    );
    assert.equal(assignments.length, 1, 'no rejoin: the member kept its partitions');

    await consumer.stop();
    await kafkajsAdmin.disconnect();
    await producer.close();
    await admin.deleteTopics([topic]);
    await admin.close();
  });
}
