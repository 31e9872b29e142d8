/**
 * Conformance of the relay to relay/PROTOCOL.md, over the wire only: MessagePack frames on a
 * plain `ws` client (relay/protocol encode/decode, or raw msgpack for frames the codec would not
 * write), against TWO live relays on one real Kafka, shared by the whole file. Each test's name
 * starts with the section(s) it checks; the last test lists every section of PROTOCOL.md that
 * states a requirement and reports the ones no test names (PROTOCOL §13).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { encode } from '@msgpack/msgpack';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { TestClient, connectUser, isAck, isDeliver, isError, isReceipt, tokenFor } from '../../../test/helpers/client.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { CLOSE_CODES, FRAME_TYPES, PROTOCOL_VERSION, RECEIPT_KIND, WIRE_ERRORS, type ServerFrame } from '../../protocol/src/index.js';

/** Short heartbeat so §8 is checked in seconds (PROTOCOL §8 describes the default, 15 s). */
const HEARTBEAT_MS = 2000;

let kafka: LocalKafkaCluster;
let r1: RelayProcess;
let r2: RelayProcess;
const clients: TestClient[] = [];
let n = 0;
/** A user name of its own for each use: tests never see each other's mail. */
const user = (base: string) => `cf-${base}-${++n}`;

before(async () => {
  kafka = await startTestKafka(1);
  const env = { RELAY_HEARTBEAT_MS: String(HEARTBEAT_MS) };
  [r1, r2] = await Promise.all([
    startRelayProcess(kafka.brokers, { gatewayId: 'c1', env }),
    startRelayProcess(kafka.brokers, { gatewayId: 'c2', env }),
  ]);
  await waitAllReady([r1, r2]);
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all([r1?.stop(), r2?.stop()]);
  await kafka?.stop();
});

async function connect(relay: RelayProcess, name: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const c = await connectUser(relay.url, name, undefined, options);
  clients.push(c);
  return c;
}

async function opened(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const c = new TestClient(url, options);
  clients.push(c);
  await c.opened;
  return c;
}

const hello = (name: string, epoch = 1) => ({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor(name), epoch }) as const;
type ErrorFrame = Extract<ServerFrame, { t: typeof FRAME_TYPES.error }>;
const isErrorCode =
  (code: number) =>
  (f: ServerFrame): f is ErrorFrame =>
    isError(f) && f.code === code;
const isPong = (f: ServerFrame): boolean => f.t === FRAME_TYPES.pong;
const sendFrame = (msgId: string, to: string, bytes = [1, 2, 3]) =>
  ({ t: FRAME_TYPES.send, msgId, to, header: new Uint8Array([7]), ciphertext: new Uint8Array(bytes) }) as const;

/** The connection is open and serving: a ping gets its pong. */
async function stillServes(c: TestClient, what: string): Promise<void> {
  const k = 1000 + ++n;
  c.send({ t: FRAME_TYPES.ping, n: k });
  await c.waitFor((f) => f.t === FRAME_TYPES.pong && f.n === k, `${what}: pong ${k}`);
  assert.equal(c.closeCode, null, `${what}: still open`);
}

test('§1 permessage-deflate is never accepted, even when the client offers it', async () => {
  const c = await opened(r1.url, { perMessageDeflate: true });
  assert.equal(c.ws.extensions, '', 'no extension negotiated');
  c.send(hello(user('deflate')));
  await c.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome');
});

test('§1 the WebSocket is served on any path (the advertised /, and /ws)', async () => {
  for (const path of ['', 'ws']) {
    const c = await opened(`${r2.url.replace(/\/$/, '')}/${path}`);
    c.send(hello(user('path')));
    await c.waitFor((f) => f.t === FRAME_TYPES.welcome, `welcome on /${path}`);
  }
});

test('§1 a text message closes the connection with 1008', async () => {
  const c = await connect(r1, user('text'));
  c.sendRaw('hello');
  assert.equal(await c.closed, CLOSE_CODES.POLICY.code);
});

test('§1 §8 a message over 64 KiB closes the connection with 1009', async () => {
  const a = await connect(r1, user('big'));
  a.send(
    sendFrame(
      'big:1',
      'nobody',
      Array.from({ length: 70 * 1024 }, () => 1),
    ),
  );
  assert.equal(await a.closed, CLOSE_CODES.TOO_BIG.code);
});

