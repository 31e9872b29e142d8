/**
 * The wire format of distributed load generation (docs/distributed.md): two topics per run,
 * one partition each, JSON values keyed by the run id.
 *
 *   relaybench.control.<runId>   coordinator ⇄ joiners: run, join, leave, assign, stop, end
 *   relaybench.results.<runId>   joiners → coordinator/collect: accepted, alive, progress, result, failed
 *
 * Per-run topics (not one shared topic keyed by run id) so that a coordinator, a joiner or
 * `collect` reads only its own run from the beginning, never scanning other runs' results.
 * A WorkerResult is gzipped and split into chunks of at most CHUNK_BYTES (base64 in JSON), each
 * sent as its own record: Kafka's default max.message.bytes is 1 MiB per record batch.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { WorkerPlan, WorkerProgress } from '../../../loadgen/src/worker/contract.js';
import type { SegmentSpec } from '../orchestrator/segments.js';
import type { RunSummary } from '../results/summary.js';
import type { Scenario } from '../scenarios/scenario.js';
import { distError } from './errors.js';

export const WIRE_VERSION = 1;
/** gzip bytes per chunk: base64 makes it ≈ 683 KiB of JSON, below the 1 MiB default limit. */
export const CHUNK_BYTES = 512 * 1024;
/** Kafka topic names allow [A-Za-z0-9._-], at most 249 characters (the prefix takes 19). */
const RUN_ID = /^[A-Za-z0-9._-]{1,200}$/;

export function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId))
    throw distError(
      'RB_DIST_BAD_OPTION',
      `run id ${JSON.stringify(runId)}: use 1–200 characters of A-Z a-z 0-9 . _ - (it names Kafka topics).`,
    );
  return runId;
}

export const controlTopic = (runId: string): string => `relaybench.control.${runId}`;
export const resultsTopic = (runId: string): string => `relaybench.results.${runId}`;
/** Long enough for a late `collect`; the topics are tiny apart from the results. */
export const RUN_TOPIC_RETENTION_MS = 7 * 24 * 3600 * 1000;

// ── control topic ────────────────────────────────────────────────────────────────────────────

/** The coordinator's record of the run: everything `collect` needs to rebuild the summary. */
export interface RunRecord {
  readonly type: 'run';
  readonly coordinatorId: string;
  readonly host: string;
  readonly atMs: number;
  /** The resolved scenario (flags applied), as plain JSON (objectives included, parsed). */
  readonly scenario: Scenario;
  /** The scenario file's text, for results/<run-id>/scenario.yaml. */
  readonly scenarioYaml: string | null;
  readonly segments: readonly SegmentSpec[];
  readonly kafka: RunSummary['kafka'];
  readonly versions: RunSummary['versions'];
  readonly machine: RunSummary['machine'];
}

export interface JoinerFacts {
  readonly joinerId: string;
  /** --worker-name (default: host name). */
  readonly name: string;
  readonly host: string;
  readonly cores: number;
  readonly pid: number;
}

/** A joiner announcing itself; repeated every JOIN_REPEAT_MS until it gets a plan. */
export interface JoinMessage extends JoinerFacts {
  readonly type: 'join';
  readonly atMs: number;
}

export interface LeaveMessage {
  readonly type: 'leave';
  readonly joinerId: string;
  readonly reason: string;
  readonly atMs: number;
}

export interface AssignMessage {
  readonly type: 'assign';
  readonly coordinatorId: string;
  readonly joinerId: string;
  /** Unique per assignment: results and stops refer to it. */
  readonly assignmentId: string;
  readonly segment: string;
  readonly segmentIndex: number;
  readonly plan: WorkerPlan;
  readonly atMs: number;
}

export interface StopMessage {
  readonly type: 'stop';
  readonly assignmentId: string;
  readonly atMs: number;
}

export interface EndMessage {
  readonly type: 'end';
  readonly coordinatorId: string;
  readonly atMs: number;
}

export type ControlMessage = RunRecord | JoinMessage | LeaveMessage | AssignMessage | StopMessage | EndMessage;

// ── results topic ────────────────────────────────────────────────────────────────────────────

/** Who a results record is from: the joiner, the assignment, the worker it ran. */
export interface FromWorker {
  readonly joinerId: string;
  readonly assignmentId: string;
  readonly workerId: string;
}

export interface AcceptedMessage extends FromWorker {
  readonly type: 'accepted';
  readonly atMs: number;
}

/** Sign of life while a plan runs (progress is not emitted in every phase). */
export interface AliveMessage extends FromWorker {
  readonly type: 'alive';
  readonly atMs: number;
}

export interface ProgressMessage extends FromWorker {
  readonly type: 'progress';
  readonly progress: WorkerProgress;
}

export interface ResultChunkMessage extends FromWorker {
  readonly type: 'result';
  readonly segment: string;
  readonly segmentIndex: number;
  /** 0-based; `chunks` in all. */
  readonly chunk: number;
  readonly chunks: number;
  /** JSON bytes before gzip, gzip bytes, and the gzip's SHA-256 (hex), checked on reassembly. */
  readonly rawBytes: number;
  readonly gzipBytes: number;
  readonly sha256: string;
  /** base64 of this chunk's slice of the gzip. */
  readonly data: string;
}

export interface FailedMessage extends FromWorker {
  readonly type: 'failed';
  readonly code: string;
  readonly message: string;
  readonly atMs: number;
}

