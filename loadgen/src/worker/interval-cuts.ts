/**
 * The run's interval cuts: one every second, plus one exactly at the end of the warm-up, each
 * followed by a progress report; the cut at the end of the warm-up starts the measurement. On its
 * own because both the measured phase and the drain arm it, and its one counter spans both.
 */
import type { Run } from './run-setup.js';

export interface IntervalCutsOptions {
  readonly run: Run;
  /** When sending started (ms); the warm-up ends warmupMs later. */
  readonly startMs: number;
  readonly nowMs: () => number;
  /** Reports progress; `fraction` of the planned warm-up + duration. */
  readonly emit: (fraction?: number) => void;
}

export class IntervalCuts {
  readonly #o: IntervalCutsOptions;
  readonly #measureStartMs: number;
  readonly #plannedMs: number;
  #nextCutMs: number;

  constructor(o: IntervalCutsOptions) {
    const w = o.run.w;
    this.#o = o;
    this.#measureStartMs = o.startMs + w.warmupMs;
    this.#plannedMs = w.warmupMs + w.durationMs;
    this.#nextCutMs = Math.min(o.startMs + 1000, w.warmupMs > 0 ? this.#measureStartMs : Number.POSITIVE_INFINITY);
  }

  /** Sets the timer of the next cut (in run.timers); each cut sets the one after it. */
  arm(): void {
    const { run, nowMs } = this.#o;
    const t = setTimeout(
      () => {
        run.timers.delete(t);
        const now = nowMs();
        // A timer may fire a millisecond or two early by this clock: a cut never comes before
        // its planned time, or the one that ends the warm-up would not end it.
        if (now >= this.#nextCutMs) this.#cut(now);
        this.arm();
      },
      Math.max(0, this.#nextCutMs - nowMs()),
    );
    run.timers.add(t);
  }

  #cut(nowMs: number): void {
    const { run, startMs, emit } = this.#o;
    const measureStartMs = this.#measureStartMs;
    run.book.cut(nowMs);
    emit(Math.min(1, (nowMs - startMs) / this.#plannedMs)); // with the phase of the interval just closed
    if (run.state.phase === 'warmup' && nowMs >= measureStartMs) {
      run.state.phase = 'measuring';
      run.book.startMeasuring();
    }
    const next = this.#nextCutMs;
    this.#nextCutMs = next < measureStartMs ? Math.min(next + 1000, measureStartMs) : next + 1000;
  }
}
