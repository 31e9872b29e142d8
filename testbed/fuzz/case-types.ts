/**
 * What a fuzz case builds (a Probe: the inputs of one connection) and what it builds it from (a
 * CaseContext). Apart from cases.ts so the case modules can share them without an import cycle.
 */
import type { Prng } from '../../loadgen/src/rate/prng.js';

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
