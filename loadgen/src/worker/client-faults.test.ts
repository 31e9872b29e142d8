import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_TYPES, type ClientFrame, type ServerFrame } from '../../../relay/protocol/src/index.js';
import type { Connection, ConnectionEvents, ConnectionState, Target, UserCredentials } from '../driver/target.js';
import { Ledger } from '../ledger.js';
import { ManualClock } from '../rate/clock.js';
import { DelayQueue } from '../users/delay-queue.js';
import type { MeasurementSink } from '../users/sink.js';
import { VirtualUser } from '../users/virtual-user.js';
import { ClientFaultRunner, type FaultableUser, type FaultTimers } from './client-faults.js';
import type { ClientFault } from './contract.js';
import { DisruptionLog } from './disruptions.js';
import { makePlan } from './plan.js';

/** Timers that run only when the test advances its clock. */
class ManualTimers implements FaultTimers {
  nowMs = 1_000_000;
  #queue: { at: number; fn: () => void; live: boolean }[] = [];
  schedule(fn: () => void, delayMs: number): () => void {
    const item = { at: this.nowMs + Math.max(0, delayMs), fn, live: true };
    this.#queue.push(item);
    return () => (item.live = false);
  }
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      const next = this.#queue.filter((i) => i.live && i.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      next.live = false;
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = end;
  }
}

class FakeUser implements FaultableUser {
  online = true;
  paused = false;
  drops: number[] = [];
  watched = 0;
  constructor(
    readonly id: string,
    readonly timers: ManualTimers,
  ) {}
  pauseReading(): boolean {
    if (!this.online) return false;
    this.paused = true;
    return true;
  }
  resumeReading(): void {
    this.paused = false;
  }
  dropConnection(): boolean {
    if (!this.online) return false;
    this.drops.push(this.timers.nowMs);
    return true;
  }
  watchRecovery(): void {
    this.watched++;
  }
}

function setup(faults: ClientFault[], n = 10, seed = 1) {
  const timers = new ManualTimers();
  const users = Array.from({ length: n }, (_, i) => new FakeUser(`u${i}`, timers));
  const runner = new ClientFaultRunner({ faults, users, seed, nowMs: () => timers.nowMs, timers });
  return { timers, users, runner };
}

test('disruption log: a close waits for the first ack/delivery after it; two closes before working both recover; capped', () => {
  const log = new DisruptionLog(3);
  log.disrupted('a', 1006, 10);
  log.working('b', 11); // another user: no effect
  log.disrupted('a', 4009, 12);
  assert.deepEqual(
    log.toArray().map((d) => d.recoveredAtMs),
    [null, null],
  );
  log.working('a', 20);
  log.working('a', 30); // no open disruption left: ignored
  assert.deepEqual(log.toArray(), [
    { userId: 'a', closedAtMs: 10, code: 1006, recoveredAtMs: 20 },
    { userId: 'a', closedAtMs: 12, code: 4009, recoveredAtMs: 20 },
  ]);
  log.disrupted('c', 1006, 40);
  log.disrupted('d', 1006, 41);
  assert.equal(log.toArray().length, 3);
  assert.equal(log.dropped, 1);
  log.working('c', 50);
  assert.equal(log.toArray()[2]!.recoveredAtMs, 50);
});

