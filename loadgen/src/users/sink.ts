import type { Stage } from '../stats/stages.js';

/**
 * Where virtual users report what they measure. The worker implements it (histograms, metrics,
 * interval counters). Synchronous, called on the hot path: implementations must not block or
 * allocate much. Latencies are µs on this process's one clock.
 */
export interface MeasurementSink {
  latency(stage: Stage, valueUs: number): void;
  /** One `send` handed to the connection (after the schedule picked it). */
  sent(): void;
  acked(): void;
  /** First delivery of a msgId, decrypted and verified. */
  delivered(): void;
  error(code: string): void;
}
