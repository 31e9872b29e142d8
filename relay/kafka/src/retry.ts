/**
 * The one retry policy for every process that talks to Kafka (relay, joiner, coordinator,
 * collect). A fresh cluster passes through states Kafka itself calls retriable: a broker that
 * "does not host this topic-partition" yet, a group coordinator that "is loading", no leader
 * elected. Those are waited out, bounded, with the reason logged; anything else, or the bound,
 * fails with the caller's clear error.
 */

import { backoffDelayMs } from '../../protocol/src/backoff.js';

/** 200 ms doubling to 3 s, with jitter (processes started together do not retry in step). */
const RETRY_BACKOFF = { initialMs: 200, maxMs: 3000, random: Math.random };

/** Default bound: a fresh 3-broker cluster settles within seconds; a minute covers a busy host. */
export const RIDE_OUT_MS = 60_000;

/** Broker answers kafkajs marks non-retriable that are passing states on a fresh cluster all the same. */
const PASSING =
  /does not host this topic-partition|coordinator is (?:loading|not available)|not the correct coordinator|leader not available|There is no leader|UNKNOWN_TOPIC_OR_PARTITION|COORDINATOR_LOAD_IN_PROGRESS|COORDINATOR_NOT_AVAILABLE|NOT_COORDINATOR|LEADER_NOT_AVAILABLE|REBALANCE_IN_PROGRESS|ECONNREFUSED|Connection error|Connection timeout|KafkaJSNumberOfRetriesExceeded/i;

/** True when `e` (or an error it wraps) is one Kafka's protocol calls retriable, or a passing state of a fresh cluster. */
export function isRetriableKafkaError(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; typeof x === 'object' && x !== null && depth < 8; depth++) {
    const err = x as { retriable?: unknown; name?: unknown; message?: unknown; type?: unknown; cause?: unknown; originalError?: unknown };
    if (err.retriable === true) return true;
    if (err.name === 'KafkaJSNumberOfRetriesExceeded') return true;
    if (PASSING.test(`${String(err.name)} ${String(err.type)} ${String(err.message)}`)) return true;
    x = err.cause ?? err.originalError;
  }
  return false;
}

export interface RideOutOptions {
  /** Give up after this long (ms); 0 = one attempt (probes that must answer fast). */
  readonly boundMs: number;
  readonly log: (line: string) => void;
  /** Which errors are waited out (default isRetriableKafkaError); a client with its own error types passes its own. */
  readonly retriable?: (e: unknown) => boolean;
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs `f`, retrying on retriable errors with backoff (RETRY_BACKOFF) until `boundMs`
 * has passed. The last error is rethrown, its message prefixed with how long it was retried.
 */
export async function rideOut<T>(what: string, f: () => Promise<T>, o: RideOutOptions): Promise<T> {
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      const elapsed = Date.now() - start;
      if (!(o.retriable ?? isRetriableKafkaError)(e) || elapsed >= o.boundMs) {
        if (attempt > 0 && e instanceof Error)
          e.message = `${what}: gave up after ${attempt + 1} attempts over ${Math.round(elapsed / 1000)} s: ${e.message}`;
        throw e;
      }
      const waitMs = Math.round(Math.min(backoffDelayMs(attempt, RETRY_BACKOFF), Math.max(0, o.boundMs - elapsed)));
      o.log(`kafka: ${what} failed (${reasonOf(e)}); retriable, retrying in ${waitMs} ms (attempt ${attempt + 1})`);
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}
