import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { RelaybenchError, signToken, verifyToken } from './index.js';

const SECRET = 'test-secret-0123456789';
const NOW = 1_764_201_600_000;

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RelaybenchError && e.code === code);
}

test('a valid token verifies to its claims until (excluding) its expiry', () => {
  const token = signToken({ sub: 'alice', expMs: NOW + 60_000 }, SECRET);
  assert.deepEqual(verifyToken(token, SECRET, NOW), { sub: 'alice', expMs: NOW + 60_000 });
  assert.deepEqual(verifyToken(token, Buffer.from(SECRET), NOW + 59_999), { sub: 'alice', expMs: NOW + 60_000 });
  throwsCode(() => verifyToken(token, SECRET, NOW + 60_000), 'RB_PROTO_TOKEN_EXPIRED');
});

test('the format is base64url(JSON {sub, exp}) "." base64url(HMAC-SHA256(secret, first part))', () => {
  const token = signToken({ sub: 'bob', expMs: 5 }, SECRET);
  const [payload, mac] = token.split('.');
  assert.equal(Buffer.from(payload!, 'base64url').toString('utf8'), '{"sub":"bob","exp":5}');
  assert.equal(mac, createHmac('sha256', SECRET).update(payload!).digest('base64url'));
  assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
});

test('forged tokens are invalid: other secret, edited payload, edited or truncated signature', () => {
  const token = signToken({ sub: 'alice', expMs: NOW + 60_000 }, SECRET);
  const [payload, mac] = token.split('.') as [string, string];
  throwsCode(() => verifyToken(token, 'another-secret-0123456789', NOW), 'RB_PROTO_TOKEN_INVALID');
  const forgedPayload = Buffer.from(JSON.stringify({ sub: 'mallory', exp: NOW + 60_000 })).toString('base64url');
  throwsCode(() => verifyToken(`${forgedPayload}.${mac}`, SECRET, NOW), 'RB_PROTO_TOKEN_INVALID');
  const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
  throwsCode(() => verifyToken(`${payload}.${flipped}`, SECRET, NOW), 'RB_PROTO_TOKEN_INVALID');
  throwsCode(() => verifyToken(`${payload}.${mac.slice(0, -1)}`, SECRET, NOW), 'RB_PROTO_TOKEN_INVALID');
  // An expired token with a bad signature reports INVALID, not EXPIRED (nothing unauthenticated leaks).
  const old = signToken({ sub: 'alice', expMs: 1 }, SECRET);
  throwsCode(() => verifyToken(`${old.split('.')[0]!}.${mac}`, SECRET, NOW), 'RB_PROTO_TOKEN_INVALID');
});

test('garbage is invalid, never another exception type', () => {
  const signedGarbage = (payloadText: string): string => {
    const payload = Buffer.from(payloadText).toString('base64url');
    return `${payload}.${createHmac('sha256', SECRET).update(payload).digest('base64url')}`;
  };
  const garbage: unknown[] = [
    '',
    '.',
    'a.',
    '.a',
    'a.b.c',
    'no-dot',
    'a b.c',
    '€.x',
    'x'.repeat(2000),
    42,
    null,
    undefined,
    {},
    signedGarbage('not json'),
    signedGarbage('[1,2]'),
    signedGarbage('null'),
    signedGarbage('{"sub":"a/b","exp":9e15}'),
    signedGarbage('{"sub":"alice","exp":"never"}'),
    signedGarbage('{"sub":"alice","exp":1.5}'),
  ];
  for (const token of garbage) throwsCode(() => verifyToken(token, SECRET, NOW), 'RB_PROTO_TOKEN_INVALID');
});

test('bad arguments: short secret, invalid sub or expiry', () => {
  throwsCode(() => signToken({ sub: 'alice', expMs: NOW }, 'short'), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => verifyToken('a.b', 'short', NOW), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => signToken({ sub: 'al/ice', expMs: NOW }, SECRET), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => signToken({ sub: 'alice', expMs: 1.5 }, SECRET), 'RB_PROTO_BAD_ARGUMENT');
});
