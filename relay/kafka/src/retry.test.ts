import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { isRetriableKafkaError, rideOut } from './retry.js';

const protocolError = (type: string, retriable: boolean, message: string) =>
  new kafkajs.KafkaJSProtocolError({ type, code: 1, retriable, message } as unknown as Error);

test("a fresh cluster's passing states are retriable, through kafkajs' wrappers; a bad request is not", () => {
  assert.ok(isRetriableKafkaError(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true, 'This server does not host this topic-partition')));
  assert.ok(
    isRetriableKafkaError(
      protocolError('COORDINATOR_LOAD_IN_PROGRESS', true, "The coordinator is loading and hence can't process requests for this group"),
    ),
  );
  const wrapped = Object.assign(new kafkajs.KafkaJSNonRetriableError(new Error('x')), {
    cause: protocolError('LEADER_NOT_AVAILABLE', true, 'There is no leader for this topic-partition'),
  });
  assert.ok(isRetriableKafkaError(wrapped));
  assert.equal(isRetriableKafkaError(protocolError('INVALID_REPLICATION_FACTOR', false, 'Replication-factor is invalid')), false);
  assert.equal(isRetriableKafkaError(new Error('something else')), false);
});

test('rideOut retries a retriable error, logging why, and gives up at the bound with a clear message', async () => {
  const lines: string[] = [];
  let calls = 0;
  const value = await rideOut(
    'subscribe',
    async () => {
      if (++calls < 3) throw protocolError('UNKNOWN_TOPIC_OR_PARTITION', true, 'This server does not host this topic-partition');
      return 'ok';
    },
    { boundMs: 60_000, log: (l) => lines.push(l) },
  );
  assert.equal(value, 'ok');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /subscribe failed \(This server does not host this topic-partition\); retriable/);

  await assert.rejects(
    rideOut('connect', () => Promise.reject(protocolError('COORDINATOR_NOT_AVAILABLE', true, 'The coordinator is not available')), {
      boundMs: 300,
      log: () => {},
    }),
    /connect: gave up after \d+ attempts over \d+ s: The coordinator is not available/,
  );
  let once = 0;
  await assert.rejects(
    rideOut('admin', () => (once++, Promise.reject(new Error('bad request'))), { boundMs: 60_000, log: () => {} }),
    /^Error: bad request$/,
  );
  assert.equal(once, 1, 'a non-retriable error is not retried');
});
