import { request } from 'node:http';
import { existsSync } from 'node:fs';
import type { KafkaCluster } from './cluster.js';
import { kafkaError } from './errors.js';
import { freePort } from '../process/ports.js';
import { KAFKA_VERSION } from './local/jars.js';

/**
 * True when a Docker engine answers `GET /_ping` within timeoutMs. Only the default unix socket
 * (or DOCKER_HOST=unix://…) is probed; a remote DOCKER_HOST is trusted to testcontainers.
 */
export async function dockerEngineAnswers(timeoutMs = 1000, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const host = env.DOCKER_HOST;
  if (host !== undefined && !host.startsWith('unix://')) return true;
  const socketPath = host !== undefined ? host.slice('unix://'.length) : '/var/run/docker.sock';
  if (!existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * One apache/kafka broker (KRaft, combined mode) through testcontainers. The host port is chosen
 * first and mapped 1:1, so the advertised listener is right without a second configuration pass.
 */
export async function startDockerCluster(image = `apache/kafka:${KAFKA_VERSION}`): Promise<KafkaCluster> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const port = await freePort();
  try {
    const container = await new GenericContainer(image)
      .withExposedPorts({ container: port, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(120_000)
      .start();
    return {
      provider: 'docker',
      brokers: [`127.0.0.1:${port}`],
      kafkaVersion: KAFKA_VERSION,
      stop: async () => void (await container.stop()),
    };
  } catch (e) {
    throw kafkaError('RB_KAFKA_DOCKER_FAILED', e instanceof Error ? e.message : String(e), e);
  }
}
