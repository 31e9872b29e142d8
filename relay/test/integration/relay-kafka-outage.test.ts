// PROTOCOL §5.2 and §12 when the whole Kafka cluster is gone (or stalls): a send gets error 11 (not silence)
// once the relay's retries are spent, /readyz says 503 meanwhile, and when Kafka is back the
// client's resend is acknowledged and delivered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import { startTestKafka } from '../../../test/helpers/kafka.js';
import { connectUser, isAck, isDeliver, isError, type TestClient } from '../../../test/helpers/client.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../../test/helpers/relays.js';
import { FRAME_TYPES, WIRE_ERRORS } from '../../protocol/src/index.js';
import { until } from '../support/in-memory-relay.js';

let kafka: LocalKafkaCluster;
let relay: RelayProcess;
const clients: TestClient[] = [];

before(async () => {
  kafka = await startTestKafka(1);
  // 8 s of write retries instead of 30: the same give-up path (error 11), 22 s sooner.
  relay = await startRelayProcess(kafka.brokers, { gatewayId: 'k1', partitions: 4, env: { RELAY_WRITE_TIMEOUT_MS: '8000' } });
  await waitAllReady([relay]);
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await relay?.stop('SIGKILL');
  await kafka?.stop();
});

const readyz = async () => {
  const res = await fetch(`${relay.httpUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { writesFailing?: boolean } };
};

test('integration: with Kafka gone a send gets error 11 and /readyz 503; once Kafka is back the resend is acked and delivered', async () => {
  const olga = await connectUser(relay.url, 'olga');
  const pete = await connectUser(relay.url, 'pete');
  clients.push(olga, pete);
  const send = (msgId: string) =>
    olga.send({ t: FRAME_TYPES.send, msgId, to: 'pete', header: new Uint8Array([1]), ciphertext: new Uint8Array([2]) });
  send('olga:1:1');
  await olga.waitFor(isAck, 'ack before the outage');

  await kafka.kill(kafka.nodes[0]!.nodeId, 'SIGKILL');
  send('olga:1:2');
  const refused = await olga.waitFor(
    (f) => isError(f) && f.msgId === 'olga:1:2',
    'error 11 for the send made while Kafka is gone',
    120_000,
  );
  assert.equal(isError(refused) && refused.code, WIRE_ERRORS.UNAVAILABLE.code);
  const down = await readyz();
  assert.equal(down.status, 503);
  assert.equal(down.body.writesFailing, true);

  await kafka.restart(kafka.nodes[0]!.nodeId);
  // The client resends until one is acked (PROTOCOL §5.2: same msgId, in order).
  await until(
    async () => {
      if (olga.frames.some((f) => isAck(f) && f.msgId === 'olga:1:2')) return true;
      send('olga:1:2');
      await new Promise((r) => setTimeout(r, 1000));
      return olga.frames.some((f) => isAck(f) && f.msgId === 'olga:1:2');
    },
    'the resend acked after Kafka came back',
    180_000,
    0,
  );
  await pete.waitFor((f) => isDeliver(f) && f.msgId === 'olga:1:2', 'delivery after the outage', 120_000);
  await until(async () => (await readyz()).status === 200, 'ready again', 120_000, 500);
});

test('integration: a broker that stalls past the session timeout: the relay gives its partitions up (/readyz 503), joins again once the broker answers, and delivers', async () => {
  const pid = kafka.nodes[0]!.pid();
  assert.ok(pid !== undefined, 'the broker runs');
  const routes = async () => (await (await fetch(`${relay.httpUrl}/routes`)).json()) as { groupState: string; members: unknown[] };
  await until(async () => (await readyz()).status === 200, 'ready before the stall', 120_000, 500);
  process.kill(pid, 'SIGSTOP');
  try {
    // Nothing answers its heartbeats now: after the session timeout the coordinator may have
    // given its partitions to another member, so routing them on would be a second router.
    await until(async () => (await readyz()).status === 503, 'not ready while its membership is in doubt', 60_000, 250);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await until(async () => (await readyz()).status === 200, 'ready again after the stall', 120_000, 500);
  const group = await routes();
  assert.equal(group.groupState, 'Stable');
  assert.equal(group.members.length, 1);
  const rita = await connectUser(relay.url, 'rita');
  const sam = await connectUser(relay.url, 'sam');
  clients.push(rita, sam);
  rita.send({ t: FRAME_TYPES.send, msgId: 'rita:1:1', to: 'sam', header: new Uint8Array([1]), ciphertext: new Uint8Array([2]) });
  await sam.waitFor((f) => isDeliver(f) && f.msgId === 'rita:1:1', 'delivery after the stall', 60_000);
});
