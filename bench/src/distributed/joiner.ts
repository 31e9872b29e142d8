/**
 * `relaybench loadgen --join <run-id>`: a load-generator worker on any host that reaches the
 * run's Kafka. It announces itself on the control topic, runs every plan the coordinator
 * assigns to it with the in-process LocalWorker (as `loadgen --plan` does), streams progress and
 * publishes each WorkerResult (gzip, chunked) to the results topic, and exits when the
 * coordinator ends the run. One joiner serves every segment of a run, one plan at a time.
 * Process-wide state (signals, exit) stays in the CLI: interrupt() is what a signal calls.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { createKafkajsAdapter, type Admin } from '../../../relay/kafka/src/index.js';
import { isRelaybenchError } from '../../../relay/protocol/src/relaybench-error.js';
import { writeResult } from '../../../loadgen/src/process.js';
import type { WorkerPlan, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { LocalWorker } from '../../../loadgen/src/worker/local-worker.js';
import { validatePlan } from '../../../loadgen/src/worker/plan.js';
import { ProgressPrinter } from '../../../loadgen/src/worker/progress-printer.js';
import { distError } from './errors.js';
import {
  checkRunId,
  controlTopic,
  decodeControl,
  encodeResultChunks,
  resultChunkMessages,
  type AssignMessage,
  type ControlMessage,
  type FromWorker,
  type JoinerFacts,
} from './protocol.js';
import { endOffset, ensureRunTopics, readRunLog, RunLogWriter, type RunLogReader } from './run-log.js';

/** A joiner repeats its join this often until it has a plan (and at once when a coordinator appears). */
export const JOIN_REPEAT_MS = 2000;
/** Sign of life while a plan runs. */
export const ALIVE_EVERY_MS = 2000;

export interface JoinerOptions {
  readonly runId: string;
  readonly brokers: readonly string[];
  /** --worker-name (default: the host name). */
  readonly name?: string;
  /** How long to wait for a (next) assignment. */
  readonly joinTimeoutMs: number;
  /** --metrics-port; default 0 (any free port): the coordinator cannot know this host's free ports. */
  readonly metricsPort?: number;
  /** --source-addresses of this host (default: the plan's, normally none). */
  readonly sourceAddresses?: readonly string[];
  /** Also write each WorkerResult here as <workerId>.result.json. */
  readonly resultDir?: string;
  /** JSON event lines (stdout in the CLI). */
  readonly events: NodeJS.WritableStream;
  /** Human progress (stderr in the CLI). */
  readonly log: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface JoinerOutcome {
  readonly joinerId: string;
  readonly assignments: number;
  readonly published: number;
  readonly failed: number;
  readonly reason: 'end' | 'idle-timeout' | 'interrupted';
}

type Wake = { kind: 'assign'; m: AssignMessage } | { kind: 'end' } | { kind: 'interrupt' } | { kind: 'crash'; error: Error };

export class Joiner {
  readonly facts: JoinerFacts;
  readonly #o: JoinerOptions;
  readonly #queue: Wake[] = [];
  #wakeup: (() => void) | null = null;
  #current: { assignmentId: string; worker: LocalWorker } | undefined;
  readonly #stopped = new Set<string>();
  #quitting = false;
  #assignments = 0;
  #writer: RunLogWriter | undefined;

  constructor(options: JoinerOptions) {
    checkRunId(options.runId);
    if (options.brokers.length === 0) throw distError('RB_DIST_BAD_OPTION', "--join needs --brokers (or KAFKA_BROKERS): the run's Kafka.");
    this.#o = options;
    const name = (options.name ?? hostname()).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'joiner';
    this.facts = {
      joinerId: `${name}-${randomBytes(3).toString('hex')}`,
      name,
      host: hostname(),
      cores: availableParallelism(),
      pid: process.pid,
    };
  }

  /** SIGTERM/SIGINT: stop the running plan early (its result is still published), then leave. */
  interrupt(): void {
    this.#quitting = true;
    void this.#current?.worker.stop();
    this.#push({ kind: 'interrupt' });
  }

