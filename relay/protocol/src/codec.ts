/**
 * Frame codec: MessagePack (via @msgpack/msgpack) plus a strict validating decoder.
 *
 * Contracts (hot path, tens of thousands of frames/s per process):
 * - Synchronous, never blocks, no I/O. One shared Encoder/Decoder per module; safe because
 *   JavaScript runs these calls to completion (the library clones itself if re-entered).
 * - `encodeFrame` returns a fresh Uint8Array the caller owns. It writes `t` first, then the
 *   schema's fields in canonical order, drops absent optional fields and ignores any property the
 *   schema does not know. It does not validate values (our own code builds frames from typed
 *   values); call `validateFrame` in tests or debug builds for that.
 * - The decoders throw only `RelaybenchError` (RB_PROTO_MALFORMED, RB_PROTO_UNKNOWN_FRAME,
 *   RB_PROTO_WRONG_DIRECTION, RB_PROTO_BAD_FIELD naming `<frame>.<field>`), whatever the bytes.
 *   They return a new object with only the known fields; unknown fields are ignored, and an
 *   optional field sent as nil counts as absent.
 * - Buffer ownership: binary fields of a decoded frame are views into the input bytes (zero
 *   copy). Do not reuse or mutate the input buffer while the frame is in use; copy to keep.
 * - Input is a Uint8Array or Buffer (ws `binaryType` "nodebuffer", the default); anything else is
 *   RB_PROTO_MALFORMED. Frame size is not limited here: the WebSocket layer enforces `maxPayload`
 *   (close 1009).
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { protocolError } from './errors.js';
import { MAX_RECEIPT_REFS, PROTOCOL_VERSION } from './limits.js';
import { FRAME_DIRECTIONS, FRAME_TYPES, type ClientFrame, type Frame, type FrameName, type FrameType, type ServerFrame } from './frames.js';
import { FIELD_CHECKS, FRAME_SCHEMA, INVALID, STAMP_FIELDS, type FieldCheck, type FieldKind } from './schema.js';
import type { RelaybenchError } from './relaybench-error.js';

interface CompiledField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly optional: boolean;
  readonly check: FieldCheck;
}

interface CompiledFrame {
  readonly name: FrameName;
  readonly t: FrameType;
  readonly fromClient: boolean;
  readonly fromServer: boolean;
  readonly fields: readonly CompiledField[];
}

/** Indexed by wire number (a small holey array beats a Map for this lookup). */
const BY_TYPE: (CompiledFrame | undefined)[] = [];
for (const name of Object.keys(FRAME_TYPES) as FrameName[]) {
  const direction: string = FRAME_DIRECTIONS[name];
  const fields = Object.entries(FRAME_SCHEMA[name] as Record<string, { kind: FieldKind; optional?: boolean }>).map(([field, spec]) => ({
    name: field,
    kind: spec.kind,
    optional: spec.optional === true,
    check: FIELD_CHECKS[spec.kind],
  }));
  BY_TYPE[FRAME_TYPES[name]] = {
    name,
    t: FRAME_TYPES[name],
    fromClient: direction !== 's2c',
    fromServer: direction !== 'c2s',
    fields,
  };
}

const encoder = new Encoder();
const decoder = new Decoder({
  // The only nested values are `stamps` and `receiptSeen.more` (≤ MAX_RECEIPT_REFS pairs); these
  // caps only bound what hostile input can make the decoder allocate. Strings and binaries are already bounded by the input length.
  maxArrayLength: 4096,
  maxMapLength: 1024,
});

const KIND_TEXT: Readonly<Record<FieldKind, string>> = {
  uint: 'a non-negative safe integer',
  timeUs: 'a finite non-negative number (microseconds)',
  receiptKind: '1 (delivered) or 2 (read)',
  userId: 'a string matching ^[A-Za-z0-9_.-]{1,64}$',
  msgId: 'a string matching ^[A-Za-z0-9_.:-]{1,128}$',
  gatewayId: 'a string matching ^[A-Za-z0-9_.:-]{1,128}$',
  token: 'an ASCII token of at most 1024 characters',
  url: 'a ws:// or wss:// URL',
  reason: 'a string of at most 1024 characters',
  publicKey: 'binary of exactly 32 bytes',
  signature: 'binary of 1 to 256 bytes',
  header: 'binary of at most 1024 bytes',
  ciphertext: 'non-empty binary',
  stamps: 'a map of optional non-negative numbers (gwInUs, producedUs, routedUs, gwOutUs)',
  receiptRefs: `an array of at most ${MAX_RECEIPT_REFS} [msgId, receiptKind] pairs`,
};

function lookup(t: unknown): CompiledFrame | undefined {
  return typeof t === 'number' ? BY_TYPE[t] : undefined;
}

function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw protocolError('RB_PROTO_MALFORMED', 'Input is not a Uint8Array.');
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (e) {
    throw protocolError('RB_PROTO_MALFORMED', e instanceof Error ? e.message : undefined, e);
  }
  if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) {
    throw protocolError('RB_PROTO_MALFORMED', 'The top-level value is not a map.');
  }
  return raw as Record<string, unknown>;
}

