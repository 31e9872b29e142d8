/**
 * The adversarial inputs of the relay fuzz, by category. Each category builds one probe: what to
 * send on one fresh connection (before or after a valid hello). Inputs are raw bytes, so the
 * fuzzer can send what no encoder would produce. Deterministic for a given PRNG. The cases
 * themselves: frame-cases.ts, hello-cases.ts, flood-cases.ts, ws-protocol-cases.ts.
 */
import type { CaseContext, Probe } from './case-types.js';
import {
  bitFlipCase,
  forbiddenConfirmCase,
  hugeStringCase,
  msgpackBombCase,
  negativeNumberCase,
  oversizedCase,
  randomBytesCase,
  textFrameCase,
  truncatedCase,
  unknownFrameCase,
  wrongDirectionCase,
  wrongTypeCase,
} from './frame-cases.js';
import { badTokenCase, badVersionCase, beforeHelloCase, duplicateHelloCase, noHelloCase } from './hello-cases.js';
import { floodCase, helloStormCase, keysFloodCase } from './flood-cases.js';
import { wsProtocolCase } from './ws-protocol-cases.js';

export type { CaseContext, Probe, WsInput } from './case-types.js';

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

/** How each category builds its probe. */
const BUILDERS: Readonly<Record<FuzzCategory, (ctx: CaseContext) => Probe>> = {
  'random-bytes': randomBytesCase,
  truncated: truncatedCase,
  'bit-flip': bitFlipCase,
  'wrong-type': wrongTypeCase,
  'huge-string': hugeStringCase,
  'unknown-frame': unknownFrameCase,
  'wrong-direction': wrongDirectionCase,
  'negative-number': negativeNumberCase,
  oversized: oversizedCase,
  'msgpack-bomb': msgpackBombCase,
  'bad-token': badTokenCase,
  'bad-version': badVersionCase,
  'before-hello': beforeHelloCase,
  'duplicate-hello': duplicateHelloCase,
  'text-frame': textFrameCase,
  'forbidden-confirm': forbiddenConfirmCase,
  flood: floodCase,
  'keys-flood': keysFloodCase,
  'hello-storm': helloStormCase,
  'ws-protocol': wsProtocolCase,
  'no-hello': noHelloCase,
};

/** Builds one probe of `category`. */
export function buildProbe(category: FuzzCategory, ctx: CaseContext): Probe {
  return BUILDERS[category](ctx);
}
