import { createKafkajsAdapter } from '../../relay/kafka/src/index.js';
import type { KafkaCluster } from './cluster.js';
import { kafkaError } from './errors.js';

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

/** Parses `host:port[,host:port...]`; rejects with the reason (which entry, what is wrong). */
export function parseBrokers(value: string): string[] {
  const entries = value.split(',').map((s) => s.trim());
  if (value.trim() === '' || entries.length === 0) throw kafkaError('RB_KAFKA_BAD_BROKERS', 'The list is empty.');
  return entries.map((entry, i) => {
    if (entry === '') throw kafkaError('RB_KAFKA_BAD_BROKERS', `Entry ${i + 1} is empty.`);
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) throw kafkaError('RB_KAFKA_BAD_BROKERS', `"${entry}" has no port (write host:port).`);
    const host = entry.slice(0, colon);
    const portText = entry.slice(colon + 1);
    if (!HOST.test(host)) throw kafkaError('RB_KAFKA_BAD_BROKERS', `"${host}" is not a host name or address.`);
    if (!/^\d+$/.test(portText)) throw kafkaError('RB_KAFKA_BAD_BROKERS', `"${portText}" in "${entry}" is not a port number.`);
    const port = Number(portText);
    if (port < 1 || port > 65535) throw kafkaError('RB_KAFKA_BAD_BROKERS', `Port ${port} in "${entry}" is out of range 1-65535.`);
    return `${host}:${port}`;
  });
}

/**
 * An existing cluster. Connecting is bounded (timeoutMs): an unreachable address fails with
 * RB_KAFKA_UNREACHABLE rather than kafkajs' endless retries.
 */
export async function useExternalCluster(brokers: readonly string[], timeoutMs = 10_000): Promise<KafkaCluster> {
  const adapter = createKafkajsAdapter({
    brokers,
    clientId: 'relaybench-probe',
    connectionTimeoutMs: Math.min(3000, timeoutMs),
    retries: 1,
    rideOutMs: 0,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(kafkaError('RB_KAFKA_UNREACHABLE', `Tried ${brokers.join(',')} for ${timeoutMs} ms.`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        const admin = await adapter.admin();
        try {
          await admin.describeCluster();
        } finally {
          await admin.close();
        }
      })(),
      timeout,
    ]);
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'RB_KAFKA_UNREACHABLE') throw e;
    throw kafkaError('RB_KAFKA_UNREACHABLE', `Tried ${brokers.join(',')}: ${e instanceof Error ? e.message : String(e)}`, e);
  } finally {
    clearTimeout(timer);
  }
  return { provider: 'external', brokers, stop: async () => {} };
}
