/**
 * Which seconds of a finished run were slow, and what the broker was doing then (an analysis of
 * a run folder, not a test):
 *   node dist/bench/benchmarks/broker-events.js <run-dir> [--slow-ms N]
 *
 * Reads the workers' per-second histograms (`<run-dir>/workers/*.result.json`) and the local
 * broker's log (`<run-dir>/kafka/node-*\/server.log`, which names every segment roll and every
 * log-cleaner pass). Each measured second goes in one group: `cleaner` when the cleaner worked
 * on relay.mailbox in that second or the one before, else `roll` when a relay.mailbox segment
 * rolled then, else `rest`. Per group: the seconds, the median, p90 and max over those seconds of
 * the second's ack p99 (all workers' acks of that second in one histogram, never percentiles
 * combined), and how many seconds were over --slow-ms. A group much slower than `rest` is a broker event the run's
 * latency carries. Exit 0 (reported, not judged); 2 bad arguments or not a run folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { benchArgs, benchCount, benchPositionals, refuseBenchArgs, type BenchArgsSpec } from '../../testbed/bench/args.js';
import { readWorkerResult } from '../src/orchestrator/worker-process.js';
import { mergeWorkerResults } from '../src/results/merge.js';
import { eventGroup, readBrokerLog, type BrokerEventSeconds, type EventGroup } from './broker-log.js';

const ARGS: BenchArgsSpec = {
  usage: `usage: node dist/bench/benchmarks/broker-events.js <run-dir> [--slow-ms N]

Groups a run's measured seconds by what the local broker logged then (log-cleaner passes and
segment rolls of relay.mailbox) and prints each group's per-second ack p99.
  <run-dir>     a run folder with workers/*.result.json and kafka/node-*/server.log
  --slow-ms N   a second is slow when its ack p99 is over N ms (default 50)
  -h, --help    this text
exit codes: 0 the figures were printed (reported, not judged); 2 bad arguments or not a run folder.`,
  valued: ['--slow-ms'],
  positionals: 1,
};
benchArgs(ARGS);

/**
 * Each second's ack p99 (ms) over all workers: the workers' 1 s histograms merged per second by
 * mergeWorkerResults, as the run's own series are, and keyed by the wall-clock second they began in.
 */
async function ackP99BySecond(dir: string): Promise<Map<number, number>> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.result.json'));
  const results = await Promise.all(files.map((f) => readWorkerResult(join(dir, f), f)));
  const bySecond = new Map<number, number>();
  for (const interval of mergeWorkerResults(results).intervals) {
    const ack = decodeFromCompressedBase64(interval.histograms.ack);
    if (ack.totalCount === 0) continue;
    const second = Math.floor(interval.startMs / 1000);
    bySecond.set(second, Math.max(bySecond.get(second) ?? 0, ack.getValueAtPercentile(99) / 1000));
  }
  return bySecond;
}

/** The cleaner passes and rolls of relay.mailbox that each broker of the run logged. */
function brokerEvents(kafkaDir: string): BrokerEventSeconds {
  const events: BrokerEventSeconds = { cleaner: new Set(), roll: new Set() };
  for (const node of readdirSync(kafkaDir).filter((d) => d.startsWith('node-')))
    readBrokerLog(readFileSync(join(kafkaDir, node, 'server.log'), 'utf8').split('\n'), events);
  return events;
}

function describe(values: number[], slowMs: number): string {
  if (values.length === 0) return 'no seconds';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  const slow = sorted.filter((v) => v > slowMs).length;
  return `${sorted.length} s · ack p99 median ${at(0.5)} · p90 ${at(0.9)} · max ${at(1)} ms · over ${slowMs} ms: ${slow} s`;
}

async function main(): Promise<void> {
  const [runDir] = benchPositionals(ARGS);
  if (runDir === undefined) refuseBenchArgs('name a run folder.');
  const slowMs = benchCount('--slow-ms', 50);
  let ack: Map<number, number>;
  let events: BrokerEventSeconds;
  try {
    ack = await ackP99BySecond(join(runDir, 'workers'));
    events = brokerEvents(join(runDir, 'kafka'));
  } catch (e) {
    refuseBenchArgs(`${runDir} is not a run folder with a local broker's log (${(e as Error).message}).`);
  }
  const groups: Record<EventGroup, number[]> = { cleaner: [], roll: [], rest: [] };
  for (const [second, p99] of ack) groups[eventGroup(second, events)].push(p99);
  for (const g of ['cleaner', 'roll', 'rest'] as const) process.stdout.write(`${g.padEnd(8)} ${describe(groups[g], slowMs)}\n`);
}

await main();
