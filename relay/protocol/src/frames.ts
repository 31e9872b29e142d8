/**
 * The frame catalogue: numbers, directions and shapes. This file and `schema.ts` are the
 * normative MessagePack shapes described in `relay/PROTOCOL.md`; frame numbers live here only.
 *
 * Each frame travels as one MessagePack map `{t: <frame number>, ...fields}`. Binary fields are
 * `Uint8Array`; timestamps are wall-clock microseconds as float numbers
 * (`performance.timeOrigin * 1000 + performance.now() * 1000`), see `nowUs()`.
 * Frames are plain immutable data: safe to share across async tasks, never mutated by the codec.
 */

/** Frame name → wire number. Numbers are stable forever; a retired number is never reused. */
export const FRAME_TYPES = {
  hello: 1,
  welcome: 2,
  redirect: 3,
  error: 4,
  send: 10,
  ack: 11,
  deliver: 12,
  received: 13,
  read: 14,
  receipt: 15,
  receiptSeen: 16,
  replayed: 17,
  publishKeys: 20,
  keysPublished: 21,
  fetchKeys: 22,
  keys: 23,
  ping: 30,
  pong: 31,
} as const;

export type FrameName = keyof typeof FRAME_TYPES;
export type FrameType = (typeof FRAME_TYPES)[FrameName];

/** Who may send each frame: `c2s` client → server, `s2c` server → client, `both`. */
export const FRAME_DIRECTIONS = {
  hello: 'c2s',
  welcome: 's2c',
  redirect: 's2c',
  error: 's2c',
  send: 'c2s',
  ack: 's2c',
  deliver: 's2c',
  received: 'c2s',
  read: 'c2s',
  receipt: 's2c',
  receiptSeen: 'c2s',
  replayed: 's2c',
  publishKeys: 'c2s',
  keysPublished: 's2c',
  fetchKeys: 'c2s',
  keys: 's2c',
  ping: 'both',
  pong: 'both',
} as const satisfies Record<FrameName, 'c2s' | 's2c' | 'both'>;

/** Receipt kinds (`receipt.kind`, `receiptSeen.kind`, and the `d`/`r` suffix of receipt keys). */
export const RECEIPT_KIND = { delivered: 1, read: 2 } as const;
export type ReceiptKind = (typeof RECEIPT_KIND)[keyof typeof RECEIPT_KIND];

/**
 * Relay timestamps for the per-hop breakdown, wall-clock microseconds (float). Every field is
 * optional: a hop that did not happen (or was not measured) is absent, never 0.
 */
export interface Stamps {
  /** The gateway decoded the client's `send`. */
  readonly gwInUs?: number;
  /** Kafka acknowledged the produce (acks=all): the message is durable. */
  readonly producedUs?: number;
  /** The router consumed the record from the recipient's partition. */
  readonly routedUs?: number;
  /** The recipient's gateway wrote `deliver` to the socket. */
  readonly gwOutUs?: number;
}

type T<N extends FrameName> = (typeof FRAME_TYPES)[N];

/** c2s, first frame on every connection. `epoch` grows with each new connection of the user. */
export interface HelloFrame {
  readonly t: T<'hello'>;
  readonly v: number;
  readonly token: string;
  readonly epoch: number;
}
/** s2c, reply to an accepted hello. */
export interface WelcomeFrame {
  readonly t: T<'welcome'>;
  readonly v: number;
  readonly userId: string;
  readonly gatewayId: string;
  readonly serverTimeUs: number;
}
/** s2c, "connect there instead" (followed by close 4001). */
export interface RedirectFrame {
  readonly t: T<'redirect'>;
  readonly url: string;
}
/** s2c, a numeric wire error (see wire-errors.ts); `msgId`/`reqId` say which request failed. */
export interface ErrorFrame {
  readonly t: T<'error'>;
  readonly code: number;
  readonly reason: string;
  readonly msgId?: string;
  readonly reqId?: number;
}
/** c2s, an end-to-end encrypted message to `to`. */
export interface SendFrame {
  readonly t: T<'send'>;
  readonly msgId: string;
  readonly to: string;
  readonly header: Uint8Array;
  readonly ciphertext: Uint8Array;
}
/** s2c, server ✓: the message is durable in Kafka. */
export interface AckFrame {
  readonly t: T<'ack'>;
  readonly msgId: string;
  readonly stamps: Stamps;
}
/** s2c, a message for this user. `sentAtUs` is the sender client's own send time when it chose to share it. */
export interface DeliverFrame {
  readonly t: T<'deliver'>;
  readonly msgId: string;
  readonly from: string;
  readonly header: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly stamps: Stamps;
  readonly sentAtUs?: number;
}
/** c2s, the recipient holds the message (✓✓); the server may delete it. */
export interface ReceivedFrame {
  readonly t: T<'received'>;
  readonly msgId: string;
}
/** c2s, the recipient has read the message. */
/** c2s; `from` (the message's sender) only when the delivering connection is gone (PROTOCOL §5.2). */
export interface ReadFrame {
  readonly t: T<'read'>;
  readonly msgId: string;
  readonly from?: string;
}
/** s2c, to the original sender: `by` received (kind 1) or read (kind 2) message `msgId`. */
export interface ReceiptFrame {
  readonly t: T<'receipt'>;
  readonly msgId: string;
  readonly kind: ReceiptKind;
  readonly by: string;
  readonly stamps: Stamps;
}
/** One receipt named by its message and kind, as `receiptSeen.more` lists them: `[msgId, kind]`. */
export type ReceiptRef = readonly [msgId: string, kind: ReceiptKind];
/**
 * c2s, the sender holds the receipt `(msgId, kind)`, and each of `more` (several receipts in one
 * frame); the server may delete them.
 */
