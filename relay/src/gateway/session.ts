import type { WebSocket } from 'ws';
import { Decoder } from '@msgpack/msgpack';
import {
  CLOSE_CODES,
  FRAME_TYPES,
  PROTOCOL_VERSION,
  RECEIPT_KIND,
  WIRE_ERRORS,
  WIRE_ERROR_FOR_PROTOCOL_ERROR,
  decodeClientFrame,
  encodeFrame,
  frameName,
  isRelaybenchError,
  mailboxKey,
  nowUs,
  partitionFor,
  presenceKey,
  receiptKey,
  verifyToken,
  type ClientFrame,
  type CloseCodeName,
  type ProtocolErrorCode,
  type ReceiptKind,
  type ServerFrame,
  type WireErrorName,
} from '../../protocol/src/index.js';
import { corkForTurn, uncorkNow } from '../../protocol/src/index.js';
import type { RelayConfig } from '../config.js';
import type { RelayMetrics } from '../metrics.js';
import type { BatchingProducer } from '../producer/batching-producer.js';
import { encodeValue, type PendingItem } from '../router/records.js';
import type { KeyStore } from './keystore.js';
import { encodeKeyBundle } from './key-records.js';
import { TokenBucket } from './token-bucket.js';

/** The end of the replay for the connection with `epoch`: `n` items came before it. */
export interface ReplayEnd {
  readonly epoch: number;
  readonly n: number;
}

/** What a session writes: pushed items, and the end-of-replay marker in their order. */
type Outgoing = PendingItem | { readonly type: 'replayed'; readonly n: number };

/** What a session needs from its gateway (one per process). */
export interface GatewayContext {
  readonly config: RelayConfig;
  readonly metrics: RelayMetrics;
  readonly producer: BatchingProducer;
  readonly keys: KeyStore;
  readonly log: (line: string) => void;
  /** A fresh epoch for a new connection (PROTOCOL §5.1). */
  nextEpoch(clientEpoch: number): number;
  /** Registers the session as the user's connection on this gateway; returns the one it replaced. */
  register(session: Session): Session | undefined;
  unregister(session: Session): void;
  /** The session passed hello: stop its hello deadline. */
  helloAccepted(session: Session): void;
  /** The connection is gone (every session, authenticated or not). */
  forget(session: Session): void;
}

/** fetchKeys for a bundle not consumed yet waits this long (another relay may have just stored it)… */
const KEY_WAIT_MS = 3000;
/** …for at most this many requests of one connection at a time (PROTOCOL §8). */
const MAX_KEY_WAITS_PER_CONNECTION = 64;

/** The session of a socket, for the shared listeners (one set per process, not closures per connection). */
const SESSION = Symbol('session');
type SessionSocket = WebSocket & { [SESSION]?: Session };

const MSG_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const looseDecoder = new Decoder();

/**
 * The msgId/reqId of a client frame, when it has a valid one, even if another field is bad: an
 * error refusing the frame names it (PROTOCOL §3, §7.1) so the client knows which one failed.
 */
function idsOf(data: Buffer): { msgId?: string; reqId?: number } {
  let m: unknown;
  try {
    m = looseDecoder.decode(data);
  } catch {
    return {};
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m instanceof Uint8Array) return {};
  const { msgId, reqId } = m as { msgId?: unknown; reqId?: unknown };
  if (typeof msgId === 'string' && MSG_ID.test(msgId)) return { msgId };
  if (typeof reqId === 'number' && Number.isSafeInteger(reqId) && reqId >= 0) return { reqId };
  return {};
}

/** The frame, or why it is not one (decoded before the rate limit: a `received` may be exempt). */
function decodeOrError(data: Buffer): ClientFrame | { error: unknown } {
  try {
    return decodeClientFrame(data);
  } catch (error) {
    return { error };
  }
}

/**
 * One client connection: hello/auth, then frame dispatch. The sender is always the token's
 * subject, never a frame field. Client input never throws out of here: a bad frame gets an error
 * frame with a stable code, then the connection closes.
 */
