/**
 * kafkajs' group consumer behind types.ts (kafkajs-adapter.ts): kafkajs joins the group and
 * fetches; here its assignments, crashes and batches become what GroupConsumer promises.
 */
import type { Consumer as KjsConsumer, EachBatchHandler, Kafka as KjsKafka, IHeaders } from 'kafkajs';
import { kafkaClientError } from './errors.js';
import { rideOut, type RideOutOptions } from './retry.js';
import type { ConsumerHandlers, ConsumerOptions, GroupConsumer, InRecord } from './types.js';

/** One consumer: its kafkajs consumer and whether it runs, shared by the functions below. */
interface ConsumerState {
  readonly consumer: KjsConsumer;
  readonly ride: RideOutOptions;
  readonly options: ConsumerOptions;
  readonly linger: number;
  running: boolean;
}

export function createConsumer(
  kafka: KjsKafka,
  ride: RideOutOptions,
  options: ConsumerOptions,
  onRequest?: (apiName: string) => void,
): GroupConsumer {
  const consumer: KjsConsumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 10000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
    maxWaitTimeInMs: options.maxWaitMs ?? 100,
    minBytes: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  if (onRequest !== undefined) consumer.on(consumer.events.REQUEST, (e) => onRequest(e.payload.apiName));
  const c: ConsumerState = { consumer, ride, options, running: false, linger: options.fetchLingerMs ?? 0 };

  return {
    start: (handlers: ConsumerHandlers): Promise<void> => startConsumer(c, handlers),
    async stop(): Promise<void> {
      c.running = false;
      await consumer.disconnect();
    },
  };
}

async function startConsumer(c: ConsumerState, handlers: ConsumerHandlers): Promise<void> {
  watchGroup(c, handlers);
  try {
    await rideOut(`consumer ${c.options.groupId} connect`, () => c.consumer.connect(), c.ride);
    for (const topic of c.options.topics)
      await rideOut(
        `consumer ${c.options.groupId} subscribe ${topic}`,
        () => c.consumer.subscribe({ topic, fromBeginning: c.options.fromBeginning }),
        c.ride,
      );
  } catch (e) {
    throw kafkaClientError('RB_KCLIENT_CONNECT', String(e), e);
  }
  c.running = true;
  await c.consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: c.options.partitionsConsumedConcurrently ?? 1,
    eachBatchAutoResolve: true,
    eachBatch: batchHandler(handlers, c.linger),
  });
}

/** Reports each assignment, and each crash kafkajs does not restart from. */
function watchGroup(c: ConsumerState, handlers: ConsumerHandlers): void {
  // kafkajs does not expose Kafka's generation id; a per-member join counter stands in for it.
  let joins = 0;
  /** When the current streak of restarted crashes began (0 = none since the last join). */
  let crashingSince = 0;
  c.consumer.on(c.consumer.events.GROUP_JOIN, (e) => {
    crashingSince = 0;
    handlers.onAssigned?.({
      generationId: ++joins,
      memberId: e.payload.memberId,
      partitions: e.payload.memberAssignment,
    });
  });
  // kafkajs restarts the consumer itself after a retriable error (payload.restart), e.g. "the
  // coordinator is loading" on a fresh cluster: that is logged, not fatal, unless it lasts
  // past the bound. A crash kafkajs does not restart from is reported at once.
  c.consumer.on(c.consumer.events.CRASH, (e) => {
    if (!c.running) return;
    const now = Date.now();
    if (crashingSince === 0) crashingSince = now;
    const reason = String(e.payload.error);
    if (e.payload.restart && now - crashingSince < c.ride.boundMs) {
      c.ride.log(`kafka: consumer ${c.options.groupId} hit a retriable error (${reason}); kafkajs restarts it`);
      return;
    }
    const bounded = e.payload.restart ? `still failing after ${Math.round((now - crashingSince) / 1000)} s of restarts: ` : '';
    c.running = false;
    void c.consumer.disconnect().catch(() => {});
    handlers.onCrash?.(kafkaClientError('RB_KCLIENT_CONSUMER_CRASHED', `${bounded}${reason}`, e.payload.error));
  });
}

function batchHandler(handlers: ConsumerHandlers, linger: number): EachBatchHandler {
  return async ({ batch, heartbeat, isRunning, isStale }) => {
    const records: InRecord[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key === null ? null : m.key.toString(),
      value: m.value,
      timestampMs: Number(m.timestamp),
      headers: headersOf(m.headers),
    }));
    await handlers.onBatch(records, {
      topic: batch.topic,
      partition: batch.partition,
      highWatermark: batch.highWatermark,
      heartbeat,
      isRunning: () => isRunning() && !isStale(),
    });
    // kafkajs fetches again only once every batch of the last fetch is handled (its
    // fetcher awaits the worker queue), so a pause here is a fetch linger.
    if (linger > 0 && isRunning() && !isStale()) await new Promise((r) => setTimeout(r, linger));
  };
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return out;
}