export interface ReceiptSeenFrame {
  readonly t: T<'receiptSeen'>;
  readonly msgId: string;
  readonly kind: ReceiptKind;
  readonly more?: readonly ReceiptRef[];
}
/** s2c, once per connection: the replay that follows welcome is complete (`n` items); live traffic follows. */
export interface ReplayedFrame {
  readonly t: T<'replayed'>;
  readonly n: number;
}
/** c2s, publish this user's public key bundle. */
export interface PublishKeysFrame {
  readonly t: T<'publishKeys'>;
  readonly reqId: number;
  readonly identityKey: Uint8Array;
  readonly signedPrekey: Uint8Array;
  readonly signature: Uint8Array;
}
/** s2c, the bundle of `publishKeys{reqId}` is stored. */
export interface KeysPublishedFrame {
  readonly t: T<'keysPublished'>;
  readonly reqId: number;
}
/** c2s, ask for another user's public key bundle. */
export interface FetchKeysFrame {
  readonly t: T<'fetchKeys'>;
  readonly reqId: number;
  readonly userId: string;
}
/** s2c, the bundle asked for by `fetchKeys{reqId}`. */
export interface KeysFrame {
  readonly t: T<'keys'>;
  readonly reqId: number;
  readonly userId: string;
  readonly identityKey: Uint8Array;
  readonly signedPrekey: Uint8Array;
  readonly signature: Uint8Array;
}
/** both directions: heartbeat / RTT probe; the peer answers `pong` with the same `n`. */
export interface PingFrame {
  readonly t: T<'ping'>;
  readonly n: number;
}
export interface PongFrame {
  readonly t: T<'pong'>;
  readonly n: number;
}

/** Name → frame interface (used to keep `schema.ts` in step with these types at compile time). */
export interface FrameByName {
  hello: HelloFrame;
  welcome: WelcomeFrame;
  redirect: RedirectFrame;
  error: ErrorFrame;
  send: SendFrame;
  ack: AckFrame;
  deliver: DeliverFrame;
  received: ReceivedFrame;
  read: ReadFrame;
  receipt: ReceiptFrame;
  receiptSeen: ReceiptSeenFrame;
  replayed: ReplayedFrame;
  publishKeys: PublishKeysFrame;
  keysPublished: KeysPublishedFrame;
  fetchKeys: FetchKeysFrame;
  keys: KeysFrame;
  ping: PingFrame;
  pong: PongFrame;
}

export type Frame = FrameByName[FrameName];
/** Frames a client may send (discriminated on `t`). */
export type ClientFrame = Extract<Frame, { t: ClientFrameType }>;
/** Frames a server may send (discriminated on `t`). */
export type ServerFrame = Extract<Frame, { t: ServerFrameType }>;

type NamesWithDirection<D> = { [N in FrameName]: (typeof FRAME_DIRECTIONS)[N] extends D ? N : never }[FrameName];
export type ClientFrameType = (typeof FRAME_TYPES)[NamesWithDirection<'c2s' | 'both'>];
export type ServerFrameType = (typeof FRAME_TYPES)[NamesWithDirection<'s2c' | 'both'>];

/** The frame interface for a wire number, e.g. `FrameOf<10>` is `SendFrame`. */
export type FrameOf<Ty extends FrameType> = Extract<Frame, { t: Ty }>;

/** Wire number → name, for logs and metrics labels; undefined for unknown numbers. */
export function frameName(t: number): FrameName | undefined {
  return FRAME_NAME_BY_TYPE[t];
}

const FRAME_NAME_BY_TYPE: Record<number, FrameName | undefined> = Object.fromEntries(
  Object.entries(FRAME_TYPES).map(([name, t]) => [t, name as FrameName]),
);

/**
 * Wall-clock microseconds (float) for stamps: `performance.timeOrigin*1000 + performance.now()*1000`.
 * Comparable across processes only on one host (one clock).
 */
export function nowUs(): number {
  return performance.timeOrigin * 1000 + performance.now() * 1000;
}
