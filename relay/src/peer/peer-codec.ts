import { createHmac } from 'node:crypto';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { signToken, verifyToken, type TokenSecret } from '../../protocol/src/index.js';
import type { DurableRecord } from '../router/router.js';

/**
 * The relay-to-relay link (relay/src/peer/): a WebSocket on the relay's own port at this path,
 * one binary MessagePack map per message. Not part of the client protocol (PROTOCOL §1 reserves
 * the path); both ends are the same relaybench version.
 *
 *   hello   {g: gatewayId, tk: token}      first, from the linking relay
 *   records {r: [[partition, offset, key, value | nil], …]}   durable relay.mailbox records
 */
export const PEER_PATH = '/_relaybench/peer';

/** The sub of a peer token: not a user, and signed with a key no user token is signed with. */
const PEER_SUB = 'relaybench.peer';

/**
 * Peer tokens are signed with a key derived from the relays' token secret, so a client token
 * (signed with the secret itself) can never open a peer link and hand a router forged records.
 */
export function peerSecret(tokenSecret: TokenSecret): string {
  return createHmac('sha256', tokenSecret).update('relaybench peer link v1').digest('hex');
}

export function peerToken(secret: string, nowMs: number): string {
  return signToken({ sub: PEER_SUB, expMs: nowMs + 60_000 }, secret);
}

/** Throws unless `token` is a live peer token for `secret`. */
export function checkPeerToken(token: unknown, secret: string, nowMs: number): void {
  if (verifyToken(token, secret, nowMs).sub !== PEER_SUB) throw new Error('not a peer token');
}

export type PeerFrame =
  | { readonly t: 'hello'; readonly gatewayId: string; readonly token: string }
  | { readonly t: 'records'; readonly records: DurableRecord[] };

const encoder = new Encoder();
const decoder = new Decoder();

export function encodePeerHello(gatewayId: string, token: string): Uint8Array {
  return encoder.encode({ g: gatewayId, tk: token });
}

export function encodePeerRecords(records: readonly DurableRecord[]): Uint8Array {
  return encoder.encode({ r: records.map((r) => [r.partition, r.offset, r.key, r.value]) });
}

/** Decodes one peer message; throws on anything else (the link is then closed). */
export function decodePeerFrame(bytes: Uint8Array): PeerFrame {
  const m = decoder.decode(bytes) as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object') throw new Error('not a map');
  if (typeof m.g === 'string' && typeof m.tk === 'string') return { t: 'hello', gatewayId: m.g, token: m.tk };
  if (!Array.isArray(m.r)) throw new Error('neither hello nor records');
  return { t: 'records', records: m.r.map(toRecord) };
}

function toRecord(x: unknown): DurableRecord {
  if (!Array.isArray(x) || x.length !== 4) throw new Error('a record is [partition, offset, key, value]');
  const [partition, offset, key, value] = x as unknown[];
  if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset) || (offset as number) < 0 || typeof key !== 'string')
    throw new Error('bad partition, offset or key');
  if (value !== null && !(value instanceof Uint8Array)) throw new Error('a value is bytes or nil');
  const bytes = value === null ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return { partition: partition as number, offset: offset as number, key, value: bytes };
}
