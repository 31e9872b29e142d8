/**
 * The raw-TCP probe: a WebSocket upgrade written by hand, then frames the ws client library
 * refuses to produce, reading back only what the relay answered (HTTP status, error frames, close).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FRAME_TYPES, decodeServerFrame } from '../../relay/protocol/src/index.js';
import { ABNORMAL_CLOSE } from './documented.js';
import { emptyOutcome, type Outcome } from './outcome.js';

/** Raw TCP: upgrade by hand, then send frames the ws client library refuses to produce. */
export async function rawProbe(
  url: string,
  localAddress: string | undefined,
  frames: readonly Uint8Array[],
  echo: number | undefined,
): Promise<Outcome> {
  const o = emptyOutcome(frames.length);
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'wss:' ? 443 : 80));
  let socket: Socket;
  try {
    socket = connect({ host: u.hostname, port, ...(localAddress === undefined ? {} : { localAddress: localAddress }) });
  } catch {
    o.connectFailed = true;
    return o;
  }
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let closeSeen: number | null = null;
  let ended = false;
  let weGaveUp = false;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      weGaveUp = true;
      socket.destroy();
      resolve();
    }, 5000);
    socket.on('error', () => {});
    socket.on('close', () => {
      ended = !weGaveUp;
      clearTimeout(timer);
      resolve();
    });
    socket.on('connect', () => {
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        o.http = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        if (o.http !== 101) return void socket.destroy();
        upgraded = true;
        for (const f of frames) socket.write(f);
      }
      // Server frames: unmasked; we only need their opcode and payload.
      for (;;) {
        if (buf.length < 2) break;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) break;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 8) {
          closeSeen = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          socket.end();
        } else if (opcode === 2) {
          try {
            const f = decodeServerFrame(new Uint8Array(payload));
            if (f.t === FRAME_TYPES.error) o.errors.push(f.code);
          } catch {
            o.undecodable++;
          }
        }
      }
    });
  });
  await done;
  if (o.http === null) o.connectFailed = true;
  else if (upgraded) o.close = closeSeen ?? (ended ? ABNORMAL_CLOSE : null);
  if (echo !== undefined && o.close === echo) {
    o.close = null; // our own close, echoed
    o.benign = true;
  }
  return o;
}
