/**
 * A WebSocket proxy for known-answer tests: every client connection gets its own upstream
 * connection to `upstreamUrl`, and each binary frame is forwarded after a fixed added delay in
 * each direction (`upMs` client → relay, `downMs` relay → client), in order. `stall()` holds every
 * frame in both directions until `resume()` (then they go out in order, none earlier than its own
 * delay). `transformDown` may rewrite relay → client frames (e.g. flip a ciphertext bit).
 * `takeHeld()` reports how long each frame was really held — the delay actually added, which on a
 * busy machine is the nominal delay plus the proxy's own timer lateness.
 * Frames are whole WebSocket messages, so the relay protocol framing is preserved.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';

export interface DelayProxyOptions {
  readonly upstreamUrl: string;
  readonly upMs?: number;
  readonly downMs?: number;
  readonly transformDown?: (bytes: Uint8Array) => Uint8Array;
}

class DelayedPipe {
  readonly #queue: { arrivedMs: number; dueMs: number; data: Uint8Array }[] = [];
  /** How long each forwarded frame was actually held (ms): the delay this pipe really added. */
  readonly heldMs: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  constructor(
    readonly delayMs: () => number,
    readonly stalled: () => boolean,
    readonly deliver: (data: Uint8Array) => void,
  ) {}

  push(data: Uint8Array): void {
    const now = performance.now();
    this.#queue.push({ arrivedMs: now, dueMs: now + this.delayMs(), data });
    this.pump();
  }

  pump(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.stalled()) return;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.dueMs <= now) {
      const frame = this.#queue.shift()!;
      this.heldMs.push(now - frame.arrivedMs);
      this.deliver(frame.data);
    }
    const head = this.#queue[0];
    if (head !== undefined) this.#timer = setTimeout(() => this.pump(), Math.max(0, head.dueMs - now));
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
  }
}

/** Hold times of the frames forwarded since the last reset, per direction (ms). */
export interface HeldFrames {
  readonly up: readonly number[];
  readonly down: readonly number[];
}

export class DelayProxy {
  upMs: number;
  downMs: number;
  readonly #options: DelayProxyOptions;
  readonly #server: WebSocketServer;
  readonly #pipes = new Set<DelayedPipe>();
  readonly #sockets = new Set<WebSocket>();
  #stalled = false;
  framesDown = 0;
  readonly #held = { up: [] as DelayedPipe[], down: [] as DelayedPipe[] };

  private constructor(server: WebSocketServer, options: DelayProxyOptions) {
    this.#server = server;
    this.#options = options;
    this.upMs = options.upMs ?? 0;
    this.downMs = options.downMs ?? 0;
    server.on('connection', (client) => this.#connect(client));
  }

  static async start(options: DelayProxyOptions): Promise<DelayProxy> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new DelayProxy(server, options);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  stall(): void {
    this.#stalled = true;
  }

  /** The hold time of every frame forwarded since the last call (then forgets them). */
  takeHeld(): HeldFrames {
    const take = (pipes: DelayedPipe[]) => pipes.flatMap((p) => p.heldMs.splice(0));
    return { up: take(this.#held.up), down: take(this.#held.down) };
  }

  resume(): void {
    this.#stalled = false;
    for (const p of this.#pipes) p.pump();
  }

  async close(): Promise<void> {
    for (const p of this.#pipes) p.close();
    for (const s of this.#sockets) s.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #connect(client: WebSocket): void {
    const upstream = new WebSocket(this.#options.upstreamUrl, { perMessageDeflate: false });
    this.#sockets.add(client).add(upstream);
    const pending: Uint8Array[] = [];
    const up = new DelayedPipe(
      () => this.upMs,
      () => this.#stalled,
      (d) => (upstream.readyState === WebSocket.OPEN ? upstream.send(d) : pending.push(d)),
    );
    const down = new DelayedPipe(
      () => this.downMs,
      () => this.#stalled,
      (d) => {
        this.framesDown++;
        if (client.readyState === WebSocket.OPEN) client.send(this.#options.transformDown?.(d) ?? d);
      },
    );
    this.#pipes.add(up).add(down);
    this.#held.up.push(up);
    this.#held.down.push(down);
    const bytes = (data: RawData): Uint8Array => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
    upstream.on('open', () => {
      for (const d of pending.splice(0)) upstream.send(d);
    });
    client.on('message', (data) => up.push(bytes(data)));
    upstream.on('message', (data) => down.push(bytes(data)));
    const safeCode = (code: number) => (code === 1005 || code === 1006 || code < 1000 ? 1000 : code);
    client.on('close', (code) => {
      up.close();
      if (upstream.readyState === WebSocket.OPEN) upstream.close(safeCode(code));
      else upstream.terminate();
    });
    upstream.on('close', (code) => {
      down.close();
      if (client.readyState === WebSocket.OPEN) client.close(safeCode(code));
    });
    client.on('error', () => {});
    upstream.on('error', () => client.terminate());
  }
}
