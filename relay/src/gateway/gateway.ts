import type { WebSocket } from 'ws';
import type { RelayConfig } from '../config.js';
import type { RelayMetrics } from '../metrics.js';
import type { BatchingProducer } from '../producer/batching-producer.js';
import type { PendingItem } from '../router/records.js';
import { KeyStore } from './keystore.js';
import { Session, type GatewayContext, type ReplayEnd } from './session.js';

/**
 * The gateway role: holds client sockets, one live session per user on this process.
 * Pushes arrive from the local router (fast path) or from this gateway's relay.deliver topic.
 */
export class Gateway implements GatewayContext {
  readonly config: RelayConfig;
  readonly metrics: RelayMetrics;
  readonly producer: BatchingProducer;
  readonly keys = new KeyStore();
  readonly log: (line: string) => void;
  readonly #byUser = new Map<string, Session>();
  readonly #all = new Set<Session>();
  /** Sessions still waiting for hello → deadline (ms, performance.now()); insertion order is deadline order. */
  readonly #awaitingHello = new Map<Session, number>();
  #helloSweep: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #draining = false;
  #lastEpoch = 0;

  constructor(config: RelayConfig, metrics: RelayMetrics, producer: BatchingProducer, log: (line: string) => void) {
    this.config = config;
    this.metrics = metrics;
    this.producer = producer;
    this.log = log;
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  accept(ws: WebSocket): void {
    const session = new Session(ws, this);
    this.#all.add(session);
    // Whole milliseconds stay small integers in the map (no boxed number per connection).
    this.#awaitingHello.set(session, Math.ceil(performance.now()) + this.config.helloTimeoutMs);
    this.#startHelloSweep();
    this.metrics.connections.set(this.#all.size);
    this.metrics.connectionsTotal.inc();
  }

  helloAccepted(session: Session): void {
    this.#awaitingHello.delete(session);
  }

  forget(session: Session): void {
    this.#all.delete(session);
    this.#awaitingHello.delete(session);
    this.metrics.connections.set(this.#all.size);
  }

  /**
   * One timer for every connection's hello deadline (PROTOCOL §8: close 1008 without hello in
   * time), instead of a timer per socket; it runs only while some connection waits for hello.
   */
  #startHelloSweep(): void {
    if (this.#helloSweep !== null || this.#draining) return;
    const stepMs = Math.max(10, Math.min(1000, this.config.helloTimeoutMs / 4));
    this.#helloSweep = setInterval(() => {
      const now = performance.now();
      for (const [session, deadline] of this.#awaitingHello) {
        if (deadline > now) break;
        this.#awaitingHello.delete(session);
        session.helloTimedOut();
      }
      if (this.#awaitingHello.size === 0) this.#stopHelloSweep();
    }, stepMs);
    this.#helloSweep.unref();
  }

  #stopHelloSweep(): void {
    if (this.#helloSweep !== null) clearInterval(this.#helloSweep);
    this.#helloSweep = null;
  }

  register(session: Session): Session | undefined {
    const user = session.user as string;
    const previous = this.#byUser.get(user);
    this.#byUser.set(user, session);
    return previous === session ? undefined : previous;
  }

  unregister(session: Session): void {
    const user = session.user;
    if (user === null || this.#byUser.get(user) !== session) return; // replaced: the newer one owns presence
    this.#byUser.delete(user);
    session.presenceOffline().catch(() => {
      // Kafka unavailable: the next connection's presence (higher epoch) supersedes this one anyway.
    });
  }

  /**
   * A newer connection of `user` on another gateway superseded the one here with `epoch`
   * (PROTOCOL §5.1): close it with 4011. A later connection here has another epoch and stays.
   */
  replaced(user: string, epoch: number): void {
    const session = this.#byUser.get(user);
    if (session === undefined || session.epoch !== epoch) return;
    this.#byUser.delete(user); // the newer connection owns presence: no offline record
    session.close('REPLACED', 'a newer connection of this user, on another relay');
  }

  /**
   * The epoch of a new connection: above the client's, above every epoch this gateway gave
   * before, and at least the clock in µs, so a client that lost its counter (a reinstall) still
   * gets a fresh one, and each connection here has its own (PROTOCOL §5.1).
   */
  nextEpoch(clientEpoch: number): number {
    this.#lastEpoch = Math.max(clientEpoch, this.#lastEpoch + 1, Math.floor(Date.now() * 1000));
    return this.#lastEpoch;
  }

  /** Delivers items to the user's session here, if it is connected here; otherwise they stay pending. */
  pushLocal(user: string, items: readonly PendingItem[], replayEnd?: ReplayEnd): boolean {
    const session = this.#byUser.get(user);
    if (session === undefined) return false;
    session.push(items, replayEnd);
    return true;
  }

  startHeartbeat(): void {
    // PROTOCOL §8: any frame (or WebSocket pong) from the client resets idleTicks. A connection
    // silent for a whole interval (15 s) gets a WebSocket ping; still silent at the next tick (at
    // least two intervals, 30 s, without a frame) it is terminated.
    this.#heartbeat = setInterval(() => {
      for (const s of this.#all) {
        if (++s.idleTicks > 2) {
          s.ws.terminate();
          continue;
        }
        if (s.idleTicks === 2) s.ws.ping();
      }
    }, this.config.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Closes every client (1012: restart; clients reconnect elsewhere and their mail follows them). */
  closeAll(code: 'SERVICE_RESTART' | 'GOING_AWAY' = 'SERVICE_RESTART'): void {
    this.#draining = true;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#stopHelloSweep();
    for (const s of this.#all) s.close(code, 'relay draining');
  }

  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#all.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.#all) s.ws.terminate();
  }
}
