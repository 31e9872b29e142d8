import { backoffDelayMs } from '../../protocol/src/index.js';
import type { OutRecord, Producer } from '../../kafka/src/index.js';
import type { RelayMetrics } from '../metrics.js';

export interface ProduceRetry {
  /** Tries per request, the first included. */
  readonly attempts: number;
  readonly delayMs: (attempt: number) => number;
  /**
   * How long a request may take, its retries included, before its writers hear error 11. An
   * attempt that has not answered by then counts as failed: with the whole cluster down, the
   * client's reconnect alone rides out a minute per attempt (PROTOCOL §5.2: error 11, not silence).
   */
  readonly totalMs: number;
}

/**
 * 100 ms doubling to 2 s, 20 tries, at most 30 s: longer than a partition leader's failover after
 * a broker is killed (its session timeout, then the election).
 */
export const PRODUCE_RETRY: ProduceRetry = {
  attempts: 20,
  delayMs: (attempt) => backoffDelayMs(attempt, { initialMs: 100, maxMs: 2000, random: () => 1 }),
  totalMs: 30_000,
};

/**
 * How long a lazy record (a tombstone) may wait for a request that goes anyway. Nobody waits for a
 * tombstone (no client frame answers it), and at the rates that matter a prompt request leaves
 * every few ms, so lazy records ride along for free: in `smoke`, ≈ 0.5 fewer produce requests
 * per message and ≈ 0.1 core less over Kafka and the relays (docs/measurements.md). Bounded so
 * an idle relay still deletes delivered mail promptly; a crash in the wait re-delivers (clients
 * drop duplicates), as a crash between a receipt and its tombstone always could.
 */
export const LAZY_LINGER_MS = 100;

/**
 * The relay's prompt linger (its `produceLingerMs`): once prompt records come at least one per
 * linger, a record waits up to this long for company before its request leaves. Each request
 * costs the broker and the relay a wake-up on both sides (≈ 150–300 µs of CPU here, more than
 * its records); at 1,000 msg/s a 1 ms linger took the relays from 1.7 to 1.0 produce requests per
 * message (docs/measurements.md, night of 2026-12-07). Below that rate a record would wait the
 * whole linger and rarely share it, so it does not wait: low load keeps its latency.
 */
export const PROMPT_LINGER_MS = 1;

/** Weight of the newest gap in the smoothed gap between prompt records. */
const GAP_WEIGHT = 1 / 8;
/** Gaps are counted up to this (ms): the first record's is infinite, and a pause is forgotten within a few dozen records. */
const MAX_GAP_MS = 1000;

export interface BatchingProducerOptions {
  readonly metrics?: RelayMetrics | undefined;
  /** Records per request. */
  readonly maxBatch?: number;
  /**
   * Keeps every request under the broker's `message.max.bytes` (1 MiB by default): a record
   * batch for one partition above it is rejected whole.
   */
  readonly maxBatchBytes?: number;
  readonly retry?: ProduceRetry | undefined;
  readonly lazyLingerMs?: number;
  /** See PROMPT_LINGER_MS. Default 0: no prompt linger. */
  readonly lingerMs?: number;
  /** The clock of the prompt linger's rate (ms); default performance.now. */
  readonly now?: () => number;
  /**
   * Told of every successful request, after its callers were resolved: the records and the offset
   * each was written at (-1 where unknown). The relay's router applies its own writes from it.
   */
  readonly onWritten?: (records: readonly OutRecord[], offsets: readonly number[]) => void;
  /**
   * Asked before each retry of a failed request, after its delay: which of its records to try
   * again (true = keep). The others are rejected with the request's error and are not written by
   * a later attempt; the records behind them keep their place. Default: every record.
   */
  readonly keepForRetry?: (records: readonly OutRecord[]) => Promise<readonly boolean[]>;
}

/** A request that went through: its records (those kept for the last attempt) and their offsets. */
interface Sent {
  readonly batch: Queued[];
  readonly offsets: readonly number[];
}

interface Queued {
  readonly record: OutRecord;
  readonly kind: string;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  /** False once the record must not be written any more (checked before each attempt). */
  readonly wanted: (() => boolean) | undefined;
}

/** The rejection of a record whose writer withdrew it (`wanted` false) before an attempt. */
export class WithdrawnError extends Error {
  constructor() {
    super('withdrawn by its writer before it was written');
  }
}