test('§2 the relay does not depend on key order (hello with its keys reversed)', async () => {
  const c = await opened(r2.url);
  c.sendRaw(encode({ epoch: 1, token: tokenFor(user('order')), v: PROTOCOL_VERSION, t: FRAME_TYPES.hello }));
  await c.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome');
});

test('§2 an optional field sent as nil is absent (read{from: nil} is a plain read: error 6, not 9)', async () => {
  const c = await connect(r1, user('nil'));
  c.sendRaw(encode({ t: FRAME_TYPES.read, msgId: 'nil:1', from: null }));
  const e = await c.waitFor(isError, 'error');
  assert.equal(e.code, WIRE_ERRORS.FORBIDDEN.code);
  assert.equal(e.msgId, 'nil:1');
  await stillServes(c, 'after the refused read');
});

test('§2 §3 a binary field sent as str is refused with error 9 naming the msgId; the connection stays and the next send is acked', async () => {
  const name = user('binstr');
  const c = await connect(r2, name);
  c.sendRaw(encode({ t: FRAME_TYPES.send, msgId: 'binstr:1', to: name, header: 'not-bin', ciphertext: new Uint8Array([1]) }));
  const e = await c.waitFor(isErrorCode(WIRE_ERRORS.BAD_FIELD.code), 'error 9');
  assert.equal(e.msgId, 'binstr:1');
  c.send(sendFrame('binstr:2', name));
  const ack = await c.waitFor(isAck, 'ack of the next send');
  assert.equal(ack.msgId, 'binstr:2');
  assert.equal(c.closeCode, null);
});

test('§3 a bad field in a frame with a reqId names the reqId; a header over 1024 bytes is a bad field too; the connection stays', async () => {
  const c = await connect(r1, user('badreq'));
  c.sendRaw(encode({ t: FRAME_TYPES.fetchKeys, reqId: 77, userId: 'no/slash' }));
  const e = await c.waitFor(isErrorCode(WIRE_ERRORS.BAD_FIELD.code), 'error 9');
  assert.equal(e.reqId, 77);
  c.send({ t: FRAME_TYPES.send, msgId: 'badreq:1', to: 'x', header: new Uint8Array(1025), ciphertext: new Uint8Array([1]) });
  await c.waitFor((f) => isError(f) && f.code === WIRE_ERRORS.BAD_FIELD.code && f.msgId === 'badreq:1', 'error 9 for the header');
  await stillServes(c, 'after two bad fields');
});

test('§3 bytes that are not exactly one map (trailing bytes; a top-level array) get error 1 and close 4002', async () => {
  for (const bytes of [new Uint8Array([...encode({ t: FRAME_TYPES.ping, n: 1 }), 0xc0]), encode([1, 2])]) {
    const c = await connect(r2, user('malformed'));
    c.sendRaw(bytes);
    await c.waitFor(isErrorCode(WIRE_ERRORS.MALFORMED_FRAME.code), 'error 1');
    assert.equal(await c.closed, CLOSE_CODES.PROTOCOL_ERROR.code);
  }
});

test('§3 §4 an unknown t, or a server frame sent by the client, gets error 1 and close 4002', async () => {
  for (const frame of [{ t: 99 }, { t: FRAME_TYPES.ack, msgId: 'x', stamps: {} }]) {
    const c = await connect(r1, user('direction'));
    c.sendRaw(encode(frame));
    await c.waitFor(isErrorCode(WIRE_ERRORS.MALFORMED_FRAME.code), 'error 1');
    assert.equal(await c.closed, CLOSE_CODES.PROTOCOL_ERROR.code);
  }
});

test('§3 the relay survives garbage: after a client sent random bytes, the relay still serves', async () => {
  const c = await opened(r2.url);
  c.sendRaw(new Uint8Array([0xc1, 0xff, 0x00, 0x93, 0xa1]));
  await c.closed;
  await stillServes(await connect(r2, user('after-garbage')), 'a fresh client');
});

test('§4 the receiver of ping{n} answers pong{n} with the same n', async () => {
  const c = await connect(r1, user('ping'));
  c.send({ t: FRAME_TYPES.ping, n: 123_456 });
  const p = await c.waitFor(isPong, 'pong');
  assert.equal((p as { n: number }).n, 123_456);
});

test('§5.1 hello comes first: another frame before welcome gets error 5 and close 4002', async () => {
  const c = await opened(r2.url);
  c.send({ t: FRAME_TYPES.ping, n: 1 });
  await c.waitFor(isErrorCode(WIRE_ERRORS.NOT_AUTHENTICATED.code), 'error 5');
  assert.equal(await c.closed, CLOSE_CODES.PROTOCOL_ERROR.code);
});

