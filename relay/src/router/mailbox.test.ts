import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionMailbox, RECENT_DONE_LIMIT } from './mailbox.js';
import { encodeValue } from './records.js';
import { mailboxKey, presenceKey, receiptKey } from '../../protocol/src/index.js';

const msg = (from: string, msgId: string) =>
  encodeValue({ k: 'm', from, msgId, header: new Uint8Array([1]), ciphertext: new Uint8Array([2]), gwInUs: 1 });
const presence = (gatewayId: string | null, epoch: number, was?: string) =>
  encodeValue({ k: 'p', gatewayId, epoch, ...(was === undefined ? {} : { was }) });

test('while folding nothing is pushed; going live replays pending mail of online users in log order', () => {
  const mb = new PartitionMailbox(0);
  assert.equal(mb.apply(presenceKey('bob'), presence('gw1', 1), 0, 0).kind, 'none');
  assert.equal(mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0).kind, 'none');
  mb.apply(mailboxKey('bob', 'm2'), msg('alice', 'm2'), 0, 0);
  mb.apply(mailboxKey('bob', 'm1'), null, 0, 0); // delivered earlier: tombstone
  mb.apply(mailboxKey('carol', 'm3'), msg('alice', 'm3'), 0, 0); // carol offline
  const pushes = mb.goLive();
  assert.deepEqual(
    pushes.map((p) => [p.user, p.gatewayId, p.items.map((i) => i.msgId), p.replay, p.epoch]),
    [['bob', 'gw1', ['m2'], true, 1]],
  );
  assert.equal(mb.pendingCount, 2);
});

test('live: a new message to an online user is pushed at once; to an offline user it stays pending', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  mb.apply(presenceKey('bob'), presence('gw1', 1), 0, 0);
  const r = mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 5, 10);
  assert.equal(r.kind, 'push');
  if (r.kind === 'push') {
    assert.equal(r.push.gatewayId, 'gw1');
    assert.deepEqual(r.push.items[0]!.stamps, { gwInUs: 1, routedUs: 10 }, "producedUs is the ack's alone (PROTOCOL §9)");
  }
  assert.equal(mb.apply(mailboxKey('dave', 'm2'), msg('alice', 'm2'), 0, 0).kind, 'none');
});

test('a newer presence replays everything pending, in order; a late disconnect of an older connection is ignored', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0);
  mb.apply(receiptKey('bob', 'x9', 1), encodeValue({ k: 'r', msgId: 'x9', kind: 1, by: 'carol', gwInUs: 1 }), 0, 0);
  mb.apply(mailboxKey('bob', 'm2'), msg('alice', 'm2'), 0, 0);
  const r = mb.apply(presenceKey('bob'), presence('gw2', 7), 0, 0);
  assert.equal(r.kind, 'presence');
  if (r.kind === 'presence')
    assert.deepEqual(
      r.push?.items.map((i) => `${i.type}:${i.msgId}`),
      ['message:m1', 'receipt:x9', 'message:m2'],
    );
  assert.equal(mb.apply(presenceKey('bob'), presence(null, 6), 0, 0).kind, 'none');
  assert.deepEqual(mb.presenceOf('bob'), { gatewayId: 'gw2', epoch: 7 });
});

test('a second copy of a held or recently resolved message id is a duplicate, never pushed twice', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  mb.apply(presenceKey('bob'), presence('gw1', 1), 0, 0);
  assert.equal(mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0).kind, 'push');
  assert.equal(mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0).kind, 'duplicate');
  mb.apply(mailboxKey('bob', 'm1'), null, 0, 0);
  assert.equal(mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0).kind, 'duplicate');
});

test('resolved message ids are remembered up to the limit, oldest forgotten first; resolved receipts are not remembered', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  for (let i = 0; i <= RECENT_DONE_LIMIT; i++) {
    mb.apply(mailboxKey('bob', `m${i}`), msg('alice', `m${i}`), 0, 0);
    mb.apply(mailboxKey('bob', `m${i}`), null, 0, 0);
  }
  assert.equal(mb.apply(mailboxKey('bob', 'm0'), msg('alice', 'm0'), 0, 0).kind, 'none', 'the oldest is forgotten');
  assert.equal(mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0).kind, 'duplicate');
  assert.equal(mb.apply(mailboxKey('bob', `m${RECENT_DONE_LIMIT}`), msg('alice', 'x'), 0, 0).kind, 'duplicate');
  const receipt = encodeValue({ k: 'r', msgId: 'x9', kind: 1, by: 'carol', gwInUs: 1 });
  mb.apply(receiptKey('alice', 'x9', 1), receipt, 0, 0);
  mb.apply(receiptKey('alice', 'x9', 1), null, 0, 0);
  assert.equal(mb.apply(receiptKey('alice', 'x9', 1), receipt, 0, 0).kind, 'none', 'a late receipt copy is pending again (alice offline)');
  assert.equal(mb.pendingOf('alice').length, 1);
});

