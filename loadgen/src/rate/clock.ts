// Injectable clock (STYLE rule 7). Both readings are synchronous and non-blocking.

export interface Clock {
  /** Wall-clock µs since the Unix epoch (float; sub-µs digits are noise). Comparable across processes
   * only as far as their system clocks agree; use it for intended/sent/received timestamps. */
  nowUs(): number;
  /** Monotonic ms since an arbitrary origin (never goes backwards); use it for durations/timers. */
  monotonicMs(): number;
}

/** The real clock: performance.timeOrigin + performance.now(), so it is monotonic within a process
 * (it does not follow NTP steps after start) yet lives on the epoch scale. */
export const systemClock: Clock = {
  nowUs: () => (performance.timeOrigin + performance.now()) * 1000,
  monotonicMs: () => performance.now(),
};

/** A clock that moves only when told to; for tests. */
export class ManualClock implements Clock {
  #us: number;
  #monotonicMs = 0;

  /** `startUs`: the initial wall-clock reading, µs since the epoch. */
  constructor(startUs = 1_700_000_000_000_000) {
    this.#us = startUs;
  }

  nowUs(): number {
    return this.#us;
  }

  monotonicMs(): number {
    return this.#monotonicMs;
  }

  /** Move both readings forward by `deltaUs` (≥ 0). */
  advanceUs(deltaUs: number): void {
    if (!(deltaUs >= 0)) throw new RangeError(`a clock cannot move backwards: ${deltaUs}`);
    this.#us += deltaUs;
    this.#monotonicMs += deltaUs / 1000;
  }

  advanceMs(deltaMs: number): void {
    this.advanceUs(deltaMs * 1000);
  }
}
