import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerResult } from './contract.js';

const STOP_DRAIN_MS = 2000;
/** The drain ends once nothing completed for this long (or drainMs, if shorter) after drainMs. */
const DRAIN_QUIET_MS = 3000;
/** Hard drain limit: max(drainMs × DRAIN_EXTENSION, drainMs + DRAIN_EXTRA_MS). */
const DRAIN_EXTENSION = 6;
const DRAIN_EXTRA_MS = 60_000;

export interface DrainState {
  readonly drainMs: number;
  readonly nowMs: () => number;
  /** Messages not yet complete (delivered, receipts in). */
  readonly pending: () => number;
  /** Grows whenever a message or receipt completes. */
  readonly progress: () => number;
  /** Users still holding unsent work. */
  readonly queued: () => boolean;
  /** A user is still reconnecting (e.g. after its relay drained): it may yet deliver. */
  readonly reconnecting: () => boolean;
  readonly stopRequested: () => boolean;
}

/**
 * Waits out the end of a run: drainMs, and beyond it for as long as messages keep completing or
 * users are still reconnecting, up to a hard limit. An overloaded system is late, not lossy, and
 * counting its queue as lost would be a false alarm; only what stays undelivered once progress
 * stops is lost. After stop() the drain is short (STOP_DRAIN_MS at most).
 */
export async function drainUntilQuiet(s: DrainState): Promise<NonNullable<WorkerResult['drain']>> {
  const drainStartMs = s.nowMs();
  const busy = (): boolean => s.pending() > 0 || s.queued();
  let lastProgress = s.progress();
  let lastProgressMs = drainStartMs;
  const quietMs = Math.min(s.drainMs, DRAIN_QUIET_MS);
  let stillProgressing = false;
  while (busy()) {
    const now = s.nowMs();
    if (s.progress() !== lastProgress) {
      lastProgress = s.progress();
      lastProgressMs = now;
    }
    const limitMs = s.stopRequested()
      ? Math.min(STOP_DRAIN_MS, s.drainMs)
      : Math.max(s.drainMs * DRAIN_EXTENSION, s.drainMs + DRAIN_EXTRA_MS);
    if (now - drainStartMs >= limitMs) {
      stillProgressing = now - lastProgressMs < quietMs;
      break;
    }
    if (now - drainStartMs >= s.drainMs && now - lastProgressMs >= quietMs && !s.reconnecting()) break;
    await sleep(50);
  }
  return { waitedMs: s.nowMs() - drainStartMs, pendingAtEnd: s.pending(), stillProgressing: stillProgressing && !s.stopRequested() };
}
