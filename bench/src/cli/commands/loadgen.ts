import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadgenError } from '../../../../loadgen/src/errors.js';
import { planFromFlags, type LoadgenFlags } from '../../../../loadgen/src/flags.js';
import { runWorkerProcess } from '../../../../loadgen/src/process.js';
import { validatePlan } from '../../../../loadgen/src/worker/plan.js';
import type { WorkerPlan } from '../../../../loadgen/src/worker/contract.js';
import { failAndExit } from '../fail.js';
import { joinAndExit } from '../../distributed/cli.js';

async function readPlan(path: string): Promise<WorkerPlan> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw loadgenError('RB_LOADGEN_PLAN_FILE', `${path}: ${e instanceof Error ? e.message : String(e)}.`, e);
  }
  return validatePlan(raw);
}

export function registerLoadgen(program: Command): void {
  program
    .command('loadgen')
    .description('run one load-generator worker: encrypted virtual users, open-loop sends, exact ledger, HDR histograms')
    .option('--plan <file.json>', 'a WorkerPlan (loadgen/src/worker/contract.ts), as the bench orchestrator writes it')
    .option('--result <out.json>', 'where to write the WorkerResult JSON (default results/loadgen-<time>.json)')
    .option('--hlog-dir <dir>', 'also write one HdrHistogram interval log (.hlog) per stage here')
    .option('--relays <urls>', 'relay WebSocket URLs, comma-separated (ws://127.0.0.1:8080/,...)')
    .option('--mode <mode>', 'relay | kafka-direct (the bare-Kafka reference path)', 'relay')
    .option('--brokers <list>', 'Kafka bootstrap servers for kafka-direct mode (host:port,...)')
    .option('--users <n>', 'virtual users in this worker (both ends of every conversation)')
    .option('--rate <msg/s>', 'aggregate send rate after the ramp')
    .option('--duration <time>', 'measured window, after the warm-up (30s, 2m, ...)')
    .option('--warmup <time>', 'warm-up, excluded from the histograms')
    .option('--drain <time>', 'after the last send: wait this long at most for deliveries and receipts')
    .option('--ramp <time>', 'linear ramp of the rate from 0')
    .option('--arrivals <kind>', 'poisson | constant')
    .option('--recipients <choice>', 'uniform | zipf[:s] | pairs | groups[:size]')
    .option('--size <bytes>', 'plaintext size: 200 | 100-2000 | lognormal:<median>:<sigma>:<max>')
    .option('--read-delay <time>', 'delay from delivery to read')
    .option('--online-fraction <f>', 'share of users online at the start (the others come back later)')
    .option('--churn <p>', 'per-user probability per second of going offline')
    .option('--offline <time>', 'how long a churned user stays offline')
    .option('--seed <n>', 'PRNG seed')
    .option('--token-secret <secret>', 'HMAC secret of the relays (or RELAY_TOKEN_SECRET)')
    .option('--source-addresses <list>', 'local addresses to spread sockets over (127.0.0.2,127.0.0.3,...)')
    .option('--metrics-port <port>', 'GET /metrics port (0 = any free port, -1 = none)')
    .option('--max-schedule-lag <time>', 'schedule lag p99 above which the run is generator-bound (default 10ms)')
    .option('--worker-id <id>', 'worker id (metrics label, user prefix)')
    .option('--user-prefix <prefix>', 'prefix of the virtual user ids (unique per run)')
    .option('--run-id <id>', 'run id for the run_id metrics label')
    .option(
      '--no-routing-hint',
      "do not use GET /routes (by default each user connects to its partition's owner among --relays, matched by gateway id when --relays are proxies in front of the relays); spread users round robin over --relays",
    )
    .option(
      '--join <run-id>',
      'join a distributed run through Kafka (--brokers or KAFKA_BROKERS): get plans from relaybench.control.<run-id>, publish results to relaybench.results.<run-id>',
    )
    .option('--worker-name <name>', "with --join: this worker's name in the run (default: the host name)")
    .option('--join-timeout <time>', 'with --join: give up when no (further) plan comes within this (default 10m; exit 3)')
    .addHelpText(
      'after',
      `
Either --plan (the bench orchestrator) or the ad-hoc flags. stdout: one JSON line per event,
{"event":"progress",...} about once a second and {"event":"done","result":"<path>"} at the end;
human progress on stderr. SIGTERM/SIGINT stop early and still write the result. A generator-bound
run completes (exit 0) but is marked invalid in the result. Bad input: exit 2; relays (or Kafka) that do
not answer: exit 3.
--join <run-id>: the plans come from the run's coordinator (\`relaybench run --remote-workers\`);
only --brokers, --worker-name, --join-timeout, --metrics-port, --source-addresses and --result
(a folder for local copies of the results) apply. Exit 0 when the coordinator ended the run, 3 when
no plan came in time or a plan failed, 130 when interrupted before any plan. docs/distributed.md`,
    )
    .action(
      async (
        o: LoadgenFlags & { plan?: string; result?: string; hlogDir?: string; join?: string; workerName?: string; joinTimeout?: string },
      ) => {
        if (o.join !== undefined) await joinAndExit({ ...o, join: o.join });
        try {
          const plan = o.plan !== undefined ? await readPlan(o.plan) : planFromFlags(o, process.env.RELAY_TOKEN_SECRET);
          const resultPath = o.result ?? `results/loadgen-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
          await runWorkerProcess({ plan, resultPath, ...(o.hlogDir === undefined ? {} : { hlogDir: o.hlogDir }) });
          process.exit(0);
        } catch (e) {
          failAndExit(e);
        }
      },
    );
}
