import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { FRAME_ARBITRARIES, anyFrame } from '../fixtures/arbitraries.js';
import { RelaybenchError, decodeClientFrame, decodeFrame, decodeServerFrame, encodeFrame, validateFrame, type FrameName } from './index.js';

for (const name of Object.keys(FRAME_ARBITRARIES) as FrameName[]) {
  test(`round trip ${name}: decode(encode(frame)) deep-equals frame, encoding is stable`, () => {
    fc.assert(
      fc.property(FRAME_ARBITRARIES[name], (frame) => {
        const bytes = encodeFrame(frame);
        const back = decodeFrame(bytes);
        assert.deepEqual(back, frame);
        assert.deepEqual(encodeFrame(back), bytes);
      }),
      { numRuns: 200 },
    );
  });
}

/** Decoding must either yield a valid frame or throw a RelaybenchError with an RB_PROTO_ code. */
function decodesOrThrowsProtocolError(bytes: Uint8Array): void {
  for (const decode of [decodeFrame, decodeClientFrame, decodeServerFrame]) {
    try {
      validateFrame(decode(bytes));
    } catch (e) {
      if (!(e instanceof RelaybenchError) || !e.code.startsWith('RB_PROTO_')) {
        assert.fail(`non-protocol exception for ${Buffer.from(bytes).toString('hex')}: ${String(e)}`);
      }
    }
  }
}

test('random bytes: decoders throw only RelaybenchError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), decodesOrThrowsProtocolError), { numRuns: 3000 });
});

test('truncated and bit-flipped valid frames: decoders throw only RelaybenchError', () => {
  fc.assert(
    fc.property(anyFrame, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), (frame, cut, at, bit) => {
      const bytes = encodeFrame(frame);
      decodesOrThrowsProtocolError(bytes.subarray(0, cut % (bytes.length + 1)));
      const flipped = Uint8Array.from(bytes);
      flipped[at % flipped.length]! ^= 1 << bit;
      decodesOrThrowsProtocolError(flipped);
    }),
    { numRuns: 2000 },
  );
});

test('arbitrary MessagePack maps (wrong field types, odd t values): decoders throw only RelaybenchError', () => {
  const t = fc.oneof(fc.constantFrom(1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 30, 31), fc.anything());
  const fieldNames = [
    'v',
    'token',
    'epoch',
    'userId',
    'msgId',
    'to',
    'from',
    'header',
    'ciphertext',
    'stamps',
    'kind',
    'by',
    'reqId',
    'n',
    'url',
    'code',
    'reason',
  ];
  const value = fc.oneof(fc.anything({ withTypedArray: true, withNullPrototype: false }), fc.uint8Array({ maxLength: 40 }), fc.double());
  const map = fc
    .record({ t })
    .chain((head) => fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 8 }).map((fields) => ({ ...fields, ...head })));
  fc.assert(
    fc.property(map, (m) => {
      let bytes: Uint8Array;
      try {
        bytes = msgpackEncode(m);
      } catch {
        return; // a value msgpack itself cannot encode (e.g. a function): nothing to decode
      }
      decodesOrThrowsProtocolError(bytes);
    }),
    { numRuns: 2000 },
  );
});