test('§5.1 a second hello gets error 13 and close 4002; an unsupported version gets error 2 and close 4002', async () => {
  const name = user('hello2');
  const c = await connect(r1, name);
  c.send(hello(name));
  await c.waitFor(isErrorCode(WIRE_ERRORS.DUPLICATE_HELLO.code), 'error 13');
  assert.equal(await c.closed, CLOSE_CODES.PROTOCOL_ERROR.code);
  const v = await opened(r1.url);
  v.send({ ...hello(user('v99')), v: 99 });
  await v.waitFor(isErrorCode(WIRE_ERRORS.UNSUPPORTED_VERSION.code), 'error 2');
  assert.equal(await v.closed, CLOSE_CODES.PROTOCOL_ERROR.code);
  // Only t, v and token are frozen: another version's hello without a v1 epoch is still "unsupported version".
  const w = await opened(r1.url);
  w.sendRaw(encode({ t: FRAME_TYPES.hello, v: 2, token: tokenFor(user('v2')) }));
  await w.waitFor(isErrorCode(WIRE_ERRORS.UNSUPPORTED_VERSION.code), 'error 2 for a hello without epoch');
  assert.equal(await w.closed, CLOSE_CODES.PROTOCOL_ERROR.code);
});

test('§5.1 §6 a token with a bad MAC gets error 3, an expired one error 4; both close 4003', async () => {
  const bad = await opened(r2.url);
  bad.send({ ...hello('x'), token: tokenFor(user('mac'), 'another-secret-0123456789') });
  await bad.waitFor(isErrorCode(WIRE_ERRORS.AUTH_FAILED.code), 'error 3');
  assert.equal(await bad.closed, CLOSE_CODES.AUTH.code);
  const old = await opened(r2.url);
  old.send({ ...hello('x'), token: tokenFor(user('exp'), undefined, -1000) });
  await old.waitFor(isErrorCode(WIRE_ERRORS.TOKEN_EXPIRED.code), 'error 4');
  assert.equal(await old.closed, CLOSE_CODES.AUTH.code);
});

test('§5.1 one live connection per user on one relay: the older is closed with 4011', async () => {
  const name = user('same');
  const first = await connect(r1, name);
  await connect(r1, name);
  assert.equal(await first.closed, CLOSE_CODES.REPLACED.code);
});

test('§5.1 one live connection per user across relays: the older is closed with 4011 and the newer gets live delivery', async () => {
  const name = user('across');
  const sender = await connect(r1, user('across-sender'));
  const first = await connect(r1, name);
  const second = await connect(r2, name);
  assert.equal(await first.closed, CLOSE_CODES.REPLACED.code);
  sender.send(sendFrame('across:1', name));
  const d = await second.waitFor(isDeliver, 'live deliver on the newer connection');
  assert.equal(d.msgId, 'across:1');
});

test('§5.1 §4 epochs: a newer connection with a lower epoch than the last (a reinstall) is welcomed and gets live delivery', async () => {
  const name = user('epoch');
  const sender = await connect(r2, user('epoch-sender'));
  const old = await opened(r1.url);
  old.send(hello(name, 2 ** 52)); // above any clock-based epoch
  await old.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome');
  old.close();
  await old.closed;
  const fresh = await opened(r2.url);
  fresh.send(hello(name, 0));
  await fresh.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome with epoch 0');
  sender.send(sendFrame('epoch:1', name));
  const d = await fresh.waitFor(isDeliver, 'live deliver');
  assert.equal(d.msgId, 'epoch:1');
});

test('§5.1 §4 replayed{n} ends the replay after welcome, once, also when nothing was pending (n: 0)', async () => {
  const c = await connect(r1, user('nothing'));
  const end = await c.waitFor((f) => f.t === FRAME_TYPES.replayed, 'replayed');
  assert.equal((end as { n: number }).n, 0);
  await stillServes(c, 'after replayed');
  assert.equal(c.frames.filter((f) => f.t === FRAME_TYPES.replayed).length, 1);
});