  async run(): Promise<JoinerOutcome> {
    const { runId } = this.#o;
    const id = this.facts.joinerId;
    const adapter = createKafkajsAdapter({
      brokers: this.#o.brokers,
      clientId: `relaybench-joiner-${id}`,
      log: (line) => this.#line(line),
    });
    let admin: Admin | undefined;
    let reader: RunLogReader | undefined;
    let repeat: NodeJS.Timeout | undefined;
    try {
      admin = await adapter.admin();
      await ensureRunTopics(admin, runId);
      // Control records from before this joiner existed (an old run's `end`) are not for it.
      const from = await endOffset(admin, controlTopic(runId));
      const writer = (this.#writer = new RunLogWriter(await adapter.producer(), runId));
      const announce = () => {
        if (this.#assignments === 0 && !this.#quitting)
          writer
            .control({ type: 'join', ...this.facts, atMs: Date.now() })
            .catch((e: unknown) => this.#line(`join announce failed: ${String(e)}`));
      };
      reader = await readRunLog(adapter, admin, {
        topics: [controlTopic(runId)],
        groupPrefix: 'relaybench-joiner',
        onRecord: (r) => {
          if (BigInt(r.offset) < from) return;
          const m = decodeControl(runId, r.value);
          if (m !== null) this.#onControl(m, announce);
        },
        onCrash: (error) => this.#push({ kind: 'crash', error }),
      });
      announce();
      repeat = setInterval(announce, JOIN_REPEAT_MS);
      this.#event({ event: 'joined', runId, ...this.facts });
      this.#line(
        `joined run ${runId} as ${id} on ${this.#o.brokers.join(',')}; waiting up to ${Math.round(this.#o.joinTimeoutMs / 1000)} s for a plan`,
      );
      return await this.#serve(writer);
    } finally {
      clearInterval(repeat);
      await reader?.stop().catch(() => {});
      await this.#writer?.close().catch(() => {});
      await admin?.close().catch(() => {});
    }
  }

  /** A control record of this run: a coordinator opening, a plan for this joiner, a plan stopped, the run's end. */
  #onControl(m: ControlMessage, announce: () => void): void {
    if (m.type === 'run')
      announce(); // a coordinator just opened: answer at once
    else if (m.type === 'assign' && m.joinerId === this.facts.joinerId) this.#push({ kind: 'assign', m });
    else if (m.type === 'stop') {
      this.#stopped.add(m.assignmentId);
      if (this.#current?.assignmentId === m.assignmentId) void this.#current.worker.stop();
    } else if (m.type === 'end') {
      void this.#current?.worker.stop();
      this.#push({ kind: 'end' });
    }
  }

  /** Runs the plans assigned, one at a time, until the run ends, a signal comes, or none comes within --join-timeout. */
  async #serve(writer: RunLogWriter): Promise<JoinerOutcome> {
    const { runId } = this.#o;
    let published = 0;
    let failed = 0;
    for (;;) {
      const w = await this.#next(this.#o.joinTimeoutMs);
      if (w === null) {
        if (this.#assignments === 0)
          throw distError(
            'RB_DIST_NO_ASSIGNMENT',
            `run ${runId}, joiner ${this.facts.joinerId}: waited ${Math.round(this.#o.joinTimeoutMs / 1000)} s (--join-timeout). Is \`relaybench run --remote-workers\` running on this Kafka with this run id?`,
          );
        this.#line(`no further assignment within ${Math.round(this.#o.joinTimeoutMs / 1000)} s; leaving`);
        return this.#finish(writer, { published, failed, reason: 'idle-timeout' });
      }
      if (w.kind === 'crash') throw w.error;
      if (w.kind === 'end') {
        this.#event({ event: 'end', runId });
        this.#line('the coordinator ended the run');
        return this.#finish(writer, { published, failed, reason: 'end' });
      }
      if (w.kind === 'interrupt') return this.#finish(writer, { published, failed, reason: 'interrupted' });
      this.#assignments++;
      if (await this.#runAssignment(writer, w.m)) published++;
      else failed++;
      if (this.#quitting) return this.#finish(writer, { published, failed, reason: 'interrupted' });
    }
  }

  async #finish(writer: RunLogWriter, o: Omit<JoinerOutcome, 'joinerId' | 'assignments'>): Promise<JoinerOutcome> {
    await writer.control({ type: 'leave', joinerId: this.facts.joinerId, reason: o.reason, atMs: Date.now() }).catch(() => {});
    return { joinerId: this.facts.joinerId, assignments: this.#assignments, ...o };
  }

  /** Runs one plan to its end and publishes the result; false when it failed (reported as `failed`). */
  async #runAssignment(writer: RunLogWriter, a: AssignMessage): Promise<boolean> {
    const from: FromWorker = { joinerId: this.facts.joinerId, assignmentId: a.assignmentId, workerId: a.plan.workerId };
    await writer.results({ type: 'accepted', ...from, atMs: Date.now() });
    this.#event({
      event: 'assigned',
      workerId: a.plan.workerId,
      segment: a.segment,
      assignmentId: a.assignmentId,
      startAtMs: a.plan.startAtMs,
      assignLatencyMs: Date.now() - a.atMs,
    });
    const fail = async (e: unknown): Promise<false> => {
      const code = isRelaybenchError(e) ? e.code : 'INTERNAL';
      const message = e instanceof Error ? e.message : String(e);
      this.#line(`plan ${a.plan.workerId} failed: ${code}: ${message}`);
      await writer.results({ type: 'failed', ...from, code, message, atMs: Date.now() }).catch(() => {});
      return false;
    };
    let plan: WorkerPlan;
    try {
      plan = validatePlan({
        ...a.plan,
        metricsPort: this.#o.metricsPort ?? 0,
        ...(this.#o.sourceAddresses === undefined ? {} : { sourceAddresses: [...this.#o.sourceAddresses] }),
      });
    } catch (e) {
      return fail(e);
    }
    const worker = new LocalWorker(plan.workerId);
    const printer = this.#reportProgress(worker, writer, from);
    const alive = setInterval(() => writer.results({ type: 'alive', ...from, atMs: Date.now() }).catch(() => {}), ALIVE_EVERY_MS);
    this.#current = { assignmentId: a.assignmentId, worker };
    let result: WorkerResult;
    try {
      await worker.start(plan);
      if (this.#quitting || this.#stopped.has(a.assignmentId)) void worker.stop();
      result = await worker.result();
    } catch (e) {
      clearInterval(alive);
      return fail(e);
    } finally {
      this.#current = undefined;
      printer.end();
    }
    try {
      await this.#publish(writer, a, from, plan.workerId, result);
      return true;
    } finally {
      clearInterval(alive);
    }
  }

  /** Prints the plan's progress, and forwards it to the coordinator: at most one in flight, the rest dropped (it is advisory). */
  #reportProgress(worker: LocalWorker, writer: RunLogWriter, from: FromWorker): ProgressPrinter {
    const printer = new ProgressPrinter(this.#o.log);
    let progressInFlight = false;
    worker.onProgress((p) => {
      this.#event({ event: 'progress', ...p });
      printer.print(p);
      if (progressInFlight) return;
      progressInFlight = true;
      writer
        .results({ type: 'progress', ...from, progress: p })
        .catch(() => {})
        .finally(() => (progressInFlight = false));
    });
    return printer;
  }

  /** The plan's result: kept locally with --result, and published in gzipped chunks under Kafka's record limit. */
  async #publish(writer: RunLogWriter, a: AssignMessage, from: FromWorker, workerId: string, result: WorkerResult): Promise<void> {
    if (this.#o.resultDir !== undefined) await writeResult(join(this.#o.resultDir, `${workerId}.result.json`), result);
    const enc = encodeResultChunks(result);
    for (const m of resultChunkMessages(enc, from, a.segment, a.segmentIndex)) await writer.results(m);
    const l = result.ledger;
    this.#event({
      event: 'published',
      workerId,
      assignmentId: a.assignmentId,
      rawBytes: enc.rawBytes,
      gzipBytes: enc.gzipBytes,
      chunks: enc.chunks.length,
      sent: l.sent,
      delivered: l.delivered,
      lost: l.lost,
    });
    this.#line(
      `${workerId} done: sent ${l.sent} delivered ${l.delivered} lost ${l.lost}; result published (${enc.rawBytes} B JSON → ${enc.gzipBytes} B gzip, ${enc.chunks.length} record(s))`,
    );
  }

  #push(w: Wake): void {
    this.#queue.push(w);
    this.#wakeup?.();
  }

  /** The next event, or null after `timeoutMs` without one. */
  async #next(timeoutMs: number): Promise<Wake | null> {
    if (this.#queue.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wakeup = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#wakeup = null;
    }
    return this.#queue.shift() ?? null;
  }

  #event(e: Record<string, unknown>): void {
    this.#o.events.write(`${JSON.stringify(e)}\n`);
  }

  #line(s: string): void {
    this.#o.log.write(`${s}\n`);
  }
}
