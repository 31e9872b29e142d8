/**
 * Client-side faults a worker applies to its own users (WorkerPlan.clientFaults):
 * - slow-readers: at atMs, `share` of the online users stop reading their sockets for durationMs,
 *   then read again. The relay may close them with 4009 (slow reader) meanwhile; they reconnect
 *   with the driver's backoff and their mail replays from Kafka.
 * - reconnect-storm: `share` of the online users lose their connections abruptly, spread evenly
 *   over durationMs (0 = all at once); the driver reconnects with backoff and jitter and resends
 *   unacked sends (the relay dedupes by msgId).
 * Users are chosen deterministically from the plan seed among those online at atMs (index order).
 * Each applied fault yields one 'fault' event, and one 'recovery' event once every affected user
 * has had an ack or a delivery after the fault stopped acting on it (slow readers: after resuming;
 * storm: after its drop) with no disruption left open — or at finish(), saying how many never did.
 * A fault whose instant comes after finish() is never applied and yields no event.
 * Single-threaded; timers are injectable for tests.
 */
import { createPrng } from '../rate/prng.js';
import type { ClientFault, FaultEvent } from './contract.js';

/** What a fault acts on (VirtualUser implements it). */
export interface FaultableUser {
  readonly id: string;
  readonly online: boolean;
  /** False when the user is not online (nothing paused). */
  pauseReading(): boolean;
  resumeReading(): void;
  /** False when the user is not online (nothing dropped). */
  dropConnection(): boolean;
  /** Report the next ack or delivery as working() (the runner needs it after a slow-reader pause). */
  watchRecovery(): void;
}

export interface FaultTimers {
  /** Runs fn after delayMs; returns a cancel function. */
  schedule(fn: () => void, delayMs: number): () => void;
}

export const realTimers: FaultTimers = {
  schedule: (fn, delayMs) => {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(t);
  },
};

export interface ClientFaultRunnerOptions {
  readonly faults: readonly ClientFault[];
  readonly users: readonly FaultableUser[];
  readonly seed: number;
  /** Wall clock, ms since epoch. */
  readonly nowMs: () => number;
  readonly timers?: FaultTimers;
}

interface Applied {
  readonly fault: ClientFault;
  readonly appliedAtMs: number;
  /** Affected users not yet working again → the instant from which an ack/delivery counts (Infinity: still affected). */
  readonly pending: Map<string, number>;
  readonly affected: Set<string>;
  /** Close codes seen on affected users while this fault was unrecovered. */
  readonly closes: Map<number, number>;
  /** Affected users closed and not reconnected yet; the last reconnect (ms after appliedAtMs). */
  readonly down: Set<string>;
  lastReconnectMs: number | null;
  /** Slow readers resumed / storm drops all done. */
  settled: boolean;
  /** When the fault stopped acting (resume, or the last drop). */
  settledAtMs: number;
  recovered: boolean;
}

export class ClientFaultRunner {
  readonly #opts: ClientFaultRunnerOptions;
  readonly #timers: FaultTimers;
  readonly #cancels = new Set<() => void>();
  readonly #applied: Applied[] = [];
  readonly #events: FaultEvent[] = [];
  readonly #paused = new Set<FaultableUser>();
  #finished = false;

  constructor(opts: ClientFaultRunnerOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? realTimers;
  }

  get events(): readonly FaultEvent[] {
    return this.#events;
  }

  /** Schedules every fault at its instant (at once when it has passed). Call once, at the run's start. */
  arm(): void {
    const now = this.#opts.nowMs();
    this.#opts.faults.forEach((fault, index) => this.#later(() => this.#apply(fault, index), fault.atMs - now));
  }

  /** A user's connection closed unasked: it counts as affected-and-unrecovered again. */
  disrupted(userId: string, code: number, atMs: number): void {
    for (const a of this.#applied) {
      if (a.recovered || !a.affected.has(userId)) continue;
      a.closes.set(code, (a.closes.get(code) ?? 0) + 1);
      a.down.add(userId);
      if ((a.pending.get(userId) ?? 0) !== Number.POSITIVE_INFINITY) a.pending.set(userId, atMs);
    }
  }

  /** The driver reconnected a user after a disruption. */
  reconnected(userId: string, atMs: number): void {
    for (const a of this.#applied) {
      if (a.recovered || !a.down.delete(userId)) continue;
      a.lastReconnectMs = Math.max(a.lastReconnectMs ?? 0, atMs - a.appliedAtMs);
    }
  }

  /** A user's first ack or delivery after a disruption or watchRecovery(). */
  working(userId: string, atMs: number): void {
    for (const a of this.#applied) {
      if (a.recovered) continue;
      const since = a.pending.get(userId);
      if (since === undefined || atMs < since) continue;
      a.pending.delete(userId);
      this.#checkRecovered(a, atMs);
    }
  }