test('slow-readers: share of online users paused for the duration, deterministic by seed; recovery only after resume', () => {
  const at = 1_000_500;
  const { timers, users, runner } = setup([{ action: 'slow-readers', atMs: at, share: 0.3, durationMs: 2000 }]);
  users[0]!.online = false; // offline users are never chosen
  runner.arm();
  timers.advance(499);
  assert.equal(runner.events.length, 0);
  timers.advance(1);
  const paused = users.filter((u) => u.paused);
  assert.equal(paused.length, 3, 'round(0.3 × 9 online)');
  assert.ok(!users[0]!.paused);
  assert.deepEqual(runner.events, [
    { atMs: at, kind: 'fault', action: 'slow-readers', detail: '3 of 9 online users stop reading for 2000 ms' },
  ]);
  // Same seed, same choice; another seed, (here) another choice.
  const again = setup([{ action: 'slow-readers', atMs: at, share: 0.3, durationMs: 2000 }]);
  again.users[0]!.online = false;
  again.runner.arm();
  again.timers.advance(500);
  assert.deepEqual(
    again.users.filter((u) => u.paused).map((u) => u.id),
    paused.map((u) => u.id),
  );
  const other = setup([{ action: 'slow-readers', atMs: at, share: 0.3, durationMs: 2000 }], 10, 99);
  other.users[0]!.online = false;
  other.runner.arm();
  other.timers.advance(500);
  assert.notDeepEqual(
    other.users.filter((u) => u.paused).map((u) => u.id),
    paused.map((u) => u.id),
  );

  // A relay close during the pause (4009), and deliveries before the resume, do not count as recovery.
  runner.disrupted(paused[0]!.id, 4009, timers.nowMs + 100);
  for (const u of paused) runner.working(u.id, timers.nowMs + 200);
  timers.advance(2000);
  assert.ok(
    users.every((u) => !u.paused),
    'resumed',
  );
  assert.deepEqual(
    paused.map((u) => u.watched),
    [1, 1, 1],
  );
  assert.equal(runner.events.length, 1);
  for (const u of paused.slice(0, 2)) runner.working(u.id, timers.nowMs + 10);
  assert.equal(runner.events.length, 1, 'one affected user has not delivered again yet');
  runner.working(paused[2]!.id, timers.nowMs + 40);
  assert.equal(runner.events.length, 2);
  const rec = runner.events[1]!;
  assert.equal(rec.kind, 'recovery');
  assert.equal(rec.atMs, timers.nowMs + 40);
  assert.match(
    rec.detail,
    /^all 3 affected users delivered again, 40 ms after the fault stopped acting \(2040 ms after it began\); connections closed: 1× 4009$/,
  );
  runner.finish();
  assert.equal(runner.events.length, 2, 'nothing more at the end');
});

test('reconnect-storm: drops spread evenly over the window; a user counts once its close is followed by an ack/delivery', () => {
  const at = 1_000_000;
  const { timers, users, runner } = setup([{ action: 'reconnect-storm', atMs: at, share: 0.4, durationMs: 1000 }]);
  runner.arm();
  timers.advance(0);
  assert.equal(runner.events[0]!.detail, '4 of 10 online users drop their connections within 1000 ms');
  assert.equal(users.filter((u) => u.drops.length === 1).length, 1, 'the first drop at once');
  timers.advance(1000);
  const dropped = users.filter((u) => u.drops.length === 1);
  assert.equal(dropped.length, 4);
  assert.deepEqual(
    dropped.map((u) => u.drops[0]! - at).sort((a, b) => a - b),
    [0, 250, 500, 750],
  );
  for (const u of dropped) runner.disrupted(u.id, 1006, u.drops[0]! + 1);
  for (const u of dropped.slice(0, 3)) runner.working(u.id, timers.nowMs + 100);
  assert.equal(runner.events.length, 1);
  runner.working(dropped[3]!.id, timers.nowMs + 100);
  assert.equal(runner.events.length, 2, 'every affected user worked again');
  const { timers: t2, users: u2, runner: r2 } = setup([{ action: 'reconnect-storm', atMs: at, share: 0.2, durationMs: 0 }]);
  r2.arm();
  t2.advance(0);
  const d2 = u2.filter((u) => u.drops.length === 1);
  assert.deepEqual(
    d2.map((u) => u.drops[0]),
    [at, at],
    'durationMs 0: all at once',
  );
  r2.disrupted(d2[0]!.id, 1006, at + 1);
  r2.reconnected(d2[0]!.id, at + 30);
  r2.reconnected(d2[1]!.id, at + 40); // never reported down: ignored
  r2.working(d2[0]!.id, at + 50);
  r2.disrupted(d2[0]!.id, 1006, at + 60); // re-opened
  r2.working(d2[1]!.id, at + 70);
  assert.equal(r2.events.length, 1);
  r2.working(d2[0]!.id, at + 80);
  assert.equal(r2.events.length, 2);
  assert.match(
    r2.events[1]!.detail,
    /^all 2 affected users delivered again, 80 ms after .*; connections closed: 2× 1006, the last reconnect 30 ms after the fault began$/,
  );
});

