import { backoffDelayMs } from '../../protocol/src/index.js';
import type { OutRecord, Producer } from '../../kafka/src/index.js';
import type { RelayMetrics } from '../metrics.js';

export interface ProduceRetry {
  /** Tries per request, the first included. */
  readonly attempts: number;
  readonly delayMs: (attempt: number) => number;
}

/**
 * 100 ms doubling to 2 s, 20 tries: ≈ 30 s, longer than a partition leader's failover after a
 * broker is killed (its session timeout, then the election).
 */
export const PRODUCE_RETRY: ProduceRetry = {
  attempts: 20,
  delayMs: (attempt) => backoffDelayMs(attempt, { initialMs: 100, maxMs: 2000, random: () => 1 }),
};

/**
 * Groups concurrent produce calls into one request (kafkajs sends one request per `send`).
 * One request in flight at a time: while it is out, new records queue and go together next.
 * That keeps per-partition order equal to call order (a sender's messages stay in order) and
 * batches naturally under load without a linger timer at low load.
 *
 * `produce()` resolves when the record is durable (acks=all) and rejects if the batch failed.
 *
 * A failed request is retried in place, before anything queued behind it (PROTOCOL §5.4: a
 * sender's order survives a broker failover). When the retries run out, the batch AND everything
 * queued behind it are rejected, so nothing later is written ahead of the failed records and the
 * clients resend them in their order. A retried batch may have been written in part; the copies
 * are dropped by the routers' msgId dedupe (messages) or harmless (receipts, tombstones, presence).
 */
export class BatchingProducer {
  #queue: { record: OutRecord; kind: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #inFlight: Promise<void> | null = null;
  readonly #producer: Producer;
  readonly #metrics: RelayMetrics | undefined;
  readonly #maxBatch: number;
  readonly #maxBatchBytes: number;
  readonly #retry: ProduceRetry;

  /**
   * `maxBatchBytes` keeps every request under the broker's `message.max.bytes` (1 MiB by default):
   * a record batch for one partition above it is rejected whole.
   */
  constructor(
    producer: Producer,
    metrics?: RelayMetrics,
    maxBatch = 1000,
    maxBatchBytes = 768 * 1024,
    retry: ProduceRetry = PRODUCE_RETRY,
  ) {
    this.#producer = producer;
    this.#retry = retry;
    this.#metrics = metrics;
    this.#maxBatch = maxBatch;
    this.#maxBatchBytes = maxBatchBytes;
  }

  produce(record: OutRecord, kind = 'message'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ record, kind, resolve, reject });
      if (this.#inFlight === null) this.#inFlight = this.#drain();
    });
  }

  /** Resolves once everything queued so far is acknowledged or failed. */
  async flush(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      let take = 0;
      let bytes = 0;
      while (take < this.#queue.length && take < this.#maxBatch) {
        const r = this.#queue[take]!.record;
        bytes += (r.value?.byteLength ?? 0) + r.key.length + 64;
        if (take > 0 && bytes > this.#maxBatchBytes) break;
        take++;
      }
      const batch = this.#queue.splice(0, take);
      const start = performance.now();
      try {
        await this.#sendRetrying(batch.map((b) => b.record));
        const seconds = (performance.now() - start) / 1000;
        this.#metrics?.produceBatchRecords.observe(batch.length);
        for (const b of batch) {
          this.#metrics?.produceLatency.observe({ kind: b.kind }, seconds);
          b.resolve();
        }
      } catch (e) {
        // Everything queued behind the failed batch fails with it: written now, it would land
        // ahead of the failed records' resends.
        for (const b of [...batch, ...this.#queue.splice(0)]) b.reject(e);
      }
    }
    this.#inFlight = null;
  }

  async #sendRetrying(records: OutRecord[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#producer.send(records);
      } catch (e) {
        this.#metrics?.produceErrors.inc();
        if (attempt + 1 >= this.#retry.attempts) throw e;
        await new Promise((r) => setTimeout(r, this.#retry.delayMs(attempt)));
      }
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#producer.close();
  }
}
