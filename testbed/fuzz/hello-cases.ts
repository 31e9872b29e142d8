/**
 * The fuzz cases about the hello: bad tokens, bad versions, frames before it, a second one, and
 * none at all.
 */
import { createHmac } from 'node:crypto';
import { FRAME_TYPES, PROTOCOL_VERSION, encodeFrame, signToken } from '../../relay/protocol/src/index.js';
import type { CaseContext, Probe } from './case-types.js';
import { bin, enc, freshToken, pick, validFrames, wsCase as ws } from './case-inputs.js';

/** Hand-made token pieces (the relay's verifier must refuse each). */
function badTokens(ctx: CaseContext): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
  const mac = (payload: string) => createHmac('sha256', ctx.secret).update(payload, 'ascii').digest('base64url');
  const signed = (json: string) => {
    const payload = b64(json);
    return `${payload}.${mac(payload)}`;
  };
  const good = freshToken(ctx);
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

export function badTokenCase(ctx: CaseContext): Probe {
  const token = pick(ctx.prng, badTokens(ctx));
  return ws(false, [enc({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token, epoch: Date.now() })]);
}

export function badVersionCase(ctx: CaseContext): Probe {
  const v = pick(ctx.prng, [0, 2, 3, 99, 2 ** 32]);
  return ws(false, [enc({ t: FRAME_TYPES.hello, v, token: freshToken(ctx), epoch: Date.now() })]);
}

export function beforeHelloCase(ctx: CaseContext): Probe {
  const frames = validFrames(ctx).filter((_, i) => i !== 1);
  return ws(false, [bin(pick(ctx.prng, [...frames, encodeFrame({ t: FRAME_TYPES.ping, n: 1 })]))]);
}

export function duplicateHelloCase(ctx: CaseContext): Probe {
  return ws(true, [bin(encodeFrame({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: freshToken(ctx), epoch: Date.now() }))]);
}

export function noHelloCase(ctx: CaseContext): Probe {
  return { shape: 'idle', waitMs: ctx.helloTimeoutMs + 3000 };
}
