import WebSocket, { type RawData } from 'ws';
import type { Admin } from '../../kafka/src/index.js';
import type { RelayMetrics } from '../metrics.js';
import type { DurableRecord } from '../router/router.js';
import { relayMembers } from '../routes.js';
import { PEER_PATH, checkPeerToken, decodePeerFrame, encodePeerHello, encodePeerRecords, peerToken } from './peer-codec.js';

/**
 * Peer links: each relay hands its durable relay.mailbox records, with the offsets its produce
 * answer gave them, straight to the relay that owns their partition. The owner applies them at
 * once (Router.applyDurable), as it does its own writes, instead of waiting for its fetch; while
 * every peer is linked its fetch turns lazy (Router.fetchPolicy). So a record written by one relay
 * for another's partition costs one frame between the two instead of a fetch answered by the
 * broker, and reaches the owner without the broker's wake-up in between (docs/architecture.md,
 * "peer links").
 *
 * Nothing depends on a hand-over arriving: a record that is not handed over (no link, a peer
 * that crashed after its produce answer, an owner table one rebalance old) comes with the fetch,
 * and the router keeps log order either way. Who owns what, and each peer's URL, come from the
 * `relay` group's description (the members' client ids), read every `refreshMs`.
 */
export interface PeerLinksOptions {
  readonly gatewayId: string;
  /** peerSecret(tokenSecret): signs this relay's hello and checks the peers'. */
  readonly secret: string;
  readonly admin: Admin;
  readonly mailboxTopic: string;
  readonly metrics: RelayMetrics;
  /** Records handed over by a peer. */
  readonly onRecords: (records: DurableRecord[]) => void;
  readonly log: (line: string) => void;
  readonly refreshMs?: number;
}

/** Bytes queued on a link above which records are not handed over (the owner's fetch brings them). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** How long a linking relay has to send its hello. */
const HELLO_TIMEOUT_MS = 5000;

export class PeerLinks {
  readonly #o: PeerLinksOptions;
  readonly #refreshMs: number;
  /** partition → the gatewayId of its owner, from the last refresh. */
  #owners = new Map<number, string>();
  /** The other members of the group at the last refresh. */
  #others: string[] = [];
  #refreshedAt = -Infinity;
  /** Outgoing links by the peer's gatewayId. */
  readonly #out = new Map<string, { readonly url: string; readonly ws: WebSocket }>();
  /** Incoming links, and the peer each one said hello as (null before its hello). */
  readonly #inbound = new Map<WebSocket, string | null>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(o: PeerLinksOptions) {
    this.#o = o;
    this.#refreshMs = o.refreshMs ?? 1000;
  }

  start(): void {
    void this.#refresh();
  }

  /**
   * True while the owner table is fresh and every other member of the group has a link to this
   * relay: then every record written to its partitions is handed to it.
   */
  linkedFromAll(): boolean {
    if (performance.now() - this.#refreshedAt > 3 * this.#refreshMs) return false;
    const linked = new Set(this.#inbound.values());
    return this.#others.every((g) => linked.has(g));
  }

  /** Hands each record to its partition's owner, when that is another relay with an open link. */
  forward(records: readonly DurableRecord[]): void {
    const byOwner = new Map<string, DurableRecord[]>();
    for (const r of records) {
      const owner = this.#owners.get(r.partition);
      if (owner === undefined || owner === this.#o.gatewayId) continue;
      let list = byOwner.get(owner);
      if (list === undefined) byOwner.set(owner, (list = []));
      list.push(r);
    }
    for (const [owner, list] of byOwner) {
      const link = this.#out.get(owner);
      // A peer that does not keep up gets nothing more until it does: its fetch brings the rest.
      if (link === undefined || link.ws.readyState !== WebSocket.OPEN || link.ws.bufferedAmount > MAX_BUFFERED_BYTES) continue;
      link.ws.send(encodePeerRecords(list));
      this.#o.metrics.peerRecordsSent.inc(list.length);
    }
  }

  /** A peer's link (an upgrade on PEER_PATH): hello first, then records. */
  accept(ws: WebSocket): void {
    let peer: string | null = null;
    this.#inbound.set(ws, null);
    const timer = setTimeout(() => ws.close(1008, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        const frame = decodePeerFrame(asBytes(data, isBinary));
        if (frame.t === 'hello' && peer === null) {
          checkPeerToken(frame.token, this.#o.secret, Date.now());
          peer = frame.gatewayId;
          clearTimeout(timer);
          this.#inbound.set(ws, peer);
        } else if (frame.t === 'records' && peer !== null) {
          this.#o.metrics.peerRecordsReceived.inc(frame.records.length);
          this.#o.onRecords(frame.records);
        } else throw new Error(`unexpected ${frame.t}`);
      } catch (e) {
        this.#o.log(`peer link${peer === null ? '' : ` from ${peer}`} refused: ${e instanceof Error ? e.message : String(e)}`);
        ws.close(1008, 'bad peer frame');
      }
    });
    ws.on('close', () => {
      clearTimeout(timer);
      this.#inbound.delete(ws);
    });
    ws.on('error', () => {});
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const link of this.#out.values()) link.ws.terminate();
    this.#out.clear();
    for (const ws of this.#inbound.keys()) ws.terminate();
  }

  async #refresh(): Promise<void> {
    try {
      await this.#read();
    } catch {
      // Kafka unavailable: the table ages, linkedFromAll() turns false and the routers fetch eagerly.
    }
    if (!this.#closed) this.#timer = setTimeout(() => void this.#refresh(), this.#refreshMs).unref();
  }

  async #read(): Promise<void> {
    const { members } = await relayMembers(this.#o.admin, this.#o.mailboxTopic);
    const owners = new Map<number, string>();
    const urls = new Map<string, string | undefined>();
    for (const m of members) {
      urls.set(m.gatewayId, m.peerUrl);
      for (const p of m.partitions) owners.set(p, m.gatewayId);
    }
    this.#owners = owners;
    this.#others = [...urls.keys()].filter((g) => g !== this.#o.gatewayId);
    this.#refreshedAt = performance.now();
    this.#link(urls);
  }

  /** Opens a link to every other member with a peer URL, and drops links to relays that left. */
  #link(urls: ReadonlyMap<string, string | undefined>): void {
    for (const [g, link] of this.#out) {
      const gone = urls.get(g) !== link.url || link.ws.readyState === WebSocket.CLOSED || link.ws.readyState === WebSocket.CLOSING;
      if (gone) {
        link.ws.terminate();
        this.#out.delete(g);
      }
    }
    for (const [g, url] of urls) {
      if (g === this.#o.gatewayId || url === undefined || this.#out.has(g)) continue;
      const ws = new WebSocket(new URL(PEER_PATH.slice(1), url), { perMessageDeflate: false });
      ws.on('open', () => ws.send(encodePeerHello(this.#o.gatewayId, peerToken(this.#o.secret, Date.now()))));
      ws.on('error', () => {}); // retried at the next refresh
      ws.on('message', () => ws.close(1008, 'a peer link carries nothing back'));
      this.#out.set(g, { url, ws });
    }
    this.#o.metrics.peerLinks.set(this.#out.size);
  }
}

function asBytes(data: RawData, isBinary: boolean): Uint8Array {
  if (!isBinary) throw new Error('text message');
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
