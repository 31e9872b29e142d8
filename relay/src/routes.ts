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

export async function readRoutes(admin: Admin, topic: string, generation: number): Promise<RoutesTable> {
  const group = await admin.describeGroup('relay');
  const partitions: Record<string, string> = {};
  const members: { gatewayId: string; url: string; partitions: number[] }[] = [];
  for (const m of group.members) {
    const who = parseClientId(m.clientId);
    if (who === undefined) continue;
    const owned = [...(m.partitions[topic] ?? [])].sort((a, b) => a - b);
    for (const p of owned) partitions[String(p)] = who.url;
    members.push({ gatewayId: who.gatewayId, url: who.url, partitions: owned });
  }
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