/**
 * Groups concurrent produce calls into one request (kafkajs sends one request per `send`): the
 * records of one event-loop turn go together, and one request is in flight at a time: while it
 * is out, new records queue and go together next.
 * That keeps per-partition order equal to call order (a sender's messages stay in order) and
 * batches naturally under load without a linger timer at low load; from one prompt record per
 * `lingerMs` on, a request also waits up to `lingerMs` from its first record (PROMPT_LINGER_MS).
 * Requests in flight together for disjoint partitions were tried and not kept
 * (docs/measurements.md, "produce requests in flight together"): the broker reads one request per
 * connection at a time, so on one connection the second request only waits there instead; on a
 * second connection the e2e p99 got worse.
 *
 * `produce()` resolves when the record is durable (acks=all) and rejects if the batch failed.
 * `produceLazy()` is the same for a record nobody is waiting on: it goes with the next prompt
 * request, or alone after `lazyLingerMs`. Lazy and prompt records share one queue, so the call
 * order is the write order either way.
 *
 * A failed request is retried in place, before anything queued behind it (PROTOCOL §5.4: a
 * sender's order survives a broker failover). When the retries run out, the batch AND everything
 * queued behind it are rejected, so nothing later is written ahead of the failed records and the
 * clients resend them in their order. A retried batch may have been written in part; the copies
 * are dropped by the routers' msgId dedupe (messages) or harmless (receipts, tombstones, presence).
 */
export class BatchingProducer {
  #queue: Queued[] = [];
  /** How many records at the front of the queue must go out now (all prompt ones, and lazy ones ahead of them or past their linger). */
  #due = 0;
  #inFlight: Promise<void> | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #failing = false;
  /** Smoothed gap between prompt records (ms), when the last one came, and when the oldest one not yet in a request did. */
  #gapMs = MAX_GAP_MS;
  #lastPromptAt = -Infinity;
  #waitingSince: number | null = null;
  readonly #producer: Producer;
  readonly #metrics: RelayMetrics | undefined;
  readonly #maxBatch: number;
  readonly #maxBatchBytes: number;
  readonly #retry: ProduceRetry;
  readonly #lazyLingerMs: number;
  readonly #lingerMs: number;
  readonly #now: () => number;
  readonly #onWritten: BatchingProducerOptions['onWritten'];
  readonly #keepForRetry: BatchingProducerOptions['keepForRetry'];

  constructor(producer: Producer, options: BatchingProducerOptions = {}) {
    this.#producer = producer;
    this.#metrics = options.metrics;
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#maxBatchBytes = options.maxBatchBytes ?? 768 * 1024;
    this.#retry = options.retry ?? PRODUCE_RETRY;
    this.#lazyLingerMs = options.lazyLingerMs ?? LAZY_LINGER_MS;
    this.#lingerMs = options.lingerMs ?? 0;
    this.#now = options.now ?? (() => performance.now());
    this.#onWritten = options.onWritten;
    this.#keepForRetry = options.keepForRetry;
  }

