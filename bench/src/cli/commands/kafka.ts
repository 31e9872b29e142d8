import type { Command } from 'commander';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createKafkajsAdapter } from '../../../../relay/kafka/src/index.js';
import { provisionKafka, type ProviderKind } from '../../../../testbed/kafka/provider.js';
import { cacheRoot, ensureKafkaJars, KAFKA_VERSION } from '../../../../testbed/kafka/local/jars.js';
import { ensureBrokerClassArchive } from '../../../../testbed/kafka/local/local-cluster.js';
import { parseBrokers, useExternalCluster } from '../../../../testbed/kafka/external.js';
import { kafkaError } from '../../../../testbed/kafka/errors.js';
import { failAndExit } from '../fail.js';

const stateFile = () => join(cacheRoot(), 'kafka-up.json');
const say = (line: string) => process.stderr.write(`${line}\n`);

function brokerCount(value: string): 1 | 3 {
  if (value === '1' || value === '3') return Number(value) as 1 | 3;
  throw kafkaError('RB_KAFKA_BAD_OPTION', `--count must be 1 or 3, not "${value}".`);
}

function providerKind(value: string): ProviderKind | 'auto' {
  if (value === 'auto' || value === 'local' || value === 'docker') return value;
  throw kafkaError('RB_KAFKA_BAD_OPTION', `--provider must be auto, local or docker, not "${value}".`);
}

export function registerKafka(program: Command): void {
  const kafka = program.command('kafka').description('provision and inspect the Kafka cluster the harness uses');

  kafka
    .command('up')
    .description(
      'start a Kafka cluster (one broker: Docker when an engine answers, else local jars; three: local jars), print its bootstrap servers, stay up until Ctrl-C',
    )
    .option('-n, --count <n>', 'number of brokers: 1 or 3', '1')
    .option('--provider <kind>', 'auto | local | docker', 'auto')
    .option('--dir <path>', 'folder for broker data and logs (default: a new temporary folder)')
    .action(async (opts: { count: string; provider: string; dir?: string }) => {
      try {
        const cluster = await provisionKafka({
          count: brokerCount(opts.count),
          provider: providerKind(opts.provider),
          ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
          log: say,
          env: { ...process.env, KAFKA_BROKERS: undefined },
        });
        mkdirSync(cacheRoot(), { recursive: true });
        writeFileSync(stateFile(), JSON.stringify({ brokers: cluster.brokers, pid: process.pid, logDir: cluster.logDir ?? null }));
        process.stdout.write(`${cluster.brokers.join(',')}\n`);
        say(`Kafka is up (${cluster.provider}). Use: KAFKA_BROKERS=${cluster.brokers.join(',')}  — Ctrl-C stops it.`);
        const shutdown = async () => {
          say('stopping Kafka…');
          await cluster.stop();
          rmSync(stateFile(), { force: true });
          process.exit(0);
        };
        process.removeAllListeners('SIGINT');
        process.removeAllListeners('SIGTERM');
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
      } catch (e) {
        failAndExit(e);
      }
    });

  kafka
    .command('info')
    .description('describe a cluster: brokers, controller, topics (the one from --brokers, KAFKA_BROKERS, or a running `kafka up`)')
    .option('--brokers <list>', 'host:port[,host:port...]')
    .option('--json', 'print JSON')
    .action(async (opts: { brokers?: string; json?: boolean }) => {
      try {
        let list = opts.brokers ?? process.env.KAFKA_BROKERS;
        if (list === undefined && existsSync(stateFile()))
          list = (JSON.parse(readFileSync(stateFile(), 'utf8')) as { brokers: string[] }).brokers.join(',');
        if (list === undefined)
          throw kafkaError(
            'RB_KAFKA_BAD_OPTION',
            'No cluster to describe: pass --brokers, set KAFKA_BROKERS, or run `relaybench kafka up` first.',
          );
        const brokers = parseBrokers(list);
        await useExternalCluster(brokers);
        const admin = await createKafkajsAdapter({ brokers, clientId: 'relaybench-info', rideOutMs: 0 }).admin();
        try {
          const cluster = await admin.describeCluster();
          const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
          const withPartitions = await Promise.all(topics.map(async (t) => ({ topic: t, partitions: await admin.partitionCount(t) })));
          const info = { clusterId: cluster.clusterId, controller: cluster.controller, brokers: cluster.brokers, topics: withPartitions };
          if (opts.json === true) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
          else {
            process.stdout.write(`cluster ${info.clusterId}  controller ${info.controller ?? '-'}\n`);
            for (const b of info.brokers) process.stdout.write(`  broker ${b.nodeId}  ${b.host}:${b.port}\n`);
            for (const t of info.topics) process.stdout.write(`  topic ${t.topic}  ${t.partitions} partitions\n`);
          }
        } finally {
          await admin.close();
        }
      } catch (e) {
        failAndExit(e);
      }
    });

  kafka
    .command('fetch')
    .description(
      `resolve the Apache Kafka ${KAFKA_VERSION} jars with Maven into the cache (${cacheRoot()}), and make the brokers' class archive for this java, if missing`,
    )
    .action(async () => {
      try {
        const home = await ensureKafkaJars({ log: say });
        await ensureBrokerClassArchive(say);
        say(`Kafka jars ready in ${home}`);
      } catch (e) {
        failAndExit(e);
      }
    });
}
