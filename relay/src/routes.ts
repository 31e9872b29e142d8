import type { Admin } from '../kafka/src/index.js';

/**
 * GET /routes: partition → owner URL, read from the `relay` group's description. Each router's
 * Kafka clientId is `relay|<gatewayId>|<publicUrl>`, so the group itself says who owns what and
 * where to connect — no side registry to keep in sync.
 */
export interface RoutesTable {
  /** This member's assignment counter (kafkajs does not expose Kafka's generation id). */
  readonly generation: number;
  readonly groupState: string;
  readonly partitions: Readonly<Record<string, string>>;
  readonly members: readonly { gatewayId: string; url: string; partitions: readonly number[] }[];
}

/** `peerUrl`: where other relays open their peer link to this one (relay/src/peer/); none = no link. */
export function clientIdFor(gatewayId: string, publicUrl: string, peerUrl?: string): string {
  return `relay|${gatewayId}|${publicUrl}${peerUrl === undefined ? '' : `|${peerUrl}`}`;
}

export function parseClientId(clientId: string): { gatewayId: string; url: string; peerUrl?: string } | undefined {
  const parts = clientId.split('|');
  if ((parts.length !== 3 && parts.length !== 4) || parts[0] !== 'relay') return undefined;
  return { gatewayId: parts[1]!, url: parts[2]!, ...(parts[3] === undefined ? {} : { peerUrl: parts[3] }) };
}

/** A relay in the `relay` group: who, where clients and peers reach it, which partitions of the topic it owns (sorted). */
export interface RelayMember {
  readonly gatewayId: string;
  readonly url: string;
  readonly peerUrl?: string;
  readonly partitions: readonly number[];
}

/** The `relay` group's members that are relays (their client ids say so), and the group's state. */
export async function relayMembers(admin: Admin, topic: string): Promise<{ state: string; members: RelayMember[] }> {
  const group = await admin.describeGroup('relay');
  const members: RelayMember[] = [];
  for (const m of group.members) {
    const who = parseClientId(m.clientId);
    if (who !== undefined) members.push({ ...who, partitions: [...(m.partitions[topic] ?? [])].sort((a, b) => a - b) });
  }
  return { state: group.state, members };
}

export async function readRoutes(admin: Admin, topic: string, generation: number): Promise<RoutesTable> {
  const group = await relayMembers(admin, topic);
  const partitions: Record<string, string> = {};
  for (const m of group.members) for (const p of m.partitions) partitions[String(p)] = m.url;
  // The peer URL is the relays' own business: /routes (PROTOCOL §12) names where clients connect.
  const members = group.members.map((m) => ({ gatewayId: m.gatewayId, url: m.url, partitions: m.partitions }));
  members.sort((a, b) => a.gatewayId.localeCompare(b.gatewayId));
  return { generation, groupState: group.state, partitions, members };
}

/** readRoutes, answered from a copy younger than 500 ms: /routes is polled and each read asks Kafka. */
export function cachedRoutes(admin: Admin, topic: string, generation: () => number): () => Promise<RoutesTable> {
  let cache: { at: number; table: RoutesTable } | null = null;
  return async () => {
    if (cache !== null && Date.now() - cache.at < 500) return cache.table;
    const table = await readRoutes(admin, topic, generation());
    cache = { at: Date.now(), table };
    return table;
  };
}
