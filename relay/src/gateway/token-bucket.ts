/** Per-connection rate limit: `ratePerSec` sustained, `burst` at once. Time in ms (monotonic). */
export class TokenBucket {
  #tokens: number;
  #lastMs: number;
  readonly #ratePerMs: number;
  readonly #burst: number;

  constructor(ratePerSec: number, burst: number, nowMs: number) {
    this.#ratePerMs = ratePerSec / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#lastMs = nowMs;
  }

  take(nowMs: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (nowMs - this.#lastMs) * this.#ratePerMs);
    this.#lastMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
