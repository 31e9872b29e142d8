import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DEFAULT_MAX_FRAME_BYTES, GATEWAY_ID_PATTERN } from '../protocol/src/index.js';
import { relayError } from './errors.js';
import { PROMPT_LINGER_MS } from './producer/batching-producer.js';

/**
 * Relay configuration: defaults → environment (RELAY_*) → explicit options (CLI flags).
 * Validated once, frozen, and passed down; only this file and main.ts read process.env.
 */
export interface RelayConfig {
  readonly host: string;
  /** One port for WebSocket upgrades and HTTP (/healthz, /readyz, /metrics, /routes). 0 = any free port. */
  readonly port: number;
  /** How clients reach this process (for /routes and redirects); defaults to ws://host:port/. */
  readonly publicUrl?: string;
  /**
   * Where the other relays open their peer link to this one (relay/src/peer/). Default:
   * ws://host:port/ when listening on one address without TLS; 'off' (or a wildcard host, or TLS
   * without this set) = no link: the others' writes then reach this relay's router by its fetch.
   */
  readonly peerUrl?: string;
  readonly brokers: readonly string[];
  readonly gatewayId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly tokenSecret: string;
  readonly maxPayloadBytes: number;
  readonly maxConnections: number;
  /** Token bucket per connection: sustained frames per second and burst. */
  readonly rateLimitPerSec: number;
  readonly rateBurst: number;
  readonly heartbeatMs: number;
  readonly helloTimeoutMs: number;
  /** Above this many unsent bytes on a socket, pushes wait in the connection's backlog. */
  readonly highWaterBytes: number;
  /** A socket that stays above the high-water mark without draining this long is a slow reader: closed with 4009, its mail stays pending. */
  readonly slowReaderMs: number;
  /** Pushes waiting per connection before it counts as a slow reader whatever the time. */
  readonly maxBacklogItems: number;
  readonly sessionTimeoutMs: number;
  /**
   * How long a Kafka write may take, its retries in place included, before its writers hear
   * error 11 (PROTOCOL §5.2). Longer than a partition leader's failover; shorter only where a
   * whole-cluster outage must surface sooner (a test of it, a client with its own deadline).
   */
  readonly writeTimeoutMs: number;
  /**
   * Once Kafka writes come at least one per this many ms, a write waits up to this long for
   * others to share its request (0 = never): fewer requests, ≈ 1 ms more on a ✓ under load.
   * Why, and what it saves: PROMPT_LINGER_MS in producer/batching-producer.ts.
   */
  readonly produceLingerMs: number;
  /** Delivered-but-unconfirmed message ids remembered per connection (for received/read checks). */
  readonly maxUnconfirmedPerConnection: number;
  readonly drainTimeoutMs: number;
  /** Test hooks, off by default: make the router drop or duplicate given message ids (ledger tests). */
  readonly testHooks: { readonly drop: readonly string[]; readonly duplicate: readonly string[] };
  readonly topics: { readonly mailbox: string; readonly keys: string; readonly deliverPrefix: string };
  /** PEM files for wss:// and https:// (both or neither). */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
}

export const RELAY_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  partitions: 12,
  replicationFactor: 1,
  maxPayloadBytes: DEFAULT_MAX_FRAME_BYTES,
  maxConnections: 200_000,
  rateLimitPerSec: 2000,
  rateBurst: 4000,
  heartbeatMs: 15_000,
  helloTimeoutMs: 10_000,
  highWaterBytes: 4 * 1024 * 1024,
  slowReaderMs: 3000,
  maxBacklogItems: 100_000,
  sessionTimeoutMs: 6000,
  writeTimeoutMs: 30_000,
  produceLingerMs: PROMPT_LINGER_MS,
  maxUnconfirmedPerConnection: 20_000,
  drainTimeoutMs: 10_000,
  topics: { mailbox: 'relay.mailbox', keys: 'relay.keys', deliverPrefix: 'relay.deliver.' },
} as const;

