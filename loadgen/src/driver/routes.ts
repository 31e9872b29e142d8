/**
 * The routing hint (DESIGN §1): GET /routes on a relay gives partition → owner URL; a smart client
 * connects to the owner of its own partition (the fast path). Without a hint, users are spread
 * round robin over the configured relays.
 */
import { partitionFor } from '../../../relay/protocol/src/index.js';
import { loadgenError } from '../errors.js';

export interface RoutesTable {
  readonly partitionCount: number;
  /** Partition number (decimal string) → ws URL of its owner. */
  readonly partitions: Readonly<Record<string, string>>;
}

/** http(s) URL of `path` on the relay behind a ws(s) URL: ws://h:p/x → http://h:p/path. */
export function httpUrlOf(wsUrl: string, path: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = path;
  u.search = '';
  return u.toString();
}

/** Fetches /routes from the first relay that answers; rejects with RB_LOADGEN_ROUTES. */
export async function fetchRoutes(relays: readonly string[], timeoutMs = 5000): Promise<RoutesTable> {
  let last: unknown;
  for (const relay of relays) {
    try {
      const res = await fetch(httpUrlOf(relay, '/routes'), { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as Partial<RoutesTable>;
      if (typeof body.partitionCount !== 'number' || typeof body.partitions !== 'object' || body.partitions === null)
        throw new Error('no partitionCount/partitions');
      return { partitionCount: body.partitionCount, partitions: body.partitions };
    } catch (e) {
      last = e;
    }
  }
  throw loadgenError('RB_LOADGEN_ROUTES', `Tried ${relays.join(', ')}: ${last instanceof Error ? last.message : String(last)}.`, last);
}

/** How long a relay that refused a connection is skipped by the rotation. */
export const RELAY_DOWN_MS = 10_000;

/**
 * Chooses a relay URL per user: the owner of the user's partition when known, else round robin,
 * skipping relays that refused a connection in the last RELAY_DOWN_MS (a killed or drained
 * relay: without this a user can draw it several times in a row and back off for many seconds).
 * Synchronous.
 */
export class RelayPicker {
  readonly #relays: readonly string[];
  readonly #downUntil = new Map<string, number>();
  readonly #now: () => number;
  #routes: RoutesTable | null = null;
  #next = 0;

  constructor(relays: readonly string[], now: () => number = Date.now) {
    if (relays.length === 0) throw loadgenError('RB_LOADGEN_BAD_PLAN', 'At least one relay URL is needed.');
    this.#relays = relays;
    this.#now = now;
  }

  /** A connection to `url` failed before welcome (refused, reset): skip it for a while. */
  markDown(url: string): void {
    this.#downUntil.set(url, this.#now() + RELAY_DOWN_MS);
  }

  #isDown(url: string): boolean {
    const until = this.#downUntil.get(url);
    return until !== undefined && until > this.#now();
  }

  setRoutes(routes: RoutesTable | null): void {
    this.#routes = routes;
  }

  /** The URL for `userId`'s connection attempt `attempt` (0 = first: use the hint; later attempts rotate). */
  urlFor(userId: string, attempt = 0): string {
    const routes = this.#routes;
    if (attempt === 0 && routes !== null && routes.partitionCount > 0) {
      const owner = routes.partitions[String(partitionFor(userId, routes.partitionCount))];
      if (owner !== undefined && !this.#isDown(owner)) return owner;
    }
    for (let k = 0; k < this.#relays.length; k++) {
      const url = this.#relays[this.#next++ % this.#relays.length]!;
      if (!this.#isDown(url)) return url;
    }
    return this.#relays[this.#next++ % this.#relays.length]!; // every relay is down: keep trying them
  }
}
