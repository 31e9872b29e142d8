/**
 * The in-run reference path: the same encrypted payloads as the relay path, produced straight to
 * a Kafka topic and consumed by this worker's own consumer group — no relay in between. The
 * driver plays the relay's part in-process (welcome, key directory, ack after acks=all, delivery
 * to the recipient's connection, store-and-forward for an offline recipient) so the virtual users
 * run unchanged; what it measures is "ack = produce acknowledged" and "e2e = consumed + decrypted",
 * to compare relay overhead against bare Kafka in the same run.
 *
 * Topic: `<topicPrefix>.<workerId>.<nonce>`, P partitions, partition = partitionFor(recipient, P)
 * (as the relay's mailbox), created at init() and deleted at close(). Record value = the encoded
 * `deliver` frame (relay/protocol codec), stamped with gwInUs (send) and routedUs (consume).
 * Sends of one event-loop turn are batched into one produce request (acks=all, idempotent).
 * No receipts exist on this path: received/read/receiptSeen are accepted and ignored.
 */
import { randomBytes } from 'node:crypto';
import {
  FRAME_TYPES,
  PROTOCOL_VERSION,
  WIRE_ERRORS,
  decodeServerFrame,
  encodeFrame,
  mailboxKey,
  nowUs,
  partitionFor,
  type ClientFrame,
  type DeliverFrame,
  type ServerFrame,
} from '../../../relay/protocol/src/index.js';
import {
  DEFAULT_KAFKA_CLIENT,
  KAFKA_CLIENTS,
  type KafkaClientName,
  type Admin,
  type GroupConsumer,
  type InRecord,
  type OutRecord,
  type Producer,
} from '../../../relay/kafka/src/index.js';
import { loadgenError } from '../errors.js';
import type { Connection, ConnectionEvents, ConnectionState, Target, UserCredentials } from './target.js';

export interface KafkaDirectOptions {
  readonly brokers: readonly string[];
  readonly workerId: string;
  /** Partitions of the direct topic (default 12, like relay.mailbox). */
  readonly partitions?: number;
  readonly topicPrefix?: string;
  /** How long init() waits for the consumer group to get its assignment (default 60 s). */
  readonly assignTimeoutMs?: number;
  /** The Kafka client (default: relay/kafka's default). */
  readonly client?: KafkaClientName;
}

interface Bundle {
  readonly identityKey: Uint8Array;
  readonly signedPrekey: Uint8Array;
  readonly signature: Uint8Array;
}

export class KafkaDirectTarget implements Target {
  readonly kind = 'kafka-direct' as const;
  readonly topic: string;
  readonly #options: KafkaDirectOptions;
  readonly #partitions: number;
  readonly #connections = new Map<string, DirectConnection>();
  /** Records for users not connected right now, in consume order (store and forward). */
  readonly #pending = new Map<string, DeliverFrame[]>();
  readonly #keys = new Map<string, Bundle>();
  #admin: Admin | null = null;
  #producer: Producer | null = null;
  #consumer: GroupConsumer | null = null;
  #batch: { record: OutRecord; conn: DirectConnection; msgId: string; gwInUs: number }[] = [];
  #flushScheduled = false;

  constructor(options: KafkaDirectOptions) {
    if (options.brokers.length === 0) throw loadgenError('RB_LOADGEN_BAD_PLAN', 'kafka-direct mode needs brokers.');
    this.#options = options;
    this.#partitions = options.partitions ?? 12;
    this.topic = `${options.topicPrefix ?? 'loadgen.direct'}.${options.workerId.replace(/[^A-Za-z0-9_.-]/g, '_')}.${randomBytes(4).toString('hex')}`;
  }

  get openConnections(): number {
    return this.#connections.size;
  }

