/**
 * A load-generator worker as a child process (`relaybench loadgen --plan … --result …`) behind
 * the contract's Worker interface (STYLE §10), under the process supervisor. Progress comes
 * from its stdout JSON lines; the result from the file it writes. stop() sends SIGTERM: the
 * worker ends early and still writes its result (SIGKILL after `stopGraceMs`).
 * Listeners run synchronously on the event loop; one start() per instance.
 */
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Worker, WorkerPlan, WorkerProgress, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { spawnSupervised, stopSupervised, type Supervised } from '../../../testbed/process/supervisor.js';
import { runError } from './errors.js';

export interface ProcessWorkerOptions {
  readonly cli: string;
  /** Folder for the plan, the result and the log. */
  readonly dir: string;
  readonly stopGraceMs?: number;
  /** Put before the command line, e.g. `chrt --fifo 1` (generator-priority.ts). */
  readonly prefix?: readonly string[];
}

/**
 * V8 flags of every local worker. `--single-threaded-gc`: a scavenge in the worker otherwise
 * hands work to helper threads and its main thread (real-time priority, generator-priority.ts)
 * waits for them, while they take the other core from the relays and Kafka. On this 2-core host
 * that put a spike in the run's per-second e2e p99 every ≈ 7.5 s; without the helpers, `smoke`'s
 * e2e p99 fell in 6 of 6 interleaved pairs (docs/measurements.md, night of 2026-12-05/06).
 * `--max-semi-space-size=4` (MiB; V8's default grows to 16): a scavenge stops the event loop for
 * as long as it takes to copy the survivors and to sweep the native objects (a cipher, HMACs and
 * their buffers per message) that died since the last one. At 500 msg/s per worker, a 16 MiB
 * young generation meant one ≈ 12 ms pause a second, and those pauses made 60 s of `steady` at
 * 1,000 msg/s generator-bound in 3 of 4 runs (schedule lag p99 > 10 ms two seconds running; 0 of
 * 4 with the cap). At 4 MiB the pauses are ≈ 3–4 ms, four times as many, 10–20 % more GC time
 * in all (≈ 0.003 core per worker at that rate); measured in docs/measurements.md, 2026-12-07.
 * The old generation's compaction still stops the loop every ≈ 6 s (≈ 7 ms since the ratchet
 * keeps its chain keys in place, ≈ 10 ms before), much of it freeing dead ArrayBuffers. Helper
 * threads for it only (`--no-parallel-scavenge` or `--no-concurrent-marking` instead of
 * `--single-threaded-gc`) halved that pause but let scavenges stall up to 90 ms, and the finer
 * flag combinations crash V8 (notebook, late afternoon of 2026-12-07).
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=4'];

/** The worker's command line: `[prefix…] node [flags…] <cli> loadgen --plan … --result …`. */
export function workerCommand(cli: string, prefix: readonly string[], planPath: string, resultPath: string): string[] {
  return [...prefix, process.execPath, ...WORKER_NODE_FLAGS, cli, 'loadgen', '--plan', planPath, '--result', resultPath];
}

export class ProcessWorker implements Worker {
  readonly id: string;
  readonly #o: ProcessWorkerOptions;
  readonly #listeners: ((p: WorkerProgress) => void)[] = [];
  #proc: Supervised | undefined;
  #result: Promise<WorkerResult> | undefined;

  constructor(id: string, options: ProcessWorkerOptions) {
    this.id = id;
    this.#o = options;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  onProgress(listener: (p: WorkerProgress) => void): void {
    this.#listeners.push(listener);
  }

  async start(plan: WorkerPlan): Promise<void> {
    if (this.#proc !== undefined) throw new Error(`worker ${this.id} already started`);
    const planPath = join(this.#o.dir, `${this.id}.plan.json`);
    const resultPath = join(this.#o.dir, `${this.id}.result.json`);
    await writeFile(planPath, `${JSON.stringify(plan, null, 1)}\n`);
    const [command, ...args] = workerCommand(this.#o.cli, this.#o.prefix ?? [], planPath, resultPath);
    const proc = spawnSupervised(`loadgen-${this.id}`, command!, args);
    this.#proc = proc;
    const log = createWriteStream(join(this.#o.dir, `${this.id}.log`));
    let tail = '';
    proc.child.stderr?.on('data', (d: Buffer) => {
      log.write(d);
      tail = (tail + d.toString()).slice(-3000);
    });
    let done: string | undefined;
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let msg: { event?: string; result?: string } & Partial<WorkerProgress>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        log.write(`${line}\n`);
        return;
      }
      if (msg.event === 'progress') {
        const { event: _e, ...progress } = msg;
        for (const l of this.#listeners) l(progress as WorkerProgress);
      } else if (msg.event === 'done' && typeof msg.result === 'string') done = msg.result;
    });
    this.#result = proc.exited.then(async ({ code, signal }) => {
      log.end();
      const lastLines = tail.trim().split('\n').slice(-6).join(' | ');
      if (code !== 0 && done === undefined)
        throw runError('RB_RUN_INFRA_WORKER', `${this.id} exited ${code ?? signal} without a result: ${lastLines}`);
      return readWorkerResult(done ?? resultPath, this.id);
    });
    this.#result.catch(() => {}); // observed through result()
  }

  result(): Promise<WorkerResult> {
    if (this.#result === undefined) return Promise.reject(new Error(`worker ${this.id} not started`));
    return this.#result;
  }

  async stop(): Promise<void> {
    if (this.#proc !== undefined) await stopSupervised(this.#proc, this.#o.stopGraceMs ?? 30_000);
  }
}

/** Reads and sanity-checks a WorkerResult file (the fields the bench relies on). */
export async function readWorkerResult(path: string, id: string): Promise<WorkerResult> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw runError('RB_RUN_INFRA_RESULT', `${id}: ${path}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const r = raw as Partial<WorkerResult> | null;
  const problems: string[] = [];
  if (r === null || typeof r !== 'object') problems.push('not an object');
  else {
    if (!Array.isArray(r.intervals)) problems.push('intervals is not a list');
    if (!Array.isArray(r.counts)) problems.push('counts is not a list');
    if (r.ledger === undefined || typeof r.ledger.sent !== 'number') problems.push('ledger.sent is missing');
    for (const k of ['measureStartMs', 'startedMs', 'endedMs', 'targetRatePerSec', 'achievedRatePerSec', 'maxScheduleLagUs'] as const)
      if (typeof r[k] !== 'number') problems.push(`${k} is not a number`);
    if (typeof r.generatorBound !== 'boolean') problems.push('generatorBound is not a boolean');
  }
  if (problems.length > 0) throw runError('RB_RUN_INFRA_RESULT', `${id}: ${path}: ${problems.join('; ')}.`);
  return raw as WorkerResult;
}
