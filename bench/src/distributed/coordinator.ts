/**
 * The bench side of distributed load generation. A Coordinator owns the run's two topics: it
 * publishes the run record, sees joiners announce themselves, and hands out plans; a KafkaWorker
 * is one plan on one joiner behind the contract's Worker interface, so `runScenario` drives
 * remote workers exactly like ProcessWorkers (no lifecycle change).
 *
 * Joins are counted only from records written after the coordinator opened (joiners repeat
 * theirs every 2 s, and at once when they see the run record): a joiner that died before the
 * run began is never handed a plan. A plan that is not accepted within `acceptTimeoutMs`, or a
 * worker silent for `silenceTimeoutMs` (it sends a sign of life every 2 s), fails that worker's
 * result() with RB_DIST_WORKER_LOST instead of hanging the run.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createKafkajsAdapter, type Admin, type KafkaAdapter } from '../../../relay/kafka/src/index.js';
import type { Worker, WorkerPlan, WorkerProgress, WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { readWorkerResult } from '../orchestrator/worker-process.js';
import { planSegments, type SegmentSpec } from '../orchestrator/segments.js';
import type { RunSummary } from '../results/summary.js';
import type { Scenario } from '../scenarios/scenario.js';
import { distError } from './errors.js';
import {
  checkRunId,
  controlTopic,
  decodeControl,
  decodeResults,
  resultsTopic,
  ResultAssembler,
  type AssignMessage,
  type JoinerFacts,
  type ResultsMessage,
} from './protocol.js';
import { endOffset, ensureRunTopics, readRunLog, RunLogWriter, type RunLogReader } from './run-log.js';

const LEAVE_GRACE_MS = 10_000;

export interface CoordinatorOptions {
  readonly runId: string;
  readonly brokers: readonly string[];
  /** The resolved scenario (flags applied): carried in the run record for `collect`. */
  readonly scenario: Scenario;
  readonly scenarioYaml?: string | null;
  /** Default: planSegments(scenario). */
  readonly segments?: readonly SegmentSpec[];
  readonly kafka: RunSummary['kafka'];
  readonly versions: RunSummary['versions'];
  readonly machine: RunSummary['machine'];
  readonly log: (line: string) => void;
  /** An assigned plan must be accepted within this (default 30 s). */
  readonly acceptTimeoutMs?: number;
  /** A running worker may be silent this long (default 60 s). */
  readonly silenceTimeoutMs?: number;
  /** KafkaWorker.stop() waits this long for the result (default 30 s). */
  readonly stopGraceMs?: number;
}

export interface JoinerInfo extends JoinerFacts {
  /** When the coordinator first saw it (ms since epoch, coordinator clock). */
  readonly seenAtMs: number;
}

interface Assignment {
  readonly m: AssignMessage;
  readonly worker: KafkaWorker;
  acceptedAtMs: number | null;
  lastHeardMs: number;
  /** When its joiner said it left; the result may still be in flight on the other topic. */
  leftAtMs?: number;
  settled: boolean;
}

