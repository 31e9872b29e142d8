/**
 * An in-memory Target for unit tests: plays a perfect relay in-process (welcome, key directory,
 * ack, deliver to the recipient's connection or hold until it connects, ✓✓ and read receipts).
 * Answers are asynchronous (setImmediate), as over a socket. `tamper(msgId)` flips a ciphertext
 * bit of that message's delivery. Like the relay, it takes `received`/`read` only on the socket
 * that delivered the message, or a `read` naming `from` on a later one (PROTOCOL §5.2);
 * `reconnect(userId)` replaces a user's socket as a dropped-and-redialled connection would.
 */
import {
  FRAME_TYPES,
  PROTOCOL_VERSION,
  RECEIPT_KIND,
  WIRE_ERRORS,
  nowUs,
  type ClientFrame,
  type DeliverFrame,
  type ServerFrame,
} from '../../../relay/protocol/src/index.js';
import type { Connection, ConnectionEvents, ConnectionState, Target, UserCredentials } from '../../src/driver/target.js';

export class LoopbackTarget implements Target {
  /** 'kafka-direct' plays the bare-Kafka path's part where it differs (no token). */
  constructor(readonly kind: Target['kind'] = 'relay') {}
  readonly #conns = new Map<string, LoopConn>();
  readonly #pending = new Map<string, ServerFrame[]>();
  readonly #keys = new Map<string, { identityKey: Uint8Array; signedPrekey: Uint8Array; signature: Uint8Array }>();
  readonly #from = new Map<string, string>();
  /** msgId → the connection and socket it was delivered on. */
  readonly #deliveredOn = new Map<string, { readonly conn: LoopConn; readonly socket: number }>();
  readonly tampered = new Set<string>();
  /** msgIds acked but never delivered (a lossy relay). */
  readonly dropped = new Set<string>();
  /** Every fetchKeys asked, by the user whose keys were asked for, in order. */
  readonly fetched: string[] = [];
  /** fetchKeys for these users gets no answer (a key directory that hangs) until releaseKeys. */
  readonly withheldKeys = new Set<string>();
  /** user whose keys were withheld → the asks waiting for them. */
  readonly #withheldAsks = new Map<string, { readonly c: LoopConn; readonly reqId: number }[]>();
  /** Every `read` the stand-in was sent, in order. */
  readonly reads: { readonly userId: string; readonly msgId: string; readonly from?: string }[] = [];
  /** Extra delay of every delivery, ms (a slow, queueing relay). */
  deliverDelayMs = 0;
  /** Extra delay of every ack, ms (a slow link back to the sender: the deliver overtakes its ack). */
  ackDelayMs = 0;

  async init(): Promise<void> {}

  get openConnections(): number {
    return this.#conns.size;
  }

  async connect(user: UserCredentials, events: ConnectionEvents): Promise<Connection> {
    const c = new LoopConn(this, user.userId, events);
    this.#conns.set(user.userId, c);
    await new Promise((r) => setImmediate(r));
    events.onFrame({ t: FRAME_TYPES.welcome, v: PROTOCOL_VERSION, userId: user.userId, gatewayId: 'loop', serverTimeUs: nowUs() });
    events.onOpen?.({ reconnect: false, atUs: nowUs(), connection: c });
    for (const f of this.#pending.get(user.userId)?.splice(0) ?? []) c.later(f);
    return c;
  }

  #to(user: string, f: ServerFrame): void {
    const c = this.#conns.get(user);
    if (c !== undefined) return c.later(f);
    let q = this.#pending.get(user);
    if (q === undefined) this.#pending.set(user, (q = []));
    q.push(f);
  }

