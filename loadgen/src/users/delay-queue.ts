/**
 * A FIFO of actions that all wait the same delay (e.g. read receipts `readDelayMs` after the
 * delivery): one timer for the whole queue instead of one per item, O(1) per push/pop.
 * Items run in push order; an item whose `run` returns is done (no cancellation: a caller that
 * wants to cancel checks its own state inside `run`). Single-threaded.
 */
export class DelayQueue {
  readonly #delayMs: number;
  readonly #items: { dueMs: number; run: () => void }[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(delayMs: number) {
    this.#delayMs = Math.max(0, delayMs);
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(run: () => void): void {
    if (this.#delayMs === 0) return run();
    this.#items.push({ dueMs: performance.now() + this.#delayMs, run });
    if (this.#timer === null) this.#arm();
  }

  /** Run everything now (e.g. at the end of a run); the queue stays usable. */
  flush(): void {
    this.#drain(Number.POSITIVE_INFINITY);
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    const first = this.#items[this.#head];
    if (first === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#drain(performance.now());
        this.#arm();
      },
      Math.max(0, first.dueMs - performance.now()),
    );
  }

  #drain(nowMs: number): void {
    while (this.#head < this.#items.length && this.#items[this.#head]!.dueMs <= nowMs) this.#items[this.#head++]!.run();
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
