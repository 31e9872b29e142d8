/**
 * @relaybench/protocol — the only public entry point of `relay/protocol`. The relay and the load
 * generator import from here, never from the files behind it. Normative spec: relay/PROTOCOL.md.
 */
export * from './relaybench-error.js';
export * from './errors.js';
export * from './limits.js';
export * from './frames.js';
export { FRAME_SCHEMA, STAMP_FIELDS, type FieldKind, type FrameSchema } from './schema.js';
export * from './codec.js';
export * from './wire-errors.js';
export * from './token.js';
export * from './keys.js';
export * from './turn-cork.js';
export * from './backoff.js';
