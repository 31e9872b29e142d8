/**
 * What the fuzz cases build their probes from: draws from the seeded PRNG, raw msgpack, and valid
 * frames and tokens to break.
 */
import { Encoder } from '@msgpack/msgpack';
import { FRAME_TYPES, PROTOCOL_VERSION, encodeFrame, signToken } from '../../relay/protocol/src/index.js';
import type { Prng } from '../../loadgen/src/rate/prng.js';
import type { CaseContext, Probe, WsInput } from './case-types.js';

/** msgpack of any value: encodeFrame checks its frames, this does not. */
export const raw = new Encoder();
export const bin = (bytes: Uint8Array): WsInput => ({ kind: 'binary', bytes });
export const enc = (value: unknown): WsInput => bin(raw.encode(value));

/** A probe on a normal connection. */
export const wsCase = (afterHello: boolean, inputs: WsInput[], waitMs = 400): Probe => ({ shape: 'ws', afterHello, inputs, waitMs });

export function int(p: Prng, lo: number, hi: number): number {
  return lo + Math.floor(p.next() * (hi - lo + 1));
}
export function pick<T>(p: Prng, items: readonly T[]): T {
  return items[Math.floor(p.next() * items.length)]!;
}
export function randomBytes(p: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(p.next() * 256);
  return out;
}

/** A valid token for the probe's user, good for ten minutes. */
export function freshToken(ctx: CaseContext): string {
  return signToken({ sub: ctx.user, expMs: Date.now() + 600_000 }, ctx.secret);
}

/** Valid client frames to truncate and mutate. */
export function validFrames(ctx: CaseContext): Uint8Array[] {
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
      token: freshToken(ctx),
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
export function sendMap(ctx: CaseContext): Record<string, unknown> {
  return {
    t: FRAME_TYPES.send,
    msgId: `${ctx.user}:9:${int(ctx.prng, 1, 1e9)}`,
    to: ctx.sink,
    header: new Uint8Array(8),
    ciphertext: new Uint8Array(16),
  };
}
