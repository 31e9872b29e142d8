/** One ws-library connection of a fuzz probe, recording every server frame and the close. */
import WebSocket from 'ws';
import {
  FRAME_TYPES,
  PROTOCOL_VERSION,
  decodeServerFrame,
  encodeFrame,
  signToken,
  type ServerFrame,
} from '../../relay/protocol/src/index.js';

// Each hello carries a larger epoch than the last, as a reconnecting client's would.
let epochCounter = Date.now() * 1000;

export class ProbeConnection {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  closeCode: number | null = null;
  weClosed = false;
  undecodable = 0;
  readonly opened: Promise<boolean>;
  readonly closed: Promise<number>;
  #waiters = new Set<() => void>();

  constructor(url: string, localAddress: string | undefined) {
    this.ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('unexpected-response', () => resolve(false));
      this.ws.once('close', () => resolve(false));
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code: number) => {
        this.closeCode = code;
        this.#notify();
        resolve(code);
      });
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.undecodable++;
        return;
      }
      try {
        this.frames.push(decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      } catch {
        this.undecodable++;
      }
      this.#notify();
    });
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves when `pred` holds or the connection closed or `ms` passed. */
  until(pred: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (pred() || this.closeCode !== null) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Closes from our side (unless the relay already did) and waits for the socket to go. */
  async finish(): Promise<void> {
    if (this.closeCode === null) {
      // CLOSING before we asked: the relay's close frame is in, the handshake is still finishing.
      this.weClosed = this.ws.readyState !== WebSocket.CLOSING;
      if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
      else this.ws.terminate();
      const t = setTimeout(() => this.ws.terminate(), 2000);
      await this.closed;
      clearTimeout(t);
    }
  }

  hello(user: string, secret: string): void {
    this.ws.send(
      encodeFrame({
        t: FRAME_TYPES.hello,
        v: PROTOCOL_VERSION,
        token: signToken({ sub: user, expMs: Date.now() + 600_000 }, secret),
        epoch: ++epochCounter,
      }),
    );
  }

  welcomed(): boolean {
    return this.frames.some((f) => f.t === FRAME_TYPES.welcome);
  }
}
