/**
 * Fresh-Kafka start loop (not a test; issue 14): `node dist/bench/benchmarks/fresh-kafka-relay-starts.js [starts]`.
 * Each start: a new 1-broker Kafka, then two relay processes spawned at the same moment (the
 * order alternates: r1 first on even starts, r2 first on odd), until both are ready. Counts the
 * starts where a relay exited or never became ready (a fresh cluster's passing states — "does not
 * host this topic-partition", "coordinator is loading" — must be ridden out, not fatal), and how
 * many of the adapter's retry lines the relays logged.
 */
import { startTestKafka } from '../../test/helpers/kafka.js';
import { startRelayProcess, waitAllReady, type RelayProcess } from '../../test/helpers/relays.js';
import { benchArgs } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/fresh-kafka-relay-starts.js [starts=20]

Each start: a new 1-broker Kafka, then two relays spawned at the same moment (the order
alternates), until both are ready. Counts the starts where a relay failed, and the retriable
Kafka errors ridden out.
  starts       how many fresh starts (default 20)
  -h, --help   this text
exit codes: 0 every start came up; 1 at least one failed; 2 bad arguments.`,
  positionals: 1,
  numeric: [0],
});

const starts = Number(process.argv[2] ?? 20);

// The relays' stderr reaches this process when RELAYBENCH_TEST_VERBOSE is set (test/helpers/relays.ts):
// count the adapter's retry lines there, and keep the rest of it out of the summary.
process.env.RELAYBENCH_TEST_VERBOSE = '1';
let retryLines = 0;
process.stderr.write = ((chunk: string | Uint8Array) => {
  retryLines += (String(chunk).match(/retriable, retrying|kafkajs restarts it/g) ?? []).length;
  return true;
}) as typeof process.stderr.write;

async function once(i: number): Promise<{ ok: boolean; detail: string; retries: number }> {
  const kafka = await startTestKafka(1);
  const ids = i % 2 === 0 ? ['r1', 'r2'] : ['r2', 'r1'];
  const before = retryLines;
  const relays: RelayProcess[] = [];
  const retries = () => retryLines - before;
  try {
    const started = await Promise.allSettled(ids.map((gatewayId) => startRelayProcess(kafka.brokers, { gatewayId })));
    for (const s of started) if (s.status === 'fulfilled') relays.push(s.value);
    const failed = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length > 0) return { ok: false, detail: failed.map((f) => String(f.reason).slice(0, 300)).join(' | '), retries: retries() };
    await waitAllReady(relays, 90_000);
    return { ok: true, detail: `order ${ids.join(',')}`, retries: retries() };
  } catch (e) {
    return { ok: false, detail: String(e).slice(0, 300), retries: retries() };
  } finally {
    await Promise.all(relays.map((r) => r.stop().catch(() => {})));
    await kafka.stop();
  }
}

let failures = 0;
for (let i = 0; i < starts; i++) {
  const t0 = Date.now();
  const r = await once(i);
  if (!r.ok) failures++;
  console.log(
    `start ${i + 1}/${starts}: ${r.ok ? 'both ready' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${r.detail}; ${r.retries} retriable Kafka error(s) ridden out)`,
  );
}
console.log(
  `fresh-kafka relay starts: ${starts - failures}/${starts} came up, ${failures} failure(s); ${retryLines} retriable Kafka error(s) ridden out in all`,
);
process.exit(failures === 0 ? 0 : 1);
