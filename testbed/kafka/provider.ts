import type { KafkaCluster } from './cluster.js';
import { kafkaError } from './errors.js';
import { parseBrokers, useExternalCluster } from './external.js';
import { dockerEngineAnswers, startDockerCluster } from './docker.js';
import { startLocalCluster } from './local/local-cluster.js';

export type ProviderKind = 'external' | 'docker' | 'local';

export interface ProvisionOptions {
  /** --brokers host:port,…; wins over KAFKA_BROKERS. */
  readonly brokers?: string;
  /** Force a provider; by default: external if brokers are given, docker if an engine answers and count is 1, else local. */
  readonly provider?: ProviderKind | 'auto';
  /** Size of a provisioned cluster. */
  readonly count?: 1 | 3;
  readonly dir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

export interface ProviderChoice {
  readonly kind: ProviderKind;
  readonly brokers?: string[];
  readonly reason: string;
}

/**
 * The choice alone, with the Docker probe injected, so the rules are unit-tested:
 * 1. --brokers, then KAFKA_BROKERS → external (a malformed value is an error, never ignored);
 * 2. a Docker engine answers and one broker is wanted → docker (three-broker clusters use the
 *    local provider, whose brokers the fault tests can kill one by one);
 * 3. otherwise → local jars.
 */
export async function chooseProvider(options: ProvisionOptions, dockerAnswers: () => Promise<boolean>): Promise<ProviderChoice> {
  const env = options.env ?? process.env;
  const forced = options.provider ?? 'auto';
  const listed = options.brokers ?? env.KAFKA_BROKERS;
  const source = options.brokers !== undefined ? '--brokers' : 'KAFKA_BROKERS';
  if (forced === 'external' || (forced === 'auto' && listed !== undefined)) {
    if (listed === undefined) throw kafkaError('RB_KAFKA_BAD_OPTION', 'The external provider needs --brokers or KAFKA_BROKERS.');
    try {
      return { kind: 'external', brokers: parseBrokers(listed), reason: `${source} given` };
    } catch (e) {
      if (e instanceof Error && 'code' in e) throw kafkaError('RB_KAFKA_BAD_BROKERS', `${source}="${listed}": ${e.message}`);
      throw e;
    }
  }
  const count = options.count ?? 1;
  if (forced === 'docker' && count !== 1)
    throw kafkaError('RB_KAFKA_BAD_OPTION', `The docker provider runs one broker; ${count} run from the local jars (--provider local).`);
  if (forced === 'docker') return { kind: 'docker', reason: 'asked for docker' };
  if (forced === 'local') return { kind: 'local', reason: 'asked for local' };
  if (count === 1 && (await dockerAnswers())) return { kind: 'docker', reason: 'a Docker engine answers' };
  return { kind: 'local', reason: count === 1 ? 'no Docker engine answers' : 'three brokers run from the local jars' };
}

/** Provides a ready cluster. The caller owns it: `stop()` it (tests in `after`, CLI on exit). */
export async function provisionKafka(options: ProvisionOptions = {}): Promise<KafkaCluster> {
  const choice = await chooseProvider(options, () => dockerEngineAnswers());
  options.log?.(`kafka: ${choice.kind} provider (${choice.reason})`);
  switch (choice.kind) {
    case 'external':
      return useExternalCluster(choice.brokers ?? []);
    case 'docker':
      return startDockerCluster();
    case 'local':
      return startLocalCluster({
        brokers: options.count ?? 1,
        ...(options.dir !== undefined ? { dir: options.dir } : {}),
        ...(options.log !== undefined ? { log: options.log } : {}),
      });
  }
}
