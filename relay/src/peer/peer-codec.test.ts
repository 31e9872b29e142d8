import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Encoder } from '@msgpack/msgpack';
import { signToken } from '../../protocol/src/index.js';
import { checkPeerToken, decodePeerFrame, encodePeerHello, encodePeerRecords, peerSecret, peerToken } from './peer-codec.js';

const TOKEN_SECRET = 'test-secret-0123456789abcdef';

test('peer records round-trip: partition, offset, key and value bytes (or a tombstone)', () => {
  const records = [
    { partition: 3, offset: 41, key: 'bob/m1', value: Buffer.from([1, 2, 3]) },
    { partition: 3, offset: 42, key: 'bob/m0', value: null },
  ];
  assert.deepEqual(decodePeerFrame(encodePeerRecords(records)), { t: 'records', records });
  assert.deepEqual(decodePeerFrame(encodePeerHello('r1', 'tok.en')), { t: 'hello', gatewayId: 'r1', token: 'tok.en' });
});

test('a peer frame that is not a hello or well-formed records is refused', () => {
  const enc = new Encoder();
  for (const bad of [
    enc.encode([1, 2]),
    enc.encode({ x: 1 }),
    enc.encode({ r: [[1, 2, 'k']] }),
    enc.encode({ r: [[1, -1, 'k', null]] }),
    enc.encode({ r: [[1, 2, 'k', 'text, not bytes']] }),
    enc.encode({ r: [[1.5, 2, 'k', null]] }),
    new Uint8Array([0xc1]),
  ])
    assert.throws(() => decodePeerFrame(bad));
});

test('a peer token opens a link; a client token signed with the relays’ secret does not, nor a stale one', () => {
  const secret = peerSecret(TOKEN_SECRET);
  const now = Date.now();
  assert.doesNotThrow(() => checkPeerToken(peerToken(secret, now), secret, now));
  assert.throws(() => checkPeerToken(signToken({ sub: 'relaybench.peer', expMs: now + 60_000 }, TOKEN_SECRET), secret, now));
  assert.throws(() => checkPeerToken(signToken({ sub: 'alice', expMs: now + 60_000 }, secret), secret, now), /not a peer token/);
  assert.throws(() => checkPeerToken(peerToken(secret, now), secret, now + 120_000));
  assert.notEqual(peerSecret(TOKEN_SECRET), peerSecret('another-secret-0123456789'));
});