/**
 * Copies and checks the schema's fields out of `raw`. Field names never collide with
 * Object.prototype members (a test checks), so plain property reads are safe.
 */
function build(spec: CompiledFrame, raw: Record<string, unknown>): Frame {
  const out: Record<string, unknown> = { t: spec.t };
  for (const field of spec.fields) {
    const value = raw[field.name];
    if (value === undefined || value === null) {
      if (field.optional) continue;
      throw badField(spec, field, 'is missing');
    }
    const checked = field.check(value);
    if (checked === INVALID) throw badField(spec, field, `must be ${KIND_TEXT[field.kind]}`);
    out[field.name] = checked;
  }
  return out as unknown as Frame;
}

function badField(spec: CompiledFrame, field: CompiledField, what: string): RelaybenchError {
  return protocolError('RB_PROTO_BAD_FIELD', `${spec.name}.${field.name} ${what}.`);
}

function unknownFrame(t: unknown): RelaybenchError {
  return protocolError('RB_PROTO_UNKNOWN_FRAME', `t=${typeof t === 'number' ? String(t) : typeof t}.`);
}

/** Decodes and validates a frame of any direction. Throws only RelaybenchError. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const raw = decodeMap(bytes);
  const spec = lookup(raw.t);
  if (spec === undefined) throw unknownFrame(raw.t);
  return build(spec, raw);
}

/** Decodes a frame received by the server: rejects server-to-client types (RB_PROTO_WRONG_DIRECTION). */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  const raw = decodeMap(bytes);
  const spec = lookup(raw.t);
  if (spec === undefined) throw unknownFrame(raw.t);
  if (!spec.fromClient) throw protocolError('RB_PROTO_WRONG_DIRECTION', `${spec.name} is sent by servers only.`);
  // Only hello's t, v and token are frozen across versions (PROTOCOL §5.1): another version's
  // hello is read by those, so the relay can answer "unsupported version" whatever else it holds.
  if (spec.name === 'hello' && isOtherVersion(raw.v)) return build(spec, { t: raw.t, v: raw.v, token: raw.token, epoch: 0 }) as ClientFrame;
  return build(spec, raw) as ClientFrame;
}

function isOtherVersion(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v !== PROTOCOL_VERSION;
}

/** Decodes a frame received by a client: rejects client-to-server types (RB_PROTO_WRONG_DIRECTION). */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  const raw = decodeMap(bytes);
  const spec = lookup(raw.t);
  if (spec === undefined) throw unknownFrame(raw.t);
  if (!spec.fromServer) throw protocolError('RB_PROTO_WRONG_DIRECTION', `${spec.name} is sent by clients only.`);
  return build(spec, raw) as ServerFrame;
}

/**
 * Runs the decoder's checks on an in-memory frame and returns its canonical copy (known fields
 * only). Throws RB_PROTO_UNKNOWN_FRAME / RB_PROTO_BAD_FIELD. Meant for tests and debug builds.
 */
export function validateFrame(frame: Frame): Frame {
  const raw = frame as unknown as Record<string, unknown>;
  const spec = typeof frame === 'object' && frame !== null ? lookup(raw.t) : undefined;
  if (spec === undefined) throw unknownFrame(typeof frame === 'object' && frame !== null ? raw.t : frame);
  return build(spec, raw);
}

/** Encodes one frame as a MessagePack map (see the module comment for the contract). */
export function encodeFrame(frame: Frame): Uint8Array {
  const raw = frame as unknown as Record<string, unknown>;
  const spec = typeof frame === 'object' && frame !== null ? lookup(raw.t) : undefined;
  if (spec === undefined) throw protocolError('RB_PROTO_BAD_ARGUMENT', 'encodeFrame: unknown frame type.');
  const out: Record<string, unknown> = { t: spec.t };
  for (const field of spec.fields) {
    const value = raw[field.name];
    if (value === undefined || value === null) {
      if (field.optional) continue;
      throw protocolError('RB_PROTO_BAD_ARGUMENT', `encodeFrame: ${spec.name}.${field.name} is missing.`);
    }
    out[field.name] = field.kind === 'stamps' ? canonicalStamps(value) : field.kind === 'receiptRefs' ? canonicalRefs(value) : value;
  }
  try {
    return encoder.encode(out);
  } catch (e) {
    throw protocolError('RB_PROTO_BAD_ARGUMENT', `encodeFrame: ${e instanceof Error ? e.message : 'encoder failed'}`, e);
  }
}

/** `[msgId, kind]` pairs without extra elements (a typed caller never has any). */
function canonicalRefs(value: unknown): unknown {
  return Array.isArray(value) ? (value as unknown[][]).map((ref) => [ref[0], ref[1]]) : value;
}

function canonicalStamps(value: unknown): Record<string, unknown> {
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of STAMP_FIELDS) {
    const s = src[name];
    if (s !== undefined && s !== null) out[name] = s;
  }
  return out;
}
