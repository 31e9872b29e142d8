/**
 * One virtual user: an identity (published with publishKeys on its first connection), one
 * connection to the target, per-peer E2EE sessions (conversations.ts), and the client side of the
 * protocol: ack ✓, deliver → decrypt → received (→ read after readDelayMs), receipt → receiptSeen.
 * Every event goes to the worker's Ledger (exact counts) and MeasurementSink (latencies, µs).
 *
 * Latency definitions (one clock: the worker holds both ends of every conversation):
 *   ack              = ack arrival − intended send
 *   e2eCorrected     = decrypted at recipient − intended send (coordinated-omission-free)
 *   e2eUncorrected   = decrypted at recipient − actual send (the frame handed to the socket)
 *   outboxWait       = actual send − send() call: the user's outbox (the peer's keys, fetched when
 *                      this user writes first, the in-flight window) and the encryption; with scheduleLag
 *                      (send() call − intended) per message e2eCorrected = scheduleLag +
 *                      outboxWait + e2eUncorrected
 *   storeForward     = decrypted − intended, instead of e2e*, when the message was intended before
 *                      the recipient's current connection came up (it waited for the recipient)
 *   deliveredReceipt / readReceipt = receipt arrival at the sender − intended send
 *   hop*             = differences of the relay stamps; hopClientToGateway = gwInUs − actual send,
 *                      hopGatewayToClient = arrival − gwOutUs (the two WebSocket legs)
 *                      (hops only for live deliveries, not store-and-forward)
 *   inboxWait        = decrypted − arrival: the decryption, and the sender's keys when its first
 *                      message does not announce them; with every stamp present, per message
 *                      e2eUncorrected = the five hops + inboxWait
 * msgIds are `<userId>:<n>` with n = 0, 1, 2, … per user object: deterministic, unique per
 * recipient as long as user ids are unique per run (the plan's userPrefix).
 * Single-threaded; every method returns without blocking.
 */
import {
  FRAME_TYPES,
  RECEIPT_KIND,
  isRelaybenchError,
  signToken,
  wireError,
  type ClientFrame,
  type DeliverFrame,
  type KeysFrame,
  type SendFrame,
  type ServerFrame,
} from '../../../relay/protocol/src/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs } from '../../../relay/protocol/src/index.js';
import { generateIdentity, type Identity } from '../crypto/identity.js';
import { loadgenError } from '../errors.js';
import type { Ledger, ProduceHopStamps } from '../ledger.js';
import type { Clock } from '../rate/clock.js';
import type { Connection, Target } from '../driver/target.js';
import { Conversations, publishKeysFrame, type PeerSession } from './conversations.js';
import type { DelayQueue } from './delay-queue.js';
import type { MeasurementSink } from './sink.js';

/** fetchKeys retries: 250 ms doubling to 2 s. */
const KEYS_BACKOFF = { initialMs: 250, maxMs: 2000, random: Math.random };

/** How far back a dropped socket's reads are sent again (PROTOCOL §5.2: `read` has no ack). */
const RESEND_READS_MS = 1000;

/** The two hops on either side of the produce: the deliver's stamps around the ack's `producedUs`. */
function recordProduceHops(sink: MeasurementSink, s: ProduceHopStamps, producedUs: number): void {
  if (s.gwInUs !== undefined) sink.latency('hopGatewayToProduce', producedUs - s.gwInUs);
  if (s.routedUs !== undefined) sink.latency('hopProduceToRouter', s.routedUs - producedUs);
}

export interface VirtualUserDeps {
  readonly target: Target;
  readonly tokenSecret: string;
  readonly ledger: Ledger;
  readonly sink: MeasurementSink;
  readonly clock: Clock;
  /** Shared FIFO that runs `read` confirmations readDelayMs after delivery. */
  readonly readQueue: DelayQueue;
  /** Plaintext bytes for the next message (the content is irrelevant; its size matters). */
  readonly plaintext: () => Uint8Array;
  /** Request (publishKeys/fetchKeys) timeout, ms (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Sends in flight (not yet acked) before later ones wait in the outbox (default 1000). */
  readonly maxInFlight?: number;
  /** Sees unplanned connection losses and the first ack/delivery after them (disruptions, client faults). */
  readonly health?: UserHealthSink;
}

