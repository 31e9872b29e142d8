/**
 * The adversarial inputs of the relay fuzz, by category. Each category builds one probe: what to
 * send on one fresh connection (before or after a valid hello). Inputs are raw bytes, so the
 * fuzzer can send what no encoder would produce. Deterministic for a given PRNG.
 */
import { Encoder } from '@msgpack/msgpack';
import { createHmac } from 'node:crypto';
import { FRAME_TYPES, PROTOCOL_VERSION, encodeFrame, signToken } from '../../relay/protocol/src/index.js';
import type { Prng } from '../../loadgen/src/rate/prng.js';

export const FUZZ_CATEGORIES = [
  'random-bytes',
  'truncated',
  'bit-flip',
  'wrong-type',
  'huge-string',
  'unknown-frame',
  'wrong-direction',
  'negative-number',
  'oversized',
  'msgpack-bomb',
  'bad-token',
  'bad-version',
  'before-hello',
  'duplicate-hello',
  'text-frame',
  'forbidden-confirm',
  'flood',
  'keys-flood',
  'hello-storm',
  'ws-protocol',
  'no-hello',
] as const;
export type FuzzCategory = (typeof FUZZ_CATEGORIES)[number];

/** Categories where every probe must draw a rejection (an error frame or a close by the relay). */
export const ALWAYS_REJECTED: ReadonlySet<FuzzCategory> = new Set<FuzzCategory>([
  'truncated',
  'wrong-type',
  'huge-string',
  'unknown-frame',
  'wrong-direction',
  'negative-number',
  'oversized',
  'msgpack-bomb',
  'bad-token',
  'bad-version',
  'before-hello',
  'duplicate-hello',
  'text-frame',
  'forbidden-confirm',
  'flood',
  'keys-flood',
  'hello-storm',
  'ws-protocol',
  'no-hello',
]);

/** One input on a normal (ws library) connection. */
export type WsInput = { readonly kind: 'binary'; readonly bytes: Uint8Array } | { readonly kind: 'text'; readonly text: string };

export type Probe =
  /** Send `inputs` on one connection, after a valid hello when `afterHello`. `hello` replaces the valid hello (bad tokens, versions). */
  | { readonly shape: 'ws'; readonly afterHello: boolean; readonly inputs: readonly WsInput[]; readonly waitMs: number }
  /** `connections` sockets at once, all hello for the same user (the relay keeps only one: 4011 for the others). */
  | { readonly shape: 'storm'; readonly connections: number }
  /** Raw TCP: a WebSocket upgrade, then hand-made WebSocket frames the ws client would never send. */
  | { readonly shape: 'raw'; readonly frames: readonly Uint8Array[]; readonly what: string; readonly echo?: number }
  /** Connect and say nothing: the relay must close 1008 after its hello timeout. */
  | { readonly shape: 'idle'; readonly waitMs: number };

export interface CaseContext {
  readonly prng: Prng;
  readonly secret: string;
  /** The userId of the probe's connection (its valid hello). */
  readonly user: string;
  /** A user that never connects: the `to` of sends that may be accepted, so no fuzz connection gets replays. */
  readonly sink: string;
  readonly maxPayloadBytes: number;
  /** Frames to send in a flood: well past the relay's burst. */
  readonly floodFrames: number;
  /** fetchKeys for unknown users in a keys flood (each makes the relay wait for a bundle). */
  readonly keyFetches: number;
  readonly helloTimeoutMs: number;
}

const raw = new Encoder();
const bin = (bytes: Uint8Array): WsInput => ({ kind: 'binary', bytes });
const enc = (value: unknown): WsInput => bin(raw.encode(value));

function int(p: Prng, lo: number, hi: number): number {
  return lo + Math.floor(p.next() * (hi - lo + 1));
}
function pick<T>(p: Prng, items: readonly T[]): T {
  return items[Math.floor(p.next() * items.length)]!;
}
function randomBytes(p: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(p.next() * 256);
  return out;
}

