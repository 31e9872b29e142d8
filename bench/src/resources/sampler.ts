/**
 * Samples the run's processes over a measured window: an edge at begin(), a point per process
 * every `everyMs` (so a process that ends inside the window still counts up to its last
 * sample), an edge at close(); result() turns them into figures once the delivered count is
 * known. Reading /proc is injected for tests. One window per sampler; result() before begin()
 * returns undefined, result() without close() closes the window then.
 */
import { accountWindow, type Edge, type ProcessPoint, type ProcessRef, type ResourceUsage } from './accounting.js';
import { countsPerMessage, type RelayCounts } from './relay-counters.js';
import { readMachineBusySeconds, readProcSample, type ProcSample } from './proc-stat.js';

export interface SamplerOptions {
  /** The run's processes right now (relays come and go in fault and scale-out scenarios). */
  readonly processes: () => readonly ProcessRef[];
  readonly everyMs?: number;
  readonly read?: (pid: number) => ProcSample | undefined;
  readonly readMachine?: () => number | undefined;
  readonly nowMs?: () => number;
  /** The relays' counters (relay-counters.ts), read at both edges; absent = not read. */
  readonly counters?: () => Promise<RelayCounts>;
}

export class ResourceSampler {
  readonly #o: SamplerOptions;
  #start: Edge | undefined;
  readonly #last = new Map<number, ProcessPoint>();
  #end: Edge | undefined;
  #counters: [Promise<RelayCounts | undefined>, Promise<RelayCounts | undefined>] | [Promise<RelayCounts | undefined>] | [] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SamplerOptions) {
    this.#o = options;
  }

  begin(): void {
    if (this.#start !== undefined) return;
    this.#start = this.#edge();
    this.#counters = [this.#readCounters()];
    this.#timer = setInterval(() => this.sample(), this.#o.everyMs ?? 1000);
    this.#timer.unref();
  }

  /** One point per process inside the window (the timer's job; public for tests). */
  sample(): void {
    if (this.#start !== undefined && this.#end === undefined) this.#edge();
  }

  /** Takes the window's closing edge (idempotent; a no-op before begin()). */
  close(): void {
    clearInterval(this.#timer);
    if (this.#start === undefined || this.#end !== undefined) return;
    this.#end = this.#edge();
    if (this.#counters.length === 1) this.#counters = [this.#counters[0], this.#readCounters()];
  }

  #readCounters(): Promise<RelayCounts | undefined> {
    const read = this.#o.counters;
    return read === undefined ? Promise.resolve(undefined) : read().catch(() => undefined);
  }

  /** The window's figures; `deliveredMessages` is the divisor of the per-message figures. */
  async result(deliveredMessages: number): Promise<ResourceUsage | undefined> {
    this.close();
    if (this.#start === undefined || this.#end === undefined) return undefined;
    const usage = accountWindow(this.#start, this.#end, deliveredMessages, this.#last);
    const [a, b] = await Promise.all(this.#counters);
    return a === undefined || b === undefined ? usage : { ...usage, relayCounters: countsPerMessage(a, b, deliveredMessages) };
  }

  #edge(): Edge {
    const read = this.#o.read ?? readProcSample;
    const points = new Map<number, ProcessPoint>();
    for (const ref of this.#o.processes()) {
      const s = read(ref.pid);
      if (s === undefined) continue;
      const point = {
        ref,
        cpuSeconds: s.cpuSeconds,
        peakRssBytes: Math.max(s.peakRssBytes, s.rssBytes),
        contextSwitches: s.contextSwitches,
      };
      points.set(ref.pid, point);
      this.#last.set(ref.pid, point);
    }
    return { atMs: (this.#o.nowMs ?? Date.now)(), machineBusySeconds: (this.#o.readMachine ?? readMachineBusySeconds)(), points };
  }
}
