/**
 * The load generator's scheduling priority when it shares the host with the system under test.
 *
 * Why: on one machine the workers compete with Kafka and the relays for the same cores. Under the
 * normal scheduler a worker waits on the run queue whenever their threads hold both cores (measured
 * on 2 cores at 200 msg/s: 0.40 s per second), so its sends leave late and the run ends
 * generator-bound although the system kept up. wrk2's rule is to measure from the intended send
 * time *and* to keep the generator's own clock honest; on a shared host the way to do the second
 * is to serve the generator first. So each local worker's event-loop thread runs under SCHED_FIFO
 * priority 1 (`chrt`): the lowest real-time priority, above every normal thread, below the
 * kernel's own. `nice -n -20` does not do it (measured: lag as without it); EEVDF weights shares,
 * while a real-time thread runs the moment it wakes. The system's latency then includes the
 * contention the generator causes, which is what a user on the same host would see; the CPU is
 * the same (A/B in docs/measurements.md, "Night of 2026-12-04").
 *
 * Two guards. A measured live-lock: two workers with every thread real-time on 2 cores never got
 * past Node's start-up (each main thread spun on a CPU while the helper threads it waited for, at
 * the same priority, never ran). So only the main thread is real-time (`--reset-on-fork`: V8's and
 * libuv's threads are normal, and get the 5 % of every second the kernel keeps for normal threads,
 * sched_rt_runtime_us), at most one core per worker. That alone ended the live-lock: two such
 * workers on 2 cores ran `smoke`, `ramp --workers 2` to 1,500 msg/s and `steady`'s connect phase
 * and 90 s of its load (docs/measurements.md, "Late night"). And no more real-time workers than
 * cores: a worker's event loop blocks on I/O (0.3–0.4 core each at the ramp's top), so the system
 * under test keeps the rest; more workers than cores could hold every core between them.
 *
 * Where real-time scheduling is refused (no CAP_SYS_NICE, no `chrt`), the run falls back to the
 * normal scheduler and says so in its log and summary; `--generator-priority normal` asks for that.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export type GeneratorPriorityMode = 'realtime' | 'normal';
export const GENERATOR_PRIORITY_MODES: readonly GeneratorPriorityMode[] = ['realtime', 'normal'];

export interface GeneratorPriority {
  readonly requested: GeneratorPriorityMode;
  readonly applied: GeneratorPriorityMode;
  /** What was applied, or why the request fell back. */
  readonly detail: string;
  /** Put before the worker's command line (empty under the normal scheduler). */
  readonly prefix: readonly string[];
}

export const REALTIME_PREFIX: readonly string[] = ['chrt', '--fifo', '--reset-on-fork', '1'];

/** undefined when REALTIME_PREFIX can start this Node; otherwise why not, in one sentence. */
export function probeRealtime(): string | undefined {
  const r = spawnSync(REALTIME_PREFIX[0]!, [...REALTIME_PREFIX.slice(1), process.execPath, '--version'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.error !== undefined) return `chrt could not run (${r.error.message}); it comes with util-linux`;
  if (r.status !== 0) return `chrt refused: ${(r.stderr || `exit ${r.status}`).trim()}`;
  return undefined;
}

/**
 * `workersAtOnce`: the most local workers that run at the same time (an alongside reference adds
 * its own); `cores`: the host's. Real-time needs workersAtOnce ≤ cores (see above).
 */
export function resolveGeneratorPriority(
  requested: GeneratorPriorityMode,
  workersAtOnce: number,
  cores: number = availableParallelism(),
  probe: () => string | undefined = probeRealtime,
): GeneratorPriority {
  if (requested === 'normal') return { requested, applied: 'normal', detail: 'the normal scheduler (as asked)', prefix: [] };
  if (workersAtOnce > cores)
    return {
      requested,
      applied: 'normal',
      detail: `the normal scheduler: ${workersAtOnce} worker(s) at once on ${cores} core(s): real-time takes at most one worker per core`,
      prefix: [],
    };
  const refused = probe();
  if (refused === undefined)
    return { requested, applied: 'realtime', detail: 'SCHED_FIFO priority 1 for each event-loop thread (chrt)', prefix: REALTIME_PREFIX };
  return { requested, applied: 'normal', detail: `the normal scheduler: ${refused}`, prefix: [] };
}

/** `realtime — SCHED_FIFO priority 1 for each event-loop thread (chrt)`: for the run's log, summary.md and the report. */
export function priorityText(p: Pick<GeneratorPriority, 'applied' | 'detail'>): string {
  return `${p.applied} — ${p.detail}`;
}
