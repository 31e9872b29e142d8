/**
 * `relaybench run --remote-workers`: the run's workers are joiners reached through Kafka. Two
 * hooks on runScenario's dependencies and nothing else: provisionKafka also opens the
 * Coordinator and waits for `scenario.workers` joiners (so every segment's common start instant
 * is computed with the workers already there), and createWorker returns KafkaWorkers. The
 * cluster handed back stops the coordinator first (publishing `end`, so joiners exit).
 */
import { readFileSync } from 'node:fs';
import type { Worker } from '../../../loadgen/src/worker/contract.js';
import type { KafkaCluster } from '../../../testbed/kafka/cluster.js';
import type { ProvisionOptions } from '../../../testbed/kafka/provider.js';
import { machineInfo, relaybenchVersion } from '../orchestrator/environment.js';
import type { Scenario } from '../scenarios/scenario.js';
import { Coordinator } from './coordinator.js';
import { distError } from './errors.js';
import { checkRunId } from './protocol.js';

export interface RemoteWorkersOptions {
  readonly runId: string;
  readonly scenario: Scenario;
  /** How long to wait for the joiners once Kafka is up. */
  readonly joinTimeoutMs: number;
}

export class RemoteWorkers {
  readonly #o: RemoteWorkersOptions;
  #coordinator: Coordinator | undefined;

  constructor(options: RemoteWorkersOptions) {
    checkRunId(options.runId);
    this.#o = options;
  }

  provisionKafka(base: (o: ProvisionOptions) => Promise<KafkaCluster>): (o: ProvisionOptions) => Promise<KafkaCluster> {
    return async (options) => {
      const cluster = await base(options);
      const log = options.log ?? (() => {});
      const s = this.#o.scenario;
      try {
        log(
          `remote workers: waiting up to ${Math.round(this.#o.joinTimeoutMs / 1000)} s for ${s.workers} joiner(s); on each worker host run:`,
        );
        log(`  relaybench loadgen --join ${this.#o.runId} --brokers ${cluster.brokers.join(',')}`);
        const coordinator = await Coordinator.open({
          runId: this.#o.runId,
          brokers: cluster.brokers,
          scenario: s,
          scenarioYaml: readScenarioText(s.file),
          kafka: { provider: cluster.provider, brokers: cluster.brokers.length, partitions: s.partitions },
          versions: { relaybench: relaybenchVersion(), node: process.versions.node, kafka: cluster.kafkaVersion ?? null, prometheus: null },
          machine: machineInfo(),
          log: (l) => log(`remote workers: ${l}`),
        });
        this.#coordinator = coordinator;
        const t0 = Date.now();
        const joiners = await coordinator.waitForJoiners(s.workers, this.#o.joinTimeoutMs);
        log(
          `remote workers: ${joiners.length} joiner(s) ready after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${joiners.map((j) => `${j.joinerId}@${j.host}`).join(' ')}`,
        );
      } catch (e) {
        await this.#coordinator?.close().catch(() => {});
        await cluster.stop().catch(() => {});
        throw e;
      }
      // A proxy, not a copy: fault scenarios use the local cluster's own methods (kill, restart).
      const stop = async (): Promise<void> => {
        await this.#coordinator?.close().catch(() => {});
        await cluster.stop();
      };
      return new Proxy(cluster, {
        get(target, prop) {
          if (prop === 'stop') return stop;
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    };
  }

  createWorker(id: string, dir: string): Worker {
    if (this.#coordinator === undefined) throw distError('RB_DIST_BAD_OPTION', 'remote workers are created only after Kafka is up.');
    return this.#coordinator.createWorker(id, dir);
  }
}

function readScenarioText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
