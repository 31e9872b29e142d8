// The ledger against real relays that misbehave on purpose: the relay's test hooks drop one
// message and duplicate another (a copy under msgId `<id>.dup`, same header and counter), and a
// proxy flips one ciphertext bit in one deliver frame. Counts must be exact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { FRAME_TYPES, decodeServerFrame, encodeFrame } from '../../../relay/protocol/src/index.js';
import { mergeSnapshots } from '../../src/stats/period.js';
import { DelayProxy } from '../helpers/delay-proxy.js';
import { runWorker, testPlan } from '../helpers/worker.js';

// msgIds are `<userId>:<n>` (n = the sender's send sequence), so the hooks can name them before the run.
const PREFIX = `hk${Date.now().toString(36)}-u`;
const DROPPED = `${PREFIX}0:3`;
const DUPLICATED = `${PREFIX}1:2`;

let kafka: Awaited<ReturnType<typeof startTestKafka>>;
let relays: RelayProcess[] = [];

before(async () => {
  kafka = await startTestKafka(1);
  const env = { RELAY_TEST_HOOKS: JSON.stringify({ drop: [DROPPED], duplicate: [DUPLICATED] }) };
  relays = [
    await startRelayProcess(kafka.brokers, { gatewayId: 'hk1', env }),
    await startRelayProcess(kafka.brokers, { gatewayId: 'hk2', env }),
  ];
  await waitAllReady(relays);
});
after(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await kafka?.stop();
});

test('integration: relay drops one message and duplicates another → lost = 1 and duplicated = 1 exactly', async () => {
  const plan = testPlan({
    relays: relays.map((r) => r.url),
    userPrefix: PREFIX,
    maxScheduleLagUs: 50_000,
    workload: { users: 4, ratePerSec: 80, durationMs: 2000, drainMs: 4000, arrivals: 'constant', recipients: { kind: 'pairs' } },
  });
  const { ledger: l } = await runWorker(plan);
  assert.ok(l.sent >= 100, `sent ${l.sent}`);
  assert.equal(l.acked, l.sent);
  assert.equal(l.lost, 1, 'the dropped message');
  assert.equal(l.duplicated, 1, 'the copy under another msgId');
  assert.equal(l.delivered, l.sent - 1, 'the copy is not a delivery; the dropped one is missing');
  assert.deepEqual([l.redelivered, l.reordered, l.decryptFailures, l.unacked], [0, 0, 0, 0]);
});

test('integration: a ciphertext bit flipped in one deliver frame → one decrypt failure, never a delivery', async () => {
  const prefix = `tp${Date.now().toString(36)}-u`;
  const victim = `${prefix}0:5`;
  let flipped = 0;
  const proxy = await DelayProxy.start({
    upstreamUrl: relays[0]!.url,
    transformDown: (bytes) => {
      const f = decodeServerFrame(bytes);
      if (f.t !== FRAME_TYPES.deliver || f.msgId !== victim) return bytes;
      flipped++;
      const ciphertext = Uint8Array.from(f.ciphertext);
      ciphertext[3]! ^= 0x10;
      return encodeFrame({ ...f, ciphertext });
    },
  });
  try {
    const plan = testPlan({
      relays: [proxy.url],
      routingHint: false,
      userPrefix: prefix,
      maxScheduleLagUs: 50_000,
      workload: { users: 2, ratePerSec: 40, durationMs: 1500, arrivals: 'constant', recipients: { kind: 'pairs' } },
    });
    const r = await runWorker(plan);
    const l = r.ledger;
    assert.equal(flipped, 1);
    assert.equal(l.decryptFailures, 1);
    assert.equal(l.delivered, l.sent - 1);
    assert.equal(l.lost, 0, 'a decrypt failure explains the missing delivery');
    assert.equal(l.errorsByCode.RB_LOADGEN_DECRYPT, 1);
    assert.equal(mergeSnapshots(r.intervals).e2eCorrected.totalCount, l.sent - 1, 'no latency recorded for it');
  } finally {
    await proxy.close();
  }
});
