import type { Command } from 'commander';
import { failAndExit } from '../fail.js';
import { join } from 'node:path';
import { provisionKafka } from '../../../../testbed/kafka/provider.js';
import { resolveRunConfig, type RunFlags } from '../../orchestrator/config.js';
import { runScenario } from '../../orchestrator/run.js';
import { workersAtOnce } from '../../orchestrator/segments.js';
import { RelayFleet } from '../../orchestrator/sut.js';
import { ProcessWorker } from '../../orchestrator/worker-process.js';
import { resolveGeneratorPriority } from '../../orchestrator/generator-priority.js';
import { freePorts } from '../../../../testbed/process/ports.js';
import { detectPrometheus, startPrometheus } from '../../prometheus/index.js';
import { DEFAULT_SCENARIO, listScenarios, loadScenario, REPO_ROOT } from '../../scenarios/loader.js';
import { DEFAULT_REMOTE_JOIN_TIMEOUT_MS, durationFlag } from '../../distributed/cli.js';
import { RemoteWorkers } from '../../distributed/remote-run.js';
import { makeRunId } from '../../results/store.js';

const CLI = join(REPO_ROOT, 'dist', 'bench', 'src', 'cli', 'main.js');

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a scenario end to end: Kafka, relays, workers (and Prometheus when installed); write results/<run-id>/')
    .argument('[scenario]', `a name in bench/scenarios/ (${listScenarios().join(', ')}) or a path to a .yaml file`, DEFAULT_SCENARIO)
    .option('--brokers <list>', 'use this Kafka (host:port,...) instead of provisioning one (or KAFKA_BROKERS)')
    .option('--kafka-provider <kind>', 'auto | docker | local | external')
    .option('--prometheus <mode>', 'auto (start `prometheus` when installed) | off | http://host:9090 (env RELAYBENCH_PROMETHEUS)')
    .option('--results-dir <dir>', 'parent folder of run folders (env RELAYBENCH_RESULTS_DIR; default results)')
    .option('--run-id <id>', 'run folder name (default YYYYMMDD-HHMMSS-<scenario>, UTC)')
    .option('--duration <time>', 'override the measured duration (30s, 5m; env RELAYBENCH_DURATION)')
    .option('--warmup <time>', 'override the warm-up (env RELAYBENCH_WARMUP)')
    .option(
      '--first-warmup <time>',
      "override the first segment's warm-up, used when longer than --warmup: a fresh broker and relays are still compiling (env RELAYBENCH_FIRST_WARMUP)",
    )
    .option('--rate <msg/s>', 'override the total send rate (env RELAYBENCH_RATE)')
    .option('--workers <n>', 'override the number of load-generator processes')
    .option('--relays <n>', 'override the number of relay processes')
    .option('--reference <mode>', 'kafka-direct | none: run the bare-Kafka reference beside the relay path')
    .option(
      '--reference-timing <when>',
      'after (the reference follows the relay segments, same rate) | alongside (same window as the relay segment, lower rate: what the gate uses)',
    )
    .option('--reference-rate <n>', 'msg/s of an alongside reference (default: a quarter of the relay rate)')
    .option(
      '--generator-priority <mode>',
      "realtime (default: each local worker's event loop under SCHED_FIFO 1 via chrt, so it keeps its schedule on a shared host; normal when refused or with more workers at once than cores) | normal (env RELAYBENCH_GENERATOR_PRIORITY)",
    )
    .option(
      '--kafka-client <name>',
      'platformatic (default: @platformatic/kafka) | kafkajs: the Kafka client of the relays and the kafka-direct reference (env RELAYBENCH_KAFKA_CLIENT); see docs/measurements.md',
    )
    .option('--no-progress', 'no live progress lines')
    .option(
      '--remote-workers',
      "the workers are `relaybench loadgen --join <run-id>` processes reached through the run's Kafka (any host); see docs/distributed.md",
    )
    .option(
      '--relay-host <address>',
      'address the relays listen on and advertise in /routes (default 127.0.0.1); with --remote-workers, one the joiners can reach',
    )
    .option('--join-timeout <time>', 'with --remote-workers: how long to wait for the joiners once Kafka is up (default 5m)')
    .addHelpText(
      'after',
      `
Layers: defaults → scenario file → environment → flags (the effective values are printed first).
Exit: 0 every objective passed · 1 an objective failed · 2 bad input, or an invalid run (messages
lost, generator-bound) · 3 infrastructure (Kafka, a relay or a worker failed) · 130 Ctrl-C.`,
    )
    .action(async (scenarioArg: string, flags: RunFlags & { remoteWorkers?: boolean; joinTimeout?: string; relayHost?: string }) => {
      try {
        let cfg = resolveRunConfig(loadScenario(scenarioArg), flags, process.env);
        // Remote workers: the joiners need the run id before the run starts, so it is fixed here.
        let remote: RemoteWorkers | undefined;
        if (flags.remoteWorkers === true) {
          const runId = cfg.runId ?? makeRunId(cfg.scenario.name);
          cfg = { ...cfg, runId };
          remote = new RemoteWorkers({
            runId,
            scenario: cfg.scenario,
            joinTimeoutMs: durationFlag(flags.joinTimeout, '--join-timeout', DEFAULT_REMOTE_JOIN_TIMEOUT_MS),
          });
        }
        // Only local workers: remote ones are scheduled by whoever starts them.
        const priority =
          remote === undefined
            ? resolveGeneratorPriority(cfg.generatorPriority, workersAtOnce(cfg.scenario, cfg.referenceTiming))
            : undefined;
        const { summary } = await runScenario(cfg, {
          provisionKafka: remote === undefined ? provisionKafka : remote.provisionKafka(provisionKafka),
          createFleet: (o) => new RelayFleet({ ...o, cli: CLI, ...(flags.relayHost === undefined ? {} : { host: flags.relayHost }) }),
          createWorker: (id, dir) =>
            remote === undefined ? new ProcessWorker(id, { cli: CLI, dir, prefix: priority?.prefix ?? [] }) : remote.createWorker(id, dir),
          ...(priority === undefined ? {} : { generatorPriority: priority }),
          freePorts: (n) => freePorts(n),
          detectPrometheus: (mode) => detectPrometheus(mode),
          startPrometheus,
          stderr: process.stderr,
          stdout: process.stdout,
        });
        process.exit(summary.exitCode);
      } catch (e) {
        failAndExit(e);
      }
    });
}