export type RelayOptions = Partial<Omit<RelayConfig, 'brokers'>> & { brokers?: readonly string[] | string };

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw relayError('RB_RELAY_BAD_CONFIG', `${name}="${v}" is not a number.`);
  return n;
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function fromEnv(env: NodeJS.ProcessEnv): RelayOptions {
  const hooks = env.RELAY_TEST_HOOKS;
  let testHooks: RelayConfig['testHooks'] | undefined;
  if (hooks !== undefined && hooks !== '') {
    try {
      const parsed = JSON.parse(hooks) as { drop?: string[]; duplicate?: string[] };
      testHooks = { drop: parsed.drop ?? [], duplicate: parsed.duplicate ?? [] };
    } catch {
      throw relayError('RB_RELAY_BAD_CONFIG', 'RELAY_TEST_HOOKS is not JSON like {"drop":["id"],"duplicate":["id"]}.');
    }
  }
  return defined({
    host: env.RELAY_HOST,
    port: envNumber(env, 'RELAY_PORT'),
    publicUrl: env.RELAY_PUBLIC_URL,
    peerUrl: env.RELAY_PEER_URL,
    brokers: env.RELAY_BROKERS ?? env.KAFKA_BROKERS,
    gatewayId: env.RELAY_GATEWAY_ID,
    partitions: envNumber(env, 'RELAY_PARTITIONS'),
    replicationFactor: envNumber(env, 'RELAY_REPLICATION_FACTOR'),
    tokenSecret: env.RELAY_TOKEN_SECRET,
    maxPayloadBytes: envNumber(env, 'RELAY_MAX_PAYLOAD_BYTES'),
    maxConnections: envNumber(env, 'RELAY_MAX_CONNECTIONS'),
    rateLimitPerSec: envNumber(env, 'RELAY_RATE_LIMIT_PER_SEC'),
    highWaterBytes: envNumber(env, 'RELAY_HIGH_WATER_BYTES'),
    writeTimeoutMs: envNumber(env, 'RELAY_WRITE_TIMEOUT_MS'),
    produceLingerMs: envNumber(env, 'RELAY_PRODUCE_LINGER_MS'),
    heartbeatMs: envNumber(env, 'RELAY_HEARTBEAT_MS'),
    tlsCertFile: env.RELAY_TLS_CERT,
    tlsKeyFile: env.RELAY_TLS_KEY,
    testHooks,
  });
}

/** Merges layers (later wins), validates, freezes. */
export function resolveConfig(...layers: RelayOptions[]): RelayConfig {
  const merged: RelayOptions = Object.assign({}, ...layers.map((l) => defined(l)));
  const brokers =
    typeof merged.brokers === 'string'
      ? merged.brokers
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...(merged.brokers ?? [])];
  if (brokers.length === 0) throw relayError('RB_RELAY_BAD_CONFIG', 'No Kafka brokers: pass --brokers or set KAFKA_BROKERS.');
  if (merged.tokenSecret === undefined || merged.tokenSecret.length < 16)
    throw relayError('RB_RELAY_NO_SECRET', 'It must be at least 16 characters.');
  const gatewayId = merged.gatewayId ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${randomBytes(4).toString('hex')}`;
  if (!GATEWAY_ID_PATTERN.test(gatewayId))
    throw relayError('RB_RELAY_BAD_CONFIG', `gatewayId "${gatewayId}" must match ${GATEWAY_ID_PATTERN}.`);
  if (merged.peerUrl !== undefined && merged.peerUrl !== 'off' && !/^wss?:\/\/[^|\s]+$/.test(merged.peerUrl))
    throw relayError('RB_RELAY_BAD_CONFIG', `peerUrl "${merged.peerUrl}" must be a ws:// or wss:// URL, or off.`);
  // The burst follows the rate unless set: two seconds' worth.
  const rateBurst = merged.rateBurst ?? (merged.rateLimitPerSec !== undefined ? merged.rateLimitPerSec * 2 : RELAY_DEFAULTS.rateBurst);
  const config: RelayConfig = {
    ...RELAY_DEFAULTS,
    testHooks: { drop: [], duplicate: [] },
    ...merged,
    rateBurst,
    brokers,
    gatewayId,
    tokenSecret: merged.tokenSecret,
  };
  const positive: (keyof RelayConfig)[] = [
    'partitions',
    'replicationFactor',
    'maxPayloadBytes',
    'maxConnections',
    'rateLimitPerSec',
    'rateBurst',
    'heartbeatMs',
    'highWaterBytes',
    'writeTimeoutMs',
  ];
  for (const k of positive) {
    const v = config[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw relayError('RB_RELAY_BAD_CONFIG', `${k} must be a positive integer, not ${String(v)}.`);
  }
  if (!Number.isInteger(config.produceLingerMs) || config.produceLingerMs < 0 || config.produceLingerMs > 1000)
    throw relayError('RB_RELAY_BAD_CONFIG', `produceLingerMs must be a whole number of ms from 0 to 1000, not ${config.produceLingerMs}.`);
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined))
    throw relayError('RB_RELAY_BAD_CONFIG', 'TLS needs both a certificate and a key file.');
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535)
    throw relayError('RB_RELAY_BAD_CONFIG', `port ${config.port} is out of range.`);
  return Object.freeze(config);
}

/** The config as printed at start: the secret never appears. */
export function printable(config: RelayConfig): Record<string, unknown> {
  return { ...config, tokenSecret: '(set)' };
}
