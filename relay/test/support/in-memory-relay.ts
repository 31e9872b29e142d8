/**
 * A whole relay process (gateway + router, real ws sockets on loopback) over the in-memory
 * KafkaAdapter: unit tests of the session, gateway, router and startRelay get feedback in
 * seconds, without a JVM. Clients are test/helpers' TestClient.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConfig, type RelayOptions } from '../../src/config.js';
import { startRelay, type RelayHandle } from '../../src/relay.js';
import { InMemoryKafka } from '../../kafka/test-support/in-memory-kafka.js';
import { TEST_SECRET } from '../../../test/helpers/client.js';

export interface InMemoryRelay {
  readonly kafka: InMemoryKafka;
  readonly relay: RelayHandle;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts one relay on a free loopback port; `kafka` may be shared by several relays. */
export async function startInMemoryRelay(options: RelayOptions = {}, kafka = new InMemoryKafka()): Promise<InMemoryRelay> {
  const config = resolveConfig({
    port: 0,
    brokers: kafka.brokers,
    tokenSecret: TEST_SECRET,
    gatewayId: 'gw-unit',
    partitions: 4,
    heartbeatMs: 60_000,
    ...options,
  });
  const relay = await startRelay(
    config,
    () => {},
    () => kafka,
  );
  await until(() => relay.ready());
  return { kafka, relay, url: relay.url, stop: () => relay.stop() };
}

/**
 * Resolves once `predicate` holds (polled every `everyMs`: longer for a predicate that costs the
 * system under test work, such as a /metrics scrape). The bound only turns a hang into a failure with a
 * message; no test asserts how long anything took.
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what = 'a condition',
  boundMs = 60_000,
  everyMs = 5,
): Promise<void> {
  const giveUpAt = Date.now() + boundMs;
  while (!(await predicate())) {
    if (Date.now() > giveUpAt) throw new Error(`${what} did not hold within ${boundMs} ms`);
    await sleep(everyMs);
  }
}
