/**
 * A minimal relay stand-in for loadgen benchmarks (not the product): speaks the wire protocol over
 * real WebSockets on loopback, in its own process so the loadgen's CPU can be measured alone.
 * hello → welcome; keys in memory; send → ack + deliver to the recipient's socket (or drop if
 * offline: benchmarks keep everyone online); received/read → receipts. Prints
 * {"event":"listening","url":...} on stdout. No Kafka, no durability.
 * With `--sink` it only reads and drops every frame (for the sender-alone benchmark).
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import {
  FRAME_TYPES,
  PROTOCOL_VERSION,
  RECEIPT_KIND,
  WIRE_ERRORS,
  decodeClientFrame,
  encodeFrame,
  nowUs,
  verifyToken,
  type ServerFrame,
} from '../../relay/protocol/src/index.js';

const secret = process.env.RELAY_TOKEN_SECRET ?? 'bench-secret-0123456789';
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1 << 20 });
const byUser = new Map<string, WebSocket>();
const keys = new Map<string, { identityKey: Uint8Array; signedPrekey: Uint8Array; signature: Uint8Array }>();
const senderOf = new Map<string, string>();
type Corkable = { readonly writableCorked: number; cork(): void; uncork(): void };
const corked: Corkable[] = [];
/** Like the relay's session: frames to one socket in one event-loop turn leave in one write. */
const out = (ws: WebSocket | undefined, f: ServerFrame) => {
  if (ws === undefined) return;
  const socket = (ws as unknown as { _socket?: Corkable })._socket;
  if (socket !== undefined && socket.writableCorked === 0) {
    socket.cork();
    if (corked.push(socket) === 1) process.nextTick(() => corked.splice(0).forEach((s) => s.uncork()));
  }
  ws.send(encodeFrame(f));
};

const sink = process.argv.includes('--sink');

server.on('connection', (ws) => {
  if (sink) return void ws.on('message', () => {});
  let user: string | null = null;
  ws.on('message', (data: Buffer) => {
    const f = decodeClientFrame(data);
    if (f.t === FRAME_TYPES.hello) {
      user = verifyToken(f.token, secret, Date.now()).sub;
      byUser.set(user, ws);
      return out(ws, { t: FRAME_TYPES.welcome, v: PROTOCOL_VERSION, userId: user, gatewayId: 'fake', serverTimeUs: nowUs() });
    }
    if (user === null) return;
    switch (f.t) {
      case FRAME_TYPES.publishKeys:
        keys.set(user, { identityKey: f.identityKey, signedPrekey: f.signedPrekey, signature: f.signature });
        return out(ws, { t: FRAME_TYPES.keysPublished, reqId: f.reqId });
      case FRAME_TYPES.fetchKeys: {
        const k = keys.get(f.userId);
        return out(
          ws,
          k === undefined
            ? { t: FRAME_TYPES.error, code: WIRE_ERRORS.KEYS_NOT_FOUND.code, reason: 'none', reqId: f.reqId }
            : { t: FRAME_TYPES.keys, reqId: f.reqId, userId: f.userId, ...k },
        );
      }
      case FRAME_TYPES.send: {
        const gwInUs = nowUs();
        senderOf.set(f.msgId, user);
        out(ws, { t: FRAME_TYPES.ack, msgId: f.msgId, stamps: { gwInUs, producedUs: gwInUs } });
        return out(byUser.get(f.to), {
          t: FRAME_TYPES.deliver,
          msgId: f.msgId,
          from: user,
          header: f.header,
          ciphertext: f.ciphertext,
          stamps: { gwInUs, producedUs: gwInUs, routedUs: gwInUs, gwOutUs: nowUs() },
        });
      }
      case FRAME_TYPES.received:
      case FRAME_TYPES.read: {
        const s = senderOf.get(f.msgId);
        if (s === undefined) return;
        if (f.t === FRAME_TYPES.read) senderOf.delete(f.msgId);
        return out(byUser.get(s), {
          t: FRAME_TYPES.receipt,
          msgId: f.msgId,
          kind: f.t === FRAME_TYPES.read ? RECEIPT_KIND.read : RECEIPT_KIND.delivered,
          by: user,
          stamps: {},
        });
      }
      default:
        return;
    }
  });
  ws.on('close', () => {
    if (user !== null && byUser.get(user) === ws) byUser.delete(user);
  });
});
server.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// With --exit-with-stdin the stand-in ends when its parent does (the parent holds the pipe), even
// when the parent was killed before it could stop it.
if (process.argv.includes('--exit-with-stdin')) process.stdin.on('end', () => process.exit(0)).resume();