test('malformed keys and values are reported, not thrown', () => {
  const mb = new PartitionMailbox(0);
  assert.equal(mb.apply('no-slash', msg('a', 'b'), 0, 0).kind, 'malformed');
  assert.equal(mb.apply(null, msg('a', 'b'), 0, 0).kind, 'malformed');
  assert.equal(mb.apply(mailboxKey('bob', 'm1'), Buffer.from([0xc1]), 0, 0).kind, 'malformed');
  assert.equal(mb.apply(presenceKey('bob'), null, 0, 0).kind, 'malformed');
});

test('presence follows log order, not epochs: a newer connection with a lower epoch (a reinstall) is online, and the older one on another gateway is named to be replaced', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  mb.apply(presenceKey('bob'), presence('gw1', 900), 0, 0);
  const r = mb.apply(presenceKey('bob'), presence('gw2', 5), 0, 0);
  assert.deepEqual(
    r,
    {
      kind: 'presence',
      push: { user: 'bob', gatewayId: 'gw2', items: [], replay: true, epoch: 5 },
      replaced: { user: 'bob', gatewayId: 'gw1', epoch: 900 },
    },
    "an empty replay: its end is the connection's `replayed`",
  );
  assert.deepEqual(mb.presenceOf('bob'), { gatewayId: 'gw2', epoch: 5 });
  mb.apply(mailboxKey('bob', 'm1'), msg('alice', 'm1'), 0, 0);
  // The old connection's late disconnect names gw1/900: not the holder, ignored.
  assert.equal(mb.apply(presenceKey('bob'), presence(null, 900, 'gw1'), 0, 0).kind, 'none');
  assert.equal(mb.onlineCount, 1);
  // Same epoch on another gateway is still not the holder.
  mb.apply(presenceKey('bob'), presence(null, 5, 'gw1'), 0, 0);
  assert.equal(mb.onlineCount, 1);
  mb.apply(presenceKey('bob'), presence(null, 5, 'gw2'), 0, 0);
  assert.equal(mb.onlineCount, 0);
  assert.equal(mb.presenceOf('bob')?.gatewayId, null);
});

test('a newer connection on the same gateway is not named to be replaced (the gateway closes the old one itself)', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  mb.apply(presenceKey('bob'), presence('gw1', 1), 0, 0);
  const r = mb.apply(presenceKey('bob'), presence('gw1', 2), 0, 0);
  assert.equal(r.kind === 'presence' && r.replaced, null);
});

test('a fold names the connections that switches it saw in the last minute superseded, for their gateways to close (4011)', () => {
  const now = 1_000_000;
  const mb = new PartitionMailbox(0);
  // bob: gw1 → gw2 → gw1 again, all recent; carol: gw1 → gw2 long ago; dave: twice on gw1 (the gateway closes that itself).
  mb.apply(presenceKey('carol'), presence('gw1', 1), now - 120_000, 0);
  mb.apply(presenceKey('carol'), presence('gw2', 2), now - 119_000, 0);
  mb.apply(presenceKey('bob'), presence('gw1', 1), now - 3000, 0);
  mb.apply(presenceKey('bob'), presence('gw2', 2), now - 2000, 0);
  mb.apply(presenceKey('bob'), presence('gw1', 3), now - 1000, 0);
  mb.apply(presenceKey('dave'), presence('gw1', 1), now - 1000, 0);
  mb.apply(presenceKey('dave'), presence('gw1', 2), now - 500, 0);
  mb.goLive();
  assert.deepEqual(mb.takeFoldReplaced(now), [
    { user: 'bob', gatewayId: 'gw1', epoch: 1 },
    { user: 'bob', gatewayId: 'gw2', epoch: 2 },
  ]);
  assert.deepEqual(mb.takeFoldReplaced(now), [], 'once');
});

test('a fold never names the connection that holds presence, even when its record was written twice', () => {
  const mb = new PartitionMailbox(0);
  mb.apply(presenceKey('bob'), presence('gw1', 1), 10, 0);
  mb.apply(presenceKey('bob'), presence('gw2', 2), 20, 0);
  mb.apply(presenceKey('bob'), presence('gw1', 1), 30, 0); // a second copy of the first record
  mb.goLive();
  assert.deepEqual(mb.takeFoldReplaced(40), [{ user: 'bob', gatewayId: 'gw2', epoch: 2 }]);
});

test('live, a switch is told at once; only the switches a fold read wait for goLive', () => {
  const mb = new PartitionMailbox(0);
  mb.goLive();
  mb.apply(presenceKey('bob'), presence('gw1', 1), 10, 0);
  const r = mb.apply(presenceKey('bob'), presence('gw2', 2), 20, 0);
  assert.ok(r.kind === 'presence' && r.replaced !== null);
  assert.deepEqual(r.replaced, { user: 'bob', gatewayId: 'gw1', epoch: 1 });
  assert.deepEqual(mb.takeFoldReplaced(30), []);
});