export class Session {
  readonly ws: WebSocket;
  readonly #ctx: GatewayContext;
  readonly #bucket: TokenBucket;
  #user: string | null = null;
  #epoch = 0;
  #closed = false;
  /** fetchKeys in progress on this connection (see #fetchKeys). */
  #keyWaits = 0;
  /** Messages delivered on this connection and not yet read: msgId → sender and ✓✓ state. Bounded; made on the first delivery (idle users hold none). */
  #unconfirmed: Map<string, { from: string; received: boolean }> | null = null;
  /** Receipts pushed on this connection and not yet confirmed with `receiptSeen` (rate limit, §8). */
  #receiptsOwed = 0;
  /** The msgId of the earliest failed send not resent yet (see #onSend). */
  #resendFirst: string | null = null;
  /** Heartbeat ticks since the last frame or pong from the client (PROTOCOL §8). */
  idleTicks = 0;
  /** Pushes that arrive between registration and welcome wait here (PROTOCOL §5.1: welcome first). */
  #early: Outgoing[] | null = [];
  #backlog: Outgoing[] = [];
  /** `replayed` was written (once per connection, PROTOCOL §5.1). */
  #replayEnded = false;
  #backlogHead = 0;
  #drainTimer: NodeJS.Timeout | null = null;

  constructor(ws: WebSocket, ctx: GatewayContext) {
    this.ws = ws;
    this.#ctx = ctx;
    this.#bucket = new TokenBucket(ctx.config.rateLimitPerSec, ctx.config.rateBurst, performance.now());
    // The hello deadline is the gateway's shared sweep, not a timer per connection.
    (ws as SessionSocket)[SESSION] = this;
    ws.on('message', Session.#wsMessage);
    ws.on('pong', Session.#wsPong);
    ws.on('close', Session.#wsClose);
    ws.on('error', Session.#wsError);
  }

  // Shared listeners: ws calls them with the socket as `this`.
  static #wsMessage = function (this: SessionSocket, data: Buffer, isBinary: boolean): void {
    const s = this[SESSION];
    if (s !== undefined) s.#onMessage(data, isBinary);
  };
  static #wsPong = function (this: SessionSocket): void {
    const s = this[SESSION];
    if (s !== undefined) s.idleTicks = 0;
  };
  static #wsClose = function (this: SessionSocket, code: number): void {
    const s = this[SESSION];
    if (s !== undefined) s.#onClose(code);
  };
  static #wsError = function (): void {
    // 'close' follows; ws reports 1009 etc. through the close code.
  };

