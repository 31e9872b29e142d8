import WebSocket from 'ws';
import {
  FRAME_TYPES,
  PROTOCOL_VERSION,
  decodeServerFrame,
  encodeFrame,
  signToken,
  type ClientFrame,
  type ServerFrame,
} from '../../relay/protocol/src/index.js';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

let epochCounter = Date.now() * 1000;

/**
 * A bare protocol client for relay tests: records every server frame, lets a test wait for one.
 * Real sockets, real frames; no E2EE (the relay never looks inside the ciphertext).
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly #waiters = new Set<() => void>();
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.#notify();
        resolve(code);
      });
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer) => {
      this.frames.push(decodeServerFrame(new Uint8Array(data)));
      this.#notify();
    });
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  send(frame: ClientFrame): void {
    this.ws.send(encodeFrame(frame));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Resolves with the first recorded frame matching `pred` (already received or future). */
  async waitFor<T extends ServerFrame>(pred: (f: ServerFrame) => f is T, what: string, timeoutMs?: number): Promise<T>;
  async waitFor(pred: (f: ServerFrame) => boolean, what: string, timeoutMs?: number): Promise<ServerFrame>;
  async waitFor(pred: (f: ServerFrame) => boolean, what: string, timeoutMs = 20_000): Promise<ServerFrame> {
    const found = this.frames.find(pred);
    if (found !== undefined) return found;
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find(pred);
        if (f !== undefined) {
          cleanup();
          resolve(f);
        } else if (this.closeCode !== null) {
          cleanup();
          reject(new Error(`closed (${this.closeCode} ${this.closeReason}) while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  async waitCount(pred: (f: ServerFrame) => boolean, count: number, what: string, timeoutMs = 30_000): Promise<ServerFrame[]> {
    await this.waitFor(() => this.frames.filter(pred).length >= count, what, timeoutMs);
    return this.frames.filter(pred);
  }

  close(): void {
    this.ws.close(1000);
  }
}

export function tokenFor(user: string, secret = TEST_SECRET, ttlMs = 3_600_000): string {
  return signToken({ sub: user, expMs: Date.now() + ttlMs }, secret);
}

/** Connects and completes hello → welcome. */
export async function connectUser(
  url: string,
  user: string,
  secret = TEST_SECRET,
  options: WebSocket.ClientOptions = {},
): Promise<TestClient> {
  const c = new TestClient(url, options);
  await c.opened;
  c.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor(user, secret), epoch: ++epochCounter });
  await c.waitFor((f) => f.t === FRAME_TYPES.welcome, `welcome for ${user}`);
  return c;
}

export const isDeliver = (f: ServerFrame): f is Extract<ServerFrame, { t: typeof FRAME_TYPES.deliver }> => f.t === FRAME_TYPES.deliver;
export const isAck = (f: ServerFrame): f is Extract<ServerFrame, { t: typeof FRAME_TYPES.ack }> => f.t === FRAME_TYPES.ack;
export const isReceipt = (f: ServerFrame): f is Extract<ServerFrame, { t: typeof FRAME_TYPES.receipt }> => f.t === FRAME_TYPES.receipt;
export const isError = (f: ServerFrame): f is Extract<ServerFrame, { t: typeof FRAME_TYPES.error }> => f.t === FRAME_TYPES.error;
