import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { needsNewProducerId, unansweredPartitions } from './kafkajs-adapter.js';

const protocolError = (type: string) =>
  new kafkajs.KafkaJSProtocolError({ type, code: 45, retriable: false, message: type } as unknown as Error);

test('a fenced producer id is recognised through kafkajs’ wrappers; other produce errors are not', () => {
  const seq = protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER');
  assert.ok(needsNewProducerId(seq));
  // kafkajs' retrier wraps the broker's error and keeps it as `cause`.
  assert.ok(needsNewProducerId(Object.assign(new kafkajs.KafkaJSNonRetriableError(seq), { cause: seq })));
  assert.ok(
    needsNewProducerId(
      Object.assign(new kafkajs.KafkaJSNumberOfRetriesExceeded(new Error('x'), { retryCount: 5, retryTime: 100 }), {
        cause: protocolError('UNKNOWN_PRODUCER_ID'),
      }),
    ),
  );
  assert.equal(needsNewProducerId(protocolError('NOT_LEADER_FOR_PARTITION')), false);
  assert.equal(needsNewProducerId(new Error('connection refused')), false);
  assert.equal(needsNewProducerId(undefined), false);
});

test('a partition no broker answered for is found (kafkajs resolves sendBatch anyway when its leader moved mid-request)', () => {
  const rec = (topic: string, partition?: number) => ({
    topic,
    key: 'k',
    value: Buffer.from('v'),
    ...(partition === undefined ? {} : { partition }),
  });
  const records = [rec('m', 0), rec('m', 7), rec('m', 7), rec('d', 0), rec('x')];
  assert.deepEqual(
    unansweredPartitions(records, [
      { topicName: 'm', partition: 0 },
      { topicName: 'd', partition: 0 },
    ]),
    ['m/7'],
  );
  assert.deepEqual(
    unansweredPartitions(records, [
      { topicName: 'm', partition: 0 },
      { topicName: 'm', partition: 7 },
      { topicName: 'd', partition: 0 },
    ]),
    [],
  );
});
