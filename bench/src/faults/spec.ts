/**
 * Fault scenarios (`faults:` in a scenario file): what to break, and when. Each fault's `atMs`
 * is an offset from the segment's start instant (the workers' common startAtMs: sending starts,
 * warm-up included). Server-side faults are fired by the orchestrator (executor.ts); client-side
 * ones travel to the workers in their plans (WorkerPlan.clientFaults) and the workers apply them.
 * Faults apply to relay-mode segments only, never to the kafka-direct reference.
 *
 * Relay indexes are stable identities: 0..relays-1 are the relays started before the segment,
 * each `add-relay` gets the next index (relays, relays+1, …), and an index is never reused.
 * Brokers are Kafka node ids 1..3 (the local provider's `node-<id>` folders and broker logs).
 */
import type { ClientFault } from '../../../loadgen/src/worker/contract.js';
import { formatDurationMs } from '../../../loadgen/src/duration.js';

export type RelayFaultSpec =
  | { readonly action: 'kill-relay' | 'drain-relay'; readonly atMs: number; readonly relay: number }
  | { readonly action: 'add-relay'; readonly atMs: number };

export interface BrokerFaultSpec {
  readonly action: 'kill-broker' | 'restart-broker';
  readonly atMs: number;
  readonly broker: number;
}

export interface ClientFaultSpec {
  readonly action: ClientFault['action'];
  readonly atMs: number;
  /** Share of each worker's online users affected, (0, 1]. */
  readonly share: number;
  /** slow-readers: how long they stop reading; reconnect-storm: the window the drops spread over (0 = at once). */
  readonly durationMs: number;
}

/**
 * Extra delay on the client↔relay links of some relays for a window (a TCP proxy the run puts
 * in front of every relay when a scenario has one; see latency-proxy.ts). `relays` null = every
 * relay running at `atMs`; `forMs` null = until the segment ends.
 */
export interface LatencyFaultSpec {
  readonly action: 'latency';
  readonly atMs: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly forMs: number | null;
  readonly relays: readonly number[] | null;
  readonly direction: 'both' | 'to-relay' | 'to-client';
}

export type ServerFaultSpec = RelayFaultSpec | BrokerFaultSpec | LatencyFaultSpec;
export type FaultSpec = ServerFaultSpec | ClientFaultSpec;
export type FaultAction = FaultSpec['action'];

export const FAULT_ACTIONS = [
  'kill-relay',
  'drain-relay',
  'add-relay',
  'kill-broker',
  'restart-broker',
  'slow-readers',
  'reconnect-storm',
  'latency',
] as const satisfies readonly FaultAction[];

/** The faults the clients suffer (the workers apply them); the others hit relays or brokers. */
export const CLIENT_FAULT_ACTIONS = ['slow-readers', 'reconnect-storm'] as const satisfies readonly ClientFaultSpec['action'][];

/** Who a fault hits, by its action name (also for an action read back from a result file). */
export function faultSide(action: string): 'client' | 'server' {
  return (CLIENT_FAULT_ACTIONS as readonly string[]).includes(action) ? 'client' : 'server';
}

export function isClientFault(f: FaultSpec): f is ClientFaultSpec {
  return faultSide(f.action) === 'client';
}

export function isLatencyFault(f: FaultSpec): f is LatencyFaultSpec {
  return f.action === 'latency';
}

export function isBrokerFault(f: FaultSpec): f is BrokerFaultSpec {
  return f.action === 'kill-broker' || f.action === 'restart-broker';
}

/** Faults in firing order: by offset, file order for equal offsets. */
export function inFiringOrder<T extends { readonly atMs: number }>(faults: readonly T[]): { fault: T; index: number }[] {
  return faults.map((fault, index) => ({ fault, index })).sort((a, b) => a.fault.atMs - b.fault.atMs || a.index - b.index);
}

/** The client faults of a segment as the workers get them (absolute instants). */
export function clientFaultsFor(faults: readonly FaultSpec[], startAtMs: number): ClientFault[] {
  return faults
    .filter(isClientFault)
    .map((f) => ({ action: f.action, atMs: Math.round(startAtMs + f.atMs), share: f.share, durationMs: Math.round(f.durationMs) }));
}

