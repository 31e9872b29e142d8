/**
 * Drives an open-model schedule in real time: calls `dispatch(intendedUs)` for every arrival whose
 * intended time has come, whatever happened to earlier sends (never waits for responses). A late
 * dispatch is still dispatched, with its original intended time, so its lateness shows as schedule
 * lag and in the corrected latencies. Timers: setTimeout (1 ms granularity); setImmediate only
 * when an arrival is due within 0.1 ms.
 * Single-threaded; `dispatch` must not block.
 */
import type { Clock } from '../rate/clock.js';
import type { Schedule } from '../rate/schedule.js';

export interface OpenLoopOptions {
  readonly schedule: Schedule;
  /** No arrival at or after this instant (µs, wall clock). */
  readonly endUs: number;
  readonly clock: Clock;
  readonly dispatch: (intendedUs: number) => void;
}

export class OpenLoop {
  readonly #o: OpenLoopOptions;
  #nextUs: number;
  #timeout: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #stopped = false;
  #done: Promise<void>;
  #resolve!: () => void;
  #dispatched = 0;

  constructor(options: OpenLoopOptions) {
    this.#o = options;
    this.#nextUs = options.schedule.next();
    this.#done = new Promise((r) => (this.#resolve = r));
  }

  /** Arrivals dispatched so far. */
  get dispatched(): number {
    return this.#dispatched;
  }

  /** Starts the loop; the promise resolves when the schedule reaches endUs or stop() is called. */
  run(): Promise<void> {
    this.#tick();
    return this.#done;
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
    this.#resolve();
  }

  #tick = (): void => {
    this.#timeout = null;
    this.#immediate = null;
    if (this.#stopped) return;
    const { clock, dispatch, schedule, endUs } = this.#o;
    let nowUs = clock.nowUs();
    let n = 0;
    while (this.#nextUs <= nowUs && this.#nextUs < endUs) {
      dispatch(this.#nextUs);
      this.#dispatched++;
      this.#nextUs = schedule.next();
      // Refresh "now" now and then, so that a long burst does not run ahead of the clock.
      if ((++n & 63) === 0) {
        nowUs = clock.nowUs();
        if (n >= 4096) break; // yield to I/O; we come right back
      }
    }
    if (this.#nextUs >= endUs) return this.stop();
    const waitMs = (this.#nextUs - clock.nowUs()) / 1000;
    // Never spin: below 1 ms a timer (≈1 ms granularity) costs up to ~1 ms of schedule lag, which
    // the lag histogram shows; a setImmediate loop would burn a core at a few thousand msg/s.
    if (waitMs > 0.1) this.#timeout = setTimeout(this.#tick, Math.max(1, Math.floor(waitMs)));
    else this.#immediate = setImmediate(this.#tick);
  };

  #clear(): void {
    if (this.#timeout !== null) clearTimeout(this.#timeout);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timeout = null;
    this.#immediate = null;
  }
}
