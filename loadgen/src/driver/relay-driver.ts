/**
 * Target over WebSockets to real relays (relay/PROTOCOL.md): one socket per virtual user,
 * permessage-deflate off both ways (bufferutil masks), the routing hint for the first URL,
 * reconnect with backoff + jitter following each close code's policy (wire-errors closeCode()),
 * sockets spread over local source addresses (round robin), and every unacknowledged `send`
 * resent with the same msgId after a reconnect (the relay dedupes by msgId). Writes of one
 * event-loop turn share a syscall; receiptSeen confirmations are batched (RECEIPT_SEEN_DELAY_MS).
 */
import WebSocket from 'ws';
import {
  CLOSE_CODES,
  FRAME_TYPES,
  PROTOCOL_VERSION,
  closeCode,
  decodeServerFrame,
  encodeFrame,
  isRelaybenchError,
  wireError,
  type ClientFrame,
  type ReceiptRef,
  type ServerFrame,
} from '../../../relay/protocol/src/index.js';
import { corkForTurn } from '../../../relay/protocol/src/index.js';
import { loadgenError } from '../errors.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from '../../../relay/protocol/src/index.js';
import { fetchRoutes, pinRoutes, RelayPicker } from './routes.js';
import { nextEpoch, type Connection, type ConnectionEvents, type ConnectionState, type Target, type UserCredentials } from './target.js';

export interface RelayDriverOptions {
  readonly relays: readonly string[];
  /** Local addresses to bind sockets to, round robin (empty = the OS chooses). */
  readonly sourceAddresses?: readonly string[];
  /** Use GET /routes to connect each user to the owner of its partition (default true). */
  readonly routingHint?: boolean;
  readonly backoff?: BackoffOptions;
  /** Time from socket open to welcome before the attempt is abandoned (default 15 s). */
  readonly handshakeTimeoutMs?: number;
  /** First connection: attempts before connect() rejects (default 8). */
  readonly maxInitialAttempts?: number;
  /** A sentence for the person running the load (default: stderr). */
  readonly notice?: (line: string) => void;
}

export class RelayTarget implements Target {
  readonly kind = 'relay' as const;
  readonly options: Required<RelayDriverOptions>;
  readonly picker: RelayPicker;
  readonly #connections = new Set<RelayConnection>();
  #source = 0;
  #open = 0;

  constructor(options: RelayDriverOptions) {
    this.options = {
      sourceAddresses: [],
      routingHint: true,
      backoff: DEFAULT_BACKOFF,
      handshakeTimeoutMs: 15_000,
      maxInitialAttempts: 8,
      notice: (line) => void process.stderr.write(`loadgen: ${line}\n`),
      ...options,
    };
    this.picker = new RelayPicker(options.relays);
  }

  async init(): Promise<void> {
    if (!this.options.routingHint) return;
    const { routes, unmatched } = await pinRoutes(this.options.relays, await fetchRoutes(this.options.relays));
    if (unmatched.length > 0)
      this.options.notice(
        `the routing hint names ${unmatched.join(', ')}, not among the relays given (${this.options.relays.join(', ')}) nor matched to one by gateway id: the users of those partitions connect round robin over the relays given. A relay behind a proxy advertises the proxy with --public-url.`,
      );
    this.picker.setRoutes(routes);
  }

  get openConnections(): number {
    return this.#open;
  }

