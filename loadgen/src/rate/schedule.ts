// Open-model arrival schedule for ONE aggregate stream: successive *intended* send times (µs),
// independent of how fast the generator actually sends (coordinated-omission-free by design).
// Method: arrivals of a unit-rate process in "work" space s (constant: s = 0, 1, 2, …; Poisson:
// s += Exp(1)) mapped through the inverse of the integrated rate Λ(t):
//   r(t) = R·t/T for t < T (linear ramp from 0), R afterwards; Λ(t) = R·t²/(2T) for t < T,
//   R·T/2 + R·(t − T) afterwards. So a ramp yields exactly half the full-rate arrivals in [0, T).
import { createPrng } from './prng.js';

export const ScheduleKind = { poisson: 'poisson', constant: 'constant' } as const;
export type ScheduleKind = (typeof ScheduleKind)[keyof typeof ScheduleKind];

export interface ScheduleOptions {
  readonly kind: ScheduleKind;
  /** Target aggregate rate, arrivals per second (> 0). */
  readonly ratePerSec: number;
  /** Linear ramp from 0 to ratePerSec over this many ms (default 0: no ramp). */
  readonly rampUpMs?: number;
  /** Time origin, µs (wall clock, e.g. the common start instant). */
  readonly startUs: number;
  /** PRNG seed (used by 'poisson'). */
  readonly seed: number;
}

/** Infinite, synchronous, O(1) per arrival. Not thread-safe. */
export interface Schedule {
  /** The next intended send time, µs; non-decreasing. */
  next(): number;
  /** Arrivals produced so far. */
  readonly produced: number;
}

export function createSchedule(options: ScheduleOptions): Schedule {
  const { kind, ratePerSec, startUs, seed } = options;
  if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new RangeError(`ratePerSec must be > 0: ${ratePerSec}`);
  const rampUs = Math.max(0, (options.rampUpMs ?? 0) * 1000);
  if (kind !== 'poisson' && kind !== 'constant') throw new RangeError(`unknown schedule kind: ${String(kind)}`);
  const ratePerUs = ratePerSec / 1e6;
  const rampWork = (ratePerUs * rampUs) / 2; // Λ(T)
  const prng = createPrng(seed);
  let work = 0;
  let produced = 0;

  // Λ⁻¹(s) in µs after startUs.
  const timeAt = (s: number): number => (s < rampWork ? Math.sqrt((2 * rampUs * s) / ratePerUs) : rampUs + (s - rampWork) / ratePerUs);

  return {
    next(): number {
      if (kind === 'constant') work = produced;
      else work += -Math.log(1 - prng.next());
      produced++;
      return startUs + timeAt(work);
    },
    get produced() {
      return produced;
    },
  };
}