  /**
   * `wanted`, when given, is asked before each attempt (the first one included): once it says
   * false, the record is not sent (again) and its promise rejects with WithdrawnError. An attempt
   * already under way may still write it.
   */
  produce(record: OutRecord, kind = 'message', wanted?: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ record, kind, resolve, reject, wanted });
      this.#due = this.#queue.length;
      this.#notePrompt();
      this.#start();
    });
  }

  /** Like `produce`, but the record may wait up to `lazyLingerMs` for a request that goes anyway. */
  produceLazy(record: OutRecord, kind = 'tombstone'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ record, kind, resolve, reject, wanted: undefined });
      if (this.#inFlight === null) this.#armLinger();
    });
  }

  /** Resolves once everything queued so far (lazy records too) is acknowledged or failed. */
  async flush(): Promise<void> {
    this.#due = this.#queue.length;
    this.#start();
    while (this.#inFlight !== null) await this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** True from a failed request until the next one succeeds: the relay then does not serve (GET /readyz). */
  get failing(): boolean {
    return this.#failing;
  }

  #notePrompt(): void {
    if (this.#lingerMs <= 0) return;
    const now = this.#now();
    this.#gapMs += (Math.min(now - this.#lastPromptAt, MAX_GAP_MS) - this.#gapMs) * GAP_WEIGHT;
    this.#lastPromptAt = now;
    this.#waitingSince ??= now;
  }

  /** Waits out the prompt linger of the next request, if records come fast enough to share it. */
  async #linger(): Promise<void> {
    if (this.#waitingSince === null || this.#gapMs > this.#lingerMs) return;
    const wait = this.#waitingSince + this.#lingerMs - this.#now();
    // Node's timers count whole ms: a shorter wait would take a whole one.
    if (wait >= this.#lingerMs / 2) await new Promise((r) => setTimeout(r, wait));
  }

  #start(): void {
    if (this.#due > 0 && this.#inFlight === null) this.#inFlight = this.#drain();
  }

  #armLinger(): void {
    if (this.#lingerTimer !== null || this.#queue.length === 0) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = null;
      this.#due = this.#queue.length;
      this.#start();
    }, this.#lazyLingerMs);
    this.#lingerTimer.unref();
  }

  async #drain(): Promise<void> {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
    // The first request waits for the end of this event-loop turn, so every record produced in
    // the turn (the frames of every socket read in it, a fetched batch's pushes) shares it.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#due > 0) {
      await this.#linger();
      // Lazy records queued behind the due ones ride along: the request goes anyway.
      const batch = this.#queue.splice(0, this.#batchSize());
      this.#due = Math.max(0, this.#due - batch.length);
      // Records the byte cap left behind have waited already.
      this.#waitingSince = this.#due > 0 ? -Infinity : null;
      await this.#send(withdrawUnwanted(batch));
    }
    this.#inFlight = null;
    this.#armLinger();
  }

  /** How many records from the front fit one request. */
  #batchSize(): number {
    let take = 0;
    let bytes = 0;
    while (take < this.#queue.length && take < this.#maxBatch) {
      const r = this.#queue[take]!.record;
      bytes += (r.value?.byteLength ?? 0) + r.key.length + 64;
      if (take > 0 && bytes > this.#maxBatchBytes) break;
      take++;
    }
    return take;
  }

  async #send(batch: Queued[]): Promise<void> {
    if (batch.length === 0) return;
    const start = performance.now();
    let sent: Sent;
    try {
      sent = await this.#sendRetrying(batch);
    } catch (e) {
      // Everything queued behind the failed batch fails with it: written now, it would land
      // ahead of the failed records' resends.
      const behind = this.#queue.splice(0);
      this.#due = 0;
      this.#waitingSince = null;
      for (const b of [...batch, ...behind]) b.reject(e);
      return;
    }
    if (sent.batch.length === 0) return;
    const seconds = (performance.now() - start) / 1000;
    this.#metrics?.produceBatchRecords.observe(sent.batch.length);
    for (const b of sent.batch) {
      this.#metrics?.produceLatency.observe({ kind: b.kind }, seconds);
      b.resolve();
    }
    this.#onWritten?.(
      sent.batch.map((b) => b.record),
      sent.offsets,
    );
  }

  /** Sends the batch, retrying in place; what `#keep` drops on the way is rejected and left out. */
  async #sendRetrying(batch: Queued[]): Promise<Sent> {
    const giveUpAt = performance.now() + this.#retry.totalMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const offsets = await answerBy(this.#producer.send(batch.map((b) => b.record)), giveUpAt);
        this.#failing = false;
        return { batch, offsets };
      } catch (e) {
        this.#failing = true;
        this.#metrics?.produceErrors.inc();
        const left = giveUpAt - performance.now();
        if (attempt + 1 >= this.#retry.attempts || left <= 0) throw e;
        await new Promise((r) => setTimeout(r, Math.min(left, this.#retry.delayMs(attempt))));
        batch = await this.#keep(batch, e);
        if (batch.length === 0) return { batch, offsets: [] };
      }
    }
  }

  /** The records of the next attempt: those still wanted by their writers, then what `keepForRetry` keeps. */
  async #keep(all: Queued[], e: unknown): Promise<Queued[]> {
    const batch = withdrawUnwanted(all);
    if (this.#keepForRetry === undefined) return batch;
    // A failing check keeps every record: retrying too much is safe, dropping is not.
    const keep = await this.#keepForRetry(batch.map((b) => b.record)).catch(() => []);
    const kept: Queued[] = [];
    batch.forEach((b, i) => (keep[i] === false ? b.reject(e) : kept.push(b)));
    return kept;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#producer.close();
  }
}

/** The records still wanted; the others are rejected with WithdrawnError. */
function withdrawUnwanted(batch: Queued[]): Queued[] {
  if (batch.every((b) => b.wanted === undefined || b.wanted())) return batch;
  const kept: Queued[] = [];
  for (const b of batch) {
    if (b.wanted === undefined || b.wanted()) kept.push(b);
    else b.reject(new WithdrawnError());
  }
  return kept;
}

/**
 * `send`'s answer, or a rejection once `deadline` (performance.now() time) has passed. A send that
 * answers later may still have written: its records are then also resent by their clients, and
 * the copies are dropped by id, as after any failed request that wrote in part.
 */
function answerBy<T>(send: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('Kafka did not answer the produce request in time')),
      Math.max(0, deadline - performance.now()),
    );
  });
  send.catch(() => {}); // answered after the deadline: nobody waits for it any more
  return Promise.race([send, late]).finally(() => clearTimeout(timer));
}