export type ResultsMessage = AcceptedMessage | AliveMessage | ProgressMessage | ResultChunkMessage | FailedMessage;

type Envelope<M> = M & { readonly v: typeof WIRE_VERSION; readonly runId: string };

export function encodeMessage(runId: string, m: ControlMessage | ResultsMessage): Buffer {
  const envelope: Envelope<ControlMessage | ResultsMessage> = { v: WIRE_VERSION, runId, ...m };
  return Buffer.from(JSON.stringify(envelope));
}

const CONTROL_TYPES = new Set(['run', 'join', 'leave', 'assign', 'stop', 'end']);
const RESULTS_TYPES = new Set(['accepted', 'alive', 'progress', 'result', 'failed']);

/**
 * A record value → a message of this run, or null for anything else (another version, another
 * run, not JSON). The checks are the fields the readers rely on; peers are relaybench itself.
 */
export function decodeControl(runId: string, value: Buffer | null): ControlMessage | null {
  const m = decode(runId, value, CONTROL_TYPES);
  if (m === null) return null;
  const need = {
    run: ['coordinatorId', 'scenario', 'segments'],
    join: ['joinerId', 'name'],
    leave: ['joinerId'],
    assign: ['joinerId', 'assignmentId', 'plan', 'segmentIndex'],
    stop: ['assignmentId'],
    end: ['coordinatorId'],
  }[m.type as ControlMessage['type']];
  return need.every((k) => m[k] !== undefined) ? (m as unknown as ControlMessage) : null;
}

export function decodeResults(runId: string, value: Buffer | null): ResultsMessage | null {
  const m = decode(runId, value, RESULTS_TYPES);
  if (m === null || typeof m.assignmentId !== 'string' || typeof m.workerId !== 'string') return null;
  if (
    m.type === 'result' &&
    !(typeof m.chunk === 'number' && typeof m.chunks === 'number' && typeof m.data === 'string' && typeof m.sha256 === 'string')
  )
    return null;
  return m as unknown as ResultsMessage;
}

function decode(runId: string, value: Buffer | null, types: ReadonlySet<string>): Record<string, unknown> | null {
  if (value === null) return null;
  let m: unknown;
  try {
    m = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  if (m === null || typeof m !== 'object') return null;
  const r = m as Record<string, unknown>;
  return r.v === WIRE_VERSION && r.runId === runId && typeof r.type === 'string' && types.has(r.type) ? r : null;
}

// ── result chunking ──────────────────────────────────────────────────────────────────────────

export interface EncodedResult {
  readonly rawBytes: number;
  readonly gzipBytes: number;
  readonly sha256: string;
  /** base64 slices of the gzip, each at most CHUNK_BYTES before base64. */
  readonly chunks: readonly string[];
}

export function encodeResultChunks(result: unknown, chunkBytes = CHUNK_BYTES): EncodedResult {
  const raw = Buffer.from(JSON.stringify(result));
  const gz = gzipSync(raw, { level: 6 });
  const chunks: string[] = [];
  for (let at = 0; at < gz.length; at += chunkBytes) chunks.push(gz.subarray(at, at + chunkBytes).toString('base64'));
  return { rawBytes: raw.length, gzipBytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex'), chunks };
}

/** One `result` record per chunk of an encoded result, in chunk order. */
export function resultChunkMessages(enc: EncodedResult, from: FromWorker, segment: string, segmentIndex: number): ResultChunkMessage[] {
  return enc.chunks.map((data, chunk) => ({
    type: 'result',
    ...from,
    segment,
    segmentIndex,
    chunk,
    chunks: enc.chunks.length,
    rawBytes: enc.rawBytes,
    gzipBytes: enc.gzipBytes,
    sha256: enc.sha256,
    data,
  }));
}

/**
 * Reassembles results from their chunks, per assignment. Chunks may repeat (a joiner retrying
 * a send); a repeated chunk replaces the earlier one. `add` returns the JSON text once the last
 * missing chunk arrives and the checksum matches; a mismatch is reported as an Error.
 */
export class ResultAssembler {
  readonly #parts = new Map<string, { chunks: (string | undefined)[]; sha256: string; have: number }>();
  readonly #done = new Set<string>();

  add(m: ResultChunkMessage): string | Error | null {
    if (this.#done.has(m.assignmentId)) return null;
    let p = this.#parts.get(m.assignmentId);
    if (p === undefined || p.sha256 !== m.sha256 || p.chunks.length !== m.chunks) {
      // A different encoding of the same assignment (a re-publish) starts over.
      p = { chunks: new Array<string | undefined>(m.chunks).fill(undefined), sha256: m.sha256, have: 0 };
      this.#parts.set(m.assignmentId, p);
    }
    if (m.chunk < 0 || m.chunk >= m.chunks) return new Error(`chunk ${m.chunk} of ${m.chunks} is out of range`);
    if (p.chunks[m.chunk] === undefined) p.have++;
    p.chunks[m.chunk] = m.data;
    if (p.have < m.chunks) return null;
    this.#parts.delete(m.assignmentId);
    const gz = Buffer.concat(p.chunks.map((c) => Buffer.from(c!, 'base64')));
    const sum = createHash('sha256').update(gz).digest('hex');
    if (sum !== m.sha256) return new Error(`checksum mismatch (${sum} ≠ ${m.sha256})`);
    this.#done.add(m.assignmentId);
    try {
      return gunzipSync(gz).toString('utf8');
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }
}
