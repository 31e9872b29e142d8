/**
 * The second client behind types.ts: @platformatic/kafka (pure JS) for the producer and the group
 * consumer, the two on the message path. Admin stays kafkajs' (startup and routes only), so the
 * two adapters agree on topics and groups by construction. The consumer is
 * platformatic-consumer.ts.
 *
 * The package (≈ 0.5 s to import) is loaded only when this adapter is used.
 */
import type { Producer as PkProducer } from '@platformatic/kafka';
import { kafkaClientError } from './errors.js';
import { recordOffsets } from './offsets.js';
import { createKafkajsAdapter } from './kafkajs-adapter.js';
import { createConsumer } from './platformatic-consumer.js';
import { RIDE_OUT_MS, rideOut, type RideOutOptions } from './retry.js';
import { type Base, isRetriablePlatformaticError, loadPk, messageOf, type Pk, requestCounter } from './platformatic-support.js';
import type { AdapterOptions, ConsumerOptions, KafkaAdapter, OutRecord, Producer, ProducerOptions } from './types.js';

export function createPlatformaticAdapter(options: AdapterOptions): KafkaAdapter {
  const ride: RideOutOptions = {
    boundMs: options.rideOutMs ?? RIDE_OUT_MS,
    log: options.log ?? ((line) => process.stderr.write(`${options.clientId}: ${line}\n`)),
  };
  const base = {
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: options.connectionTimeoutMs ?? 3000,
    retries: options.retries ?? 5,
    retryDelay: 200,
  };
  const admin = createKafkajsAdapter({ ...options, onRequest: undefined });
  const stopCounting = options.onRequest === undefined ? () => {} : requestCounter(options.onRequest);
  let open = 0;
  const closed = () => {
    if (--open === 0) stopCounting();
  };
  return {
    brokers: options.brokers,
    producer: async (po?: ProducerOptions) => {
      open++;
      return createProducer(await loadPk(), base, ride, po, closed);
    },
    consumer: (co: ConsumerOptions) => {
      open++;
      return createConsumer(base, ride, co, closed);
    },
    admin: () => admin.admin(),
  };
}

// ---- producer --------------------------------------------------------------------------------

/**
 * The library counts an idempotent producer's sequence numbers only on success, so two requests
 * in flight to one partition would reuse a sequence (refused as OUT_OF_ORDER_SEQUENCE_NUMBER, or
 * worse, taken for a duplicate). So: one request in flight; sends that arrive meanwhile go
 * together in the next request, and each caller hears that request's outcome. After any failed
 * request the sequence state is unknown (part may have been written), so the producer is
 * replaced before the next request: a new producer id whose sequences start at 0 (a reused
 * sequence would be taken for a duplicate and dropped while reported as written). Failed sends
 * are reported at once, never acked.
 */
async function createProducer(pk: Pk, base: Base, ride: RideOutOptions, o: ProducerOptions = {}, closed: () => void): Promise<Producer> {
  /** null after a failed request: the next request first gets a fresh producer id. */
  let producer: PkProducer | null = await connectProducer(pk, base, ride, o);
  let waiting: { records: OutRecord[]; done: Deferred<readonly number[]> } | null = null;
  let inFlight: Promise<void> | null = null;

  const flush = async (): Promise<void> => {
    while (waiting !== null) {
      const { records, done } = waiting;
      waiting = null;
      try {
        if (producer === null) {
          producer = await connectProducer(pk, base, ride, o);
          o.onProducerReplaced?.();
        }
        const result = await producer.send({ messages: records.map(toMessage) });
        const answers = (result.offsets ?? []).map((w) => ({ topic: w.topic, partition: w.partition, baseOffset: w.offset }));
        done.resolve(recordOffsets(records, answers));
      } catch (e) {
        // The senders hear it at once (they resend); the producer is not used again.
        done.reject(kafkaClientError('RB_KCLIENT_PRODUCE', messageOf(e), e));
        if (producer !== null) void producer.close().catch(() => {});
        producer = null;
      }
    }
    inFlight = null;
  };
  return {
    send(records: readonly OutRecord[]): Promise<readonly number[]> {
      if (records.length === 0) return Promise.resolve([]);
      waiting ??= { records: [], done: deferred() };
      // Senders that share a request each get the offsets of their own records.
      const from = waiting.records.length;
      waiting.records.push(...records);
      const result = waiting.done.promise.then((all) => all.slice(from, from + records.length));
      inFlight ??= flush();
      return result;
    },
    close: async () => {
      await inFlight;
      await producer?.close();
      closed();
    },
  };
}

async function connectProducer(pk: Pk, base: Base, ride: RideOutOptions, o: ProducerOptions): Promise<PkProducer> {
  const p = new pk.Producer({
    ...base,
    idempotent: true,
    acks: pk.ProduceAcks.ALL,
    timeout: o.requestTimeoutMs ?? 30000,
    autocreateTopics: false,
  });
  p.on('error', () => {}); // failures reach the send that hit them
  try {
    await rideOut('producer connect', () => p.initIdempotentProducer({}), { ...ride, retriable: isRetriablePlatformaticError });
  } catch (e) {
    void p.close().catch(() => {});
    throw kafkaClientError('RB_KCLIENT_CONNECT', messageOf(e), e);
  }
  return p;
}

function toMessage(r: OutRecord) {
  const headers = new Map<Buffer, Buffer>();
  for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(Buffer.from(k), Buffer.from(v));
  // A null value is written as Kafka's null (a tombstone), which the library does since 1.2x.
  return { topic: r.topic, partition: r.partition, key: Buffer.from(r.key), value: r.value as Buffer, headers };
}

// ---- small helpers ---------------------------------------------------------------------------

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // a caller that stopped listening must not crash the process
  return { promise, resolve, reject };
}