export class Coordinator {
  readonly runId: string;
  readonly coordinatorId: string;
  readonly openedAtMs: number;
  readonly #o: CoordinatorOptions;
  readonly #adapter: KafkaAdapter;
  readonly #admin: Admin;
  readonly #writer: RunLogWriter;
  #reader: RunLogReader | undefined;
  /** In join order; idle ones can take a plan. */
  readonly #joiners = new Map<string, JoinerInfo>();
  readonly #idle: string[] = [];
  readonly #gone = new Set<string>();
  readonly #assignments = new Map<string, Assignment>();
  readonly #assembler = new ResultAssembler();
  readonly #changed = new Set<() => void>();
  #watchdog: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(o: CoordinatorOptions, adapter: KafkaAdapter, admin: Admin, writer: RunLogWriter, coordinatorId: string) {
    this.runId = o.runId;
    this.coordinatorId = coordinatorId;
    this.openedAtMs = Date.now();
    this.#o = o;
    this.#adapter = adapter;
    this.#admin = admin;
    this.#writer = writer;
  }

  /** Creates the topics, refuses a run id that already has a coordinator, publishes the run record. */
  static async open(o: CoordinatorOptions): Promise<Coordinator> {
    checkRunId(o.runId);
    const coordinatorId = `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomBytes(4).toString('hex')}`;
    const adapter = createKafkajsAdapter({ brokers: o.brokers, clientId: `relaybench-coordinator-${coordinatorId}`, log: o.log });
    const admin = await adapter.admin();
    let c: Coordinator | undefined;
    try {
      await ensureRunTopics(admin, o.runId);
      const from = await endOffset(admin, controlTopic(o.runId));
      const writer = new RunLogWriter(await adapter.producer(), o.runId);
      c = new Coordinator(o, adapter, admin, writer, coordinatorId);
      await c.#start(from);
      return c;
    } catch (e) {
      if (c !== undefined) await c.close({ end: false });
      else await admin.close().catch(() => {});
      throw e;
    }
  }

  async #start(from: bigint): Promise<void> {
    const runId = this.runId;
    let earlierRun: string | undefined;
    this.#reader = await readRunLog(this.#adapter, this.#admin, {
      topics: [controlTopic(runId), resultsTopic(runId)],
      groupPrefix: 'relaybench-coordinator',
      onRecord: (r) => {
        if (r.topic === controlTopic(runId)) {
          const m = decodeControl(runId, r.value);
          if (m === null) return;
          if (BigInt(r.offset) < from) {
            if (m.type === 'run') earlierRun = m.coordinatorId;
            return;
          }
          if (m.type === 'join' && !this.#joiners.has(m.joinerId) && !this.#gone.has(m.joinerId)) {
            this.#joiners.set(m.joinerId, {
              joinerId: m.joinerId,
              name: m.name,
              host: m.host,
              cores: m.cores,
              pid: m.pid,
              seenAtMs: Date.now(),
            });
            this.#idle.push(m.joinerId);
            this.#o.log(`joiner ${m.joinerId} (${m.host}, ${m.cores} cores) joined (${this.#joiners.size} so far)`);
            this.#notify();
          } else if (m.type === 'leave') this.#onLeave(m.joinerId, m.reason);
        } else {
          const m = decodeResults(runId, r.value);
          if (m !== null) this.#onResults(m);
        }
      },
      onCrash: (e) => {
        for (const a of this.#assignments.values())
          this.#settleError(a, distError('RB_DIST_WORKER_LOST', `the coordinator's consumer stopped: ${e.message}`));
      },
    });
    await this.#reader.caughtUp;
    if (earlierRun !== undefined)
      throw distError(
        'RB_DIST_RUN_EXISTS',
        `run ${runId} was coordinated by ${earlierRun} already (topic ${controlTopic(runId)}); pass another --run-id.`,
      );
    const s = this.#o.scenario;
    await this.#writer.control({
      type: 'run',
      coordinatorId: this.coordinatorId,
      host: hostname(),
      atMs: this.openedAtMs,
      scenario: s,
      scenarioYaml: this.#o.scenarioYaml ?? null,
      segments: this.#o.segments ?? planSegments(s),
      kafka: this.#o.kafka,
      versions: this.#o.versions,
      machine: this.#o.machine,
    });
    this.#watchdog = setInterval(() => this.#checkSilence(), 1000);
  }

  get stopGraceMs(): number {
    return this.#o.stopGraceMs ?? 30_000;
  }

  /** The joiners seen so far, in join order. */
  joiners(): JoinerInfo[] {
    return [...this.#joiners.values()];
  }

  /** Waits until `n` joiners are available (idle), up to `timeoutMs`. */
  async waitForJoiners(n: number, timeoutMs: number): Promise<JoinerInfo[]> {
    const ok = await this.#waitUntil(() => this.#idle.length >= n, timeoutMs);
    if (!ok)
      throw distError(
        'RB_DIST_JOINERS_MISSING',
        `run ${this.runId}: ${this.#idle.length} of ${n} joined within ${Math.round(timeoutMs / 1000)} s. Start them with: relaybench loadgen --join ${this.runId} --brokers ${this.#o.brokers.join(',')}`,
      );
    return this.#idle.slice(0, n).map((id) => this.#joiners.get(id)!);
  }

  /** A Worker whose plan runs on the next idle joiner; `dir` gets <id>.plan.json and <id>.result.json. */
  createWorker(id: string, dir: string): KafkaWorker {
    return new KafkaWorker(id, dir, this);
  }

  /** @internal KafkaWorker.start */
  async assign(worker: KafkaWorker, plan: WorkerPlan): Promise<void> {
    if (this.#closed) throw distError('RB_DIST_WORKER_LOST', `${worker.id}: the coordinator is closed.`);
    if (this.#idle.length === 0 && !(await this.#waitUntil(() => this.#idle.length > 0, this.#o.acceptTimeoutMs ?? 30_000)))
      throw distError(
        'RB_DIST_JOINERS_MISSING',
        `${worker.id}: no idle joiner for this plan (${this.#joiners.size} joined, ${this.#gone.size} gone).`,
      );
    const joinerId = this.#idle.shift()!;
    const segmentIndex = this.#segmentIndexOf(plan.workerId);
    const segments = this.#o.segments ?? planSegments(this.#o.scenario);
    const m: AssignMessage = {
      type: 'assign',
      coordinatorId: this.coordinatorId,
      joinerId,
      assignmentId: `${plan.workerId}-${randomBytes(4).toString('hex')}`,
      segment: segments[segmentIndex]?.name ?? plan.workerId.replace(/-w\d+$/, ''),
      segmentIndex,
      plan,
      atMs: Date.now(),
    };
    const a: Assignment = { m, worker, acceptedAtMs: null, lastHeardMs: Date.now(), settled: false };
    this.#assignments.set(m.assignmentId, a);
    worker.assignment = { assignmentId: m.assignmentId, joinerId };
    await this.#writer.control(m);
    this.#o.log(`${plan.workerId} → joiner ${joinerId} (${this.#joiners.get(joinerId)?.host ?? '?'})`);
  }

  /** @internal KafkaWorker.stop */
  async requestStop(assignmentId: string): Promise<void> {
    if (!this.#closed) await this.#writer.control({ type: 'stop', assignmentId, atMs: Date.now() });
  }

  /** Publishes `end` (joiners exit) unless told not to, and closes every Kafka client. Idempotent. */
  async close(options: { end?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    if (options.end !== false)
      await this.#writer
        .control({ type: 'end', coordinatorId: this.coordinatorId, atMs: Date.now() })
        .catch((e: unknown) => this.#o.log(`end not published: ${String(e)}`));
    for (const a of this.#assignments.values())
      this.#settleError(a, distError('RB_DIST_WORKER_LOST', `${a.m.plan.workerId}: the coordinator closed before its result arrived.`));
    await this.#reader?.stop().catch(() => {});
    await this.#writer.close().catch(() => {});
    await this.#admin.close().catch(() => {});
  }

  #segmentIndexOf(workerId: string): number {
    const name = workerId.replace(/-w\d+$/, '');
    const i = (this.#o.segments ?? planSegments(this.#o.scenario)).findIndex((g) => g.name === name);
    return i < 0 ? 0 : i;
  }

  #onLeave(joinerId: string, reason: string): void {
    this.#gone.add(joinerId);
    const i = this.#idle.indexOf(joinerId);
    if (i >= 0) this.#idle.splice(i, 1);
    for (const a of this.#assignments.values()) if (a.m.joinerId === joinerId && !a.settled) a.leftAtMs = Date.now();
    if (this.#joiners.has(joinerId)) this.#o.log(`joiner ${joinerId} left (${reason})`);
  }

  #onResults(m: ResultsMessage): void {
    const a = this.#assignments.get(m.assignmentId);
    if (a === undefined || a.settled) return;
    a.lastHeardMs = Date.now();
    switch (m.type) {
      case 'accepted':
        a.acceptedAtMs = Date.now();
        a.worker.acceptLatencyMs = a.acceptedAtMs - a.m.atMs;
        return;
      case 'alive':
        return;
      case 'progress':
        a.worker.emitProgress(m.progress);
        return;
      case 'failed':
        this.#settleError(a, distError('RB_DIST_WORKER_LOST', `${m.workerId} on joiner ${m.joinerId} failed: ${m.code}: ${m.message}`));
        return;
      case 'result': {
        const text = this.#assembler.add(m);
        if (text === null) return;
        if (text instanceof Error) {
          this.#settleError(a, distError('RB_DIST_WORKER_LOST', `${m.workerId}: its result could not be reassembled: ${text.message}`));
          return;
        }
        a.settled = true;
        a.worker.resultBytes = { rawBytes: m.rawBytes, gzipBytes: m.gzipBytes, chunks: m.chunks };
        if (!this.#gone.has(a.m.joinerId)) this.#idle.push(a.m.joinerId); // free for the next segment
        this.#notify();
        a.worker.settle(text);
      }
    }
  }

  #settleError(a: Assignment, e: Error): void {
    if (a.settled) return;
    a.settled = true;
    a.worker.fail(e);
  }

  #checkSilence(): void {
    const now = Date.now();
    const accept = this.#o.acceptTimeoutMs ?? 30_000;
    const silence = this.#o.silenceTimeoutMs ?? 60_000;
    for (const a of this.#assignments.values()) {
      if (a.settled) continue;
      // A joiner publishes its result before it leaves, but on the other topic: a short grace.
      if (a.leftAtMs !== undefined && now - a.leftAtMs > LEAVE_GRACE_MS)
        this.#settleError(
          a,
          distError('RB_DIST_WORKER_LOST', `${a.m.plan.workerId}: joiner ${a.m.joinerId} left before its result was complete.`),
        );
      else if (a.acceptedAtMs === null && now - a.m.atMs > accept)
        this.#settleError(
          a,
          distError(
            'RB_DIST_WORKER_LOST',
            `${a.m.plan.workerId}: joiner ${a.m.joinerId} did not accept its plan within ${Math.round(accept / 1000)} s.`,
          ),
        );
      else if (a.acceptedAtMs !== null && now - a.lastHeardMs > silence)
        this.#settleError(
          a,
          distError(
            'RB_DIST_WORKER_LOST',
            `${a.m.plan.workerId}: nothing from joiner ${a.m.joinerId} for ${Math.round(silence / 1000)} s.`,
          ),
        );
    }
  }

  #notify(): void {
    for (const f of this.#changed) f();
  }

  async #waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return true;
    return new Promise<boolean>((resolve) => {
      const check = () => {
        if (!predicate()) return;
        done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#changed.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => done(predicate()), timeoutMs);
      this.#changed.add(check);
    });
  }
}

/** One plan on one remote joiner, as a Worker. One start() per instance. */
export class KafkaWorker implements Worker {
  readonly id: string;
  readonly #dir: string;
  readonly #c: Coordinator;
  readonly #listeners: ((p: WorkerProgress) => void)[] = [];
  readonly #result: Promise<WorkerResult>;
  #resolve!: (text: string) => void;
  #reject!: (e: Error) => void;
  #started = false;
  #settled = false;
  /** Set by the coordinator when the plan is handed out. */
  assignment: { readonly assignmentId: string; readonly joinerId: string } | undefined;
  /** Assign → accepted (ms), once accepted. */
  acceptLatencyMs: number | undefined;
  /** Size of the published result, once complete. */
  resultBytes: { rawBytes: number; gzipBytes: number; chunks: number } | undefined;

  constructor(id: string, dir: string, coordinator: Coordinator) {
    this.id = id;
    this.#dir = dir;
    this.#c = coordinator;
    const text = new Promise<string>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#result = text.then(async (t) => {
      // Through the file, so the result is checked exactly like a ProcessWorker's.
      const path = join(this.#dir, `${this.id}.result.json`);
      await writeFile(path, t);
      return readWorkerResult(path, this.id);
    });
    this.#result.catch(() => {}); // observed through result()
  }

  onProgress(listener: (p: WorkerProgress) => void): void {
    this.#listeners.push(listener);
  }

  async start(plan: WorkerPlan): Promise<void> {
    if (this.#started) throw new Error(`worker ${this.id} already started`);
    this.#started = true;
    await writeFile(join(this.#dir, `${this.id}.plan.json`), `${JSON.stringify(plan, null, 1)}\n`);
    await this.#c.assign(this, plan);
  }

  result(): Promise<WorkerResult> {
    if (!this.#started) return Promise.reject(new Error(`worker ${this.id} not started`));
    return this.#result;
  }

  /** Asks the joiner to end the plan early and waits (up to the grace) for its result. */
  async stop(): Promise<void> {
    if (this.assignment === undefined) return;
    if (this.#settled) return;
    await this.#c.requestStop(this.assignment.assignmentId).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#result.catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, this.#c.stopGraceMs)))]);
    clearTimeout(timer);
  }

  /** @internal */
  emitProgress(p: WorkerProgress): void {
    for (const l of this.#listeners) l(p);
  }

  /** @internal */
  settle(resultJson: string): void {
    this.#settled = true;
    this.#resolve(resultJson);
  }

  /** @internal */
  fail(e: Error): void {
    this.#settled = true;
    this.#reject(e);
  }
}
