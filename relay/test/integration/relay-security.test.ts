import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import {
  TEST_SECRET,
  TestClient,
  connectUser,
  isAck,
  isDeliver,
  isError,
  tokenFor,
  type TestClient as Client,
} from '../../../test/helpers/client.js';
import { relayCounter, startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { testWithTools } from '../../../test/helpers/tools.js';
import { until } from '../support/in-memory-relay.js';
import { FRAME_TYPES, PROTOCOL_VERSION, WIRE_ERRORS, encodeFrame, signToken, type ServerFrame } from '../../protocol/src/index.js';

let kafka: LocalKafkaCluster;
let relay: RelayProcess;
const clients: Client[] = [];

before(async () => {
  kafka = await startTestKafka(1);
  // Small limits so the tests reach them quickly: 64 KiB high-water mark, 500 frames/s.
  relay = await startRelayProcess(kafka.brokers, { gatewayId: 'sec', args: ['--high-water', '65536', '--rate-limit', '500'] });
  await waitAllReady([relay]);
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await relay?.stop();
  await kafka?.stop();
});

async function helloWith(token: string): Promise<TestClient> {
  const c = new TestClient(relay.url);
  clients.push(c);
  await c.opened;
  c.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token, epoch: 1 });
  await c.closed;
  return c;
}

test('integration: a forged token is refused with error 3 and close 4003', async () => {
  const c = await helloWith(signToken({ sub: 'mallory', expMs: Date.now() + 60_000 }, 'another-secret-0123456789'));
  assert.equal(c.closeCode, 4003);
  assert.equal(c.frames.find(isError)?.code, WIRE_ERRORS.AUTH_FAILED.code);
  assert.equal(
    c.frames.some((f) => f.t === FRAME_TYPES.welcome),
    false,
  );
});

test('integration: an expired token is refused with error 4 and close 4003', async () => {
  const c = await helloWith(signToken({ sub: 'mallory', expMs: Date.now() - 1000 }, TEST_SECRET));
  assert.equal(c.closeCode, 4003);
  assert.equal(c.frames.find(isError)?.code, WIRE_ERRORS.TOKEN_EXPIRED.code);
});

test("integration: the sender is the token subject; a client cannot confirm another user's message", async () => {
  const mallory = await connectUser(relay.url, 'mallory');
  const bob = await connectUser(relay.url, 'bob');
  clients.push(mallory, bob);
  // A forged "from" field is not part of send: it is ignored, the relay uses the token.
  const forged = {
    t: FRAME_TYPES.send,
    msgId: 'm:1:1',
    to: 'bob',
    header: new Uint8Array([1]),
    ciphertext: new Uint8Array([2]),
    from: 'alice',
  };
  mallory.send(forged as never);
  const d = await bob.waitFor(isDeliver, 'delivery');
  assert.equal(d.from, 'mallory');

  const alice = await connectUser(relay.url, 'alice');
  clients.push(alice);
  alice.send({ t: FRAME_TYPES.send, msgId: 'a:1:1', to: 'bob', header: new Uint8Array([1]), ciphertext: new Uint8Array([3]) });
  await bob.waitFor((f) => isDeliver(f) && f.msgId === 'a:1:1', 'alice message');
  mallory.send({ t: FRAME_TYPES.received, msgId: 'a:1:1' });
  const err = await mallory.waitFor(isError, 'forbidden');
  assert.equal(err.code, WIRE_ERRORS.FORBIDDEN.code);
  assert.equal(err.msgId, 'a:1:1');
  assert.equal(
    alice.frames.some((f) => f.t === FRAME_TYPES.receipt),
    false,
    'no receipt was produced for Alice',
  );
});

test('integration: a frame over maxPayload closes the connection with 1009', async () => {
  const c = await connectUser(relay.url, 'bigsender');
  clients.push(c);
  c.send({ t: FRAME_TYPES.send, msgId: 'b:1:1', to: 'bob', header: new Uint8Array([1]), ciphertext: new Uint8Array(70 * 1024) });
  assert.equal(await c.closed, 1009);
});

