/**
 * Keeps a group member honest about its partitions. @platformatic/kafka heartbeats on its own
 * timer, but 1.35 stops for good after a heartbeat fails with anything but a rebalance error (its
 * callback cancels the timer, then refreshes the cancelled one). A broker that stalled for ~30 s
 * timed a heartbeat out; the member heartbeated nothing from then on, the coordinator emptied the
 * group, and the relay went on routing partitions that a member joining later was given too (one
 * user's mail from two routers: out of order, and twice). So a failed heartbeat, or none answered
 * for the session timeout less one interval (the coordinator counts from when it received the
 * last one, and may expire the member by then), reports the membership lost, once per assignment.
 */
import { messageOf } from './platformatic-support.js';

/** The library's events this needs (`consumer:heartbeat:start|end|error`). */
export interface HeartbeatEvents {
  on(event: string, listener: (payload: { error?: unknown }) => void): unknown;
}

export interface LeaseOptions {
  readonly sessionMs: number;
  readonly intervalMs: number;
  /** True while the member acts on an assignment. */
  readonly holding: () => boolean;
  readonly lost: (why: string) => void;
}

export interface MembershipLease {
  /** An assignment came (the join was answered): the lease starts now. */
  joined(): void;
  stop(): void;
}

export function watchMembership(lib: HeartbeatEvents, o: LeaseOptions): MembershipLease {
  let beatSentMs = 0;
  /** When the last answered heartbeat (or the join) was sent. */
  let fromMs = 0;
  let reported = false;
  const lose = (why: string) => {
    if (reported || !o.holding()) return;
    reported = true;
    o.lost(why);
  };
  lib.on('consumer:heartbeat:start', () => (beatSentMs = Date.now()));
  lib.on('consumer:heartbeat:end', () => (fromMs = Math.max(fromMs, beatSentMs)));
  lib.on('consumer:heartbeat:error', (p) => lose(`a heartbeat failed (${messageOf(p.error)})`));
  const timer = setInterval(
    () => {
      const silentMs = Date.now() - fromMs;
      if (silentMs >= o.sessionMs - o.intervalMs) lose(`no heartbeat answered for ${(silentMs / 1000).toFixed(1)} s`);
    },
    Math.max(100, o.intervalMs / 2),
  );
  timer.unref();
  return {
    joined: () => {
      fromMs = Date.now();
      reported = false;
    },
    stop: () => clearInterval(timer),
  };
}
