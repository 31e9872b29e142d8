/**
 * The system under test, as one virtual user sees it (STYLE §11: a small plug-in interface; the
 * openmessaging `BenchmarkDriver` idea). A Target opens Connections; a Connection speaks relay
 * protocol frames (relay/protocol) in both directions, whatever carries them: a WebSocket to a
 * relay (relay-driver.ts) or Kafka directly (kafka-direct-driver.ts, the in-run reference path).
 *
 * Concurrency: single-threaded (one event loop); listeners are called synchronously from socket
 * callbacks and must not block. Frames passed to send() are not retained after encoding.
 */
import type { ClientFrame, ServerFrame } from '../../../relay/protocol/src/index.js';

export interface UserCredentials {
  readonly userId: string;
  /** Signed token (relay/protocol signToken) for hello; '' on the kafka-direct path (no relay, no secret). */
  readonly token: string;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionEvents {
  /** Every server frame, in arrival order. */
  onFrame(frame: ServerFrame): void;
  /** A (re)connection completed its handshake: welcome received (first time and after every reconnect). */
  onOpen?(info: { readonly reconnect: boolean; readonly atUs: number; readonly connection: Connection }): void;
  /** The transport went down; `willReconnect` tells whether the driver retries by itself. */
  onDown?(info: { readonly code: number; readonly willReconnect: boolean }): void;
  /** A client-side problem worth counting (stable code, e.g. RB_LOADGEN_CONNECT or WIRE_<NAME>). */
  onError?(code: string): void;
}

export interface Connection {
  readonly state: ConnectionState;
  /**
   * Queue a frame. `send` frames are kept until their `ack` and resent with the same msgId after a
   * reconnect or a retriable error. Frames sent while not open are buffered (sends) or dropped
   * (confirmations, which the relay replays anyway). Never throws on a closed connection.
   */
  send(frame: ClientFrame): void;
  /** Close for good (no reconnect); resolves once the transport is closed. Idempotent. */
  close(): Promise<void>;
  /** Sends not yet acknowledged by the target. */
  readonly unacked: number;
  /**
   * Client-side faults (optional; the relay driver has them). pauseReading: stop reading the
   * current transport (slow reader) until resumeReading; a reconnect gets a transport that reads.
   * dropTransport: kill the transport abruptly, as a network loss would; the driver reconnects.
   */
  pauseReading?(): void;
  resumeReading?(): void;
  dropTransport?(): void;
}

export interface Target {
  readonly kind: 'relay' | 'kafka-direct';
  /** One-time setup (routing hint, topics, consumers). Resolves when ready for connect(). */
  init(): Promise<void>;
  /** Open a connection for `user`; resolves after the handshake (welcome), rejects with RB_LOADGEN_*. */
  connect(user: UserCredentials, events: ConnectionEvents): Promise<Connection>;
  /** Currently open connections. */
  readonly openConnections: number;
  /** Close every connection and release resources. Idempotent. */
  close(): Promise<void>;
}

/** Epochs for hello: grow with every new connection of any user in this process (µs-scale start). */
let epochCounter = Date.now() * 1000;
export function nextEpoch(): number {
  return ++epochCounter;
}
