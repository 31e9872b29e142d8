import type { LedgerCounts } from '../ledger.js';
import type { IntervalSnapshot } from '../stats/recorder.js';

/**
 * The contract between the bench (orchestrator) and load-generator workers, local or remote
 * (STYLE §10: one Worker interface). A worker gets a WorkerPlan, reports WorkerProgress about
 * once a second, and ends with one WorkerResult. Histograms travel encoded (HdrHistogram V2,
 * compressed base64) and are merged by the bench by decoding and adding — never by averaging
 * percentiles. All times: ms since the Unix epoch (wall clock) unless the name says Us.
 */

export type RecipientChoice =
  | { readonly kind: 'uniform' }
  | { readonly kind: 'zipf'; readonly s: number }
  | { readonly kind: 'pairs' }
  | { readonly kind: 'groups'; readonly groupSize: number };

export type SizeDistribution =
  | { readonly kind: 'fixed'; readonly bytes: number }
  | { readonly kind: 'uniform'; readonly minBytes: number; readonly maxBytes: number }
  | { readonly kind: 'lognormal'; readonly medianBytes: number; readonly sigma: number; readonly maxBytes: number };

export interface WorkloadShape {
  /** Virtual users held by this worker (both ends of every conversation it measures). */
  readonly users: number;
  /** Aggregate send rate of this worker (messages/s) after the ramp; a group send counts once per recipient. */
  readonly ratePerSec: number;
  readonly arrivals: 'poisson' | 'constant';
  readonly rampUpMs: number;
  /** The measured window, after the warm-up: sends run for warmupMs + durationMs from the start instant. */
  readonly durationMs: number;
  /** Excluded from results (histograms and rates); the ledger still tracks every message. */
  readonly warmupMs: number;
  /** After the last send: how long to wait for deliveries and receipts before counting loss. */
  readonly drainMs: number;
  /** Share of users connected at the start (0..1]; the others connect later (store and forward). */
  readonly onlineFraction: number;
  /** Per-user probability per second of dropping offline for `offlineMs` (churn). */
  readonly churnPerSec: number;
  readonly offlineMs: number;
  readonly recipients: RecipientChoice;
  readonly sizes: SizeDistribution;
  /** Delay from delivery to `read` (ms); 0 = read at once. */
  readonly readDelayMs: number;
  readonly seed: number;
  /**
   * Sends a user may have in flight (sent, not yet acked); later arrivals wait in the user's
   * outbox, as in a messenger app (default 1000). Their actual send time is when they leave the
   * outbox, so e2eUncorrected hides a stall that e2eCorrected (from the intended time) shows.
   */
  readonly maxInFlightPerUser?: number;
}

export interface WorkerPlan {
  readonly workerId: string;
  /** Distinct prefix for user ids, so several workers never share a user. */
  readonly userPrefix: string;
  readonly mode: 'relay' | 'kafka-direct';
  /** Relay WebSocket URLs (mode relay); the worker uses GET /routes of the first for the routing hint. */
  readonly relays: readonly string[];
  /** Kafka bootstrap servers (mode kafka-direct). */
  readonly brokers: readonly string[];
  readonly tokenSecret: string;
  /** Local source addresses to spread sockets over (127.0.0.x) when ephemeral ports run out. */
  readonly sourceAddresses: readonly string[];
  readonly workload: WorkloadShape;
  /** Common start instant (ms since epoch) so that several workers begin together. */
  readonly startAtMs: number;
  /** Port for this worker's /metrics (0 = any; -1 = none). */
  readonly metricsPort: number;
  /** Schedule lag (µs) above which the run is generator-bound. */
  readonly maxScheduleLagUs: number;
  /** Run id for the `run_id` metrics label (default: workerId). */
  readonly runId?: string;
  /** Connect each user to the owner of its partition via GET /routes (default true); off → round robin over `relays`. */
  readonly routingHint?: boolean;
  /** Connection attempts started per second during the connect phase (default 500). */
  readonly connectRatePerSec?: number;
  /** Partitions of the kafka-direct topic (default 12, like relay.mailbox). */
  readonly directPartitions?: number;
  /** Kafka client of the kafka-direct driver (default: relay/kafka's): the relays' own, so the reference measures the same client. */
  readonly kafkaClient?: 'kafkajs' | 'platformatic'; // relay/kafka's KafkaClientName (the driver's option type checks it)
  /** Faults this worker applies to its own users (client-side faults of a fault scenario). */
  readonly clientFaults?: readonly ClientFault[];
}

