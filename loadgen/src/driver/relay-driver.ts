/**
 * Target over WebSockets to real relays (relay/PROTOCOL.md): one socket per virtual user,
 * permessage-deflate off both ways (bufferutil masks), the routing hint for the first URL,
 * reconnect with backoff + jitter following each close code's policy (wire-errors closeCode()),
 * sockets spread over local source addresses (round robin), and every unacknowledged `send`
 * resent with the same msgId after a reconnect (the relay dedupes by msgId).
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
  type ServerFrame,
} from '../../../relay/protocol/src/index.js';
import { loadgenError } from '../errors.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { fetchRoutes, RelayPicker } from './routes.js';
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
      ...options,
    };
    this.picker = new RelayPicker(options.relays);
  }

  async init(): Promise<void> {
    if (this.options.routingHint) this.picker.setRoutes(await fetchRoutes(this.options.relays));
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
  #firstOpen: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  #closedPromise: Promise<void> | null = null;
  #corked = false;

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
    const bytes = encodeFrame(frame);
    if (frame.t === FRAME_TYPES.send) this.#unacked.set(frame.msgId, bytes);
    if (this.#state === 'open' && this.#ws !== null) this.#write(this.#ws, bytes);
  }

  /**
   * Frames written to one socket in the same event-loop turn leave in one write (cork until the
   * next tick): one syscall instead of one per frame when e.g. several deliveries are confirmed at once.
   */
  #write(ws: WebSocket, bytes: Uint8Array): void {
    const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (socket !== undefined && !this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    ws.send(bytes);
  }

  close(): Promise<void> {
    if (this.#closedPromise !== null) return this.#closedPromise;
    const wasOpen = this.#state === 'open';
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
      if (this.#ws === ws) this.#ws = null;
      if (welcomed && this.#state !== 'closed') this.#target.countOpen(-1);
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
    for (const bytes of this.#unacked.values()) this.#ws?.send(bytes);
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
          if (spec.retriable) this.#resendLater(frame.msgId);
          else this.#unacked.delete(frame.msgId);
        }
        break;
      }
    }
    this.#events.onFrame(frame);
  }

  #resendLater(msgId: string): void {
    setTimeout(() => {
      const bytes = this.#unacked.get(msgId);
      if (bytes !== undefined && this.#state === 'open') this.#ws?.send(bytes);
    }, RETRIABLE_SEND_DELAY_MS * (0.5 + Math.random())).unref();
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
