import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { MultipleErrors, NetworkError, ProtocolError, ResponseError, UserError } from '@platformatic/kafka';
import { isRetriablePlatformaticError, requestCounter } from './platformatic-support.js';

test("the library's retriable protocol errors and network errors are ridden out; a user error is not", () => {
  assert.ok(isRetriablePlatformaticError(new ProtocolError('NOT_LEADER_OR_FOLLOWER')));
  assert.ok(isRetriablePlatformaticError(new ProtocolError('COORDINATOR_LOAD_IN_PROGRESS')));
  assert.ok(isRetriablePlatformaticError(new NetworkError('Connection closed')));
  assert.equal(isRetriablePlatformaticError(new ProtocolError('INVALID_REPLICATION_FACTOR')), false);
  assert.equal(isRetriablePlatformaticError(new UserError('Cannot find broker with node id 7')), false);
});

test('a response with several errors is retriable only when each of them is', () => {
  const both = new MultipleErrors('Producing messages failed.', [
    new ProtocolError('NOT_LEADER_OR_FOLLOWER'),
    new NetworkError('Connection closed'),
  ]);
  assert.ok(isRetriablePlatformaticError(both));
  const mixed = new ResponseError(
    1,
    17,
    { '/responses/0/partitions/0': [6, 'moved'], '/responses/0/partitions/1': [1, 'below the log start'] } as never,
    {},
  );
  assert.equal(isRetriablePlatformaticError(mixed), false, 'OFFSET_OUT_OF_RANGE next to a moved leader needs more than a retry');
});

test('every request the library publishes is counted under its API name, until unsubscribed', () => {
  const names: string[] = [];
  const stop = requestCounter((n) => names.push(n));
  const start = channel('tracing:plt:kafka:connections:api:start');
  start.publish({ apiKey: 0 });
  start.publish({ apiKey: 1 });
  start.publish({ apiKey: 68 });
  stop();
  start.publish({ apiKey: 0 });
  assert.deepEqual(names, ['Produce', 'Fetch', 'api 68']);
});
