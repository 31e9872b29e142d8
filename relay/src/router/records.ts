import { Decoder, Encoder } from '@msgpack/msgpack';
import type { ReceiptKind, Stamps } from '../../protocol/src/index.js';

/**
 * Values of `relay.mailbox` records (MessagePack maps; the key says whose and what, see
 * relay/protocol/src/keys.ts). Only the relay writes them; the ciphertext is opaque here.
 */
export interface MessageValue {
  readonly k: 'm';
  readonly from: string;
  readonly msgId: string;
  readonly header: Uint8Array;
  readonly ciphertext: Uint8Array;
  /** The sender's gateway received the send (µs, wall clock). */
  readonly gwInUs: number;
}

export interface ReceiptValue {
  readonly k: 'r';
  readonly msgId: string;
  readonly kind: ReceiptKind;
  readonly by: string;
  readonly gwInUs: number;
}

/** Presence: never a bare tombstone; `gatewayId: null` means a clean disconnect, of the connection (`was`, epoch). */
export interface PresenceValue {
  readonly k: 'p';
  readonly gatewayId: string | null;
  readonly epoch: number;
  /** Offline records: the gateway that held the connection. */
  readonly was?: string;
}

export type MailboxValue = MessageValue | ReceiptValue | PresenceValue;

/**
 * What travels on `relay.deliver.<gatewayId>`: one push for one user on that gateway, or the
 * notice that the user's connection with epoch `replaced` was superseded on another gateway.
 */
export type DeliverValue =
  | { readonly to: string; readonly item: PendingItem }
  | { readonly to: string; readonly replaced: number }
  /** The end of the replay (of `n` items, sent before it) for the connection with epoch `replayed`. */
  | { readonly to: string; readonly replayed: number; readonly n: number };

export interface PendingItem {
  readonly type: 'message' | 'receipt';
  readonly msgId: string;
  /** Receipt kind; absent for messages. */
  readonly kind?: ReceiptKind;
  readonly value: MessageValue | ReceiptValue;
  readonly stamps: Stamps;
}

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

export function encodeValue(v: MailboxValue | DeliverValue): Buffer {
  const bytes = encoder.encode(v);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a mailbox value; returns undefined for anything malformed (counted, skipped). */
export function decodeMailboxValue(buf: Buffer): MailboxValue | undefined {
  try {
    const v = decoder.decode(buf) as Partial<MailboxValue> | null;
    if (v === null || typeof v !== 'object') return undefined;
    if (v.k === 'm' || v.k === 'r' || v.k === 'p') return v as MailboxValue;
  } catch {
    // fall through
  }
  return undefined;
}

export function decodeDeliverValue(buf: Buffer): DeliverValue | undefined {
  try {
    const v = decoder.decode(buf) as Record<string, unknown> | null;
    if (v === null || typeof v !== 'object' || typeof v.to !== 'string') return undefined;
    if (
      (typeof v.item === 'object' && v.item !== null) ||
      typeof v.replaced === 'number' ||
      (typeof v.replayed === 'number' && typeof v.n === 'number')
    )
      return v as DeliverValue;
  } catch {
    // fall through
  }
  return undefined;
}