/** Connection health of users, for disruption records and client-fault recovery (worker/disruptions.ts, worker/client-faults.ts). */
export interface UserHealthSink {
  /** A connection closed without the user asking (not goOffline, not the end of the run). ms since epoch. */
  disrupted(userId: string, code: number, atMs: number): void;
  /** The first ack or delivery after a disruption or after watchRecovery(). ms since epoch. */
  working(userId: string, atMs: number): void;
  /** The driver reconnected by itself after a disruption (welcome on the new socket). ms since epoch. */
  reconnected?(userId: string, atMs: number): void;
}

type Pending = { resolve: (f: ServerFrame) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout };

/** A scheduled message waiting to be sent: to whom, when it was intended, when send() took it (µs). */
interface OutboxItem {
  readonly to: string;
  readonly intendedUs: number;
  readonly queuedUs: number;
}

export class VirtualUser {
  readonly id: string;
  readonly identity: Identity;
  readonly #deps: VirtualUserDeps;
  readonly #convs: Conversations;
  readonly #requests = new Map<number, Pending>();
  /** Deliveries waiting for the sender's keys, per peer, in arrival order. */
  readonly #inbox = new Map<string, { frame: DeliverFrame; arrivalUs: number }[]>();
  /** msgId → the socket generation it was delivered on, and its sender (a read on a later socket names it: PROTOCOL §5.2). */
  readonly #pendingReads = new Map<string, { readonly gen: number; readonly from: string }>();
  /** Reads that fell due while the connection was down (a frame sent then is dropped): sent on the next welcome. */
  #dueReads: string[] = [];
  /**
   * Reads written in the last RESEND_READS_MS, oldest first: a socket reset can lose the last frames
   * written (still corked, or in flight), and `read` has no ack, so after a drop they go again on
   * the next socket, naming the sender. A duplicate read receipt is harmless (counted once).
   */
  #recentReads: { readonly msgId: string; readonly gen: number; readonly from: string; readonly atMs: number }[] = [];
  #conn: Connection | null = null;
  /** Grows with every connect() (a connection object, reconnecting by itself inside). */
  #connGen = 0;
  /** Grows with every welcome: a `read` is valid only on the socket that got the deliver. */
  #socketGen = 0;
  #connectedSinceUs = Number.POSITIVE_INFINITY;
  #published = false;
  /** Arrivals not yet handed to the connection (FIFO; `#outHead` is the next one). */
  #outbox: OutboxItem[] = [];
  #outHead = 0;
  /** Sent, not yet acked: msgId → frame, resent after this user's own reconnect. */
  readonly #inFlight = new Map<string, SendFrame>();
  #waitingKeys = false;
  #connecting: Promise<void> | null = null;
  #seq = 0;
  #reqId = 0;
  /** Report the next ack or delivery to deps.health (set by a disruption or watchRecovery()). */
  #watch = false;

  constructor(id: string, deps: VirtualUserDeps, identity: Identity = generateIdentity()) {
    this.id = id;
    this.identity = identity;
    this.#deps = deps;
    this.#convs = new Conversations(id, identity, (peer) => this.#fetchKeys(peer));
  }

  get online(): boolean {
    return this.#conn !== null && this.#conn.state === 'open';
  }

  /** True while a connection object exists (open or reconnecting by itself). */
  get connected(): boolean {
    return this.#conn !== null;
  }

  get unacked(): number {
    return this.#conn?.unacked ?? 0;
  }