test('integration: 1,000 random and truncated frames never crash the relay; other clients keep being served', async () => {
  const valid = encodeFrame({
    t: FRAME_TYPES.send,
    msgId: 'z:1:1',
    to: 'bob',
    header: new Uint8Array([1, 2]),
    ciphertext: new Uint8Array(40),
  });
  const inputs = fc.sample(
    fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      fc.integer({ min: 0, max: valid.length - 1 }).map((n) => valid.slice(0, n)),
      fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
        const copy = valid.slice();
        copy[i] = b;
        return copy;
      }),
    ),
    { numRuns: 1000, seed: 42 },
  );
  const codes = new Map<number, number>();
  let authed = 0;
  // Half before hello (unauthenticated), half after.
  for (let i = 0; i < inputs.length; i += 50) {
    await Promise.all(
      inputs.slice(i, i + 50).map(async (bytes, j) => {
        const c = (i + j) % 2 === 0 ? new TestClient(relay.url) : await connectUser(relay.url, `fuzz${i + j}`);
        if (c.frames.length > 0) authed++;
        await c.opened;
        c.sendRaw(bytes);
        // The relay judges a frame as it reads it, so a WebSocket ping sent after it is answered
        // only if the frame left the connection open (a close goes out first, and no pong after
        // it). A valid-looking frame may be accepted: then we close, once the pong proves it read.
        c.ws.ping();
        const pong = new Promise<void>((resolve) => c.ws.once('pong', () => resolve()));
        const code = await Promise.race([c.closed, pong.then(() => (c.ws.close(1000), c.closed))]);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }),
    );
  }
  process.stderr.write(
    `# fuzz: ${inputs.length} inputs, ${authed} after hello; close codes ${JSON.stringify(Object.fromEntries(codes))}\n`,
  );
  assert.equal(relay.proc.child.exitCode, null, 'the relay is alive');
  for (const code of codes.keys()) assert.ok([1000, 1008, 4002, 4003, 4011].includes(code), `documented close code, got ${code}`);
  const a = await connectUser(relay.url, 'after-a');
  const b = await connectUser(relay.url, 'after-b');
  clients.push(a, b);
  a.send({ t: FRAME_TYPES.send, msgId: 'after:1:1', to: 'after-b', header: new Uint8Array([1]), ciphertext: new Uint8Array([1]) });
  await a.waitFor(isAck, 'ack after fuzzing');
  await b.waitFor(isDeliver, 'delivery after fuzzing');
});

test('integration: a text frame and a frame before hello get their documented codes', async () => {
  const c1 = new TestClient(relay.url);
  clients.push(c1);
  await c1.opened;
  c1.sendRaw('hello?');
  assert.equal(await c1.closed, 1008);
  const c2 = new TestClient(relay.url);
  clients.push(c2);
  await c2.opened;
  c2.send({ t: FRAME_TYPES.ping, n: 1 });
  assert.equal(await c2.closed, 4002);
  assert.equal(c2.frames.find(isError)?.code, WIRE_ERRORS.NOT_AUTHENTICATED.code);
});

test('integration: a flood above the rate limit is closed with 4008', async () => {
  const c = await connectUser(relay.url, 'flooder');
  clients.push(c);
  for (let i = 0; i < 3000; i++) c.send({ t: FRAME_TYPES.ping, n: i });
  assert.equal(await c.closed, 4008);
  assert.equal(c.frames.find(isError)?.code, WIRE_ERRORS.RATE_LIMITED.code);
});

test('integration: a receiptSeen is charged once per receipt it confirms, then the client may go on', async () => {
  const c = await connectUser(relay.url, 'batcher');
  clients.push(c);
  // Burst 1,000 (twice the 500/s rate): two frames confirming 513 receipts each overspend it, the third is refused.
  for (let b = 0; b < 3; b++) {
    const more = Array.from({ length: 512 }, (_, i): [string, 1] => [`gone:${b}:${i + 1}`, 1]);
    c.send({ t: FRAME_TYPES.receiptSeen, msgId: `gone:${b}:1000`, kind: 1, more });
  }
  c.send({ t: FRAME_TYPES.ping, n: 1 });
  const refused = await c.waitFor(isError, 'error 7');
  assert.equal(refused.code, WIRE_ERRORS.RATE_LIMITED.code);
  // Refused, not closed: once the tokens are back (≈ 1 s at 500/s) the next frame is served.
  await new Promise((r) => setTimeout(r, 2500));
  c.send({ t: FRAME_TYPES.ping, n: 2 });
  await c.waitFor((f): f is ServerFrame => f.t === FRAME_TYPES.pong && f.n === 2, 'pong 2');
  assert.equal(c.closeCode, null);
});