test('finish(): unrecovered users are reported, paused readers resumed, later faults never applied', () => {
  const at = 1_000_000;
  const { timers, users, runner } = setup([
    { action: 'slow-readers', atMs: at, share: 0.2, durationMs: 60_000 },
    { action: 'reconnect-storm', atMs: at + 120_000, share: 1, durationMs: 0 },
  ]);
  runner.arm();
  timers.advance(1000);
  assert.equal(users.filter((u) => u.paused).length, 2);
  runner.finish();
  assert.ok(users.every((u) => !u.paused));
  assert.deepEqual(
    runner.events.map((e) => [e.kind, e.action]),
    [
      ['fault', 'slow-readers'],
      ['recovery', 'slow-readers'],
    ],
  );
  assert.equal(runner.events[1]!.detail, '2 of 2 affected users never delivered again before the end of the run; no connection closed');
  timers.advance(200_000);
  assert.equal(runner.events.length, 2);
  assert.ok(users.every((u) => u.drops.length === 0));
});

test('plan: clientFaults survive validation; a bad share and kafka-direct mode are refused', () => {
  const fault: ClientFault = { action: 'reconnect-storm', atMs: 5, share: 0.5, durationMs: 0 };
  const plan = makePlan({ relays: ['ws://x'], tokenSecret: 'x'.repeat(16), clientFaults: [fault] });
  assert.deepEqual(plan.clientFaults, [fault]);
  assert.throws(
    () => makePlan({ relays: ['ws://x'], tokenSecret: 'x'.repeat(16), clientFaults: [{ ...fault, share: 0 }] }),
    /RB_LOADGEN_BAD_PLAN|clientFaults\.0\.share/,
  );
  assert.throws(() => makePlan({ mode: 'kafka-direct', brokers: ['b:9092'], clientFaults: [fault] }), /client faults need relay mode/);
});

/** A connection whose transport the test kills; answers publishKeys and echoes an ack for each send. */
class ScriptedConnection implements Connection {
  state: ConnectionState = 'open';
  unacked = 0;
  pausedCalls = 0;
  constructor(readonly events: ConnectionEvents) {}
  send(frame: ClientFrame): void {
    if (frame.t === FRAME_TYPES.publishKeys) setImmediate(() => this.events.onFrame({ t: FRAME_TYPES.keysPublished, reqId: frame.reqId }));
  }
  async close(): Promise<void> {
    this.state = 'closed';
  }
  pauseReading(): void {
    this.pausedCalls++;
  }
  dropTransport(): void {
    this.state = 'reconnecting';
    this.events.onDown?.({ code: 1006, willReconnect: true });
  }
  frame(f: ServerFrame): void {
    this.events.onFrame(f);
  }
}

test('virtual user: an unasked close is a disruption until the next ack; goOffline is not', async () => {
  let conn: ScriptedConnection | null = null;
  const target: Target = {
    kind: 'relay',
    init: async () => {},
    openConnections: 0,
    close: async () => {},
    connect: async (_u: UserCredentials, events: ConnectionEvents) => (conn = new ScriptedConnection(events)),
  };
  const clock = new ManualClock(5_000_000_000);
  const log = new DisruptionLog();
  const sink: MeasurementSink = { latency: () => {}, sent: () => {}, acked: () => {}, delivered: () => {}, error: () => {} };
  const readQueue = new DelayQueue(0);
  const u = new VirtualUser('a', {
    target,
    tokenSecret: 'x'.repeat(16),
    ledger: new Ledger(),
    sink,
    clock,
    readQueue,
    plaintext: () => new Uint8Array(8),
    health: log,
  });
  await u.connect();
  const c = conn!;
  assert.ok(u.pauseReading());
  assert.equal(c.pausedCalls, 1);
  assert.ok(u.dropConnection());
  assert.deepEqual(log.toArray(), [{ userId: 'a', closedAtMs: 5_000_000, code: 1006, recoveredAtMs: null }]);
  assert.equal(u.dropConnection(), false, 'not online while reconnecting');
  c.state = 'open';
  clock.advanceMs(2000);
  c.frame({ t: FRAME_TYPES.ack, msgId: 'a:0', stamps: {} });
  assert.equal(log.toArray()[0]!.recoveredAtMs, clock.nowUs() / 1000);
  await u.goOffline();
  assert.equal(log.toArray().length, 1, 'going offline on purpose is no disruption');
  readQueue.close();
});
