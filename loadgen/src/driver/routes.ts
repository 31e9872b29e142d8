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
      if (typeof body.partitionCount !== 'number' || typeof body.partitions !== 'object' || body.partitions === null) throw new Error('no partitionCount/partitions');
      return { partitionCount: body.partitionCount, partitions: body.partitions };
    } catch (e) {
      last = e;
    }
  }
  throw loadgenError('RB_LOADGEN_ROUTES', `Tried ${relays.join(', ')}: ${last instanceof Error ? last.message : String(last)}.`, last);
}

/** Chooses a relay URL per user: the owner of the user's partition when known, else round robin. Synchronous. */
export class RelayPicker {
  readonly #relays: readonly string[];
  #routes: RoutesTable | null = null;
  #next = 0;

  constructor(relays: readonly string[]) {
    if (relays.length === 0) throw loadgenError('RB_LOADGEN_BAD_PLAN', 'At least one relay URL is needed.');
    this.#relays = relays;
  }

  setRoutes(routes: RoutesTable | null): void {
    this.#routes = routes;
  }

  /** The URL for `userId`'s connection attempt `attempt` (0 = first: use the hint; later attempts rotate). */
  urlFor(userId: string, attempt = 0): string {
    const routes = this.#routes;
    if (attempt === 0 && routes !== null && routes.partitionCount > 0) {
      const owner = routes.partitions[String(partitionFor(userId, routes.partitionCount))];
      if (owner !== undefined) return owner;
    }
    return this.#relays[this.#next++ % this.#relays.length]!;
  }
}