test('integration: a reader that stops reading is closed at the high-water mark; on reconnect it gets all its mail', async () => {
  const slow = await connectUser(relay.url, 'slowpoke');
  const sender = await connectUser(relay.url, 'firehose');
  clients.push(slow, sender);
  // Stop reading: the kernel buffers fill, then the relay's send buffer grows past 64 KiB.
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const total = 400;
  const ids = Array.from({ length: total }, (_, i) => `fh:1:${i + 1}`);
  const body = new Uint8Array(16 * 1024);
  for (let i = 0; i < ids.length; i++) {
    sender.send({ t: FRAME_TYPES.send, msgId: ids[i]!, to: 'slowpoke', header: new Uint8Array([1]), ciphertext: body });
    if (i % 100 === 99) await sender.waitCount(isAck, i + 1, 'acks');
  }
  await sender.waitCount(isAck, total, 'all acks');
  const closes = () => relayCounter(relay.httpUrl, 'relay_slow_reader_closes_total');
  await until(async () => (await closes()) >= 1, 'the relay closing the slow reader', 30_000, 200);
  slow.ws.terminate();

  const again = await connectUser(relay.url, 'slowpoke');
  clients.push(again);
  const seen = new Set<string>();
  await again.waitFor(
    (f) => {
      if (isDeliver(f)) seen.add(f.msgId);
      return seen.size === total;
    },
    'all mail after reconnect',
    60_000,
  );
  assert.equal(seen.size, total);
});

test('integration: tokenFor helper round trip works against the relay (sanity)', async () => {
  const c = new TestClient(relay.url);
  clients.push(c);
  await c.opened;
  c.send({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: tokenFor('sane'), epoch: 5 });
  const w = await c.waitFor((f) => f.t === FRAME_TYPES.welcome, 'welcome');
  assert.equal((w as { userId: string }).userId, 'sane');
});

testWithTools(
  'integration: TLS — with a certificate made in the test, clients speak wss:// and the relay serves https://',
  ['openssl'],
  {},
  async (t) => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { execFileSync } = await import('node:child_process');
    const https = await import('node:https');
    const dir = mkdtempSync(join(tmpdir(), 'relaybench-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true })); // the test's own key and certificate
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const secure = await startRelayProcess(kafka.brokers, { gatewayId: 'tls', args: ['--tls-cert', cert, '--tls-key', key] });
    try {
      assert.match(secure.url, /^wss:\/\//);
      const ca = readFileSync(cert);
      const health = await new Promise<number>((resolve, reject) => {
        https
          .get(`${secure.httpUrl}/healthz`, { ca }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      assert.equal(health, 200);
      const a = await connectUser(secure.url, 'tls-a', TEST_SECRET, { ca });
      const b = await connectUser(relay.url, 'tls-b'); // plain ws on the other relay: both reach the same mail
      clients.push(a, b);
      a.send({ t: FRAME_TYPES.send, msgId: 'tls:1:1', to: 'tls-b', header: new Uint8Array([1]), ciphertext: new Uint8Array([42]) });
      await a.waitFor(isAck, 'ack over wss');
      assert.deepEqual([...(await b.waitFor(isDeliver, 'delivery')).ciphertext], [42]);
      // A client that does not trust the certificate cannot connect.
      const untrusting = new TestClient(secure.url);
      await assert.rejects(untrusting.opened);
    } finally {
      await secure.stop();
    }
  },
);

test('integration: at its connection limit the relay closes a new connection with 4010 (backoff), and serves the ones it has', async () => {
  const small = await startRelayProcess(kafka.brokers, { gatewayId: 'sec-limit', args: ['--max-connections', '2'] });
  try {
    await waitAllReady([small]);
    const a = await connectUser(small.url, 'limit-a');
    const b = await connectUser(small.url, 'limit-b');
    clients.push(a, b);
    const c = new TestClient(small.url);
    clients.push(c);
    assert.equal(await c.closed, 4010);
    a.send({ t: FRAME_TYPES.ping, n: 7 });
    await a.waitFor((f) => f.t === FRAME_TYPES.pong, 'pong');
  } finally {
    await small.stop();
  }
});
