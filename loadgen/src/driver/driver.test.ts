import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionFor } from '../../../relay/protocol/src/index.js';
import { backoffDelayMs } from '../../../relay/protocol/src/index.js';
import { httpUrlOf, pinRoutes, RelayPicker, type RoutesTable } from './routes.js';

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

test('routes: the hint keeps to the relays given — an owner behind a proxy becomes its proxy (by gateway id), an unknown one loses its hint', async () => {
  const table: RoutesTable = {
    partitionCount: 3,
    partitions: { '0': 'ws://r1:1/', '1': 'ws://r2:2/', '2': 'ws://r3:3/' },
    members: [
      { gatewayId: 'g1', url: 'ws://r1:1/' },
      { gatewayId: 'g2', url: 'ws://r2:2/' },
      { gatewayId: 'g3', url: 'ws://r3:3/' },
    ],
  };
  const asked: string[] = [];
  const gatewayOf = async (url: string) => (asked.push(url), { 'ws://p1/': 'g1', 'ws://p2/': 'g2' }[url] ?? null);

  // The relays' own URLs given (also without the trailing slash): the table as it is, nothing asked.
  const own = await pinRoutes(['ws://r1:1', 'ws://r2:2/', 'ws://r3:3/'], table, gatewayOf);
  assert.equal(own.routes, table);
  assert.deepEqual([own.unmatched, asked], [[], []]);

  // Proxies given: each owner becomes the proxy that answers with its gateway id; r3 has none.
  const viaProxies = await pinRoutes(['ws://p1/', 'ws://p2/'], table, gatewayOf);
  const pinned: Readonly<Record<string, string>> = viaProxies.routes.partitions;
  assert.deepEqual({ ...pinned }, { '0': 'ws://p1/', '1': 'ws://p2/' });
  assert.deepEqual(viaProxies.unmatched, ['ws://r3:3/']);
  assert.deepEqual(asked.sort(), ['ws://p1/', 'ws://p2/']);

  // The picker then sends partition 2's users round robin over the relays given, never to r3.
  const picker = new RelayPicker(['ws://p1/', 'ws://p2/']);
  picker.setRoutes(viaProxies.routes);
  const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
  for (const u of users) {
    const url = picker.urlFor(u);
    const owner = pinned[String(partitionFor(u, 3))];
    assert.equal(url, owner ?? url, `${u} goes to its owner's proxy when it has one`);
    assert.ok(['ws://p1/', 'ws://p2/'].includes(url), `${u} connects only to a relay given`);
  }

  // A table without members (an older relay): nothing can be matched, every hint is dropped.
  const bare = await pinRoutes(['ws://p1/'], { partitionCount: 1, partitions: { '0': 'ws://r1:1/' } }, gatewayOf);
  assert.deepEqual([bare.routes.partitions, bare.unmatched], [{}, ['ws://r1:1/']]);
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