export interface FaultProblem {
  /** Index in the scenario's `faults` list (-1: the list as a whole). */
  readonly index: number;
  readonly field: 'at' | 'relay' | 'relays' | 'broker' | 'action' | null;
  readonly message: string;
  readonly input: unknown;
}

export interface FaultContext {
  /** Relays running when the segment starts. */
  readonly relays: number;
  readonly brokers: number;
  /** warm-up + duration: sends stop then, so a fault must come before. */
  readonly sendingMs: number;
  /** Phases or a ramp: several relay segments (faults need a plain scenario). */
  readonly multiSegment: boolean;
}

/**
 * Every rule a fault list must follow, replayed in firing order: the relay named exists at that
 * instant (started, or added by an earlier fault, and not removed yet), one relay always
 * remains, broker faults need 3 brokers with at most one down at a time (min.insync.replicas=2
 * of RF 3: a second one down stops every write), and every fault comes before sends stop.
 * Used by the scenario schema and again at run time (flags may change relays or duration).
 */
export function faultProblems(faults: readonly FaultSpec[], ctx: FaultContext): FaultProblem[] {
  const problems: FaultProblem[] = [];
  if (faults.length === 0) return problems;
  if (ctx.multiSegment)
    problems.push({
      index: -1,
      field: null,
      message: 'faults need a plain scenario (no phases or ramp): each fault fires once in the single relay segment',
      input: faults.length,
    });
  const live = new Set(Array.from({ length: ctx.relays }, (_, i) => i));
  let nextRelay = ctx.relays;
  const down = new Set<number>();
  for (const { fault: f, index } of inFiringOrder(faults)) {
    if (f.atMs >= ctx.sendingMs)
      problems.push({
        index,
        field: 'at',
        message: `expected an offset before sends stop (warmup + duration = ${formatDurationMs(ctx.sendingMs)})`,
        input: formatDurationMs(f.atMs),
      });
    switch (f.action) {
      case 'add-relay':
        live.add(nextRelay++);
        break;
      case 'kill-relay':
      case 'drain-relay':
        if (!live.has(f.relay)) {
          problems.push({
            index,
            field: 'relay',
            message: `expected the index of a relay running at that instant (0..${ctx.relays - 1}, or one added earlier; not one already removed)`,
            input: f.relay,
          });
        } else if (live.size === 1) {
          problems.push({ index, field: 'relay', message: 'expected a relay that is not the last one running', input: f.relay });
        } else live.delete(f.relay);
        break;
      case 'kill-broker':
      case 'restart-broker':
        if (ctx.brokers !== 3) {
          problems.push({
            index,
            field: 'action',
            message: 'broker faults need brokers: 3 (replication factor 3, min.insync.replicas 2)',
            input: f.action,
          });
          break;
        }
        if (f.broker < 1 || f.broker > ctx.brokers) {
          problems.push({ index, field: 'broker', message: `expected a broker node id from 1 to ${ctx.brokers}`, input: f.broker });
          break;
        }
        if (f.action === 'restart-broker') down.delete(f.broker);
        else if (down.has(f.broker))
          problems.push({ index, field: 'broker', message: 'expected a running broker (this one is already down)', input: f.broker });
        else if (down.size > 0)
          problems.push({
            index,
            field: 'broker',
            message: 'expected at most one broker down at a time (with min.insync.replicas=2 of 3, a second one stops every write)',
            input: f.broker,
          });
        else down.add(f.broker);
        break;
      case 'latency':
        for (const r of f.relays ?? [])
          if (!live.has(r))
            problems.push({
              index,
              field: 'relays',
              message: `expected indexes of relays running at that instant (0..${ctx.relays - 1}, or ones added earlier)`,
              input: r,
            });
        break;
      case 'slow-readers':
      case 'reconnect-storm':
        break;
    }
  }
  return problems;
}
