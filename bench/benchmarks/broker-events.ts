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
 * the ack p99 (the worst worker's; a second's percentiles are never averaged), and how many
 * seconds were over --slow-ms. A group much slower than `rest` is a broker event the run's
 * latency carries. Exit 0 (reported, not judged); 2 bad arguments or not a run folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import type { WorkerResult } from '../../loadgen/src/worker/contract.js';
import { benchArgs, benchCount, refuseBenchArgs } from '../../testbed/bench/args.js';
import { eventGroup, readBrokerLog, type BrokerEventSeconds, type EventGroup } from './broker-log.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/broker-events.js <run-dir> [--slow-ms N]

Groups a run's measured seconds by what the local broker logged then (log-cleaner passes and
segment rolls of relay.mailbox) and prints each group's per-second ack p99.
  <run-dir>     a run folder with workers/*.result.json and kafka/node-*/server.log
  --slow-ms N   a second is slow when its ack p99 is over N ms (default 50)
  -h, --help    this text
exit codes: 0 the figures were printed (reported, not judged); 2 bad arguments or not a run folder.`,
  valued: ['--slow-ms'],
  positionals: 1,
});

/** The worst worker's ack p99 (ms) in each wall-clock second of the measured window. */
function ackP99BySecond(dir: string): Map<number, number> {
  const bySecond = new Map<number, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.result.json'))) {
    const result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as WorkerResult;
    for (const interval of result.intervals) {
      const encoded = interval.histograms.ack;
      if (encoded === undefined) continue;
      const p99 = decodeFromCompressedBase64(encoded).getValueAtPercentile(99) / 1000;
      const second = Math.floor(interval.startMs / 1000);
      bySecond.set(second, Math.max(bySecond.get(second) ?? 0, p99));
    }
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

function main(): void {
  const runDir = process.argv.slice(2).find((a, i, all) => !a.startsWith('-') && all[i - 1] !== '--slow-ms');
  if (runDir === undefined) refuseBenchArgs('name a run folder.');
  const slowMs = benchCount('--slow-ms', 50);
  let ack: Map<number, number>;
  let events: BrokerEventSeconds;
  try {
    ack = ackP99BySecond(join(runDir, 'workers'));
    events = brokerEvents(join(runDir, 'kafka'));
  } catch (e) {
    refuseBenchArgs(`${runDir} is not a run folder with a local broker's log (${(e as Error).message}).`);
  }
  const groups: Record<EventGroup, number[]> = { cleaner: [], roll: [], rest: [] };
  for (const [second, p99] of ack) groups[eventGroup(second, events)].push(p99);
  for (const g of ['cleaner', 'roll', 'rest'] as const) process.stdout.write(`${g.padEnd(8)} ${describe(groups[g], slowMs)}\n`);
}

main();
