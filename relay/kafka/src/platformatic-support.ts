/**
 * What the platformatic adapter needs without loading the package (≈ 0.5 s to import): which of
 * its errors are worth riding out, and its per-request count for the relay's metrics; and what
 * its producer and consumer share (the package, loaded on first use, their connection settings,
 * an error's message).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { isRetriableKafkaError } from './retry.js';

export type Pk = typeof import('@platformatic/kafka');
let loaded: Promise<Pk> | undefined;
export const loadPk = (): Promise<Pk> => (loaded ??= import('@platformatic/kafka'));

export type Base = { clientId: string; bootstrapBrokers: string[]; connectTimeout: number; retries: number; retryDelay: number };

/** Kafka's error code for a fetch below the log start (compaction or retention moved it). */
export const OFFSET_OUT_OF_RANGE = 1;

interface PkError {
  readonly code?: unknown;
  readonly canRetry?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
}

/**
 * True when the library says it can be retried (Kafka's own retriable codes), for a network
 * error or timeout, or for what retry.ts already rides out. A response carrying several errors
 * is retriable only when each of them is.
 */
export function isRetriablePlatformaticError(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; typeof x === 'object' && x !== null && depth < 8; depth++) {
    const err = x as PkError;
    if (err.canRetry === true || err.code === 'PLT_KFK_NETWORK') return true;
    if (Array.isArray(err.errors) && err.errors.length > 0) return err.errors.every(isRetriablePlatformaticError);
    x = err.cause;
  }
  return isRetriableKafkaError(e);
}

/** Kafka API keys by name, for the requests the relay sends (others are counted as "api <key>"). */
const API_NAMES: Readonly<Record<number, string>> = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  8: 'OffsetCommit',
  9: 'OffsetFetch',
  10: 'FindCoordinator',
  11: 'JoinGroup',
  12: 'Heartbeat',
  13: 'LeaveGroup',
  14: 'SyncGroup',
  18: 'ApiVersions',
  22: 'InitProducerId',
};

const CHANNEL = 'tracing:plt:kafka:connections:api:start';

/**
 * Calls `onRequest` for every request the library sends. The library publishes them on one
 * diagnostics channel per process and does not say which client sent one, so this counts the
 * whole process's platformatic requests: right for the relay (one adapter per process; admin is
 * kafkajs'). Returns the unsubscribe.
 */
export function requestCounter(onRequest: (apiName: string) => void): () => void {
  const listener = (message: unknown): void => {
    const key = (message as { apiKey?: unknown }).apiKey;
    if (typeof key === 'number') onRequest(API_NAMES[key] ?? `api ${key}`);
  };
  subscribe(CHANNEL, listener);
  return () => unsubscribe(CHANNEL, listener);
}

export function messageOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return `${e.message} (${e.errors.map(messageOf).join('; ')})`;
  return e instanceof Error ? e.message : String(e);
}
