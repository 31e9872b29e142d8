/**
 * Resource accounting of a measured window: CPU seconds and peak RSS per process and per role
 * (Kafka broker, relay, worker, the orchestrator, the Prometheus server the run started), as
 * cores and as µs of CPU per delivered message, plus the whole machine's busy cores from
 * /proc/stat (every process, the harness' or not), and context switches per delivered message:
 * on a VM the wake-ups, not the work, are most of what a message costs at moderate rates.
 * Pure: snapshots in, figures out.
 */
import type { RelayCounter } from './relay-counters.js';

// prometheus: the observer is a process of the run too (make bench starts one); left out, its
// share of the whole machine had no name.
export const ROLES = ['kafka', 'relay', 'worker', 'orchestrator', 'prometheus'] as const;
export type Role = (typeof ROLES)[number];

export interface ProcessRef {
  readonly role: Role;
  /** e.g. `kafka-1`, `relay-0`, `w1`, `orchestrator`, `prometheus`. */
  readonly name: string;
  readonly pid: number;
}

export interface ProcessPoint {
  readonly ref: ProcessRef;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  /** All threads' context switches so far; undefined when /proc could not tell. */
  readonly contextSwitches?: number | undefined;
}

/** Context switches over the window: the count and per delivered message (null: not known / nothing delivered). */
export interface SwitchUsage {
  readonly contextSwitches: number | null;
  readonly switchesPerMessage: number | null;
}

export interface ProcessUsage extends SwitchUsage {
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

export interface RoleUsage extends SwitchUsage {
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
  readonly total: { readonly cpuSeconds: number; readonly cores: number; readonly cpuUsPerMessage: number | null } & SwitchUsage;
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
  const switches = (n: number | null): SwitchUsage => ({
    contextSwitches: n,
    switchesPerMessage: n === null || deliveredMessages === 0 ? null : round1(n / deliveredMessages),
  });
  const pids = new Set([...end.points.keys(), ...last.keys()]);
  const processes: ProcessUsage[] = [];
  for (const pid of pids) {
    const p = end.points.get(pid) ?? last.get(pid)!;
    const cpu = Math.max(0, p.cpuSeconds - (start.points.get(pid)?.cpuSeconds ?? 0));
    processes.push({
      ...switches(switchDelta(start.points.get(pid), p)),
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
      ...switches(sumSwitches(of)),
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
    total: { cpuSeconds: round3(cpu), cores: round3(cpu / seconds), cpuUsPerMessage: perMsg(cpu), ...switches(sumSwitches(processes)) },
    machineCores: machine,
  };
}

/**
 * A process' switches over the window: from 0 when it started inside it (like its CPU). Never
 * negative: a thread that ended takes its count out of the sum, so the figure is a floor.
 */
function switchDelta(start: ProcessPoint | undefined, end: ProcessPoint): number | null {
  if (end.contextSwitches === undefined) return null;
  if (start !== undefined && start.contextSwitches === undefined) return null;
  return Math.max(0, end.contextSwitches - (start?.contextSwitches ?? 0));
}

/** The sum over processes; null when any of them is not known (a partial sum would look whole). */
function sumSwitches(of: readonly SwitchUsage[]): number | null {
  let n = 0;
  for (const p of of) {
    if (p.contextSwitches === null) return null;
    n += p.contextSwitches;
  }
  return n;
}

/** One line per role for logs and the CLI: `kafka 0.21 core (1,050 µs/msg, 21.7 switches/msg, 610 MB) · …`. */
export function resourceLine(r: ResourceUsage): string {
  const parts = r.roles.map(
    (x) =>
      `${x.role}${x.processes > 1 ? `×${x.processes}` : ''} ${x.cores.toFixed(2)} core (${usText(x.cpuUsPerMessage)}${switchText(x)}, ${mb(x.peakRssBytes)})`,
  );
  return `${parts.join(' · ')} · total ${r.total.cores.toFixed(2)} core (${usText(r.total.cpuUsPerMessage)}${switchText(r.total)})${r.machineCores === null ? '' : ` · machine ${r.machineCores.toFixed(2)} core`}`;
}

/** The relays' counters per delivered message: `per msg: 2.14 produce req · 6.1 records · …`. */
export function countersLine(r: ResourceUsage): string | undefined {
  const c = r.relayCounters;
  if (c === undefined || c.kafkaRequests.perMessage === null) return undefined;
  const f = (x: number | null) => (x ?? 0).toFixed(2);
  return `per msg: ${f(c.kafkaProduceRequests.perMessage)} produce req · ${f(c.recordsProduced.perMessage)} records · ${f(c.kafkaFetchRequests.perMessage)} fetch req · ${f(c.kafkaRequests.perMessage)} Kafka req in all · ${f(c.framesIn.perMessage)} frames in · ${f(c.framesOut.perMessage)} frames out${ownWrites(c)}${failures(c)} (at the relays)`;
}

type RelayCounters = NonNullable<ResourceUsage['relayCounters']>;

/** A counter that a summary from before it was counted (a committed baseline) does not have. */
function newer(c: RelayCounters, k: RelayCounter): RelayCounters[RelayCounter] | undefined {
  return c[k] as RelayCounters[RelayCounter] | undefined;
}

/** `· 3 failed produce requests · 2 pushes given up`, only when there were any. */
function failures(c: RelayCounters): string {
  const errors = newer(c, 'produceErrors')?.total ?? 0;
  const dropped = newer(c, 'deliverDropped')?.total ?? 0;
  return `${errors > 0 ? ` · ${errors} failed produce requests` : ''}${dropped > 0 ? ` · ${dropped} pushes given up` : ''}`;
}

/**
 * `· 3.40 own + 2.50 peers' of 5.99 router records from produce answers`; empty for a summary
 * written before the routers counted them (and without `peers'` before the peer links).
 */
function ownWrites(c: RelayCounters): string {
  const written = newer(c, 'routerRecordsWritten');
  const fetched = newer(c, 'routerRecordsFetched');
  if (written?.perMessage == null || fetched?.perMessage == null) return '';
  const peer = newer(c, 'routerRecordsPeer')?.perMessage ?? null;
  if (peer === null)
    return ` · ${written.perMessage.toFixed(2)} of ${(written.perMessage + fetched.perMessage).toFixed(2)} router records from own writes`;
  const all = written.perMessage + peer + fetched.perMessage;
  return ` · ${written.perMessage.toFixed(2)} own + ${peer.toFixed(2)} peers' of ${all.toFixed(2)} router records from produce answers`;
}

export function usText(us: number | null): string {
  return us === null ? 'n/a µs/msg' : `${Math.round(us).toLocaleString('en-US')} µs/msg`;
}

/** `, 21.4 switches/msg` or nothing when not known. */
function switchText(x: SwitchUsage): string {
  return x.switchesPerMessage === null ? '' : `, ${switchesText(x.switchesPerMessage)} switches/msg`;
}

export function switchesText(perMessage: number | null): string {
  return perMessage === null ? 'n/a' : perMessage.toFixed(1);
}

export function mb(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round1 = (x: number) => Math.round(x * 10) / 10;
