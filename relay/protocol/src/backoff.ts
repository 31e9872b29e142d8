/**
 * The one retry delay of the project: exponential backoff with jitter. Clients reconnect with it
 * (PROTOCOL §7.2: e.g. 100 ms doubling to 30 s), and the relay, the loadgen and the bench retry
 * Kafka and HTTP calls with it. Pure and synchronous; `random` is injected (values in [0, 1)):
 * `() => 1` gives the cap itself, without jitter.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly random: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 30_000, random: Math.random };

/** Delay before retry `attempt` (0-based): uniform in [cap/2, cap], cap = min(max, initial·2^attempt). */
export function backoffDelayMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const cap = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return cap / 2 + options.random() * (cap / 2);
}
