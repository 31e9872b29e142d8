import type { Prng } from '../rate/prng.js';
import type { VirtualUser } from '../users/virtual-user.js';
import type { Audience } from './audience.js';
import { runPaced } from './pacing.js';

export interface ConnectPhase {
  readonly users: readonly VirtualUser[];
  readonly audience: Audience;
  readonly connectRatePerSec: number;
  /** Users online during the run (the rest start offline and come back later). */
  readonly onlineFraction: number;
  readonly prng: Prng;
  readonly stopRequested: () => boolean;
}

/**
 * Everyone connects once, paced (publishing keys), then prefetches its contacts' keys; then the
 * initially offline users leave. Rejects with the first connect or prefetch failure. Returns the
 * indexes of the users now offline.
 */
export async function runConnectPhase(c: ConnectPhase): Promise<Set<number>> {
  const n = c.users.length;
  const failures = await runPaced(n, c.connectRatePerSec, 64, (i) => c.users[i]!.connect(), c.stopRequested);
  if (failures.length > 0) throw failures[0]!.error;
  const prefetchFailures = await runPaced(n, 1e9, 64, async (i) => {
    const contacts = c.audience.contacts(i);
    if (contacts !== null) await c.users[i]!.prefetch(contacts.map((k) => c.users[k]!.id));
  });
  if (prefetchFailures.length > 0) throw prefetchFailures[0]!.error;
  const offline = new Set<number>();
  const offlineCount = Math.round(n * (1 - c.onlineFraction));
  while (offline.size < offlineCount) offline.add(Math.floor(c.prng.next() * n));
  await Promise.all([...offline].map((i) => c.users[i]!.goOffline()));
  return offline;
}
