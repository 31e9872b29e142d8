/**
 * The measured load phase of a worker run: from the start instant to the end of sending. Warm-up,
 * then measuring; offline users come back, client faults and churn run on their own timers, the
 * interval cuts tick, and the open loop sends on schedule whatever the replies do (open-loop: a
 * slow relay shows as latency, not as a lower send rate).
 */
import type { Clock } from '../rate/clock.js';
import { createSchedule } from '../rate/schedule.js';
import { ClientFaultRunner } from './client-faults.js';
import { IntervalCuts } from './interval-cuts.js';
import { OpenLoop } from './open-loop.js';
import type { Run } from './run-setup.js';

export interface LoadPhase {
  readonly run: Run;
  /** Indexes of the users offline now; the phase takes them out as they come back. */
  readonly offline: Set<number>;
  /** The start instant (ms): sending starts now. */
  readonly startMs: number;
  readonly clock: Clock;
  readonly nowMs: () => number;
  readonly emit: (fraction?: number) => void;
  readonly stopRequested: () => boolean;
  /** Installs what stop() does from now on. */
  readonly onStop: (stop: () => void) => void;
}

/** Runs the phase until sending ends (or stop()); returns the cuts, which go on ticking in the drain. */
export async function runLoadPhase(p: LoadPhase): Promise<IntervalCuts> {
  const { run, offline, startMs } = p;
  const { w, plan } = run;
  run.recorder.cutInterval(startMs); // drop anything recorded while connecting
  run.state.phase = w.warmupMs > 0 ? 'warmup' : 'measuring';
  if (w.warmupMs === 0) run.book.startMeasuring();

  // Users offline from the start come back during the run (store and forward).
  for (const i of offline) backOnline(run, offline, i, w.offlineMs * (0.5 + run.prng.next()));

  // Client faults run on their own timers: a slow reader's resume must still come during the drain.
  if ((plan.clientFaults ?? []).length > 0) {
    run.state.faults = new ClientFaultRunner({ faults: plan.clientFaults ?? [], users: run.users, seed: w.seed, nowMs: p.nowMs });
    run.state.faults.arm();
  }

  const cuts = new IntervalCuts({ run, startMs, nowMs: p.nowMs, emit: p.emit });
  cuts.arm();
  if (w.churnPerSec > 0) startChurn(run, offline);
  await sendOpenLoop(p);
  return cuts;
}

/** User i connects again afterMs from now (a timer in run.timers); a failure counts as an error. */
export function backOnline(run: Run, offline: Set<number>, i: number, afterMs: number): void {
  const t = setTimeout(() => {
    run.timers.delete(t);
    run.users[i]!.connect().then(
      () => offline.delete(i),
      (e) => run.sink.error(codeOf(e)),
    );
  }, afterMs);
  run.timers.add(t);
}

/** Churn: online users drop offline for offlineMs with probability churnPerSec each second. */
function startChurn(run: Run, offline: Set<number>): void {
  const { users, prng, w } = run;
  const churn = setInterval(() => {
    for (let i = 0; i < users.length; i++) {
      if (offline.has(i) || !users[i]!.online || prng.next() >= w.churnPerSec) continue;
      offline.add(i);
      users[i]!.goOffline().then(
        () => backOnline(run, offline, i, w.offlineMs),
        () => {},
      );
    }
  }, 1000);
  run.timers.add(churn);
}

/** Open-loop sends from startMs until the end of the measured duration (or stop()). */
async function sendOpenLoop(p: LoadPhase): Promise<void> {
  const { run, startMs, clock } = p;
  const { w, users, audience, prng, sink, metrics } = run;
  const schedule = createSchedule({
    kind: w.arrivals,
    ratePerSec: w.ratePerSec / audience.fanout,
    rampUpMs: w.rampUpMs,
    startUs: startMs * 1000,
    seed: w.seed + 1,
  });
  metrics?.targetRate.set(w.ratePerSec);
  const pickSender = (): number => {
    for (let k = 0; k < 16; k++) {
      const i = Math.floor(prng.next() * users.length);
      if (users[i]!.online) return i;
    }
    return -1;
  };
  const loop = new OpenLoop({
    schedule,
    endUs: (startMs + w.warmupMs + w.durationMs) * 1000,
    clock,
    dispatch: (intendedUs) => {
      const s = pickSender();
      if (s < 0) return sink.error('RB_LOADGEN_SENDER_OFFLINE');
      for (const r of audience.recipients(s)) {
        sink.latency('scheduleLag', clock.nowUs() - intendedUs);
        run.book.countDispatched();
        users[s]!.send(users[r]!.id, intendedUs);
      }
    },
  });
  run.state.loop = loop;
  p.onStop(() => loop.stop());
  if (p.stopRequested()) loop.stop();
  await loop.run();
  metrics?.targetRate.set(0);
}

export function codeOf(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'RB_LOADGEN_CONNECT';
}
