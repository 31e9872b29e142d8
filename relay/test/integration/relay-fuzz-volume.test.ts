// Bad input at volume (issue #7): ~100 fuzz connections throw random, truncated and adversarial
// frames, bad tokens, floods and hello storms at a live relay while a load-generator worker sends
// encrypted traffic through it. The relay must survive and keep serving, the worker must lose
// nothing, and every code the relay answers with must be a documented one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { TEST_SECRET, connectUser, isAck, isDeliver } from '../../../test/helpers/client.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { runWorker, testPlan } from '../../../loadgen/test/helpers/worker.js';
import { runFuzz } from '../../../testbed/fuzz/fuzzer.js';
import { ALWAYS_REJECTED, FUZZ_CATEGORIES } from '../../../testbed/fuzz/cases.js';
import { codesInProtocolDoc } from '../../../testbed/fuzz/documented.js';
import { FRAME_TYPES, WIRE_ERRORS, CLOSE_CODES } from '../../protocol/src/index.js';

// dist/relay/test/integration → repository root
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

let kafka: LocalKafkaCluster;
let relay: RelayProcess;

before(async () => {
  kafka = await startTestKafka(1);
  // 500 frames/s (burst 1000) so floods reach the limit quickly; the worker's users stay far below it.
  relay = await startRelayProcess(kafka.brokers, { gatewayId: 'fuzzvol', args: ['--rate-limit', '500'] });
  await waitAllReady([relay]);
});
after(async () => {
  await relay?.stop();
  await kafka?.stop();
});

test('integration: 100 fuzz connections against a live relay — it survives, loses nothing, answers only documented codes', async () => {
  const plan = testPlan({
    relays: [relay.url],
    maxScheduleLagUs: 50_000,
    workload: { users: 20, ratePerSec: 100, durationMs: 12_000, warmupMs: 1000, drainMs: 15_000, recipients: { kind: 'pairs' } },
  });
  const [result, fuzz] = await Promise.all([
    runWorker(plan),
    runFuzz({
      relays: [relay.url],
      secret: TEST_SECRET,
      connections: 100,
      durationMs: 12_000,
      probesPerSec: 150,
      rateBurst: 1000,
      seed: 7,
    }),
  ]);
  process.stderr.write(
    `# fuzz: ${fuzz.probes} probes, ${fuzz.inputs} inputs; errors ${JSON.stringify(fuzz.errorCodes)}; closes ${JSON.stringify(fuzz.closeCodes)}\n`,
  );
  for (const [c, r] of Object.entries(fuzz.categories))
    process.stderr.write(`#   ${c}: ${r.probes} probes, ${r.inputs} inputs, ${r.rejected} rejected ${JSON.stringify(r.outcomes)}\n`);

  // The relay is alive and still serving.
  assert.equal(relay.proc.child.exitCode, null, 'the relay is alive');
  assert.equal((await fetch(`${relay.httpUrl}/healthz`)).status, 200);
  const a = await connectUser(relay.url, 'fz-after-a');
  const b = await connectUser(relay.url, 'fz-after-b');
  a.send({ t: FRAME_TYPES.send, msgId: 'fzafter:1:1', to: 'fz-after-b', header: new Uint8Array([1]), ciphertext: new Uint8Array([1]) });
  await a.waitFor(isAck, 'ack after the fuzz');
  await b.waitFor(isDeliver, 'delivery after the fuzz');
  a.ws.terminate();
  b.ws.terminate();

  // Nothing the worker sent was lost or altered.
  const l = result.ledger;
  assert.ok(l.sent > 500, `sent ${l.sent}`);
  assert.equal(l.lost, 0, 'lost');
  assert.equal(l.decryptFailures, 0, 'decrypt failures');
  assert.equal(l.delivered, l.sent);

  // Every code is documented: in the code's tables and in PROTOCOL.md §7.
  assert.deepEqual(fuzz.undocumented.errorCodes, {}, fuzz.undocumented.samples.join('\n'));
  assert.deepEqual(fuzz.undocumented.closeCodes, {}, fuzz.undocumented.samples.join('\n'));
  assert.equal(fuzz.undecodableServerFrames, 0, 'every server frame decodes');
  const doc = codesInProtocolDoc(join(repoRoot, 'relay', 'PROTOCOL.md'));
  for (const code of Object.keys(fuzz.errorCodes)) assert.ok(doc.errors.has(Number(code)), `error ${code} is in PROTOCOL.md §7.1`);
  for (const code of Object.keys(fuzz.closeCodes).filter((c) => c !== '1006'))
    assert.ok(doc.closes.has(Number(code)), `close ${code} is in PROTOCOL.md §7.2`);

  // Every category was tried, and every adversarial one drew rejections.
  for (const c of FUZZ_CATEGORIES) assert.ok(fuzz.categories[c].probes > 0, `category ${c} was tried`);
  for (const c of ALWAYS_REJECTED) assert.ok(fuzz.categories[c].rejected > 0, `category ${c} drew rejections`);
  assert.deepEqual(fuzz.acceptedSamples, [], 'an adversarial probe the relay let through');

  // The documented answers for the cases the protocol names (§3, §5.1, §7, §8).
  const outcomes = (c: (typeof FUZZ_CATEGORIES)[number]) => Object.keys(fuzz.categories[c].outcomes).join(' ');
  assert.match(outcomes('flood'), new RegExp(`e${WIRE_ERRORS.RATE_LIMITED.code}\\+c${CLOSE_CODES.RATE_LIMITED.code}`));
  assert.ok(fuzz.errorsWithId > 0, 'refused sends name their msgId');
  assert.match(outcomes('text-frame'), new RegExp(`c${CLOSE_CODES.POLICY.code}`));
  assert.match(outcomes('oversized'), new RegExp(`c${CLOSE_CODES.TOO_BIG.code}`));
  assert.match(outcomes('bad-token'), new RegExp(`e${WIRE_ERRORS.AUTH_FAILED.code}\\+c${CLOSE_CODES.AUTH.code}`));
  assert.match(outcomes('before-hello'), new RegExp(`e${WIRE_ERRORS.NOT_AUTHENTICATED.code}\\+c${CLOSE_CODES.PROTOCOL_ERROR.code}`));
  assert.match(outcomes('duplicate-hello'), new RegExp(`e${WIRE_ERRORS.DUPLICATE_HELLO.code}\\+c${CLOSE_CODES.PROTOCOL_ERROR.code}`));
  assert.match(outcomes('bad-version'), new RegExp(`e${WIRE_ERRORS.UNSUPPORTED_VERSION.code}\\+c${CLOSE_CODES.PROTOCOL_ERROR.code}`));
  assert.match(outcomes('hello-storm'), new RegExp(`c${CLOSE_CODES.REPLACED.code}`));
  assert.match(outcomes('forbidden-confirm'), new RegExp(`e${WIRE_ERRORS.FORBIDDEN.code}`));
  assert.match(outcomes('keys-flood'), new RegExp(`e${WIRE_ERRORS.KEYS_NOT_FOUND.code}`));
  // A bad field refuses the frame (error 9) and keeps the connection; only in hello it closes 4002 (§3).
  assert.match(outcomes('huge-string'), new RegExp(`e${WIRE_ERRORS.BAD_FIELD.code}`));
  assert.match(outcomes('ws-protocol'), new RegExp(`c${CLOSE_CODES.WS_PROTOCOL.code}`));
  assert.doesNotMatch(outcomes('ws-protocol'), /c1007/, 'UTF-8 is not validated: text frames get 1008');
});