  /** No hello within the deadline (called by the gateway's sweep). */
  helloTimedOut(): void {
    if (this.#user === null) this.#fail('NOT_AUTHENTICATED', 'POLICY', 'no hello in time');
  }

  get user(): string | null {
    return this.#user;
  }
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Pushes pending items (from the router, local or via relay.deliver). Items wait in a backlog
   * while the socket's send buffer is above the high-water mark, and go out as it drains: a
   * large replay reaches a client that reads. A client whose buffer makes no progress for
   * `slowReaderMs` (or whose backlog passes `maxBacklogItems`) is a slow reader: closed with
   * 4009; whatever it did not confirm stays pending in Kafka and replays on reconnect.
   */
  push(items: readonly PendingItem[], replayEnd?: ReplayEnd): void {
    if (this.#closed) return;
    let all: readonly Outgoing[] = items;
    // The first replay for this connection's own epoch ends with `replayed`; others (a later
    // rebalance's, a stale one for an older connection) carry no marker.
    if (replayEnd !== undefined && replayEnd.epoch === this.#epoch && !this.#replayEnded) {
      this.#replayEnded = true;
      all = [...items, { type: 'replayed', n: replayEnd.n }];
    }
    if (this.#early !== null) {
      this.#early.push(...all);
      return;
    }
    for (const item of all) this.#backlog.push(item);
    if (this.#backlog.length - this.#backlogHead > this.#ctx.config.maxBacklogItems) return this.#slowReader('backlog over its limit');
    this.#flush();
  }

  #pushOutgoing(all: readonly Outgoing[]): void {
    for (const item of all) this.#backlog.push(item);
    this.#flush();
  }

  #flush(): void {
    const highWater = this.#ctx.config.highWaterBytes;
    while (this.#backlogHead < this.#backlog.length && !this.#closed) {
      if (this.ws.bufferedAmount > highWater) {
        uncorkNow(this.ws); // what this turn corked counts in bufferedAmount: hand it to the kernel first
        if (this.ws.bufferedAmount > highWater) return this.#awaitDrain();
      }
      const item = this.#backlog[this.#backlogHead++]!;
      if (item.type === 'replayed') {
        this.write({ t: FRAME_TYPES.replayed, n: item.n });
        continue;
      }
      const stamps = { ...item.stamps, gwOutUs: nowUs() };
      if (item.type === 'message') {
        const v = item.value as { from: string; header: Uint8Array; ciphertext: Uint8Array };
        this.#remember(item.msgId, v.from);
        this.write({ t: FRAME_TYPES.deliver, msgId: item.msgId, from: v.from, header: v.header, ciphertext: v.ciphertext, stamps });
      } else {
        const v = item.value as { by: string };
        this.#receiptsOwed++;
        this.write({ t: FRAME_TYPES.receipt, msgId: item.msgId, kind: item.kind as ReceiptKind, by: v.by, stamps });
      }
    }
    this.#backlog = [];
    this.#backlogHead = 0;
  }

  /** Polls (only while congested) until the send buffer drains below the mark, or gives up. */
  #awaitDrain(): void {
    if (this.#drainTimer !== null || this.#closed) return;
    let lowest = this.ws.bufferedAmount;
    let progressAt = performance.now();
    this.#drainTimer = setInterval(() => {
      const buffered = this.ws.bufferedAmount;
      if (buffered < lowest) {
        lowest = buffered;
        progressAt = performance.now();
      }
      if (buffered <= this.#ctx.config.highWaterBytes) {
        this.#stopDrainTimer();
        this.#flush();
      } else if (performance.now() - progressAt > this.#ctx.config.slowReaderMs) {
        this.#slowReader('send buffer over the high-water mark');
      }
    }, 10);
  }

  /** A closed connection sends nothing more; what it held stays pending in Kafka. */
  #dropBacklog(): void {
    this.#stopDrainTimer();
    this.#backlog = [];
    this.#backlogHead = 0;
  }

  #stopDrainTimer(): void {
    if (this.#drainTimer !== null) clearInterval(this.#drainTimer);
    this.#drainTimer = null;
  }

  #slowReader(reason: string): void {
    this.#ctx.metrics.slowReaders.inc();
    this.close('SLOW_READER', reason);
  }

  /** Writes one frame to the socket. */
  write(frame: ServerFrame): void {
    if (this.#closed) return;
    const bytes = encodeFrame(frame);
    corkForTurn(this.ws);
    this.ws.send(bytes);
    this.#ctx.metrics.framesOut.inc({ type: frameName(frame.t) ?? 'unknown' });
    this.#ctx.metrics.bytesOut.inc(bytes.byteLength);
    if (this.ws.bufferedAmount > this.#ctx.config.highWaterBytes) this.#awaitDrain();
  }

  close(name: CloseCodeName, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropBacklog();
    this.ws.close(CLOSE_CODES[name].code, reason.slice(0, 120));
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  #error(name: WireErrorName, reason?: string, ids: { msgId?: string; reqId?: number } = {}): void {
    this.#ctx.metrics.wireErrors.inc({ error: name });
    this.write({ t: FRAME_TYPES.error, code: WIRE_ERRORS[name].code, reason: reason ?? WIRE_ERRORS[name].message, ...ids });
  }

  #fail(error: WireErrorName, close: CloseCodeName, reason: string): void {
    this.#error(error, reason);
    this.close(close, reason);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    this.idleTicks = 0; // any frame is a sign of life (PROTOCOL §8), a protocol ping included
    this.#ctx.metrics.bytesIn.inc(data.byteLength);
    const decoded = isBinary ? decodeOrError(data) : null;
    const exempt = decoded !== null && 't' in decoded && this.#answersPush(decoded);
    if (!exempt) {
      const verdict = this.#bucket.take(performance.now());
      if (verdict !== 'ok') return this.#rateLimited(verdict, data, isBinary);
    }
    if (decoded === null) {
      this.#ctx.metrics.framesIn.inc({ type: 'invalid' });
      return this.#fail('MALFORMED_FRAME', 'POLICY', 'frames are binary MessagePack maps');
    }
    if (!('t' in decoded)) return this.#refuseUndecodable(decoded.error, data);
    this.#ctx.metrics.framesIn.inc({ type: frameName(decoded.t) ?? 'unknown' });
    try {
      this.#dispatch(decoded);
    } catch (e) {
      this.#ctx.log(`session ${this.#user ?? '?'}: ${e instanceof Error ? e.message : String(e)}`);
      this.#fail('INTERNAL', 'INTERNAL', 'internal error');
    }
  }

  /**
   * A frame that answers what this connection pushed is not charged to the rate limit (PROTOCOL
   * §8): the first `received` and the first `read` of a message it delivered, and a
   * `receiptSeen` while receipts it pushed are unconfirmed (their count, `#receiptsOwed`, pays
   * for the `more` too). Their rate is the relay's own push rate; charging them closed (4008) a
   * client that confirmed a 6,000-message replay as fast as it came. Anything else is charged.
   */
  #answersPush(frame: ClientFrame): boolean {
    if (frame.t === FRAME_TYPES.received) return this.#unconfirmed?.get(frame.msgId)?.received === false;
    if (frame.t === FRAME_TYPES.read) return this.#unconfirmed?.has(frame.msgId) === true;
    return frame.t === FRAME_TYPES.receiptSeen && this.#receiptsOwed > 0;
  }

  /**
   * Confirmed receipts beyond those this connection pushed cost one frame each (§8). With none
   * owed, the frame was admitted (charged) as one, so its `more` is what is left to pay.
   */
  #chargeReceiptsSeen(n: number): void {
    if (this.#receiptsOwed === 0) return this.#bucket.charge(n - 1);
    const paid = Math.min(n, this.#receiptsOwed);
    this.#receiptsOwed -= paid;
    if (n > paid) this.#bucket.charge(n - paid);
  }

  #refuseUndecodable(e: unknown, data: Buffer): void {
    const name: WireErrorName = isRelaybenchError(e)
      ? (WIRE_ERROR_FOR_PROTOCOL_ERROR[e.code as ProtocolErrorCode] ?? 'MALFORMED_FRAME')
      : 'MALFORMED_FRAME';
    this.#ctx.metrics.framesIn.inc({ type: 'invalid' });
    const reason = isRelaybenchError(e) ? e.message : 'Frames are binary MessagePack maps.';
    // A bad field in a well-formed frame after welcome refuses that frame only (PROTOCOL §3):
    // one malformed send must not end the user's session (4002 means "do not reconnect").
    if (name === 'BAD_FIELD' && this.#user !== null) return this.#error('BAD_FIELD', reason, idsOf(data));
    this.#fail(name, 'PROTOCOL_ERROR', reason);
  }

  /**
   * Over the rate limit (PROTOCOL §8): the frame is refused with error 7 naming its msgId/reqId,
   * so the client retries it later; persistent excess closes 4008.
   */
  #rateLimited(verdict: 'refuse' | 'close', data: Buffer, isBinary: boolean): void {
    const reason = `more than ${this.#ctx.config.rateLimitPerSec} frames/s`;
    if (verdict === 'close') return this.#fail('RATE_LIMITED', 'RATE_LIMITED', reason);
    this.#ctx.metrics.framesIn.inc({ type: 'rate_limited' });
    this.#error('RATE_LIMITED', reason, isBinary ? idsOf(data) : {});
  }

  #dispatch(frame: ClientFrame): void {
    if (frame.t === FRAME_TYPES.hello) return this.#hello(frame.v, frame.token, frame.epoch);
    if (this.#user === null) return this.#fail('NOT_AUTHENTICATED', 'PROTOCOL_ERROR', 'hello must come first');
    const user = this.#user;
    switch (frame.t) {
      case FRAME_TYPES.send:
        return void this.#onSend(user, frame.msgId, frame.to, frame.header, frame.ciphertext);
      case FRAME_TYPES.received:
        return void this.#confirm(user, frame.msgId, RECEIPT_KIND.delivered);
      case FRAME_TYPES.read:
        return void this.#confirm(user, frame.msgId, RECEIPT_KIND.read, frame.from);
      case FRAME_TYPES.receiptSeen:
        this.#receiptSeen(user, frame.msgId, frame.kind);
        // Each confirmed receipt is a tombstone in Kafka: the rate limit counts them, not the frame (§8).
        this.#chargeReceiptsSeen(1 + (frame.more?.length ?? 0));
        for (const [msgId, kind] of frame.more ?? []) this.#receiptSeen(user, msgId, kind);
        return;
      case FRAME_TYPES.publishKeys:
        return void this.#publishKeys(user, frame.reqId, {
          identityKey: frame.identityKey,
          signedPrekey: frame.signedPrekey,
          signature: frame.signature,
        });
      case FRAME_TYPES.fetchKeys:
        return void this.#fetchKeys(frame.reqId, frame.userId);
      case FRAME_TYPES.ping:
        return this.write({ t: FRAME_TYPES.pong, n: frame.n });
      case FRAME_TYPES.pong:
        return;
    }
  }

  #hello(v: number, token: string, epoch: number): void {
    if (this.#user !== null) return this.#fail('DUPLICATE_HELLO', 'PROTOCOL_ERROR', 'hello was already accepted');
    if (v !== PROTOCOL_VERSION) return this.#fail('UNSUPPORTED_VERSION', 'PROTOCOL_ERROR', `this relay speaks version ${PROTOCOL_VERSION}`);
    let sub: string;
    try {
      sub = verifyToken(token, this.#ctx.config.tokenSecret, Date.now()).sub;
    } catch (e) {
      const expired = isRelaybenchError(e) && e.code === 'RB_PROTO_TOKEN_EXPIRED';
      return this.#fail(expired ? 'TOKEN_EXPIRED' : 'AUTH_FAILED', 'AUTH', expired ? 'token expired' : 'invalid token');
    }
    this.#ctx.helloAccepted(this);
    this.#user = sub;
    this.#epoch = this.#ctx.nextEpoch(epoch);
    const replaced = this.#ctx.register(this);
    replaced?.close('REPLACED', 'a newer connection of this user');
    // Welcome only once the presence record is durable: from then on the router pushes here.
    // A connection gone before that is not recorded by a later attempt: a write that kept being
    // retried (Kafka failing over) would land after the client's next connection on another
    // relay and supersede it there (4011), leaving the user with none (PROTOCOL §5.1).
    this.#produce(
      { key: presenceKey(sub), to: sub, value: { k: 'p', gatewayId: this.#ctx.config.gatewayId, epoch: this.#epoch } },
      'presence',
      { wanted: () => !this.#closed },
    ).then(
      () => {
        this.write({
          t: FRAME_TYPES.welcome,
          v: PROTOCOL_VERSION,
          userId: sub,
          gatewayId: this.#ctx.config.gatewayId,
          serverTimeUs: nowUs(),
        });
        const early = this.#early ?? [];
        this.#early = null;
        if (early.length > 0) this.#pushOutgoing(early);
      },
      () => {
        if (!this.#closed) this.#fail('UNAVAILABLE', 'SERVICE_RESTART', 'Kafka is unavailable');
      },
    );
  }

  /**
   * After a send failed (error 11), this connection's later sends are refused (11) until the
   * client resends the failed one: its resends then land in its own order (PROTOCOL §5.4).
   */
  async #onSend(from: string, msgId: string, to: string, header: Uint8Array, ciphertext: Uint8Array): Promise<void> {
    if (this.#resendFirst !== null && this.#resendFirst !== msgId)
      return this.#error('UNAVAILABLE', `resend ${this.#resendFirst} first: it failed and your sends keep their order`, { msgId });
    this.#resendFirst = null;
    const gwInUs = nowUs();
    try {
      await this.#produce({ key: mailboxKey(to, msgId), to, value: { k: 'm', from, msgId, header, ciphertext, gwInUs } }, 'message');
    } catch {
      this.#resendFirst ??= msgId;
      return this.#error('UNAVAILABLE', undefined, { msgId });
    }
    this.write({ t: FRAME_TYPES.ack, msgId, stamps: { gwInUs, producedUs: nowUs() } });
  }

  /**
   * received / read: only for a message delivered to this user on this connection. The receipt
   * to the sender is written before the tombstone, so a crash between them re-delivers (the
   * client drops the duplicate) instead of losing the receipt. A read naming `from` for a message
   * delivered on an earlier connection goes to `from` as the user's own claim (PROTOCOL §5.2).
   */
  async #confirm(user: string, msgId: string, kind: ReceiptKind, from?: string): Promise<void> {
    const entry =
      this.#unconfirmed?.get(msgId) ?? (kind === RECEIPT_KIND.read && from !== undefined ? { from, received: true } : undefined);
    if (entry === undefined) return this.#error('FORBIDDEN', 'no such message delivered to you on this connection', { msgId });
    const gwInUs = nowUs();
    const receipt = (k: ReceiptKind) =>
      this.#produce(
        { key: receiptKey(entry.from, msgId, k), to: entry.from, value: { k: 'r', msgId, kind: k, by: user, gwInUs } },
        'receipt',
      );
    try {
      // read without an earlier received implies received.
      if (!entry.received) {
        entry.received = true;
        await receipt(RECEIPT_KIND.delivered);
        // Not awaited: the read receipt must not wait for the deletion, and a lost tombstone only replays the message.
        this.#tombstone(mailboxKey(user, msgId), user);
      }
      if (kind === RECEIPT_KIND.read) {
        if (this.#unconfirmed?.delete(msgId) === true && this.#unconfirmed.size === 0) this.#unconfirmed = null; // an idle user holds no map
        await receipt(RECEIPT_KIND.read);
      }
    } catch {
      entry.received = false;
      this.#error('UNAVAILABLE', undefined, { msgId });
    }
  }

  /** The receipt is the session user's own key, so any (msgId, kind) may be deleted. */
  #receiptSeen(user: string, msgId: string, kind: ReceiptKind): void {
    this.#tombstone(receiptKey(user, msgId, kind), user);
  }

  /**
   * Deletes a confirmed item from the user's partition. Lazy: it rides with the relay's next
   * write (or goes alone within LAZY_LINGER_MS), since no frame waits for it. A lost tombstone
   * only replays the item, which the client drops by id (PROTOCOL §5.4).
   */
  #tombstone(key: string, user: string): void {
    this.#produce({ key, to: user, value: null }, 'tombstone', { lazy: true }).catch(() => {});
  }

  async #publishKeys(
    user: string,
    reqId: number,
    bundle: { identityKey: Uint8Array; signedPrekey: Uint8Array; signature: Uint8Array },
  ): Promise<void> {
    try {
      await this.#ctx.producer.produce({ topic: this.#ctx.config.topics.keys, key: user, value: encodeKeyBundle(bundle) }, 'keys');
    } catch {
      return this.#error('UNAVAILABLE', undefined, { reqId });
    }
    this.#ctx.keys.set(user, bundle);
    this.write({ t: FRAME_TYPES.keysPublished, reqId });
  }

  async #fetchKeys(reqId: number, userId: string): Promise<void> {
    // Waiting for a bundle this relay has not consumed yet costs a timer and a promise: beyond a
    // few waits per connection the answer is "not found" at once, so a keys flood cannot grow memory.
    const waitMs = this.#keyWaits < MAX_KEY_WAITS_PER_CONNECTION ? KEY_WAIT_MS : 0;
    this.#keyWaits++;
    let bundle: Awaited<ReturnType<KeyStore['get']>>;
    try {
      bundle = await this.#ctx.keys.get(userId, waitMs);
    } finally {
      this.#keyWaits--;
    }
    if (bundle === undefined) return this.#error('KEYS_NOT_FOUND', undefined, { reqId });
    this.write({
      t: FRAME_TYPES.keys,
      reqId,
      userId,
      identityKey: bundle.identityKey,
      signedPrekey: bundle.signedPrekey,
      signature: bundle.signature,
    });
  }

  /** Writes to `to`'s mailbox partition; `lazy` for what no frame waits on (BatchingProducer.produceLazy). */
  #produce(
    r: { key: string; to: string; value: Parameters<typeof encodeValue>[0] | null },
    kind: string,
    how: { lazy?: boolean; wanted?: () => boolean } = {},
  ): Promise<void> {
    const { config, producer } = this.#ctx;
    const record = {
      topic: config.topics.mailbox,
      partition: partitionFor(r.to, config.partitions),
      key: r.key,
      value: r.value === null ? null : encodeValue(r.value),
    };
    return how.lazy === true ? producer.produceLazy(record, kind) : producer.produce(record, kind, how.wanted);
  }

  #remember(msgId: string, from: string): void {
    const unconfirmed = (this.#unconfirmed ??= new Map());
    if (unconfirmed.has(msgId)) return; // a re-delivery keeps its ✓✓ state
    unconfirmed.set(msgId, { from, received: false });
    if (unconfirmed.size > this.#ctx.config.maxUnconfirmedPerConnection) {
      const oldest = unconfirmed.keys().next().value;
      if (oldest !== undefined) unconfirmed.delete(oldest);
    }
  }

  #onClose(code: number): void {
    this.#closed = true;
    this.#dropBacklog();
    this.#ctx.forget(this);
    this.#ctx.metrics.closes.inc({ code: String(code) });
    const user = this.#user;
    if (user === null) return;
    this.#ctx.unregister(this);
  }

  /** The clean-disconnect presence record (not for a connection replaced by a newer one). */
  presenceOffline(): Promise<void> {
    if (this.#user === null) return Promise.resolve();
    return this.#produce(
      {
        key: presenceKey(this.#user),
        to: this.#user,
        value: { k: 'p', gatewayId: null, epoch: this.#epoch, was: this.#ctx.config.gatewayId },
      },
      'presence',
    );
  }
}
