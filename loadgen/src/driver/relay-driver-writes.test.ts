import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FRAME_TYPES, PROTOCOL_VERSION, decodeClientFrame, encodeFrame, type ClientFrame } from '../../../relay/protocol/src/index.js';
import { RECEIPT_SEEN_DELAY_MS, RelayTarget } from './relay-driver.js';

/** A socket-level stand-in: welcomes any hello and records every client frame with its arrival time. */
async function recordingServer(): Promise<{ url: string; frames: { f: ClientFrame; atMs: number }[]; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const frames: { f: ClientFrame; atMs: number }[] = [];
  server.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const f = decodeClientFrame(data);
      frames.push({ f, atMs: performance.now() });
      if (f.t === FRAME_TYPES.hello)
        ws.send(encodeFrame({ t: FRAME_TYPES.welcome, v: PROTOCOL_VERSION, userId: 'u1', gatewayId: 'test', serverTimeUs: 1 }));
    });
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    frames,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const seenFrames = (frames: { f: ClientFrame }[]) => frames.map((x) => x.f).filter((f) => f.t === FRAME_TYPES.receiptSeen);

test('driver: receiptSeen confirmations leave as one frame with `more` after the batch delay; other frames at once', async () => {
  const server = await recordingServer();
  const target = new RelayTarget({ relays: [server.url], routingHint: false });
  try {
    const conn = await target.connect({ userId: 'u1', token: 'a.b' }, { onFrame() {} });
    const t0 = performance.now();
    conn.send({ t: FRAME_TYPES.receiptSeen, msgId: 'm1', kind: 1 });
    conn.send({ t: FRAME_TYPES.receiptSeen, msgId: 'm1', kind: 2 });
    conn.send({ t: FRAME_TYPES.receiptSeen, msgId: 'm2', kind: 1, more: [['m3', 2]] });
    conn.send({ t: FRAME_TYPES.received, msgId: 'x1' });
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(
      server.frames.some((x) => x.f.t === FRAME_TYPES.received),
      'received goes out at once',
    );
    assert.equal(seenFrames(server.frames).length, 0, 'receiptSeen waits');
    await new Promise((r) => setTimeout(r, RECEIPT_SEEN_DELAY_MS + 400)); // roomy: the test machine is shared
    const seen = seenFrames(server.frames);
    assert.deepEqual(seen, [
      {
        t: FRAME_TYPES.receiptSeen,
        msgId: 'm1',
        kind: 1,
        more: [
          ['m1', 2],
          ['m2', 1],
          ['m3', 2],
        ],
      },
    ]);
    const at = server.frames.find((x) => x.f.t === FRAME_TYPES.receiptSeen)!.atMs - t0;
    assert.ok(at >= RECEIPT_SEEN_DELAY_MS - 60 && at <= RECEIPT_SEEN_DELAY_MS + 400, `batch after ${at.toFixed(0)} ms`);
    // A lone confirmation is the plain single-item frame; close() flushes it instead of dropping it.
    conn.send({ t: FRAME_TYPES.receiptSeen, msgId: 'm4', kind: 2 });
    await conn.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seenFrames(server.frames).at(-1), { t: FRAME_TYPES.receiptSeen, msgId: 'm4', kind: 2 });
  } finally {
    await target.close();
    await server.close();
  }
});

test('driver: several hundred confirmations are split into frames within the protocol limit', async () => {
  const server = await recordingServer();
  const target = new RelayTarget({ relays: [server.url], routingHint: false });
  try {
    const conn = await target.connect({ userId: 'u1', token: 'a.b' }, { onFrame() {} });
    for (let i = 0; i < 600; i++) conn.send({ t: FRAME_TYPES.receiptSeen, msgId: `m${i}`, kind: 1 });
    await conn.close();
    await new Promise((r) => setTimeout(r, 50));
    const seen = seenFrames(server.frames);
    const ids = seen.flatMap((f) => (f.t === FRAME_TYPES.receiptSeen ? [f.msgId, ...(f.more ?? []).map(([id]) => id)] : []));
    assert.deepEqual(
      ids,
      Array.from({ length: 600 }, (_, i) => `m${i}`),
    );
    assert.ok(seen.length >= 3 && seen.every((f) => f.t === FRAME_TYPES.receiptSeen && (f.more?.length ?? 0) < 512));
  } finally {
    await target.close();
    await server.close();
  }
});
