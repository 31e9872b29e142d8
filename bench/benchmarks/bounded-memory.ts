/**
 * What remembering the last N ids costs per new id (a benchmark, not a test):
 *   node dist/bench/benchmarks/bounded-memory.js [--inserts N]
 *
 * The worker's ledger remembers its last 100,000 retired message ids, a relay's router the last
 * 20,000 resolved ones per partition: one insert (and one lookup) per message, forever. Two ways:
 *   - a Set trimmed by deleting its oldest id, `set.values().next().value`. V8 leaves a deleted
 *     entry as a hole in the Set's table until it rehashes, and `values().next()` walks from the
 *     front over every hole, so once the Set is full each insert pays for thousands of holes;
 *   - lru-cache (what the ledger and the router use): a linked list over preallocated slots.
 * Each is filled to N and then fed `--inserts` more ids; µs of CPU per insert over those, which is
 * what a long run pays per message once it has seen N. On 2 shared cores take the machine lock
 * first (`rb-heavy node …`). About 10 s. Exit 0 (reported, not judged).
 */
import { LRUCache } from 'lru-cache';
import { benchArgs, benchCount } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/bounded-memory.js [--inserts N]

What one new id costs in a memory of the last N ids, a trimmed Set against lru-cache, at the
ledger's and the router's N. About 10 s.
  --inserts N   ids fed after each memory is full (default 300000)
  -h, --help    this text
exit codes: 0 the figures were printed (reported, not judged); 2 bad arguments.`,
  valued: ['--inserts'],
});

const INSERTS = benchCount('--inserts', 300_000);

interface Memory {
  has(id: string): boolean;
  remember(id: string): void;
}

function trimmedSet(limit: number): Memory {
  const set = new Set<string>();
  return {
    has: (id) => set.has(id),
    remember(id) {
      set.add(id);
      if (set.size > limit) set.delete(set.values().next().value as string);
    },
  };
}

function lru(limit: number): Memory {
  const cache = new LRUCache<string, true>({ max: limit });
  return { has: (id) => cache.has(id), remember: (id) => cache.set(id, true) };
}

/** µs of CPU per id once `memory` holds `limit` ids (a lookup of the id, then its insert). */
function perInsertUs(memory: Memory, limit: number): number {
  for (let i = 0; i < limit; i++) memory.remember(`user-${i % 997}/m-${i}`);
  const c0 = process.cpuUsage();
  for (let i = limit; i < limit + INSERTS; i++) {
    const id = `user-${i % 997}/m-${i}`;
    if (!memory.has(id)) memory.remember(id);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / INSERTS;
}

process.stderr.write(`bounded-memory: ${INSERTS} ids after each memory is full, about 10 s\n`);
for (const limit of [20_000, 100_000]) {
  const set = perInsertUs(trimmedSet(limit), limit);
  const cache = perInsertUs(lru(limit), limit);
  process.stdout.write(
    `last ${limit.toLocaleString('en')} ids: trimmed Set ${set.toFixed(2)} µs per id · lru-cache ${cache.toFixed(2)} µs per id\n`,
  );
}