  handle(c: LoopConn, f: ClientFrame): void {
    switch (f.t) {
      case FRAME_TYPES.publishKeys:
        this.#keys.set(c.userId, { identityKey: f.identityKey, signedPrekey: f.signedPrekey, signature: f.signature });
        return c.later({ t: FRAME_TYPES.keysPublished, reqId: f.reqId });
      case FRAME_TYPES.fetchKeys: {
        this.fetched.push(f.userId);
        if (this.withheldKeys.has(f.userId)) return void this.#waitingAsks(f.userId).push({ c, reqId: f.reqId });
        return this.#answerKeys(c, f.reqId, f.userId);
      }
      case FRAME_TYPES.send: {
        const gwInUs = nowUs();
        this.#from.set(f.msgId, c.userId);
        const ack: ServerFrame = { t: FRAME_TYPES.ack, msgId: f.msgId, stamps: { gwInUs, producedUs: nowUs() } };
        if (this.ackDelayMs > 0) setTimeout(() => c.later(ack), this.ackDelayMs);
        else c.later(ack);
        let ciphertext = f.ciphertext;
        if (this.tampered.has(f.msgId)) {
          ciphertext = Uint8Array.from(ciphertext);
          ciphertext[0]! ^= 1;
        }
        const d: DeliverFrame = {
          t: FRAME_TYPES.deliver,
          msgId: f.msgId,
          from: c.userId,
          header: f.header,
          ciphertext,
          stamps: { gwInUs, producedUs: gwInUs, routedUs: gwInUs, gwOutUs: nowUs() },
        };
        if (this.dropped.has(f.msgId)) return;
        if (this.deliverDelayMs > 0) return void setTimeout(() => this.#to(f.to, d), this.deliverDelayMs);
        return this.#to(f.to, d);
      }
      case FRAME_TYPES.received:
      case FRAME_TYPES.read: {
        if (f.t === FRAME_TYPES.read)
          this.reads.push({ userId: c.userId, msgId: f.msgId, ...(f.from === undefined ? {} : { from: f.from }) });
        const on = this.#deliveredOn.get(f.msgId);
        const here = on !== undefined && on.conn === c && on.socket === c.socket;
        const sender = here ? this.#from.get(f.msgId) : f.t === FRAME_TYPES.read ? f.from : undefined;
        if (sender === undefined)
          return c.later({
            t: FRAME_TYPES.error,
            code: WIRE_ERRORS.FORBIDDEN.code,
            reason: 'no such message delivered to you on this connection',
            msgId: f.msgId,
          });
        const kind = f.t === FRAME_TYPES.read ? RECEIPT_KIND.read : RECEIPT_KIND.delivered;
        return this.#to(sender, { t: FRAME_TYPES.receipt, msgId: f.msgId, kind, by: c.userId, stamps: {} });
      }
      default:
        return;
    }
  }

  #answerKeys(c: LoopConn, reqId: number, userId: string): void {
    const k = this.#keys.get(userId);
    c.later(
      k === undefined
        ? { t: FRAME_TYPES.error, code: WIRE_ERRORS.KEYS_NOT_FOUND.code, reason: 'none', reqId }
        : { t: FRAME_TYPES.keys, reqId, userId, ...k },
    );
  }

  #waitingAsks(userId: string): { readonly c: LoopConn; readonly reqId: number }[] {
    let asks = this.#withheldAsks.get(userId);
    if (asks === undefined) this.#withheldAsks.set(userId, (asks = []));
    return asks;
  }

  /** fetchKeys asks for `userId`'s keys still waiting for releaseKeys. */
  waitingForKeys(userId: string): number {
    return this.#withheldAsks.get(userId)?.length ?? 0;
  }

  /** Stops withholding `userId`'s keys and answers the fetchKeys that waited for them. */
  releaseKeys(userId: string): void {
    this.withheldKeys.delete(userId);
    const asks = this.#withheldAsks.get(userId) ?? [];
    this.#withheldAsks.delete(userId);
    for (const a of asks) this.#answerKeys(a.c, a.reqId, userId);
  }

  /** The user's socket dies and its connection dials again: down for `downMs` (frames sent meanwhile are dropped), then a new welcome. */
  reconnect(userId: string, downMs = 0): void {
    this.#conns.get(userId)?.redial(downMs);
  }

  delivered(c: LoopConn, f: DeliverFrame): void {
    this.#deliveredOn.set(f.msgId, { conn: c, socket: c.socket });
  }

  drop(c: LoopConn): void {
    if (this.#conns.get(c.userId) === c) this.#conns.delete(c.userId);
  }

  async close(): Promise<void> {
    this.#conns.clear();
  }
}

class LoopConn implements Connection {
  #state: ConnectionState = 'open';
  /** Grows with every redial: frames queued for an earlier socket are lost with it. */
  socket = 0;
  constructor(
    readonly target: LoopbackTarget,
    readonly userId: string,
    readonly events: ConnectionEvents,
  ) {}
  get state(): ConnectionState {
    return this.#state;
  }
  get unacked(): number {
    return 0;
  }
  send(frame: ClientFrame): void {
    if (this.#state === 'open') this.target.handle(this, frame);
  }
  later(f: ServerFrame): void {
    const socket = this.socket;
    setImmediate(() => {
      if (this.#state !== 'open' || socket !== this.socket) return;
      if (f.t === FRAME_TYPES.deliver) this.target.delivered(this, f);
      this.events.onFrame(f);
    });
  }

  redial(downMs: number): void {
    this.socket++;
    this.#state = 'connecting';
    this.events.onDown?.({ code: 1006, willReconnect: true });
    setTimeout(() => {
      if (this.#state !== 'connecting') return;
      this.#state = 'open';
      this.events.onFrame({ t: FRAME_TYPES.welcome, v: PROTOCOL_VERSION, userId: this.userId, gatewayId: 'loop', serverTimeUs: nowUs() });
      this.events.onOpen?.({ reconnect: true, atUs: nowUs(), connection: this });
    }, downMs);
  }
  async close(): Promise<void> {
    this.#state = 'closed';
    this.target.drop(this);
  }
}
