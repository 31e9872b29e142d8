/**
 * The fuzz cases that send one bad message on a normal connection: bytes that are not a frame,
 * frames with a wrong field, type, size or direction, msgpack built to hurt a decoder, text where
 * binary belongs, and confirms of someone else's message.
 */
import { FRAME_TYPES, PROTOCOL_VERSION, encodeFrame } from '../../relay/protocol/src/index.js';
import type { CaseContext, Probe } from './case-types.js';
import { bin, enc, freshToken, int, pick, randomBytes, raw, sendMap, validFrames, wsCase as ws } from './case-inputs.js';

export function randomBytesCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  return ws(p.next() < 0.5, [bin(randomBytes(p, int(p, 0, 300)))]);
}

export function truncatedCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const v = pick(p, validFrames(ctx));
  return ws(p.next() < 0.5, [bin(v.slice(0, int(p, 0, v.length - 1)))]);
}

export function bitFlipCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const v = pick(p, validFrames(ctx)).slice();
  const flips = int(p, 1, 4);
  for (let i = 0; i < flips; i++) v[int(p, 0, v.length - 1)]! ^= 1 << int(p, 0, 7);
  return ws(p.next() < 0.5, [bin(v)]);
}

export function wrongTypeCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const m = sendMap(ctx);
  const field = pick(p, ['msgId', 'to', 'header', 'ciphertext']);
  m[field] = pick<unknown>(p, [42, -1, true, null, [1, 2], { a: 1 }, 'text-not-bin', new Uint8Array(3), 1.5]);
  // A string in a bin field or bytes in a string field must fail; an accidental right type is re-broken.
  if ((field === 'header' || field === 'ciphertext') && m[field] instanceof Uint8Array) m[field] = 'not-binary';
  if ((field === 'msgId' || field === 'to') && typeof m[field] === 'string') m[field] = 123;
  const other = pick<Record<string, unknown>>(p, [
    { t: FRAME_TYPES.hello, v: '1', token: 'abc.def', epoch: 1 },
    { t: FRAME_TYPES.hello, v: 1, token: 12345, epoch: 1 },
    { t: FRAME_TYPES.fetchKeys, reqId: 'seven', userId: ctx.user },
    { t: FRAME_TYPES.receiptSeen, msgId: 'x:1:1', kind: 'delivered' },
    { t: FRAME_TYPES.publishKeys, reqId: 1, identityKey: 'k', signedPrekey: new Uint8Array(32), signature: new Uint8Array(64) },
    { t: FRAME_TYPES.ping, n: 'one' },
  ]);
  const useOther = p.next() < 0.3;
  const input = useOther ? other : m;
  return ws(useOther && input.t === FRAME_TYPES.hello ? false : true, [enc(input)]);
}

export function hugeStringCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const big = (n: number) => 'A'.repeat(n);
  const choice = int(p, 0, 5);
  if (choice === 0) return ws(false, [enc({ t: FRAME_TYPES.hello, v: 1, token: big(int(p, 1025, 40_000)), epoch: 1 })]);
  const m = sendMap(ctx);
  if (choice === 1) m.msgId = big(int(p, 129, 50_000));
  else if (choice === 2) m.to = big(int(p, 65, 50_000));
  else if (choice === 3) m.header = new Uint8Array(int(p, 1025, 30_000));
  else if (choice === 4) return ws(true, [enc({ t: FRAME_TYPES.fetchKeys, reqId: 1, userId: big(int(p, 65, 60_000)) })]);
  else
    return ws(true, [
      enc({
        t: FRAME_TYPES.publishKeys,
        reqId: 1,
        identityKey: new Uint8Array(33),
        signedPrekey: new Uint8Array(32),
        signature: new Uint8Array(int(p, 257, 40_000)),
      }),
    ]);
  return ws(true, [enc(m)]);
}