/** Valid client frames to truncate and mutate. */
function validFrames(ctx: CaseContext): Uint8Array[] {
  const { user } = ctx;
  return [
    encodeFrame({
      t: FRAME_TYPES.send,
      msgId: `${user}:1:${int(ctx.prng, 1, 1e9)}`,
      to: ctx.sink,
      header: new Uint8Array(24),
      ciphertext: randomBytes(ctx.prng, 64),
    }),
    encodeFrame({
      t: FRAME_TYPES.hello,
      v: PROTOCOL_VERSION,
      token: signToken({ sub: user, expMs: Date.now() + 600_000 }, ctx.secret),
      epoch: Date.now(),
    }),
    encodeFrame({ t: FRAME_TYPES.received, msgId: `x:1:${int(ctx.prng, 1, 1e6)}` }),
    encodeFrame({
      t: FRAME_TYPES.publishKeys,
      reqId: 7,
      identityKey: new Uint8Array(32),
      signedPrekey: new Uint8Array(32),
      signature: new Uint8Array(64),
    }),
    encodeFrame({ t: FRAME_TYPES.fetchKeys, reqId: 8, userId: user }),
    encodeFrame({ t: FRAME_TYPES.receiptSeen, msgId: 'x:1:1', kind: 1 }),
  ];
}

/** A send frame as a plain map, to break one field at a time. */
function sendMap(ctx: CaseContext): Record<string, unknown> {
  return {
    t: FRAME_TYPES.send,
    msgId: `${ctx.user}:9:${int(ctx.prng, 1, 1e9)}`,
    to: ctx.sink,
    header: new Uint8Array(8),
    ciphertext: new Uint8Array(16),
  };
}

/** Hand-made token pieces (the relay's verifier must refuse each). */
function badTokens(ctx: CaseContext): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
  const mac = (payload: string) => createHmac('sha256', ctx.secret).update(payload, 'ascii').digest('base64url');
  const signed = (json: string) => {
    const payload = b64(json);
    return `${payload}.${mac(payload)}`;
  };
  const good = signToken({ sub: ctx.user, expMs: Date.now() + 600_000 }, ctx.secret);
  const [payload, sig] = good.split('.') as [string, string];
  return [
    signToken({ sub: ctx.user, expMs: Date.now() + 600_000 }, 'not-the-relay-secret-0123456789'), // forged
    signToken({ sub: ctx.user, expMs: Date.now() - 1000 }, ctx.secret), // expired
    signToken({ sub: ctx.user, expMs: 0 }, ctx.secret), // expired long ago
    `${payload}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`, // tampered MAC (always differs: a MAC ending in "AA" made "…AA" the real one)
    `${b64(JSON.stringify({ sub: 'root', exp: Date.now() + 600_000 }))}.${sig}`, // swapped payload
    `${payload}`, // no MAC
    `${payload}.${sig}.${sig}`, // two dots
    'a.b',
    '.',
    'x'.repeat(1024), // longest legal charset, no dot
    signed('{"sub":"bad/user","exp":99999999999999}'), // valid MAC, invalid sub
    signed('{"sub":"u","exp":"tomorrow"}'), // valid MAC, exp not a number
    signed('not json at all'), // valid MAC over garbage
    signed('{"sub":"u","exp":1e400}'), // exp infinite
  ];
}

/** Raw WebSocket frames (client → server, masked unless the case is about the mask). */
function wsFrame(opts: {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload: Uint8Array;
  mask?: boolean;
  lengthOverride?: bigint;
}): Uint8Array {
  const { payload } = opts;
  const mask = opts.mask ?? true;
  const len = opts.lengthOverride ?? BigInt(payload.length);
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opts.opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126n) head.push(m | Number(len));
  else if (len < 65536n) head.push(m | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((len >> BigInt(i * 8)) & 0xffn));
  }
  const key = [0x12, 0x34, 0x56, 0x78];
  if (mask) head.push(...key);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  for (let i = 0; i < payload.length; i++) out[head.length + i] = mask ? payload[i]! ^ key[i % 4]! : payload[i]!;
  return out;
}

