/**
 * The ws-protocol fuzz case: WebSocket frames built by hand, breaking the WebSocket protocol itself
 * (masking, opcodes, lengths, fragments, close codes), for the raw-TCP probe (raw-probe.ts).
 */
import { FRAME_TYPES, encodeFrame } from '../../relay/protocol/src/index.js';
import type { CaseContext, Probe } from './case-types.js';
import { pick } from './case-inputs.js';

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

export function wsProtocolCase(ctx: CaseContext): Probe {
  const c = pick(ctx.prng, rawCases(ctx));
  return { shape: 'raw', ...c };
}