  /** Next source address (round robin), undefined when none are configured. */
  nextSourceAddress(): string | undefined {
    const list = this.options.sourceAddresses;
    return list.length === 0 ? undefined : list[this.#source++ % list.length];
  }

  /** @internal bookkeeping from connections. */
  countOpen(delta: number): void {
    this.#open += delta;
  }

  forget(c: RelayConnection): void {
    this.#connections.delete(c);
  }

  async connect(user: UserCredentials, events: ConnectionEvents): Promise<Connection> {
    const c = new RelayConnection(this, user, events);
    this.#connections.add(c);
    try {
      await c.start();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#connections].map((c) => c.close()));
  }
}

const RETRIABLE_SEND_DELAY_MS = 200;

/**
 * receiptSeen confirmations of one connection are collected for 200–250 ms and leave as one frame
 * (PROTOCOL §4 `receiptSeen.more`): fewer frames and socket writes on both ends. Only the relay's
 * deletion of the receipt waits; the receipt itself was recorded on arrival. A batch lost with its
 * socket is harmless: the relay replays those receipts and they are confirmed again.
 */
export const RECEIPT_SEEN_DELAY_MS = 250;
/** The batch timer also flushes batches due this much later: it fires at most ~20 times a second. */
const RECEIPT_SEEN_SLACK_MS = 50;
/** Pairs per receiptSeen frame (the protocol allows 1 + MAX_RECEIPT_REFS). */
const RECEIPT_SEEN_BATCH = 256;

/** Connections with a receiptSeen batch waiting, oldest first (the delay is the same for all): one timer. */
const seenDue: { readonly conn: RelayConnection; readonly dueMs: number }[] = [];
let seenTimer: NodeJS.Timeout | null = null;

function scheduleSeen(conn: RelayConnection): void {
  seenDue.push({ conn, dueMs: performance.now() + RECEIPT_SEEN_DELAY_MS });
  if (seenTimer === null) armSeenTimer();
}

function armSeenTimer(): void {
  const head = seenDue[0];
  if (head === undefined) return;
  seenTimer = setTimeout(
    () => {
      seenTimer = null;
      const until = performance.now() + RECEIPT_SEEN_SLACK_MS;
      let n = 0;
      while (n < seenDue.length && seenDue[n]!.dueMs <= until) seenDue[n++]!.conn.flushSeen();
      seenDue.splice(0, n);
      armSeenTimer();
    },
    Math.max(0, head.dueMs - performance.now()),
  );
  seenTimer.unref();
}

export class RelayConnection implements Connection {
  readonly #target: RelayTarget;
  readonly #user: UserCredentials;
  readonly #events: ConnectionEvents;
  /** msgId → encoded send frame, insertion-ordered (resent in order after a reconnect). */
  readonly #unacked = new Map<string, Uint8Array>();
  #ws: WebSocket | null = null;
  #state: ConnectionState = 'connecting';
  #attempt = 0;
  #opens = 0;
  #redirectUrl: string | null = null;
  #lastError: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #resendTimer: NodeJS.Timeout | null = null;
  #firstOpen: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  #closedPromise: Promise<void> | null = null;
  /** receiptSeen pairs not written yet (null when none: most connections, most of the time). */
  #seen: ReceiptRef[] | null = null;

  constructor(target: RelayTarget, user: UserCredentials, events: ConnectionEvents) {
    this.#target = target;
    this.#user = user;
    this.#events = events;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get unacked(): number {
    return this.#unacked.size;
  }

  /** First connection; resolves on welcome. Retries retriable failures up to maxInitialAttempts. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#firstOpen = { resolve, reject };
      this.#dial();
    });
  }

  send(frame: ClientFrame): void {
    if (this.#state === 'closed') return;
    if (frame.t === FRAME_TYPES.receiptSeen) return this.#queueSeen(frame.msgId, frame.kind, frame.more);
    const bytes = encodeFrame(frame);
    if (frame.t === FRAME_TYPES.send) this.#unacked.set(frame.msgId, bytes);
    if (this.#state === 'open' && this.#ws !== null) this.#write(this.#ws, bytes);
  }

  #write(ws: WebSocket, bytes: Uint8Array): void {
    corkForTurn(ws);
    ws.send(bytes);
  }

  #queueSeen(msgId: string, kind: ReceiptRef[1], more: readonly ReceiptRef[] | undefined): void {
    if (this.#state !== 'open') return; // the relay replays the receipt on the next connection
    if (this.#seen === null) {
      this.#seen = [];
      scheduleSeen(this);
    }
    this.#seen.push([msgId, kind]);
    if (more !== undefined) this.#seen.push(...more);
    if (this.#seen.length >= RECEIPT_SEEN_BATCH && this.#ws !== null) this.#writeSeen(this.#ws, this.#seen);
  }

  /** @internal the batch timer: write this connection's waiting receiptSeen pairs now. */
  flushSeen(): void {
    if (this.#seen !== null && this.#state === 'open' && this.#ws !== null) this.#writeSeen(this.#ws, this.#seen);
  }

  #writeSeen(ws: WebSocket, seen: ReceiptRef[]): void {
    this.#seen = null;
    for (let i = 0; i < seen.length; i += RECEIPT_SEEN_BATCH) {
      const [msgId, kind] = seen[i]!;
      const more = seen.slice(i + 1, i + RECEIPT_SEEN_BATCH);
      corkForTurn(ws);
      ws.send(
        encodeFrame(more.length === 0 ? { t: FRAME_TYPES.receiptSeen, msgId, kind } : { t: FRAME_TYPES.receiptSeen, msgId, kind, more }),
      );
    }
  }

  /**
   * Client fault (slow reader): stop reading the current socket (ws pause() stops reading the TCP
   * socket, so the relay's writes back up in the kernel and then in its send buffer). A later
   * reconnect gets a fresh socket that reads.
   */
  pauseReading(): void {
    this.#ws?.pause();
  }

  resumeReading(): void {
    this.#ws?.resume();
  }

  /** Client fault (network loss): kill the socket without a close handshake; the close (1006) reconnects with backoff. */
  dropTransport(): void {
    if (this.#state !== 'closed') this.#ws?.terminate();
  }

  close(): Promise<void> {
    if (this.#closedPromise !== null) return this.#closedPromise;
    const wasOpen = this.#state === 'open';
    this.flushSeen();
    this.#state = 'closed';
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#target.forget(this);
    const ws = this.#ws;
    this.#closedPromise = new Promise<void>((resolve) => {
      if (ws === null || ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(CLOSE_CODES.NORMAL.code);
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
    if (wasOpen) this.#target.countOpen(-1);
    return this.#closedPromise;
  }

  #dial(): void {
    if (this.#state === 'closed') return;
    const url = this.#redirectUrl ?? this.#target.picker.urlFor(this.#user.userId, this.#attempt);
    this.#redirectUrl = null;
    const localAddress = this.#target.nextSourceAddress();
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: this.#target.options.handshakeTimeoutMs,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    this.#ws = ws;
    let welcomed = false;
    // Frames that overtake welcome (e.g. a replay pushed while the relay still waits for its
    // presence write) are held and handed over right after it: PROTOCOL §5.1 puts the replay after
    // welcome, and a `received` sent before welcome would be refused.
    const early: ServerFrame[] = [];
    const handshakeTimer = setTimeout(() => ws.terminate(), this.#target.options.handshakeTimeoutMs);
    ws.on('open', () => ws.send(encodeFrame({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: this.#user.token, epoch: nextEpoch() })));
    ws.on('error', (e) => {
      this.#lastError = e.message;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return this.#events.onError?.('RB_PROTO_MALFORMED');
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(data);
      } catch (e) {
        return this.#events.onError?.(isRelaybenchError(e) ? e.code : 'RB_PROTO_MALFORMED');
      }
      if (frame.t === FRAME_TYPES.welcome) {
        welcomed = true;
        clearTimeout(handshakeTimer);
        this.#onWelcome();
        this.#onFrame(frame, true);
        for (const f of early.splice(0)) this.#onFrame(f, true);
        return;
      }
      if (!welcomed && frame.t !== FRAME_TYPES.error && frame.t !== FRAME_TYPES.redirect) return void early.push(frame);
      this.#onFrame(frame, welcomed);
    });
    ws.on('close', (code: number) => {
      clearTimeout(handshakeTimer);
      if (this.#ws === ws) {
        this.#ws = null;
        this.#seen = null; // those receipts replay on the next connection and are confirmed again
      }
      if (welcomed && this.#state !== 'closed') this.#target.countOpen(-1);
      if (!welcomed && code === 1006) this.#target.picker.markDown(url); // refused or reset before welcome
      this.#onClose(code, welcomed);
    });
  }

  #onWelcome(): void {
    if (this.#state === 'closed') return;
    const reconnect = this.#opens > 0;
    this.#opens++;
    this.#attempt = 0;
    this.#state = 'open';
    this.#target.countOpen(1);
    for (const bytes of this.#unacked.values()) if (this.#ws !== null) this.#write(this.#ws, bytes);
    this.#firstOpen?.resolve();
    this.#firstOpen = null;
    this.#events.onOpen?.({ reconnect, atUs: (performance.timeOrigin + performance.now()) * 1000, connection: this });
  }

  #onFrame(frame: ServerFrame, welcomed: boolean): void {
    switch (frame.t) {
      case FRAME_TYPES.ping:
        this.#ws?.send(encodeFrame({ t: FRAME_TYPES.pong, n: frame.n }));
        return;
      case FRAME_TYPES.redirect:
        this.#redirectUrl = frame.url;
        return;
      case FRAME_TYPES.ack:
        this.#unacked.delete(frame.msgId);
        break;
      case FRAME_TYPES.error: {
        const spec = wireError(frame.code);
        this.#lastError = `${spec.name}: ${frame.reason}`;
        if (!welcomed) return; // handshake failure: the close that follows decides
        if (frame.msgId !== undefined && this.#unacked.has(frame.msgId)) {
          if (spec.retriable && spec.name === 'UNAVAILABLE') this.#resendAllLater();
          else if (spec.retriable) this.#resendLater(frame.msgId);
          else this.#unacked.delete(frame.msgId);
        }
        break;
      }
    }
    this.#events.onFrame(frame);
  }

  #resendLater(msgId: string): void {
    setTimeout(
      () => {
        const bytes = this.#unacked.get(msgId);
        if (bytes !== undefined && this.#state === 'open') this.#ws?.send(bytes);
      },
      RETRIABLE_SEND_DELAY_MS * (0.5 + Math.random()),
    ).unref();
  }

  /**
   * UNAVAILABLE (11) resends every unacked send, in the order they were first
   * sent, in one pass: the relay refuses later sends until the failed one comes again (PROTOCOL
   * §5.4), so resending one at a time would reorder them. Copies of sends that did land are
   * acked again and dropped as duplicates.
   */
  #resendAllLater(): void {
    if (this.#resendTimer !== null) return;
    this.#resendTimer = setTimeout(
      () => {
        this.#resendTimer = null;
        if (this.#state !== 'open' || this.#ws === null) return;
        for (const bytes of this.#unacked.values()) this.#write(this.#ws, bytes);
      },
      RETRIABLE_SEND_DELAY_MS * (0.5 + Math.random()),
    );
    this.#resendTimer.unref();
  }

  #onClose(code: number, welcomed: boolean): void {
    if (this.#state === 'closed') return;
    const policy = closeCode(code);
    const first = this.#firstOpen;
    const exhausted = first !== null && this.#attempt + 1 >= this.#target.options.maxInitialAttempts;
    const willReconnect = policy.reconnect !== 'no' && !exhausted;
    this.#events.onError?.(`CLOSE_${policy.name}`);
    if (welcomed) this.#events.onDown?.({ code, willReconnect });
    if (!willReconnect) {
      this.#state = 'closed';
      this.#target.forget(this);
      if (first !== null) {
        this.#firstOpen = null;
        const detail = `User ${this.#user.userId}: close ${code} (${policy.name})${this.#lastError === null ? '' : `, ${this.#lastError}`}.`;
        first.reject(policy.reconnect === 'no' ? loadgenError('RB_LOADGEN_HANDSHAKE', detail) : loadgenError('RB_LOADGEN_CONNECT', detail));
      }
      return;
    }
    this.#state = 'reconnecting';
    const delayMs = policy.reconnect === 'backoff' ? backoffDelayMs(this.#attempt, this.#target.options.backoff) : 0;
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#dial();
    }, delayMs);
  }
}