function rawCases(ctx: CaseContext): { frames: Uint8Array[]; what: string; echo?: number }[] {
  const frame = encodeFrame({ t: FRAME_TYPES.ping, n: 1 });
  const closePayload = (code: number) => new Uint8Array([code >> 8, code & 0xff]);
  return [
    { what: 'unmasked client frame', frames: [wsFrame({ opcode: 2, payload: frame, mask: false })] },
    { what: 'RSV1 without an extension', frames: [wsFrame({ opcode: 2, rsv: 4, payload: frame })] },
    { what: 'reserved opcode 3', frames: [wsFrame({ opcode: 3, payload: frame })] },
    { what: 'reserved control opcode 11', frames: [wsFrame({ opcode: 11, payload: new Uint8Array(0) })] },
    { what: 'control frame over 125 bytes', frames: [wsFrame({ opcode: 9, payload: new Uint8Array(200) })] },
    { what: 'fragmented control frame', frames: [wsFrame({ fin: false, opcode: 9, payload: new Uint8Array(4) })] },
    { what: 'continuation without a start', frames: [wsFrame({ opcode: 0, payload: frame })] },
    {
      what: 'new message inside a fragmented one',
      frames: [wsFrame({ fin: false, opcode: 2, payload: frame }), wsFrame({ opcode: 2, payload: frame })],
    },
    { what: 'close code 999', frames: [wsFrame({ opcode: 8, payload: closePayload(999) })] },
    { what: 'close code 1005 on the wire', frames: [wsFrame({ opcode: 8, payload: closePayload(1005) })] },
    { what: 'close frame of one byte', frames: [wsFrame({ opcode: 8, payload: new Uint8Array([3]) })] },
    { what: '64-bit length over 2^53', frames: [wsFrame({ opcode: 2, payload: new Uint8Array(0), lengthOverride: 1n << 60n })] },
    {
      what: 'declared length far over maxPayload',
      frames: [wsFrame({ opcode: 2, payload: new Uint8Array(16), lengthOverride: BigInt(ctx.maxPayloadBytes) * 64n })],
    },
    {
      what: 'fragments adding up past maxPayload',
      frames: [
        ...Array.from({ length: Math.ceil(ctx.maxPayloadBytes / 8192) + 1 }, (_, i) =>
          wsFrame({ fin: false, opcode: i === 0 ? 2 : 0, payload: new Uint8Array(8192) }),
        ),
        wsFrame({ opcode: 0, payload: new Uint8Array(1) }),
      ],
    },
    { what: 'text frame with invalid UTF-8', frames: [wsFrame({ opcode: 1, payload: new Uint8Array([0xc3, 0x28, 0xff]) })] },
    // A normal close (1000) whose reason is not UTF-8: the relay does not read reasons, so it echoes 1000 (not a rejection).
    {
      what: 'close reason with invalid UTF-8',
      frames: [wsFrame({ opcode: 8, payload: new Uint8Array([0x03, 0xe8, 0xff, 0xfe]) })],
      echo: 1000,
    },
  ];
}