test('§5.1 §5.4 after welcome the relay replays what is pending, in order (store and forward), then replayed{n}', async () => {
  const name = user('offline');
  const sender = await connect(r1, user('offline-sender'));
  for (let i = 1; i <= 5; i++) sender.send(sendFrame(`offline:${i}`, name));
  await sender.waitCount(isAck, 5, 'acks');
  const c = await opened(r2.url);
  c.send(hello(name));
  const ds = await c.waitCount(isDeliver, 5, 'replay');
  assert.equal(c.frames[0]!.t, FRAME_TYPES.welcome, 'welcome comes first');
  assert.deepEqual(
    ds.map((d) => (d as { msgId: string }).msgId),
    [1, 2, 3, 4, 5].map((i) => `offline:${i}`),
  );
  const end = await c.waitFor((f) => f.t === FRAME_TYPES.replayed, 'replayed');
  assert.equal((end as { n: number }).n, 5);
  assert.ok(c.frames.indexOf(end) > c.frames.indexOf(ds.at(-1)!), 'after the replay');
});

test('§5.2 §9 a message across relays: ack with gwInUs ≤ producedUs, the exact bytes, ✓✓ after received, read receipt after read', async () => {
  const an = user('a');
  const bn = user('b');
  const a = await connect(r1, an);
  const b = await connect(r2, bn);
  a.send(sendFrame('life:1', bn, [9, 8, 7, 255]));
  const ack = await a.waitFor(isAck, 'ack');
  assert.ok(ack.stamps.gwInUs! <= ack.stamps.producedUs!, 'one clock: the produce was acknowledged after the send came in');
  const d = await b.waitFor(isDeliver, 'deliver');
  assert.equal(d.from, an);
  assert.deepEqual([...d.ciphertext], [9, 8, 7, 255]);
  assert.equal(d.stamps.producedUs, undefined, "producedUs is the ack's alone");
  assert.equal(a.frames.filter(isReceipt).length, 0, 'no ✓✓ before received');
  b.send({ t: FRAME_TYPES.received, msgId: 'life:1' });
  const r = await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.delivered, '✓✓');
  assert.equal((r as { by: string }).by, bn);
  b.send({ t: FRAME_TYPES.read, msgId: 'life:1' });
  await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.read, 'read receipt');
});

test('§5.2 a resend with the same msgId is acked again and delivered once', async () => {
  const bn = user('dup-b');
  const a = await connect(r2, user('dup-a'));
  const b = await connect(r1, bn);
  a.send(sendFrame('dup:1', bn));
  a.send(sendFrame('dup:1', bn));
  a.send(sendFrame('dup:2', bn));
  await a.waitCount(isAck, 3, 'three acks');
  await b.waitFor((f) => isDeliver(f) && f.msgId === 'dup:2', 'the later message');
  assert.equal(b.frames.filter((f) => isDeliver(f) && f.msgId === 'dup:1').length, 1);
});

test('§5.2 received/read for a message not delivered on this connection is refused with error 6', async () => {
  const c = await connect(r1, user('forbid'));
  c.send({ t: FRAME_TYPES.received, msgId: 'someone:1' });
  const e = await c.waitFor(isError, 'error');
  assert.equal(e.code, WIRE_ERRORS.FORBIDDEN.code);
  assert.equal(e.msgId, 'someone:1');
  await stillServes(c, 'after error 6');
});

test('§5.2 read without received sends the sender ✓✓ then read; a repeat after the read gets error 6 and the connection stays', async () => {
  const bn = user('rr-b');
  const a = await connect(r1, user('rr-a'));
  const b = await connect(r2, bn);
  a.send(sendFrame('rr:1', bn));
  await b.waitFor(isDeliver, 'deliver');
  b.send({ t: FRAME_TYPES.read, msgId: 'rr:1' });
  await a.waitFor((f) => isReceipt(f) && f.kind === RECEIPT_KIND.read, 'read receipt');
  assert.deepEqual(
    a.frames.filter(isReceipt).map((f) => (f as { kind: number }).kind),
    [RECEIPT_KIND.delivered, RECEIPT_KIND.read],
  );
  b.send({ t: FRAME_TYPES.read, msgId: 'rr:1' });
  const e = await b.waitFor(isError, 'error for the repeat');
  assert.equal(e.code, WIRE_ERRORS.FORBIDDEN.code);
  assert.equal(e.msgId, 'rr:1');
  await stillServes(b, 'after the repeated read');
});

test("§4 §5.2 receiptSeen for a receipt the user does not hold (someone else's) is a no-op, without an error", async () => {
  const c = await connect(r2, user('seen'));
  c.send({ t: FRAME_TYPES.receiptSeen, msgId: 'other:1', kind: RECEIPT_KIND.delivered, more: [['other:2', RECEIPT_KIND.read]] });
  await stillServes(c, 'after receiptSeen');
  assert.equal(c.frames.filter(isError).length, 0);
});

