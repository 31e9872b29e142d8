/**
 * A fix for kafkajs 2.2.4's RequestQueue, applied once when this module loads.
 *
 * Upstream, `scheduleCheckPendingRequests` arms a timer even when nothing is pending and the
 * connection is not throttled: `throttledUntil` is -1, so the delay is negative (Node makes it
 * 1 ms), the timer calls `checkPendingRequests`, which schedules again — every connection of
 * every client wakes its process about once a millisecond, forever (kafkajs issues #1556, #1604,
 * #1704; fixes #1667 and #1768 were never released: kafkajs has had no release since 2023).
 * Measured in `smoke`: ≈ 3,000 such timers a second per relay, an idle relay's event loop waking
 * ≈ 850 times a second; on a VM each wake-up costs tens of µs of CPU (bench/benchmarks/wake-cost).
 *
 * The replacement keeps upstream's behaviour wherever there is something to do — pending requests
 * are checked every 10 ms, or when a client-side throttle ends — and arms nothing otherwise:
 * a pending request is always followed by a scheduled check (push and every check schedule one),
 * and a fulfilled request checks the queue at once (upstream's `fulfillRequest`).
 */
import { createRequire } from 'node:module';

/** The fields of kafkajs' RequestQueue the fix reads and writes. */
export interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** Upstream's CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_MS = 10;

function scheduleCheckPendingRequests(this: RequestQueueLike): void {
  if (this.throttleCheckTimeoutId !== null) return;
  let delayMs = this.throttledUntil - Date.now();
  if (this.pending.length > 0) delayMs = delayMs > 0 ? delayMs : CHECK_PENDING_MS;
  else if (delayMs <= 0) return; // nothing waits and no throttle to wait out: nothing to check
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delayMs);
}

const require = createRequire(import.meta.url);
/** kafkajs' own class (the module the client uses: Node caches it by path). */
export const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
  new (options: Record<string, unknown>): RequestQueueLike;
  prototype: RequestQueueLike;
};
RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
