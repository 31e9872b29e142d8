import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionFor } from '../../../relay/protocol/src/index.js';
import { backoffDelayMs } from '../../../relay/protocol/src/index.js';
import { httpUrlOf, RelayPicker } from './routes.js';

test('backoff: full-jitter window [cap/2, cap], doubling from 100 ms to a 30 s cap', () => {
  const at = (attempt: number, r: number) => backoffDelayMs(attempt, { initialMs: 100, maxMs: 30_000, random: () => r });
  assert.deepEqual([at(0, 0), at(0, 0.999999)].map(Math.round), [50, 100]);
  assert.equal(at(3, 0), 400);
  assert.equal(at(20, 0), 15_000);
  assert.ok(at(60, 0.999999) <= 30_000);
});

test('routes: ws URL → http path; the picker uses the owner of the user partition, then rotates', () => {
  assert.equal(httpUrlOf('ws://127.0.0.1:8080/ws?x=1', '/routes'), 'http://127.0.0.1:8080/routes');
  assert.equal(httpUrlOf('wss://h/', '/routes'), 'https://h/routes');
  const picker = new RelayPicker(['ws://a/', 'ws://b/']);
  assert.equal(picker.urlFor('u1'), 'ws://a/', 'no hint: round robin');
  assert.equal(picker.urlFor('u1'), 'ws://b/');
  const p = partitionFor('alice', 4);
  picker.setRoutes({ partitionCount: 4, partitions: { [String(p)]: 'ws://owner/' } });
  assert.equal(picker.urlFor('alice'), 'ws://owner/');
  assert.notEqual(picker.urlFor('alice', 1), 'ws://owner/', 'a retry rotates over the configured relays');
});

test('routes: a relay that refused a connection is skipped for a while, unless every relay is down', () => {
  let now = 1_000;
  const picker = new RelayPicker(['ws://a/', 'ws://b/', 'ws://c/'], () => now);
  picker.markDown('ws://b/');
  assert.deepEqual(
    Array.from({ length: 6 }, () => picker.urlFor('u', 1)),
    ['ws://a/', 'ws://c/', 'ws://a/', 'ws://c/', 'ws://a/', 'ws://c/'],
  );
  picker.setRoutes({ partitionCount: 1, partitions: { '0': 'ws://b/' } });
  assert.notEqual(picker.urlFor('u', 0), 'ws://b/', 'not even as the routing hint');
  picker.markDown('ws://a/');
  picker.markDown('ws://c/');
  assert.ok(['ws://a/', 'ws://b/', 'ws://c/'].includes(picker.urlFor('u', 1)), 'all down: still tries one');
  now += 10_001;
  assert.deepEqual(
    new Set(Array.from({ length: 3 }, () => picker.urlFor('u', 1))),
    new Set(['ws://a/', 'ws://b/', 'ws://c/']),
    'back after the pause',
  );
});
