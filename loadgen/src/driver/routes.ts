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
  /** Each member's gateway id and advertised URL (PROTOCOL §12), when the relay gave them. */
  readonly members?: readonly { readonly gatewayId: string; readonly url: string }[];
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
      const members = Array.isArray(body.members) ? body.members : undefined;
      return { partitionCount: body.partitionCount, partitions: body.partitions, ...(members === undefined ? {} : { members }) };
    } catch (e) {
      last = e;
    }
  }
  throw loadgenError('RB_LOADGEN_ROUTES', `Tried ${relays.join(', ')}: ${last instanceof Error ? last.message : String(last)}.`, last);
}

/** The gateway id a relay URL answers with on GET /healthz (PROTOCOL §12); null when it does not. */
export async function gatewayIdAt(relay: string, timeoutMs = 5000): Promise<string | null> {
  try {
    const res = await fetch(httpUrlOf(relay, '/healthz'), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { gatewayId?: unknown };
    return res.ok && typeof body.gatewayId === 'string' ? body.gatewayId : null;
  } catch {
    return null;
  }
}

const sameUrl = (u: string): string => {
  try {
    return new URL(u).toString();
  } catch {
    return u;
  }
};

/**
 * Keeps the hint to the relays the user gave. /routes names each owner by the URL the relay
 * advertises, which is not the given one when something sits in between (a proxy, a load
 * balancer, a port forward) and the relay was not started with --public-url. Following it would go
 * around what was put in between: an injected delay would not be measured. So an owner outside
 * `relays` becomes the given URL of the same relay, matched by gateway id (`gatewayOf`, each given
 * URL's /healthz, asked only when needed), and a partition whose owner matches none loses its hint
 * (its users go round robin over `relays`). `unmatched`: the advertised URLs left out.
 */
export async function pinRoutes(
  relays: readonly string[],
  table: RoutesTable,
  gatewayOf: (relay: string) => Promise<string | null> = gatewayIdAt,
): Promise<{ routes: RoutesTable; unmatched: string[] }> {
  const given = new Set(relays.map(sameUrl));
  const owners = [...new Set(Object.values(table.partitions))];
  if (owners.every((o) => given.has(sameUrl(o)))) return { routes: table, unmatched: [] };
  const givenByGateway = new Map<string, string>();
  for (const [i, id] of (await Promise.all(relays.map((r) => gatewayOf(r)))).entries()) if (id !== null) givenByGateway.set(id, relays[i]!);
  const gatewayByUrl = new Map((table.members ?? []).map((m) => [sameUrl(m.url), m.gatewayId]));
  const pinned: Record<string, string> = {};
  const unmatched = new Set<string>();
  for (const [partition, owner] of Object.entries(table.partitions)) {
    const url = given.has(sameUrl(owner)) ? owner : givenByGateway.get(gatewayByUrl.get(sameUrl(owner)) ?? '');
    if (url !== undefined) pinned[partition] = url;
    else unmatched.add(owner);
  }
  return { routes: { ...table, partitions: pinned }, unmatched: [...unmatched] };
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
