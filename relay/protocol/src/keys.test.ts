import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MSG_ID_PATTERN,
  RECEIPT_KIND,
  RelaybenchError,
  USER_ID_PATTERN,
  mailboxKey,
  murmur2,
  parseKey,
  partitionFor,
  presenceKey,
  receiptKey,
} from './index.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RelaybenchError && e.code === code);
}

test('key builders produce the documented layouts', () => {
  assert.equal(mailboxKey('bob', 'alice:3:1'), 'bob/alice:3:1');
  assert.equal(receiptKey('alice', 'alice:3:1', RECEIPT_KIND.delivered), 'alice/r/alice:3:1/d');
  assert.equal(receiptKey('alice', 'alice:3:1', RECEIPT_KIND.read), 'alice/r/alice:3:1/r');
  assert.equal(presenceKey('bob'), 'bob/@gw');
  throwsCode(() => mailboxKey('b/ob', 'm'), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => mailboxKey('bob', 'm/1'), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => receiptKey('bob', 'm', 3 as 1), 'RB_PROTO_BAD_ARGUMENT');
});

test('parseKey inverts the builders, from strings and from UTF-8 bytes', () => {
  assert.deepEqual(parseKey('bob/alice:3:1'), { kind: 'mailbox', user: 'bob', msgId: 'alice:3:1' });
  assert.deepEqual(parseKey('bob/r'), { kind: 'mailbox', user: 'bob', msgId: 'r' });
  assert.deepEqual(parseKey('alice/r/m1/d'), { kind: 'receipt', user: 'alice', msgId: 'm1', receiptKind: 1 });
  assert.deepEqual(parseKey(Buffer.from('alice/r/m1/r')), { kind: 'receipt', user: 'alice', msgId: 'm1', receiptKind: 2 });
  assert.deepEqual(parseKey(new TextEncoder().encode('bob/@gw')), { kind: 'presence', user: 'bob' });
});

test('parseKey rejects everything else with RB_PROTO_BAD_KEY', () => {
  for (const key of [
    '',
    'bob',
    'bob/',
    '/m1',
    'bob/@x',
    'bob/r/m1/x',
    'bob/r/m1',
    'bob/r/m1/d/e',
    'bob/x/m1/d',
    'b b/m1',
    'bob/m 1',
    `bob/${'m'.repeat(300)}`,
  ]) {
    throwsCode(() => parseKey(key), 'RB_PROTO_BAD_KEY');
  }
  throwsCode(() => parseKey(42 as unknown as string), 'RB_PROTO_BAD_KEY');
});

test('round trip over generated ids', () => {
  const user = fc.stringMatching(USER_ID_PATTERN);
  const msgId = fc.stringMatching(MSG_ID_PATTERN);
  fc.assert(
    fc.property(user, msgId, fc.constantFrom(RECEIPT_KIND.delivered, RECEIPT_KIND.read), (u, m, k) => {
      assert.deepEqual(parseKey(mailboxKey(u, m)), { kind: 'mailbox', user: u, msgId: m });
      assert.deepEqual(parseKey(receiptKey(u, m, k)), { kind: 'receipt', user: u, msgId: m, receiptKind: k });
      assert.deepEqual(parseKey(presenceKey(u)), { kind: 'presence', user: u });
    }),
    { numRuns: 500 },
  );
});

test("murmur2 matches Kafka's Java Utils.murmur2 test vectors", () => {
  const vectors: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [input, expected] of vectors) assert.equal(murmur2(Buffer.from(input)), expected, input);
});

test('partitionFor is stable: fixed expected values (changing them moves every user)', () => {
  assert.equal(partitionFor('alice', 12), 9);
  assert.equal(partitionFor('bob', 12), 6);
  assert.equal(partitionFor('u0', 12), 2);
  assert.equal(partitionFor('u1', 12), 4);
  assert.equal(partitionFor('user-42', 12), 4);
  assert.equal(partitionFor('alice', 1), 0);
  fc.assert(
    fc.property(fc.stringMatching(USER_ID_PATTERN), fc.integer({ min: 1, max: 1000 }), (u, p) => {
      const partition = partitionFor(u, p);
      assert.ok(Number.isInteger(partition) && partition >= 0 && partition < p);
    }),
  );
  throwsCode(() => partitionFor('alice', 0), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => partitionFor('a/b', 12), 'RB_PROTO_BAD_ARGUMENT');
});

test('partitionFor spreads users roughly evenly', () => {
  const counts = new Array<number>(12).fill(0);
  for (let i = 0; i < 12_000; i++) counts[partitionFor(`user-${i}`, 12)]! += 1;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `partition count ${c}`);
});