/**
 * A fault a worker applies to some of its own users at a planned instant:
 * - `slow-readers`: a share of online users stop reading their sockets for `durationMs` (the relay
 *   must close them as slow readers and keep serving the others; their mail waits in Kafka);
 * - `reconnect-storm`: a share of online users drop their connections within `durationMs`
 *   (0 = all at once) and reconnect with the driver's backoff and jitter.
 */
export interface ClientFault {
  readonly action: 'slow-readers' | 'reconnect-storm';
  /** When to apply it (ms since epoch). */
  readonly atMs: number;
  /** Share of this worker's online users affected, (0, 1]. */
  readonly share: number;
  readonly durationMs: number;
}

/** A fault or a recovery on the run's timeline (drawn on the report's latency-over-time chart). */
export interface FaultEvent {
  /** ms since epoch. */
  readonly atMs: number;
  readonly kind: 'fault' | 'recovery';
  /** e.g. kill-relay, kill-broker, restart-broker, add-relay, drain-relay, slow-readers, reconnect-storm. */
  readonly action: string;
  readonly detail: string;
}

/**
 * One user's disruption: its connection closed without the user asking (not churn), and when
 * it worked again — the first ack or delivery for this user on a later connection.
 */
export interface Disruption {
  readonly userId: string;
  readonly closedAtMs: number;
  /** Close code seen (1006 when the socket just died). */
  readonly code: number;
  /** null: it never worked again before the end of the run. */
  readonly recoveredAtMs: number | null;
}

export interface WorkerProgress {
  readonly workerId: string;
  readonly elapsedMs: number;
  readonly phase: 'connecting' | 'warmup' | 'measuring' | 'draining' | 'done';
  readonly sentPerSec: number;
  readonly deliveredPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly errors: number;
  readonly connected: number;
  /** Share of the planned run done (0..1), when known. */
  readonly fraction?: number;
  /** GET /metrics URL of this worker, when it serves one. */
  readonly metricsUrl?: string;
}

export interface IntervalCounts {
  readonly startMs: number;
  readonly endMs: number;
  /** Sends the open loop dispatched (one per recipient), each with its schedule-lag sample. */
  readonly dispatched: number;
  /** Sends that left on the wire: a dispatched send waits for its recipient's keys first. */
  readonly sent: number;
  readonly delivered: number;
  readonly acked: number;
}

export interface WorkerResult {
  readonly workerId: string;
  readonly mode: WorkerPlan['mode'];
  readonly startedMs: number;
  readonly measureStartMs: number;
  readonly endedMs: number;
  readonly plan: WorkerPlan;
  readonly ledger: LedgerCounts;
  /** Interval histograms of the measured window (warm-up excluded), one snapshot per second. */
  readonly intervals: readonly IntervalSnapshot[];
  readonly counts: readonly IntervalCounts[];
  readonly targetRatePerSec: number;
  readonly achievedRatePerSec: number;
  readonly generatorBound: boolean;
  readonly maxScheduleLagUs: number;
  /** Connected sockets at the peak, and the worker's resident memory at the end. */
  readonly peakConnections: number;
  readonly rssBytes: number;
  readonly metricsUrl?: string;
  /**
   * How the drain ended. `stillProgressing`: the drain limit came while acks, deliveries or
   * receipts were still arriving, so messages counted as lost may only be late.
   */
  readonly drain?: { readonly waitedMs: number; readonly pendingAtEnd: number; readonly stillProgressing: boolean };
  /** Up to 20 lost msgIds (`<userId>:<n>`), so a loss can be traced in Kafka and the relay logs. */
  readonly lostIds?: readonly string[];
  /** Unplanned connection losses of this worker's users and their recoveries (at most 100,000 kept). */
  readonly disruptions?: readonly Disruption[];
  /** Client-side faults this worker applied, and when they ended. */
  readonly faultEvents?: readonly FaultEvent[];
}

/** Local and remote workers look the same to the bench. */
export interface Worker {
  readonly id: string;
  start(plan: WorkerPlan): Promise<void>;
  onProgress(listener: (p: WorkerProgress) => void): void;
  /** Resolves with the result when the plan has run to its end (or after stop()). */
  result(): Promise<WorkerResult>;
  /** Ends the run early; result() still resolves with what was measured. */
  stop(): Promise<void>;
}