export function unknownFrameCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const t = pick<unknown>(p, [0, 5, 9, 18, 99, 127, 255, 65535, 2 ** 40, -1, 1.5, '10', null, true, [10], undefined]);
  const frame: Record<string, unknown> = { ...sendMap(ctx) };
  if (t === undefined) delete frame.t;
  else frame.t = t;
  return ws(p.next() < 0.5, [enc(frame)]);
}

export function wrongDirectionCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const t = pick(p, [
    FRAME_TYPES.welcome,
    FRAME_TYPES.redirect,
    FRAME_TYPES.error,
    FRAME_TYPES.ack,
    FRAME_TYPES.deliver,
    FRAME_TYPES.receipt,
    FRAME_TYPES.keysPublished,
    FRAME_TYPES.keys,
    FRAME_TYPES.replayed,
  ]);
  return ws(p.next() < 0.5, [
    enc({
      t,
      msgId: 'x:1:1',
      code: 1,
      reason: 'r',
      url: 'ws://evil/',
      from: 'alice',
      header: new Uint8Array(1),
      ciphertext: new Uint8Array(1),
      stamps: {},
      reqId: 1,
    }),
  ]);
}

export function negativeNumberCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const n = pick(p, [-1, -(2 ** 31), -(2 ** 53), Number.NEGATIVE_INFINITY, Number.NaN, 2 ** 53 + 2, 1e300]);
  const frame = pick<Record<string, unknown>>(p, [
    { t: FRAME_TYPES.ping, n },
    { t: FRAME_TYPES.fetchKeys, reqId: n, userId: ctx.user },
    { t: FRAME_TYPES.receiptSeen, msgId: 'x:1:1', kind: n },
    {
      t: FRAME_TYPES.publishKeys,
      reqId: n,
      identityKey: new Uint8Array(32),
      signedPrekey: new Uint8Array(32),
      signature: new Uint8Array(64),
    },
  ]);
  if (p.next() < 0.3) return ws(false, [enc({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: freshToken(ctx), epoch: n })]);
  return ws(true, [enc(frame)]);
}

export function oversizedCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const m = sendMap(ctx);
  m.ciphertext = new Uint8Array(ctx.maxPayloadBytes + int(p, 1, 64 * 1024));
  return ws(p.next() < 0.5, [enc(m)], 1000);
}

export function msgpackBombCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const choice = int(p, 0, 7);
  let bytes: Uint8Array;
  if (choice === 0)
    bytes = new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]); // array32 of 4 G elements, no body
  else if (choice === 1)
    bytes = new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x74, 0x0a]); // map32 of 4 G entries
  else if (choice === 2)
    bytes = new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x41]); // str32 longer than the input
  else if (choice === 3)
    bytes = new Uint8Array(int(p, 10_000, 60_000)).fill(0x91); // deep nesting [[[[...]]]]
  else if (choice === 4)
    bytes = new Uint8Array([...raw.encode(sendMap(ctx)), 0xc0, 0xc0]); // trailing bytes
  else if (choice === 5)
    bytes = new Uint8Array([...encodeFrame({ t: FRAME_TYPES.ping, n: 1 }), ...encodeFrame({ t: FRAME_TYPES.ping, n: 2 })]); // two frames in one message
  else if (choice === 6)
    bytes = raw.encode({ ['__proto__']: { t: 10 }, t: FRAME_TYPES.ping, n: 1, constructor: 1, toString: 2 }); // prototype keys
  else bytes = new Uint8Array([0xc7, 0x04, 0x01, 1, 2, 3, 4]); // ext type at top level
  return ws(p.next() < 0.5, [bin(bytes)]);
}

export function textFrameCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  return ws(p.next() < 0.5, [{ kind: 'text', text: pick(p, ['hello?', '{"t":1}', '', '\u0000\uffff', 'x'.repeat(int(p, 1, 2000))]) }]);
}

export function forbiddenConfirmCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  const t = pick(p, [FRAME_TYPES.received, FRAME_TYPES.read]);
  return ws(true, [enc({ t, msgId: `someone-else:1:${int(p, 1, 1e6)}` })], 600);
}
