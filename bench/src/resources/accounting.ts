/**
 * Resource accounting of a measured window: CPU seconds and peak RSS per process and per role
 * (Kafka broker, relay, worker, the orchestrator), as cores and as µs of CPU per delivered
 * message, plus the whole machine's busy cores from /proc/stat (every process, the harness'
 * or not). Pure: snapshots in, figures out.
 */
import type { RelayCounter } from './relay-counters.js';

export const ROLES = ['kafka', 'relay', 'worker', 'orchestrator'] as const;
export type Role = (typeof ROLES)[number];

export interface ProcessRef {
  readonly role: Role;
  /** e.g. `kafka-1`, `relay-0`, `w1`, `orchestrator`. */
  readonly name: string;
  readonly pid: number;
}

export interface ProcessPoint {
  readonly ref: ProcessRef;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

export interface ProcessUsage {
  readonly role: Role;
  readonly name: string;
  readonly pid: number;
  readonly cpuSeconds: number;
  /** cpuSeconds ÷ window seconds (1.0 = one core busy all the window). */
  readonly cores: number;
  /** µs of CPU per delivered message; null when nothing was delivered. */
  readonly cpuUsPerMessage: number | null;
  readonly peakRssBytes: number;
}

export interface RoleUsage {
  readonly role: Role;
  readonly processes: number;
  readonly cpuSeconds: number;
  readonly cores: number;
  readonly cpuUsPerMessage: number | null;
  /** The largest peak RSS of one process of this role. */
  readonly peakRssBytes: number;
}

export interface ResourceUsage {
  readonly windowMs: number;
  /** Messages delivered in the window (e2e latencies recorded in the measured intervals). */
  readonly deliveredMessages: number;
  readonly processes: readonly ProcessUsage[];
  readonly roles: readonly RoleUsage[];
  /** Every accounted process together. */
  readonly total: { readonly cpuSeconds: number; readonly cores: number; readonly cpuUsPerMessage: number | null };
  /** The whole machine's busy cores over the window (/proc/stat; includes processes outside the run). */
  readonly machineCores: number | null;
  /** The relays' own counters over the window (relay-counters.ts): totals and per delivered message. */
  readonly relayCounters?: Readonly<Record<RelayCounter, { readonly total: number; readonly perMessage: number | null }>>;
}

export interface Edge {
  readonly atMs: number;
  readonly machineBusySeconds: number | undefined;
  /** By pid. */
  readonly points: ReadonlyMap<number, ProcessPoint>;
}

/**
 * start/end edges → usage. A process missing at the start (started inside the window) counts
 * from 0; one missing at the end (it ended inside the window) counts up to its `last` point.
 */
export function accountWindow(
  start: Edge,
  end: Edge,
  deliveredMessages: number,
  last: ReadonlyMap<number, ProcessPoint> = end.points,
): ResourceUsage {
  const windowMs = Math.max(1, end.atMs - start.atMs);
  const seconds = windowMs / 1000;
  const perMsg = (cpu: number) => (deliveredMessages > 0 ? round1((cpu * 1e6) / deliveredMessages) : null);
  const pids = new Set([...end.points.keys(), ...last.keys()]);
  const processes: ProcessUsage[] = [];
  for (const pid of pids) {
    const p = end.points.get(pid) ?? last.get(pid)!;
    const cpu = Math.max(0, p.cpuSeconds - (start.points.get(pid)?.cpuSeconds ?? 0));
    processes.push({
      role: p.ref.role,
      name: p.ref.name,
      pid,
      cpuSeconds: round3(cpu),
      cores: round3(cpu / seconds),
      cpuUsPerMessage: perMsg(cpu),
      peakRssBytes: p.peakRssBytes,
    });
  }
  processes.sort((a, b) => ROLES.indexOf(a.role) - ROLES.indexOf(b.role) || a.name.localeCompare(b.name));
  const roles: RoleUsage[] = [];
  for (const role of ROLES) {
    const of = processes.filter((p) => p.role === role);
    if (of.length === 0) continue;
    const cpu = of.reduce((s, p) => s + p.cpuSeconds, 0);
    roles.push({
      role,
      processes: of.length,
      cpuSeconds: round3(cpu),
      cores: round3(cpu / seconds),
      cpuUsPerMessage: perMsg(cpu),
      peakRssBytes: Math.max(...of.map((p) => p.peakRssBytes)),
    });
  }
  const cpu = processes.reduce((s, p) => s + p.cpuSeconds, 0);
  const machine =
    start.machineBusySeconds === undefined || end.machineBusySeconds === undefined
      ? null
      : round3((end.machineBusySeconds - start.machineBusySeconds) / seconds);
  return {
    windowMs,
    deliveredMessages,
    processes,
    roles,
    total: { cpuSeconds: round3(cpu), cores: round3(cpu / seconds), cpuUsPerMessage: perMsg(cpu) },
    machineCores: machine,
  };
}

/** One line per role for logs and the CLI: `kafka 0.21 core (1,050 µs/msg, 610 MB) · …`. */
export function resourceLine(r: ResourceUsage): string {
  const parts = r.roles.map(
    (x) =>
      `${x.role}${x.processes > 1 ? `×${x.processes}` : ''} ${x.cores.toFixed(2)} core (${usText(x.cpuUsPerMessage)}, ${mb(x.peakRssBytes)})`,
  );
  return `${parts.join(' · ')} · total ${r.total.cores.toFixed(2)} core (${usText(r.total.cpuUsPerMessage)})${r.machineCores === null ? '' : ` · machine ${r.machineCores.toFixed(2)} core`}`;
}

/** The relays' counters per delivered message: `per msg: 2.14 produce req · 6.1 records · …`. */
export function countersLine(r: ResourceUsage): string | undefined {
  const c = r.relayCounters;
  if (c === undefined || c.kafkaRequests.perMessage === null) return undefined;
  const f = (x: number | null) => (x ?? 0).toFixed(2);
  return `per msg: ${f(c.kafkaProduceRequests.perMessage)} produce req · ${f(c.recordsProduced.perMessage)} records · ${f(c.kafkaFetchRequests.perMessage)} fetch req · ${f(c.kafkaRequests.perMessage)} Kafka req in all · ${f(c.framesIn.perMessage)} frames in · ${f(c.framesOut.perMessage)} frames out (at the relays)`;
}

export function usText(us: number | null): string {
  return us === null ? 'n/a µs/msg' : `${Math.round(us).toLocaleString('en-US')} µs/msg`;
}

export function mb(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round1 = (x: number) => Math.round(x * 10) / 10;
