import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { SAMPLE_FRAMES, VARIANT_SAMPLES, fixtureFileName, fixturesDir } from '../fixtures/samples.js';
import {
  FRAME_SCHEMA,
  FRAME_TYPES,
  RelaybenchError,
  STAMP_FIELDS,
  decodeClientFrame,
  decodeFrame,
  decodeServerFrame,
  encodeFrame,
  frameName,
  validateFrame,
  type ClientFrame,
  type DeliverFrame,
  type Frame,
  type FrameName,
  type PingFrame,
  type SendFrame,
  type ServerFrame,
} from './index.js';

/** Compile-time check: fails the build when T is not `true`. */
function expectType<T extends true>(): T | void {}

const names = Object.keys(FRAME_TYPES) as FrameName[];
const dir = fixturesDir();

/** Encodes an arbitrary JS value with msgpack, bypassing the frame codec (to build hostile input). */
const raw = (value: unknown): Uint8Array => msgpackEncode(value);

function throwsCode(fn: () => unknown, code: string, messagePart?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RelaybenchError, `expected RelaybenchError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (messagePart !== undefined) assert.match(e.message, new RegExp(messagePart.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  });
}

for (const name of names) {
  test(`golden ${name}: encode equals the committed fixture bytes, decode equals the object`, () => {
    const fixture = new Uint8Array(readFileSync(join(dir, fixtureFileName(name))));
    const frame = SAMPLE_FRAMES[name];
    assert.deepEqual(Buffer.from(encodeFrame(frame)).toString('hex'), Buffer.from(fixture).toString('hex'));
    assert.deepEqual(decodeFrame(fixture), frame);
  });
}

for (const [name, frame] of Object.entries(VARIANT_SAMPLES)) {
  test(`golden variant ${name}: encode equals the committed fixture bytes, decode equals the object`, () => {
    const fixture = new Uint8Array(readFileSync(join(dir, `${name}.bin`)));
    assert.deepEqual(Buffer.from(encodeFrame(frame)).toString('hex'), Buffer.from(fixture).toString('hex'));
    assert.deepEqual(decodeFrame(fixture), frame);
  });
}

test('receiptSeen.more: old single-item frames still decode; pairs are checked; encode drops extra tuple elements', () => {
  assert.deepEqual(decodeClientFrame(raw({ t: 16, msgId: 'm1', kind: 1 })), { t: 16, msgId: 'm1', kind: 1 });
  assert.deepEqual(decodeClientFrame(raw({ t: 16, msgId: 'm1', kind: 1, more: null })), { t: 16, msgId: 'm1', kind: 1 });
  assert.deepEqual(decodeClientFrame(raw({ t: 16, msgId: 'm1', kind: 1, more: [] })), { t: 16, msgId: 'm1', kind: 1, more: [] });
  const bad: unknown[] = [
    [['m2']],
    [['m2', 3]],
    [['m/2', 1]],
    [['m2', 1, 0]],
    [{ msgId: 'm2', kind: 1 }],
    'm2',
    Array.from({ length: 513 }, (_, i) => [`m${i}`, 1]),
  ];
  for (const more of bad)
    throwsCode(() => decodeClientFrame(raw({ t: 16, msgId: 'm1', kind: 1, more })), 'RB_PROTO_BAD_FIELD', 'receiptSeen.more');
  const extra = { t: 16, msgId: 'm1', kind: 2, more: [['m2', 1, 'x']] } as unknown as Frame;
  assert.deepEqual(decodeFrame(encodeFrame(extra)), { t: 16, msgId: 'm1', kind: 2, more: [['m2', 1]] });
});

test('every frame type has a sample and a distinct number; frameName inverts FRAME_TYPES', () => {
  assert.equal(new Set(Object.values(FRAME_TYPES)).size, names.length);
  for (const name of names) {
    assert.equal(SAMPLE_FRAMES[name].t, FRAME_TYPES[name]);
    assert.equal(frameName(FRAME_TYPES[name]), name);
  }
  assert.equal(frameName(99), undefined);
});

test('no field name is inherited from Object.prototype (the decoder reads fields as plain properties)', () => {
  for (const fields of Object.values(FRAME_SCHEMA)) {
    for (const field of Object.keys(fields)) assert.ok(!(field in Object.prototype), field);
  }
  for (const field of STAMP_FIELDS) assert.ok(!(field in Object.prototype), field);
});

test('the hello fixture starts with t=1 and is a MessagePack fixmap (byte layout is pinned)', () => {
  const bytes = readFileSync(join(dir, 'hello.bin'));
  assert.equal(bytes[0], 0x84); // fixmap of 4 entries: t, v, token, epoch
  assert.deepEqual([...bytes.subarray(1, 4)], [0xa1, 0x74, 0x01]); // "t" → 1
});

test('encode is canonical: field order and unknown properties of the input do not matter', () => {
  const shuffled = { stamps: { producedUs: 2.5, extra: 1, gwInUs: 1.5 }, junk: 'x', msgId: 'm1', t: 11 } as unknown as Frame;
  assert.deepEqual(encodeFrame(shuffled), encodeFrame({ t: 11, msgId: 'm1', stamps: { gwInUs: 1.5, producedUs: 2.5 } }));
  // Absent optional fields are not written (no nil on the wire).
  const bytes = encodeFrame({ t: 4, code: 1, reason: 'x', msgId: undefined });
  assert.deepEqual(bytes, raw({ t: 4, code: 1, reason: 'x' }));
});

test('decode ignores unknown fields and treats nil optional fields as absent', () => {
  assert.deepEqual(decodeFrame(raw({ t: 13, msgId: 'm1', future: [1, 2, { a: 1 }] })), { t: 13, msgId: 'm1' });
  assert.deepEqual(decodeFrame(raw({ t: 4, code: 2, reason: '', msgId: null, reqId: null })), { t: 4, code: 2, reason: '' });
  assert.deepEqual(decodeFrame(raw({ t: 11, msgId: 'm', stamps: { gwInUs: 1, x: 'y' } })), { t: 11, msgId: 'm', stamps: { gwInUs: 1 } });
});

test('direction is visible in the types: ClientFrame and ServerFrame', () => {
  expectType<DeliverFrame extends ClientFrame ? false : true>();
  expectType<SendFrame extends ServerFrame ? false : true>();
  expectType<SendFrame extends ClientFrame ? true : false>();
  expectType<PingFrame extends ClientFrame & ServerFrame ? true : false>();
});

test('direction: the server rejects server frames, the client rejects client frames, ping/pong go both ways', () => {
  throwsCode(() => decodeClientFrame(encodeFrame(SAMPLE_FRAMES.deliver)), 'RB_PROTO_WRONG_DIRECTION', 'deliver');
  throwsCode(() => decodeServerFrame(encodeFrame(SAMPLE_FRAMES.send)), 'RB_PROTO_WRONG_DIRECTION', 'send');
  for (const name of ['ping', 'pong'] as const) {
    assert.deepEqual(decodeClientFrame(encodeFrame(SAMPLE_FRAMES[name])), SAMPLE_FRAMES[name]);
    assert.deepEqual(decodeServerFrame(encodeFrame(SAMPLE_FRAMES[name])), SAMPLE_FRAMES[name]);
  }
  assert.deepEqual(decodeClientFrame(encodeFrame(SAMPLE_FRAMES.hello)), SAMPLE_FRAMES.hello);
  assert.deepEqual(decodeServerFrame(encodeFrame(SAMPLE_FRAMES.welcome)), SAMPLE_FRAMES.welcome);
});

test('malformed input: not msgpack, truncated, trailing bytes, not a map', () => {
  const good = encodeFrame(SAMPLE_FRAMES.send);
  throwsCode(() => decodeFrame(new Uint8Array(0)), 'RB_PROTO_MALFORMED');
  throwsCode(() => decodeFrame(good.subarray(0, good.length - 1)), 'RB_PROTO_MALFORMED');
  throwsCode(() => decodeFrame(Uint8Array.from([...good, 0xc0])), 'RB_PROTO_MALFORMED');
  throwsCode(() => decodeFrame(Uint8Array.of(0xc1)), 'RB_PROTO_MALFORMED'); // never-used byte
  for (const value of [null, 1, 'hello', [1, 2], new Uint8Array(3), true]) {
    throwsCode(() => decodeFrame(raw(value)), 'RB_PROTO_MALFORMED', 'not a map');
  }
  throwsCode(() => decodeFrame('not bytes' as unknown as Uint8Array), 'RB_PROTO_MALFORMED');
  throwsCode(() => decodeFrame(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)), 'RB_PROTO_MALFORMED'); // array32 of 4G
});

test('unknown or missing frame type', () => {
  throwsCode(() => decodeFrame(raw({ t: 99 })), 'RB_PROTO_UNKNOWN_FRAME', 't=99');
  throwsCode(() => decodeFrame(raw({ msgId: 'x' })), 'RB_PROTO_UNKNOWN_FRAME');
  throwsCode(() => decodeFrame(raw({ t: '10' })), 'RB_PROTO_UNKNOWN_FRAME');
  throwsCode(() => decodeFrame(raw({ t: 10.5 })), 'RB_PROTO_UNKNOWN_FRAME');
  throwsCode(() => decodeFrame(raw({ t: 'length' })), 'RB_PROTO_UNKNOWN_FRAME');
});

test('bad fields are rejected with RB_PROTO_BAD_FIELD naming frame and field', () => {
  const send = { t: 10, msgId: 'm1', to: 'bob', header: new Uint8Array(1), ciphertext: new Uint8Array(1) };
  const cases: [Record<string, unknown>, string][] = [
    [{ ...send, msgId: undefined }, 'send.msgId is missing'],
    [{ ...send, msgId: 'has/slash' }, 'send.msgId'],
    [{ ...send, msgId: 'x'.repeat(129) }, 'send.msgId'],
    [{ ...send, to: 'bob@host' }, 'send.to'],
    [{ ...send, to: 'x'.repeat(65) }, 'send.to'],
    [{ ...send, to: '' }, 'send.to'],
    [{ ...send, header: 'text' }, 'send.header'],
    [{ ...send, header: new Uint8Array(1025) }, 'send.header'],
    [{ ...send, ciphertext: new Uint8Array(0) }, 'send.ciphertext'],
    [{ t: 1, v: -1, token: 'a.b', epoch: 0 }, 'hello.v'],
    [{ t: 1, v: 1.5, token: 'a.b', epoch: 0 }, 'hello.v'],
    [{ t: 1, v: 1, token: 'a b', epoch: 0 }, 'hello.token'],
    [{ t: 1, v: 1, token: 'a.b', epoch: 2 ** 53 }, 'hello.epoch'],
    [{ t: 3, url: 'http://example.com' }, 'redirect.url'],
    [{ t: 11, msgId: 'm', stamps: { gwInUs: -1 } }, 'ack.stamps'],
    [{ t: 11, msgId: 'm', stamps: [1] }, 'ack.stamps'],
    [{ t: 11, msgId: 'm' }, 'ack.stamps is missing'],
    [{ t: 15, msgId: 'm', kind: 3, by: 'bob', stamps: {} }, 'receipt.kind'],
    [{ t: 16, msgId: 'm', kind: '1' }, 'receiptSeen.kind'],
    [
      { t: 20, reqId: 1, identityKey: new Uint8Array(31), signedPrekey: new Uint8Array(32), signature: new Uint8Array(64) },
      'publishKeys.identityKey',
    ],
    [
      { t: 20, reqId: 1, identityKey: new Uint8Array(32), signedPrekey: new Uint8Array(33), signature: new Uint8Array(64) },
      'publishKeys.signedPrekey',
    ],
    [
      { t: 20, reqId: 1, identityKey: new Uint8Array(32), signedPrekey: new Uint8Array(32), signature: new Uint8Array(0) },
      'publishKeys.signature',
    ],
    [{ t: 4, code: 1, reason: 'x'.repeat(1025) }, 'error.reason'],
    [
      { t: 12, msgId: 'm', from: 'a', header: new Uint8Array(0), ciphertext: new Uint8Array(1), stamps: {}, sentAtUs: Number.NaN },
      'deliver.sentAtUs',
    ],
    [{ t: 30, n: 'one' }, 'ping.n'],
  ];
  for (const [value, field] of cases) throwsCode(() => decodeFrame(raw(value)), 'RB_PROTO_BAD_FIELD', field);
});

test('validateFrame applies the decoder checks to in-memory frames', () => {
  assert.deepEqual(validateFrame(SAMPLE_FRAMES.keys), SAMPLE_FRAMES.keys);
  throwsCode(() => validateFrame({ t: 22, reqId: 1, userId: 'no spaces' }), 'RB_PROTO_BAD_FIELD', 'fetchKeys.userId');
  throwsCode(() => validateFrame({ t: 77 } as unknown as Frame), 'RB_PROTO_UNKNOWN_FRAME');
});

test('encodeFrame rejects frames it cannot represent with RB_PROTO_BAD_ARGUMENT', () => {
  throwsCode(() => encodeFrame({ t: 99 } as unknown as Frame), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => encodeFrame(null as unknown as Frame), 'RB_PROTO_BAD_ARGUMENT');
  throwsCode(() => encodeFrame({ t: 13 } as unknown as Frame), 'RB_PROTO_BAD_ARGUMENT', 'received.msgId');
  throwsCode(() => encodeFrame({ t: 13, msgId: Symbol('x') } as unknown as Frame), 'RB_PROTO_BAD_ARGUMENT');
});

test('decoded binary fields are views of the input (documented zero-copy contract)', () => {
  const bytes = encodeFrame(SAMPLE_FRAMES.send);
  const frame = decodeFrame(bytes);
  assert.ok(frame.t === FRAME_TYPES.send);
  assert.equal(frame.ciphertext.buffer, bytes.buffer);
});

test('hello of another version: read by its frozen fields (t, v, token) only, so the relay can answer error 2', () => {
  const other = decodeClientFrame(msgpackEncode({ t: FRAME_TYPES.hello, v: 2, token: 'a.b', epoch: 'not a v1 epoch' }));
  assert.deepEqual(other, { t: FRAME_TYPES.hello, v: 2, token: 'a.b', epoch: 0 });
  assert.deepEqual(decodeClientFrame(msgpackEncode({ t: FRAME_TYPES.hello, v: 3, token: 'a.b' })), {
    t: FRAME_TYPES.hello,
    v: 3,
    token: 'a.b',
    epoch: 0,
  });
  assert.throws(
    () => decodeClientFrame(msgpackEncode({ t: FRAME_TYPES.hello, v: 1, token: 'a.b' })),
    /hello\.epoch/,
    'version 1 still needs its epoch',
  );
  assert.throws(
    () => decodeClientFrame(msgpackEncode({ t: FRAME_TYPES.hello, v: 2, token: 'bad token!' })),
    /hello\.token/,
    'the token is frozen too',
  );
});