  /** Connect (new epoch), and publish keys the first time. Rejects with RB_LOADGEN_*. Concurrent calls share one attempt. */
  connect(): Promise<void> {
    if (this.#conn !== null) return Promise.resolve();
    if (this.#connecting === null) this.#connecting = this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    // The kafka-direct path has no relay to present a token to, and its plans carry no secret.
    const token =
      this.#deps.target.kind === 'relay' ? signToken({ sub: this.id, expMs: Date.now() + 24 * 3_600_000 }, this.#deps.tokenSecret) : '';
    const connGen = ++this.#connGen;
    const conn = await this.#deps.target.connect(
      { userId: this.id, token },
      {
        // Frames still arriving on a connection this user is leaving are ignored: without our
        // `received` the relay keeps those messages and replays them on the next connection.
        onFrame: (f) => {
          if (this.#connGen === connGen) this.#onFrame(f);
        },
        onOpen: ({ atUs, connection, reconnect }) => {
          if (this.#connGen !== connGen) return;
          if (reconnect) this.#deps.health?.reconnected?.(this.id, atUs / 1000);
          this.#conn = connection; // before connect() resolves: replayed deliveries may follow welcome at once
          this.#connectedSinceUs = atUs;
          this.#socketGen++;
          if (this.#dueReads.length > 0) for (const msgId of this.#dueReads.splice(0)) this.#read(msgId);
        },
        onError: (code) => this.#error(code),
        // Only closes the driver did not cause on our request (close() is silent): a disruption.
        onDown: ({ code }) => {
          if (this.#connGen !== connGen) return;
          this.#watch = true;
          const sinceMs = performance.now() - RESEND_READS_MS;
          for (const r of this.#recentReads.splice(0)) {
            if (r.atMs < sinceMs || this.#pendingReads.has(r.msgId)) continue;
            this.#pendingReads.set(r.msgId, { gen: r.gen, from: r.from });
            this.#dueReads.push(r.msgId);
          }
          this.#deps.health?.disrupted(this.id, code, this.#deps.clock.nowUs() / 1000);
        },
      },
    );
    if (this.#connGen !== connGen) {
      await conn.close(); // went offline while connecting
      return;
    }
    this.#conn = conn;
    for (const frame of this.#inFlight.values()) conn.send(frame);
    if (this.#connectedSinceUs === Number.POSITIVE_INFINITY) this.#connectedSinceUs = this.#deps.clock.nowUs();
    if (!this.#published) {
      await this.#request(publishKeysFrame(this.identity, ++this.#reqId));
      this.#published = true;
    }
    this.#pump();
  }

  /** Go offline on purpose (churn): confirm pending reads first (the user read before leaving), then close. */
  async goOffline(): Promise<void> {
    const conn = this.#conn;
    if (conn === null) return;
    for (const [msgId, r] of this.#pendingReads) conn.send(this.#readFrame(msgId, r));
    this.#pendingReads.clear();
    this.#dueReads = [];
    this.#recentReads = [];
    this.#conn = null;
    this.#connGen++;
    this.#socketGen++;
    this.#connectedSinceUs = Number.POSITIVE_INFINITY;
    for (const [id, p] of this.#requests) {
      clearTimeout(p.timer);
      p.reject(loadgenError('RB_LOADGEN_TIMEOUT', 'The user went offline.'));
      this.#requests.delete(id);
    }
    await conn.close();
  }

  /** Client fault: stop reading this user's socket (slow reader). False when not online or unsupported. */
  pauseReading(): boolean {
    const c = this.#conn;
    if (c === null || c.state !== 'open' || c.pauseReading === undefined) return false;
    c.pauseReading();
    return true;
  }

  resumeReading(): void {
    this.#conn?.resumeReading?.();
  }

  /** Client fault: lose the connection abruptly (the driver reconnects). False when not online or unsupported. */
  dropConnection(): boolean {
    const c = this.#conn;
    if (c === null || c.state !== 'open' || c.dropTransport === undefined) return false;
    c.dropTransport();
    return true;
  }

  /** Report the next ack or delivery to deps.health.working (recovery after a client fault). */
  watchRecovery(): void {
    this.#watch = true;
  }

  /** Fetch peers' keys ahead of traffic (e.g. fixed pairs, groups). */
  async prefetch(peerIds: readonly string[]): Promise<void> {
    await Promise.all(peerIds.map((p) => this.#convs.ensure(p)));
  }

  /**
   * One scheduled message to `to`, intended at `intendedUs`: queued in the outbox and sent as soon
   * as the in-flight window and the peer's keys allow (fetchKeys once per peer; that wait counts
   * in ack/e2e latency, not in schedule lag). Returns false when this user has no connection.
   */
  send(to: string, intendedUs: number): boolean {
    if (this.#conn === null) return false;
    this.#outbox.push({ to, intendedUs, queuedUs: this.#deps.clock.nowUs() });
    this.#pump();
    return true;
  }

  /** Messages waiting in the outbox. */
  get queued(): number {
    return this.#outbox.length - this.#outHead;
  }

  /** Confirm every pending read now (end of run). */
  flushReads(): void {
    for (const msgId of [...this.#pendingReads.keys()]) this.#read(msgId);
  }

  #pump(): void {
    const window = this.#deps.maxInFlight ?? 1000;
    while (this.#outHead < this.#outbox.length && this.#inFlight.size < window && this.#conn !== null && !this.#waitingKeys) {
      const item = this.#outbox[this.#outHead]!;
      const session = this.#convs.get(item.to);
      if (session === undefined) {
        // Head-of-line: keep the user's send order while its keys arrive.
        this.#waitingKeys = true;
        this.#convs.ensure(item.to).then(
          () => {
            this.#waitingKeys = false;
            this.#pump();
          },
          (e) => {
            this.#waitingKeys = false;
            this.#error(isRelaybenchError(e) ? e.code : 'RB_LOADGEN_KEYS');
            if (this.#outbox[this.#outHead] === item) this.#outHead++; // give this message up
            this.#pump();
          },
        );
        return;
      }
      this.#outHead++;
      this.#sendWith(session, item);
    }
    // Sent items must not stay reachable: a user sending one message a second would otherwise keep
    // every arrival of a long run (the steady scenario: ≈ 500,000 objects per worker).
    if (this.#outHead === this.#outbox.length) {
      this.#outbox.length = 0;
      this.#outHead = 0;
    } else if (this.#outHead > 1024 && this.#outHead * 2 > this.#outbox.length) {
      this.#outbox = this.#outbox.slice(this.#outHead);
      this.#outHead = 0;
    }
  }

  #sendWith(session: PeerSession, { to, intendedUs, queuedUs }: OutboxItem): void {
    const conn = this.#conn!;
    const msg = session.sender.encrypt(this.#deps.plaintext(), { sentAtUs: intendedUs });
    const msgId = `${this.id}:${this.#seq++}`;
    const sentUs = this.#deps.clock.nowUs();
    this.#deps.ledger.expect(msgId, { from: this.id, to, counter: msg.counter, intendedUs, sentUs });
    const frame: SendFrame = { t: FRAME_TYPES.send, msgId, to, header: msg.header, ciphertext: msg.ciphertext };
    this.#inFlight.set(msgId, frame);
    conn.send(frame);
    this.#deps.sink.latency('outboxWait', sentUs - queuedUs);
    this.#deps.sink.sent();
  }

  #onFrame(f: ServerFrame): void {
    if (this.#watch && (f.t === FRAME_TYPES.deliver || f.t === FRAME_TYPES.ack)) {
      this.#watch = false;
      this.#deps.health?.working(this.id, this.#deps.clock.nowUs() / 1000);
    }
    switch (f.t) {
      case FRAME_TYPES.deliver:
        return this.#onDeliver(f, this.#deps.clock.nowUs());
      case FRAME_TYPES.ack: {
        if (this.#inFlight.delete(f.msgId)) this.#pump();
        const nowUs = this.#deps.clock.nowUs();
        const timing = this.#deps.ledger.onAck(f.msgId, nowUs, f.stamps.producedUs);
        if (timing !== undefined) {
          this.#deps.sink.acked();
          this.#deps.sink.latency('ack', nowUs - timing.intendedUs);
          const producedUs = f.stamps.producedUs;
          if (timing.awaitingProduce !== undefined && producedUs !== undefined)
            recordProduceHops(this.#deps.sink, timing.awaitingProduce, producedUs);
        }
        return;
      }
      case FRAME_TYPES.receipt: {
        const nowUs = this.#deps.clock.nowUs();
        const read = f.kind === RECEIPT_KIND.read;
        const timing = this.#deps.ledger.onReceipt(f.msgId, read ? 'read' : 'delivered', f.by);
        if (timing === 'foreign') this.#error('RB_LOADGEN_FOREIGN_RECEIPT');
        else if (timing !== undefined) this.#deps.sink.latency(read ? 'readReceipt' : 'deliveredReceipt', nowUs - timing.intendedUs);
        return this.#send({ t: FRAME_TYPES.receiptSeen, msgId: f.msgId, kind: f.kind });
      }
      case FRAME_TYPES.keys:
      case FRAME_TYPES.keysPublished:
        return this.#settle(f.reqId, f);
      case FRAME_TYPES.error: {
        const spec = wireError(f.code);
        this.#error(`WIRE_${spec.name}`);
        if (f.reqId !== undefined) this.#settle(f.reqId, f);
        // A refused send will never be acked: free its slot (retriable ones are resent by the driver).
        if (f.msgId !== undefined && !spec.retriable && this.#inFlight.delete(f.msgId)) this.#pump();
        return;
      }
      default:
        return; // welcome (handled by the driver), pong
    }
  }

  #onDeliver(frame: DeliverFrame, arrivalUs: number): void {
    const session = this.#convs.get(frame.from);
    const waiting = this.#inbox.get(frame.from);
    if (session !== undefined && waiting === undefined) return void this.#open(session, frame, arrivalUs);
    if (waiting !== undefined) return void waiting.push({ frame, arrivalUs });
    // A first message announces its sender's key: keyed from it, it needs no fetch. The session is
    // kept only if the message decrypts with it (a damaged key costs one decrypt failure, no more).
    const announced = this.#convs.fromHeader(frame.from, frame.header);
    if (announced !== undefined) {
      if (this.#open(announced, frame, arrivalUs)) this.#convs.keep(frame.from, announced);
      return;
    }
    const queue = [{ frame, arrivalUs }];
    this.#inbox.set(frame.from, queue);
    const connGen = this.#connGen;
    this.#convs.ensure(frame.from).then(
      (s) => {
        this.#inbox.delete(frame.from);
        for (const item of queue) this.#open(s, item.frame, item.arrivalUs);
      },
      (e) => {
        this.#inbox.delete(frame.from);
        // Went offline while fetching the sender's keys: these deliveries were never confirmed
        // (`received`), so the relay replays them on the next connection. Not a decrypt failure
        // (counting one here was the source of offline-burst's "decrypt failures" under churn).
        if (this.#connGen !== connGen) return;
        this.#error(isRelaybenchError(e) ? e.code : 'RB_LOADGEN_KEYS');
        for (const item of queue) this.#deps.ledger.onDecryptFailure(item.frame.msgId);
      },
    );
  }

  /**
   * Decrypt and account one delivery; always answers `received` (a duplicate too, or the relay
   * keeps re-delivering it). True when it decrypted.
   */
  #open(session: PeerSession, f: DeliverFrame, arrivalUs: number): boolean {
    const { ledger, sink, clock } = this.#deps;
    const result = session.receiver.decrypt(f.header, f.ciphertext);
    const nowUs = clock.nowUs();
    if (result.ok) {
      session.sender.peerHeard();
      const { outcome, timing } = ledger.onDeliver(f.msgId, this.id, result.counter, nowUs);
      if (outcome === 'first' && timing !== undefined) {
        sink.delivered();
        if (timing.intendedUs < this.#connectedSinceUs) sink.latency('storeForward', nowUs - timing.intendedUs);
        else {
          sink.latency('e2eCorrected', nowUs - timing.intendedUs);
          sink.latency('e2eUncorrected', nowUs - timing.sentUs);
          const s = f.stamps;
          // producedUs is the ack's alone (the sender's gateway clock when acks=all came back,
          // PROTOCOL §9): when this deliver overtook its ack, the ack records the produce hops.
          if (timing.producedUs !== undefined) recordProduceHops(sink, s, timing.producedUs);
          else ledger.awaitProduce(f.msgId, s);
          if (s.gwInUs !== undefined) sink.latency('hopClientToGateway', s.gwInUs - timing.sentUs);
          if (s.routedUs !== undefined && s.gwOutUs !== undefined) sink.latency('hopRouterToGateway', s.gwOutUs - s.routedUs);
          if (s.gwOutUs !== undefined) sink.latency('hopGatewayToClient', arrivalUs - s.gwOutUs);
          sink.latency('inboxWait', nowUs - arrivalUs);
        }
        const msgId = f.msgId;
        this.#pendingReads.set(msgId, { gen: this.#socketGen, from: f.from });
        // The read waits readDelay: closing over `f` kept the frame and, through its header and
        // ciphertext (views), the socket read they came in, until they were promoted to V8's old
        // generation. With only the id kept, a worker compacts that generation ≈ 18 % less often
        // at 800 msg/s; each pause is as long (docs/measurements.md, evening of 2026-12-07).
        this.#deps.readQueue.push(() => this.#read(msgId));
      }
    } else if (result.reason === 'replay') {
      ledger.onReplay(f.msgId);
    } else {
      ledger.onDecryptFailure(f.msgId);
      this.#error('RB_LOADGEN_DECRYPT');
    }
    this.#send({ t: FRAME_TYPES.received, msgId: f.msgId });
    return result.ok;
  }

  #read(msgId: string): void {
    const r = this.#pendingReads.get(msgId);
    if (r === undefined) return;
    if (this.#conn !== null && this.#conn.state !== 'open') return void this.#dueReads.push(msgId);
    this.#pendingReads.delete(msgId);
    this.#send(this.#readFrame(msgId, r));
    const atMs = performance.now();
    const recent = this.#recentReads;
    let old = 0;
    while (old < recent.length && recent[old]!.atMs < atMs - RESEND_READS_MS) old++;
    if (old > 0) recent.splice(0, old);
    recent.push({ msgId, gen: r.gen, from: r.from, atMs });
  }

  /** On the delivering socket a plain `read`; on a later one (it died meanwhile) `read` names the sender. */
  #readFrame(msgId: string, r: { readonly gen: number; readonly from: string }): ClientFrame {
    return r.gen === this.#socketGen ? { t: FRAME_TYPES.read, msgId } : { t: FRAME_TYPES.read, msgId, from: r.from };
  }

  #send(frame: ClientFrame): void {
    this.#conn?.send(frame);
  }

  #error(code: string): void {
    this.#deps.ledger.onError(code);
    this.#deps.sink.error(code);
  }

  async #fetchKeys(peerId: string): Promise<KeysFrame> {
    let last: unknown;
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const f = await this.#request({ t: FRAME_TYPES.fetchKeys, reqId: ++this.#reqId, userId: peerId });
        if (f.t === FRAME_TYPES.keys) return f;
        last = new Error(`error ${f.t === FRAME_TYPES.error ? wireError(f.code).name : f.t}`);
      } catch (e) {
        last = e;
        if (this.#conn === null) break;
      }
      await sleep(backoffDelayMs(attempt, KEYS_BACKOFF));
    }
    throw loadgenError('RB_LOADGEN_KEYS', `fetchKeys ${peerId}: ${last instanceof Error ? last.message : String(last)}.`, last);
  }

  /** Send a request frame with a reqId; resolves with its answer (keys/keysPublished or error). */
  #request(frame: ClientFrame & { reqId: number }): Promise<ServerFrame> {
    const conn = this.#conn;
    if (conn === null) return Promise.reject(loadgenError('RB_LOADGEN_CONNECT', `${this.id} is offline.`));
    return new Promise((resolve, reject) => {
      const timeoutMs = this.#deps.requestTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.#requests.delete(frame.reqId);
        reject(loadgenError('RB_LOADGEN_TIMEOUT', `No answer to request ${frame.reqId} of ${this.id} in ${timeoutMs} ms.`));
      }, timeoutMs);
      this.#requests.set(frame.reqId, { resolve, reject, timer });
      conn.send(frame);
    });
  }

  #settle(reqId: number, f: ServerFrame): void {
    const p = this.#requests.get(reqId);
    if (p === undefined) return;
    this.#requests.delete(reqId);
    clearTimeout(p.timer);
    p.resolve(f);
  }
}
