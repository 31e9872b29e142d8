/**
 * The fuzz cases that send too much at once: frames past the relay's burst, key fetches for users
 * that have no keys, and hellos of one user on many connections.
 */
import { FRAME_TYPES, encodeFrame } from '../../relay/protocol/src/index.js';
import type { CaseContext, Probe, WsInput } from './case-types.js';
import { bin, int, wsCase as ws } from './case-inputs.js';

export function floodCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
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

export function keysFloodCase(ctx: CaseContext): Probe {
  const p = ctx.prng;
  // Unknown users: the relay waits (bounded) for a bundle that never comes, then error 10.
  const inputs: WsInput[] = [];
  for (let i = 0; i < ctx.keyFetches; i++)
    inputs.push(bin(encodeFrame({ t: FRAME_TYPES.fetchKeys, reqId: i, userId: `${ctx.sink}-nokeys-${int(p, 1, 1e9)}` })));
  return ws(true, inputs, 4500);
}

export function helloStormCase(ctx: CaseContext): Probe {
  return { shape: 'storm', connections: int(ctx.prng, 10, 30) };
}
