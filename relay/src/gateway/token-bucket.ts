/**
 * What the rate limit says about one frame: `ok` process it; `refuse` answer error 7 (retriable)
 * and keep the connection; `close` the client is persistently over the limit (4008).
 */
export type RateVerdict = 'ok' | 'refuse' | 'close';

/** The limits, shared by every bucket with the same rate and burst (one object per process, not per connection). */
interface Limits {
  readonly ratePerMs: number;
  readonly burst: number;
  readonly maxStrikes: number;
}

const sharedLimits = new Map<string, Limits>();

function limitsFor(ratePerSec: number, burst: number): Limits {
  const key = `${ratePerSec}/${burst}`;
  let limits = sharedLimits.get(key);
  if (limits === undefined)
    sharedLimits.set(key, (limits = { ratePerMs: ratePerSec / 1000, burst, maxStrikes: Math.max(20, Math.ceil(burst / 20)) }));
  return limits;
}

/**
 * Per-connection rate limit (PROTOCOL §8): `ratePerSec` sustained, `burst` at once. A frame over
 * the limit is refused, not fatal, so a client slightly too fast gets error 7 and retries; each
 * refusal spends a strike, strikes refill at a tenth of the rate, and a client with no strikes
 * left is persistently over the limit (about 10 % above the rate for a while, or a flood): close.
 * Time in ms (monotonic). Three numbers per connection, no timers.
 */
export class TokenBucket {
  #tokens: number;
  #strikes: number;
  #lastMs: number;
  readonly #limits: Limits;

  constructor(ratePerSec: number, burst: number, nowMs: number) {
    this.#limits = limitsFor(ratePerSec, burst);
    this.#tokens = burst;
    this.#strikes = this.#limits.maxStrikes;
    this.#lastMs = nowMs;
  }

  take(nowMs: number): RateVerdict {
    const { ratePerMs, burst, maxStrikes } = this.#limits;
    const elapsed = nowMs - this.#lastMs;
    this.#lastMs = nowMs;
    this.#tokens = Math.min(burst, this.#tokens + elapsed * ratePerMs);
    if (this.#strikes < maxStrikes) this.#strikes = Math.min(maxStrikes, this.#strikes + elapsed * ratePerMs * 0.1);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 'ok';
    }
    if (this.#strikes < 1) return 'close';
    this.#strikes -= 1;
    return 'refuse';
  }

  /**
   * Charges `n` more tokens for a frame already admitted that carries `n` more units of work (a
   * `receiptSeen` with `more`): the tokens may go negative, down to −burst, so the frames after it
   * wait until the work is paid for. No verdict: the admitted frame is served whole.
   */
  charge(n: number): void {
    this.#tokens = Math.max(-this.#limits.burst, this.#tokens - n);
  }
}
