/**
 * Disruptions of one worker's users: every connection loss a user did not ask for (a relay that
 * died or closed it, a client fault; not churn's goOffline, not the end of the run), with its close
 * code, and when the user worked again — the first ack or delivery on a later connection. The
 * bench derives "recovery time" from these (from a kill until every affected user delivers again).
 * Bounded: the first `max` disruptions are kept (default 100,000); later ones are only counted.
 * Single-threaded, O(1) per event.
 */
import type { Disruption } from './contract.js';

export const MAX_DISRUPTIONS = 100_000;

interface Entry {
  readonly userId: string;
  readonly closedAtMs: number;
  readonly code: number;
  recoveredAtMs: number | null;
}

export class DisruptionLog {
  readonly #max: number;
  readonly #entries: Entry[] = [];
  /** userId → its entries not yet recovered (usually one; more when it dropped again before working). */
  readonly #open = new Map<string, Entry[]>();
  #dropped = 0;

  constructor(max = MAX_DISRUPTIONS) {
    this.#max = max;
  }

  /** Disruptions seen but not kept because the log was full. */
  get dropped(): number {
    return this.#dropped;
  }

  disrupted(userId: string, code: number, atMs: number): void {
    if (this.#entries.length >= this.#max) {
      this.#dropped++;
      return;
    }
    const entry: Entry = { userId, closedAtMs: atMs, code, recoveredAtMs: null };
    this.#entries.push(entry);
    const open = this.#open.get(userId);
    if (open === undefined) this.#open.set(userId, [entry]);
    else open.push(entry);
  }

  /** The user's first ack or delivery since its last disruption: closes all its open entries. */
  working(userId: string, atMs: number): void {
    const open = this.#open.get(userId);
    if (open === undefined) return;
    for (const e of open) e.recoveredAtMs = atMs;
    this.#open.delete(userId);
  }

  toArray(): Disruption[] {
    return this.#entries.map((e) => ({ userId: e.userId, closedAtMs: e.closedAtMs, code: e.code, recoveredAtMs: e.recoveredAtMs }));
  }
}