test('§5.3 keys published on one relay are fetched on the other; a user without keys gets error 10', async () => {
  const an = user('keys-a');
  const a = await connect(r1, an);
  const b = await connect(r2, user('keys-b'));
  const bundle = {
    identityKey: new Uint8Array(32).fill(1),
    signedPrekey: new Uint8Array(32).fill(2),
    signature: new Uint8Array(64).fill(3),
  };
  a.send({ t: FRAME_TYPES.publishKeys, reqId: 1, ...bundle });
  await a.waitFor((f) => f.t === FRAME_TYPES.keysPublished, 'keysPublished');
  b.send({ t: FRAME_TYPES.fetchKeys, reqId: 2, userId: an });
  const k = await b.waitFor((f) => f.t === FRAME_TYPES.keys, 'keys');
  assert.deepEqual([...(k as { identityKey: Uint8Array }).identityKey], [...bundle.identityKey]);
  b.send({ t: FRAME_TYPES.fetchKeys, reqId: 3, userId: user('nokeys') });
  const e = await b.waitFor(isErrorCode(WIRE_ERRORS.KEYS_NOT_FOUND.code), 'error 10');
  assert.equal(e.reqId, 3);
});

test("§5.4 a sender's messages to one recipient on another relay arrive in the order sent", async () => {
  const bn = user('order-b');
  const a = await connect(r1, user('order-a'));
  const b = await connect(r2, bn);
  const ids = Array.from({ length: 200 }, (_, i) => `order:${i}`);
  for (const id of ids) a.send(sendFrame(id, bn));
  const ds = await b.waitCount(isDeliver, ids.length, 'all delivered');
  assert.deepEqual(
    ds.map((d) => (d as { msgId: string }).msgId),
    ids,
  );
});

test('§8 any frame is a sign of life: protocol pings keep alive a client that ignores WebSocket pings; a silent one is terminated (1006)', async () => {
  const chatty = await connect(r1, user('chatty'), { autoPong: false });
  const silent = await connect(r1, user('silent'), { autoPong: false });
  let relayPings = 0;
  silent.ws.on('ping', () => relayPings++);
  // Three heartbeat intervals (beyond the two that end a silent connection), a ping every 1/4 interval.
  for (let i = 0; i < 12; i++) {
    chatty.send({ t: FRAME_TYPES.ping, n: i });
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS / 4));
  }
  assert.equal(await silent.closed, 1006, 'terminated without a close handshake');
  assert.ok(relayPings >= 1, 'the silent one got a WebSocket ping first');
  await stillServes(chatty, 'the client that sent protocol pings');
});

/** Sections of PROTOCOL.md whose requirements bind the client alone: no relay test can check them. */
const CLIENT_ONLY: Readonly<Record<string, string>> = {
  '7.1': 'a client MUST treat an unknown error code as non-retriable',
};

test("§13 every section of PROTOCOL.md that states a requirement is named by a conformance test (or is the client's alone)", () => {
  const doc = readFileSync('relay/PROTOCOL.md', 'utf8');
  const required = new Set<string>();
  let section = '';
  for (const line of doc.split('\n')) {
    const h = /^#{2,3} (\d+(?:\.\d+)?)\.? /.exec(line);
    if (h !== null) section = h[1]!;
    else if (section !== '' && /\bMUST\b/.test(line)) required.add(section);
  }
  const source = readFileSync('relay/test/integration/conformance.test.ts', 'utf8');
  const named = new Set<string>();
  for (const m of source.matchAll(/^test\('((?:§[\d.]+ )+)/gm)) for (const s of m[1]!.matchAll(/§([\d.]+)/g)) named.add(s[1]!);
  const rows = [...required]
    .sort()
    .map((s) => `${s}: ${named.has(s) ? 'tested' : s in CLIENT_ONLY ? `client only (${CLIENT_ONLY[s]})` : 'GAP'}`);
  const tested = [...required].filter((s) => named.has(s)).length;
  process.stderr.write(
    `# conformance: ${tested} of ${required.size} sections with requirements tested against the relay\n${rows.map((r) => `#   §${r}`).join('\n')}\n`,
  );
  assert.deepEqual(
    rows.filter((r) => r.endsWith('GAP')),
    [],
    'a requirement without a test',
  );
});