/** Builds one probe of `category`. */
export function buildProbe(category: FuzzCategory, ctx: CaseContext): Probe {
  const p = ctx.prng;
  const ws = (afterHello: boolean, inputs: WsInput[], waitMs = 400): Probe => ({ shape: 'ws', afterHello, inputs, waitMs });
  switch (category) {
    case 'random-bytes':
      return ws(p.next() < 0.5, [bin(randomBytes(p, int(p, 0, 300)))]);
    case 'truncated': {
      const v = pick(p, validFrames(ctx));
      return ws(p.next() < 0.5, [bin(v.slice(0, int(p, 0, v.length - 1)))]);
    }
    case 'bit-flip': {
      const v = pick(p, validFrames(ctx)).slice();
      const flips = int(p, 1, 4);
      for (let i = 0; i < flips; i++) v[int(p, 0, v.length - 1)]! ^= 1 << int(p, 0, 7);
      return ws(p.next() < 0.5, [bin(v)]);
    }
    case 'wrong-type': {
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
    case 'huge-string': {
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
    case 'unknown-frame': {
      const t = pick<unknown>(p, [0, 5, 9, 18, 99, 127, 255, 65535, 2 ** 40, -1, 1.5, '10', null, true, [10], undefined]);
      const frame: Record<string, unknown> = { ...sendMap(ctx) };
      if (t === undefined) delete frame.t;
      else frame.t = t;
      return ws(p.next() < 0.5, [enc(frame)]);
    }
    case 'wrong-direction': {
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
    case 'negative-number': {
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
      if (p.next() < 0.3)
        return ws(false, [
          enc({
            t: FRAME_TYPES.hello,
            v: PROTOCOL_VERSION,
            token: signToken({ sub: ctx.user, expMs: Date.now() + 600_000 }, ctx.secret),
            epoch: n,
          }),
        ]);
      return ws(true, [enc(frame)]);
    }
    case 'oversized': {
      const m = sendMap(ctx);
      m.ciphertext = new Uint8Array(ctx.maxPayloadBytes + int(p, 1, 64 * 1024));
      return ws(p.next() < 0.5, [enc(m)], 1000);
    }
    case 'msgpack-bomb': {
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
    case 'bad-token': {
      const token = pick(p, badTokens(ctx));
      return ws(false, [enc({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token, epoch: Date.now() })]);
    }
    case 'bad-version': {
      const v = pick(p, [0, 2, 3, 99, 2 ** 32]);
      return ws(false, [
        enc({ t: FRAME_TYPES.hello, v, token: signToken({ sub: ctx.user, expMs: Date.now() + 600_000 }, ctx.secret), epoch: Date.now() }),
      ]);
    }
    case 'before-hello': {
      const frames = validFrames(ctx).filter((_, i) => i !== 1);
      return ws(false, [bin(pick(p, [...frames, encodeFrame({ t: FRAME_TYPES.ping, n: 1 })]))]);
    }
    case 'duplicate-hello':
      return ws(true, [
        bin(
          encodeFrame({
            t: FRAME_TYPES.hello,
            v: PROTOCOL_VERSION,
            token: signToken({ sub: ctx.user, expMs: Date.now() + 600_000 }, ctx.secret),
            epoch: Date.now(),
          }),
        ),
      ]);
    case 'text-frame':
      return ws(p.next() < 0.5, [{ kind: 'text', text: pick(p, ['hello?', '{"t":1}', '', '\u0000\uffff', 'x'.repeat(int(p, 1, 2000))]) }]);
    case 'forbidden-confirm': {
      const t = pick(p, [FRAME_TYPES.received, FRAME_TYPES.read]);
      return ws(true, [enc({ t, msgId: `someone-else:1:${int(p, 1, 1e6)}` })], 600);
    }
    case 'flood': {
      // Pings use up the burst; the sends after them must be refused with error 7 naming the msgId.
      const inputs: WsInput[] = [];
      const ping = encodeFrame({ t: FRAME_TYPES.ping, n: 1 });
      for (let i = 0; i < ctx.floodFrames; i++) inputs.push(bin(ping));
      for (let i = 0; i < 50; i++)
        inputs.push(
          bin(
            encodeFrame({
              t: FRAME_TYPES.send,
              msgId: `${ctx.user}:f:${int(p, 1, 1e9)}`,
              to: ctx.sink,
              header: new Uint8Array(0),
              ciphertext: new Uint8Array(1),
            }),
          ),
        );
      return ws(true, inputs, 2000);
    }
    case 'keys-flood': {
      // Unknown users: the relay waits (bounded) for a bundle that never comes, then error 10.
      const inputs: WsInput[] = [];
      for (let i = 0; i < ctx.keyFetches; i++)
        inputs.push(bin(encodeFrame({ t: FRAME_TYPES.fetchKeys, reqId: i, userId: `${ctx.sink}-nokeys-${int(p, 1, 1e9)}` })));
      return ws(true, inputs, 4500);
    }
    case 'hello-storm':
      return { shape: 'storm', connections: int(p, 10, 30) };
    case 'ws-protocol': {
      const c = pick(p, rawCases(ctx));
      return { shape: 'raw', ...c };
    }
    case 'no-hello':
      return { shape: 'idle', waitMs: ctx.helloTimeoutMs + 3000 };
  }
}