  async init(): Promise<void> {
    try {
      const adapter = KAFKA_CLIENTS[this.#options.client ?? DEFAULT_KAFKA_CLIENT]({
        brokers: this.#options.brokers,
        clientId: `loadgen-direct-${this.#options.workerId}`,
      });
      this.#admin = await adapter.admin();
      const brokers = (await this.#admin.describeCluster()).brokers.length;
      await this.#admin.createTopics([
        {
          name: this.topic,
          partitions: this.#partitions,
          replicationFactor: Math.min(3, brokers),
          configs: { 'min.insync.replicas': String(Math.max(1, Math.min(3, brokers) - 1)) },
        },
      ]);
      this.#producer = await adapter.producer();
      const consumer = adapter.consumer({
        groupId: `${this.topic}.group`,
        topics: [this.topic],
        fromBeginning: true,
        maxWaitMs: 20,
        partitionsConsumedConcurrently: 4,
      });
      this.#consumer = consumer;
      const timeoutMs = this.#options.assignTimeoutMs ?? 60_000;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no assignment within ${timeoutMs} ms`)), timeoutMs);
        consumer
          .start({
            onAssigned: (a) => {
              if ((a.partitions[this.topic]?.length ?? 0) > 0) {
                clearTimeout(timer);
                resolve();
              }
            },
            onBatch: async (records) => this.#onRecords(records),
            onCrash: (e) => reject(e),
          })
          .catch(reject);
      });
    } catch (e) {
      throw loadgenError('RB_LOADGEN_KAFKA_DIRECT', e instanceof Error ? e.message : String(e), e);
    }
  }

  async connect(user: UserCredentials, events: ConnectionEvents): Promise<Connection> {
    const conn = new DirectConnection(this, user.userId, events);
    this.#connections.get(user.userId)?.markReplaced();
    this.#connections.set(user.userId, conn);
    await Promise.resolve();
    conn.emit({ t: FRAME_TYPES.welcome, v: PROTOCOL_VERSION, userId: user.userId, gatewayId: 'kafka-direct', serverTimeUs: nowUs() });
    events.onOpen?.({ reconnect: false, atUs: nowUs(), connection: conn });
    const pending = this.#pending.get(user.userId);
    if (pending !== undefined) {
      this.#pending.delete(user.userId);
      for (const f of pending) conn.emit({ ...f, stamps: { ...f.stamps, gwOutUs: nowUs() } });
    }
    return conn;
  }

  /** @internal called by DirectConnection. */
  handle(conn: DirectConnection, frame: ClientFrame): void {
    switch (frame.t) {
      case FRAME_TYPES.publishKeys:
        this.#keys.set(conn.userId, { identityKey: frame.identityKey, signedPrekey: frame.signedPrekey, signature: frame.signature });
        return conn.emitLater({ t: FRAME_TYPES.keysPublished, reqId: frame.reqId });
      case FRAME_TYPES.fetchKeys: {
        const b = this.#keys.get(frame.userId);
        if (b === undefined)
          return conn.emitLater({ t: FRAME_TYPES.error, code: WIRE_ERRORS.KEYS_NOT_FOUND.code, reason: 'no keys', reqId: frame.reqId });
        return conn.emitLater({ t: FRAME_TYPES.keys, reqId: frame.reqId, userId: frame.userId, ...b });
      }
      case FRAME_TYPES.send: {
        const gwInUs = nowUs();
        const deliver: DeliverFrame = {
          t: FRAME_TYPES.deliver,
          msgId: frame.msgId,
          from: conn.userId,
          header: frame.header,
          ciphertext: frame.ciphertext,
          stamps: { gwInUs },
        };
        const record: OutRecord = {
          topic: this.topic,
          partition: partitionFor(frame.to, this.#partitions),
          key: mailboxKey(frame.to, frame.msgId),
          value: Buffer.from(encodeFrame(deliver)),
        };
        this.#batch.push({ record, conn, msgId: frame.msgId, gwInUs });
        if (!this.#flushScheduled) {
          this.#flushScheduled = true;
          setImmediate(() => this.#flush());
        }
        return;
      }
      case FRAME_TYPES.ping:
        return conn.emitLater({ t: FRAME_TYPES.pong, n: frame.n });
      default:
        return; // hello (implicit), received, read, receiptSeen, pong: nothing to do on this path
    }
  }

  unregister(conn: DirectConnection): void {
    if (this.#connections.get(conn.userId) === conn) this.#connections.delete(conn.userId);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    this.#batch = [];
    const producer = this.#producer;
    if (producer === null || batch.length === 0) return;
    producer.send(batch.map((b) => b.record)).then(
      () => {
        const producedUs = nowUs();
        for (const b of batch) b.conn.emit({ t: FRAME_TYPES.ack, msgId: b.msgId, stamps: { gwInUs: b.gwInUs, producedUs } });
      },
      () => {
        for (const b of batch)
          b.conn.emit({ t: FRAME_TYPES.error, code: WIRE_ERRORS.UNAVAILABLE.code, reason: 'produce failed', msgId: b.msgId });
      },
    );
  }

  async #onRecords(records: readonly InRecord[]): Promise<void> {
    for (const r of records) {
      if (r.value === null || r.key === null) continue;
      const routedUs = nowUs();
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(r.value);
      } catch {
        continue;
      }
      if (frame.t !== FRAME_TYPES.deliver) continue;
      const to = r.key.slice(0, r.key.indexOf('/'));
      const conn = this.#connections.get(to);
      const stamped: DeliverFrame = { ...frame, stamps: { ...frame.stamps, routedUs } };
      if (conn === undefined || conn.state !== 'open') {
        let list = this.#pending.get(to);
        if (list === undefined) this.#pending.set(to, (list = []));
        list.push(stamped);
      } else conn.emit({ ...stamped, stamps: { ...stamped.stamps, gwOutUs: nowUs() } });
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.#connections.values()]) await c.close();
    await this.#consumer?.stop().catch(() => {});
    await this.#producer?.close().catch(() => {});
    await this.#admin?.deleteTopics([this.topic]).catch(() => {});
    await this.#admin?.close().catch(() => {});
    this.#consumer = null;
    this.#producer = null;
    this.#admin = null;
  }
}

class DirectConnection implements Connection {
  readonly userId: string;
  readonly #target: KafkaDirectTarget;
  readonly #events: ConnectionEvents;
  #state: ConnectionState = 'open';
  readonly #unacked = new Set<string>();

  constructor(target: KafkaDirectTarget, userId: string, events: ConnectionEvents) {
    this.#target = target;
    this.userId = userId;
    this.#events = events;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get unacked(): number {
    return this.#unacked.size;
  }

  send(frame: ClientFrame): void {
    if (this.#state !== 'open') return;
    if (frame.t === FRAME_TYPES.send) this.#unacked.add(frame.msgId);
    this.#target.handle(this, frame);
  }

  emit(frame: ServerFrame): void {
    if (this.#state !== 'open') return;
    if (frame.t === FRAME_TYPES.ack) this.#unacked.delete(frame.msgId);
    this.#events.onFrame(frame);
  }

  /** Answers are asynchronous, as over a socket. */
  emitLater(frame: ServerFrame): void {
    setImmediate(() => this.emit(frame));
  }

  markReplaced(): void {
    this.#state = 'closed';
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    this.#target.unregister(this);
  }
}
