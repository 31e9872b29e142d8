/**
 * The raw-TCP probe: a WebSocket upgrade written by hand, then frames the ws client library
 * refuses to produce, reading back only what the relay answered (HTTP status, error frames, close).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FRAME_TYPES, decodeServerFrame } from '../../relay/protocol/src/index.js';
import { ABNORMAL_CLOSE } from './documented.js';
import { emptyOutcome, type Outcome } from './outcome.js';

/** One raw connection, and what the relay has answered on it so far. */
interface RawExchange {
  readonly socket: Socket;
  readonly frames: readonly Uint8Array[];
  readonly o: Outcome;
  /** Bytes received and not yet read. */
  buf: Buffer;
  upgraded: boolean;
  closeSeen: number | null;
  ended: boolean;
  weGaveUp: boolean;
}

/** Raw TCP: upgrade by hand, then send frames the ws client library refuses to produce. */
export async function rawProbe(
  url: string,
  localAddress: string | undefined,
  frames: readonly Uint8Array[],
  echo: number | undefined,
): Promise<Outcome> {
  const o = emptyOutcome(frames.length);
  const u = new URL(url);
  const socket = openSocket(u, localAddress);
  if (socket === undefined) {
    o.connectFailed = true;
    return o;
  }
  const x: RawExchange = { socket, frames, o, buf: Buffer.alloc(0), upgraded: false, closeSeen: null, ended: false, weGaveUp: false };
  await converse(x, u);
  if (o.http === null) o.connectFailed = true;
  else if (x.upgraded) o.close = x.closeSeen ?? (x.ended ? ABNORMAL_CLOSE : null);
  if (echo !== undefined && o.close === echo) {
    o.close = null; // our own close, echoed
    o.benign = true;
  }
  return o;
}

function openSocket(u: URL, localAddress: string | undefined): Socket | undefined {
  const port = Number(u.port || (u.protocol === 'wss:' ? 443 : 80));
  try {
    return connect({ host: u.hostname, port, ...(localAddress === undefined ? {} : { localAddress: localAddress }) });
  } catch {
    return undefined;
  }
}

/** Upgrades, sends the frames and reads the answers; resolves when the socket closes, or after 5 s. */
function converse(x: RawExchange, u: URL): Promise<void> {
  const { socket } = x;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      x.weGaveUp = true;
      socket.destroy();
      resolve();
    }, 5000);
    socket.on('error', () => {});
    socket.on('close', () => {
      x.ended = !x.weGaveUp;
      clearTimeout(timer);
      resolve();
    });
    socket.on('connect', () => {
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      x.buf = Buffer.concat([x.buf, chunk]);
      if (!x.upgraded && !takeUpgrade(x)) return;
      readServerFrames(x);
    });
  });
}

/** Reads the HTTP answer to the upgrade and, once it is 101, sends the frames. False: nothing more to read yet (or ever). */
function takeUpgrade(x: RawExchange): boolean {
  const end = x.buf.indexOf('\r\n\r\n');
  if (end < 0) return false;
  x.o.http = Number(/^HTTP\/1\.1 (\d{3})/.exec(x.buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
  x.buf = x.buf.subarray(end + 4);
  if (x.o.http !== 101) {
    x.socket.destroy();
    return false;
  }
  x.upgraded = true;
  for (const f of x.frames) x.socket.write(f);
  return true;
}

/** Reads every whole frame in the buffer: a close ends our side, a binary frame may be an error. */
function readServerFrames(x: RawExchange): void {
  for (;;) {
    const frame = nextServerFrame(x.buf);
    if (frame === undefined) break;
    const { opcode, payload } = frame;
    x.buf = x.buf.subarray(frame.length);
    if (opcode === 8) {
      x.closeSeen = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      x.socket.end();
    } else if (opcode === 2) {
      try {
        const f = decodeServerFrame(new Uint8Array(payload));
        if (f.t === FRAME_TYPES.error) x.o.errors.push(f.code);
      } catch {
        x.o.undecodable++;
      }
    }
  }
}

/** The first whole frame in `buf` (undefined until one has arrived) and its length on the wire. */
function nextServerFrame(buf: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  // Server frames: unmasked; we only need their opcode and payload.
  if (buf.length < 2) return undefined;
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  if (buf.length < off + len) return undefined;
  return { opcode, payload: buf.subarray(off, off + len), length: off + len };
}
