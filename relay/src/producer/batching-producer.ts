import type { OutRecord, Producer } from '../../kafka/src/index.js';
import type { RelayMetrics } from '../metrics.js';

/**
 * Groups concurrent produce calls into one request (kafkajs sends one request per `send`).
 * One request in flight at a time: while it is out, new records queue and go together next.
 * That keeps per-partition order equal to call order (a sender's messages stay in order) and
 * batches naturally under load without a linger timer at low load.
 *
 * `produce()` resolves when the record is durable (acks=all) and rejects if the batch failed.
 */
export class BatchingProducer {
  #queue: { record: OutRecord; kind: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #inFlight: Promise<void> | null = null;
  readonly #producer: Producer;
  readonly #metrics: RelayMetrics | undefined;
  readonly #maxBatch: number;
  readonly #maxBatchBytes: number;

  /**
   * `maxBatchBytes` keeps every request under the broker's `message.max.bytes` (1 MiB by default):
   * a record batch for one partition above it is rejected whole.
   */
  constructor(producer: Producer, metrics?: RelayMetrics, maxBatch = 1000, maxBatchBytes = 768 * 1024) {
    this.#producer = producer;
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
        await this.#producer.send(batch.map((b) => b.record));
        const seconds = (performance.now() - start) / 1000;
        this.#metrics?.produceBatchRecords.observe(batch.length);
        for (const b of batch) {
          this.#metrics?.produceLatency.observe({ kind: b.kind }, seconds);
          b.resolve();
        }
      } catch (e) {
        this.#metrics?.produceErrors.inc();
        for (const b of batch) b.reject(e);
      }
    }
    this.#inFlight = null;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#producer.close();
  }
}