  /** End of run: cancel what is still scheduled, resume paused readers, report faults that did not recover. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
    for (const u of this.#paused) u.resumeReading();
    this.#paused.clear();
    const now = this.#opts.nowMs();
    for (const a of this.#applied) {
      if (a.recovered) continue;
      a.recovered = true;
      this.#events.push({
        atMs: now,
        kind: 'recovery',
        action: a.fault.action,
        detail: `${a.pending.size} of ${a.affected.size} affected users never delivered again before the end of the run${closesText(a)}`,
      });
    }
  }

  #later(fn: () => void, delayMs: number): void {
    const cancel = this.#timers.schedule(() => {
      this.#cancels.delete(cancel);
      fn();
    }, delayMs);
    this.#cancels.add(cancel);
  }

  #choose(fault: ClientFault, index: number): FaultableUser[] {
    const online = this.#opts.users.filter((u) => u.online && !this.#paused.has(u));
    const k = online.length === 0 ? 0 : Math.min(online.length, Math.max(1, Math.round(fault.share * online.length)));
    // Partial Fisher–Yates with a PRNG of its own, so the choice depends on the seed and the fault only.
    const prng = createPrng(this.#opts.seed * 31 + 1009 * (index + 1));
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(prng.next() * (online.length - i));
      [online[i], online[j]] = [online[j]!, online[i]!];
    }
    return online.slice(0, k);
  }

  #apply(fault: ClientFault, index: number): void {
    if (this.#finished) return;
    const now = this.#opts.nowMs();
    const onlineCount = this.#opts.users.reduce((n, u) => n + (u.online ? 1 : 0), 0);
    const chosen = this.#choose(fault, index);
    const a = this.#record(fault, now);
    if (fault.action === 'slow-readers') this.#slowReaders(a, chosen, onlineCount, now);
    else this.#storm(a, chosen, onlineCount, now);
  }

  #record(fault: ClientFault, now: number): Applied {
    const a: Applied = {
      fault,
      appliedAtMs: now,
      pending: new Map(),
      affected: new Set(),
      closes: new Map(),
      down: new Set(),
      lastReconnectMs: null,
      settled: false,
      settledAtMs: now,
      recovered: false,
    };
    this.#applied.push(a);
    return a;
  }

  /** The users count as affected, and none can recover before the fault stops acting on it. */
  #affect(a: Applied, users: readonly FaultableUser[]): void {
    for (const u of users) {
      a.affected.add(u.id);
      a.pending.set(u.id, Number.POSITIVE_INFINITY);
    }
  }

  #faultEvent(a: Applied, atMs: number, detail: string): void {
    this.#events.push({ atMs, kind: 'fault', action: a.fault.action, detail });
  }

  /** Pauses the chosen users' reading now and resumes it after durationMs. */
  #slowReaders(a: Applied, chosen: readonly FaultableUser[], onlineCount: number, now: number): void {
    const paused = chosen.filter((u) => u.pauseReading());
    for (const u of paused) this.#paused.add(u);
    this.#affect(a, paused);
    this.#faultEvent(a, now, `${paused.length} of ${onlineCount} online users stop reading for ${a.fault.durationMs} ms`);
    this.#later(() => this.#resume(a, paused), a.fault.durationMs);
  }

  #resume(a: Applied, paused: readonly FaultableUser[]): void {
    const at = this.#opts.nowMs();
    for (const u of paused) {
      this.#paused.delete(u);
      u.resumeReading();
      u.watchRecovery();
      if (a.pending.has(u.id)) a.pending.set(u.id, at);
    }
    this.#settle(a, at);
  }

  /** Drops the chosen users' connections, spread evenly over durationMs (the first at once). */
  #storm(a: Applied, chosen: readonly FaultableUser[], onlineCount: number, now: number): void {
    this.#affect(a, chosen);
    this.#faultEvent(a, now, `${chosen.length} of ${onlineCount} online users drop their connections within ${a.fault.durationMs} ms`);
    let left = chosen.length;
    const dropOne = (u: FaultableUser): void => {
      const at = this.#opts.nowMs();
      this.#drop(a, u, at);
      if (--left === 0) this.#settle(a, at);
    };
    if (chosen.length === 0) {
      a.settled = true;
      this.#checkRecovered(a, now);
    }
    chosen.forEach((u, j) => {
      const delayMs = (a.fault.durationMs * j) / chosen.length;
      if (delayMs === 0) dropOne(u);
      else this.#later(() => dropOne(u), delayMs);
    });
  }

  #drop(a: Applied, u: FaultableUser, at: number): void {
    if (u.dropConnection()) {
      // The close arrives a moment later as disrupted(); until then nothing counts as recovery.
      a.pending.set(u.id, at);
    } else {
      // Gone offline (churn) or reconnecting before its turn: not affected after all.
      a.affected.delete(u.id);
      a.pending.delete(u.id);
    }
  }

  /** The fault stopped acting at `at` (readers resumed, or the last drop done). */
  #settle(a: Applied, at: number): void {
    a.settled = true;
    a.settledAtMs = at;
    this.#checkRecovered(a, at);
  }

  #checkRecovered(a: Applied, atMs: number): void {
    if (a.recovered || !a.settled || a.pending.size > 0) return;
    a.recovered = true;
    const detail =
      a.affected.size === 0
        ? 'no user was affected'
        : `all ${a.affected.size} affected users delivered again, ${Math.round(atMs - a.settledAtMs)} ms after the fault stopped acting (${Math.round(atMs - a.appliedAtMs)} ms after it began)${closesText(a)}`;
    this.#events.push({ atMs, kind: 'recovery', action: a.fault.action, detail });
  }
}

function closesText(a: Applied): string {
  if (a.closes.size === 0) return '; no connection closed';
  const parts = [...a.closes].sort((x, y) => x[0] - y[0]).map(([code, n]) => `${n}× ${code}`);
  const reconnect = a.lastReconnectMs === null ? '' : `, the last reconnect ${Math.round(a.lastReconnectMs)} ms after the fault began`;
  return `; connections closed: ${parts.join(', ')}${reconnect}`;
}
