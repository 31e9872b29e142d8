/**
 * One direction of a delayed link: chunks go out in arrival order, each no earlier than its due
 * time (arrival + delay + jitter), never before the chunk ahead of it — a FIFO with due times.
 * Nothing blocks: a timer is armed for the head's due time and re-armed after each flush.
 * The clock and timers are injected, so the schedule is unit-tested with a fake clock.
 * Not thread-safe (single event loop); `write` owns nothing after it returns (chunks are handed
 * to the sink as they came).
 */

export interface DelayClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: DelayClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DelaySettings {
  readonly delayMs: number;
  readonly jitterMs: number;
}

export class DelayedPipe {
  readonly #sink: (chunk: Buffer) => void;
  readonly #clock: DelayClock;
  readonly #random: () => number;
  readonly #queue: { chunk: Buffer; dueMs: number }[] = [];
  #timer: unknown = null;
  #lastDueMs = -Infinity;
  #queuedBytes = 0;
  #ended = false;
  #onEmpty: (() => void) | null = null;
  /** Current delay; null = pass-through (queued chunks still go out in order first). */
  settings: DelaySettings | null = null;

  constructor(sink: (chunk: Buffer) => void, clock: DelayClock = realClock, random: () => number = Math.random) {
    this.#sink = sink;
    this.#clock = clock;
    this.#random = random;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get queued(): number {
    return this.#queue.length;
  }

  write(chunk: Buffer): void {
    const now = this.#clock.now();
    const s = this.settings;
    const extra = s === null ? 0 : s.delayMs + (s.jitterMs > 0 ? this.#random() * s.jitterMs : 0);
    if (extra <= 0 && this.#queue.length === 0) {
      this.#sink(chunk);
      return;
    }
    // Order is kept: a chunk is never due before the one ahead of it (jitter cannot reorder).
    const dueMs = Math.max(now + extra, this.#lastDueMs);
    this.#lastDueMs = dueMs;
    this.#queue.push({ chunk, dueMs });
    this.#queuedBytes += chunk.length;
    if (this.#queue.length === 1) this.#arm();
  }

  /** Calls `done` once every queued chunk went out (at once when empty). */
  end(done: () => void): void {
    this.#ended = true;
    if (this.#queue.length === 0) done();
    else this.#onEmpty = done;
  }

  /** Drops what is queued (the link died). */
  destroy(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }

  #arm(): void {
    const head = this.#queue[0];
    if (head === undefined) return;
    this.#timer = this.#clock.setTimer(() => this.#flush(), Math.max(0, head.dueMs - this.#clock.now()));
  }

  #flush(): void {
    this.#timer = null;
    const now = this.#clock.now();
    while (this.#queue.length > 0 && this.#queue[0]!.dueMs <= now) {
      const { chunk } = this.#queue.shift()!;
      this.#queuedBytes -= chunk.length;
      this.#sink(chunk);
    }
    if (this.#queue.length > 0) this.#arm();
    else if (this.#ended && this.#onEmpty !== null) {
      const done = this.#onEmpty;
      this.#onEmpty = null;
      done();
    }
  }
}
