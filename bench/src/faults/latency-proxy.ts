/**
 * A TCP proxy in front of one relay (like Toxiproxy's latency toxic): clients connect to the
 * proxy (the relay advertises it as its public URL, so /routes points here too), the proxy
 * connects to the relay, and bytes are copied both ways through a DelayedPipe per direction.
 * With no latency set it is a plain pass-through. `setLatency(id, …)` adds or removes one
 * latency (one fault); overlapping ones add up per direction. It changes the delay of links open
 * now and later; chunks already queued keep their due times.
 * Backpressure: a direction whose queue holds more than `maxQueuedBytes` pauses its source until
 * the queue drains below half (so a slow destination cannot grow memory without bound).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { DelayedPipe, realClock, type DelayClock, type DelaySettings } from './delay-queue.js';

export type LatencyDirection = 'both' | 'to-relay' | 'to-client';

export interface Latency extends DelaySettings {
  readonly direction: LatencyDirection;
}

interface Link {
  readonly toRelay: DelayedPipe;
  readonly toClient: DelayedPipe;
  readonly client: Socket;
  readonly upstream: Socket;
}

export class LatencyProxy {
  readonly #server: Server;
  readonly #links = new Set<Link>();
  readonly #clock: DelayClock;
  readonly #maxQueuedBytes: number;
  #upstream: { host: string; port: number } | null = null;
  readonly #active = new Map<string, Latency>();

  constructor(options: { clock?: DelayClock; maxQueuedBytes?: number } = {}) {
    this.#clock = options.clock ?? realClock;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.#server = createServer({ noDelay: true }, (client) => this.#accept(client));
  }

  async listen(host = '127.0.0.1', port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  /** Where connections go (set once the relay listens; connections before that are refused). */
  setUpstream(host: string, port: number): void {
    this.#upstream = { host, port };
  }

  /** The delay each direction gets now (sum of the active latencies), null when none. */
  effective(direction: 'to-relay' | 'to-client'): DelaySettings | null {
    let delayMs = 0;
    let jitterMs = 0;
    for (const l of this.#active.values()) {
      if (l.direction !== 'both' && l.direction !== direction) continue;
      delayMs += l.delayMs;
      jitterMs += l.jitterMs;
    }
    return delayMs > 0 || jitterMs > 0 ? { delayMs, jitterMs } : null;
  }

  /** Adds (or with null removes) the latency named `id`. */
  setLatency(id: string, l: Latency | null): void {
    if (l === null) this.#active.delete(id);
    else this.#active.set(id, l);
    for (const link of this.#links) this.#apply(link);
  }

  get connections(): number {
    return this.#links.size;
  }

  async close(): Promise<void> {
    for (const l of this.#links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #apply(link: Link): void {
    link.toRelay.settings = this.effective('to-relay');
    link.toClient.settings = this.effective('to-client');
  }

  #accept(client: Socket): void {
    const target = this.#upstream;
    if (target === null) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    const link: Link = { client, upstream, toRelay: this.#pipe(client, upstream), toClient: this.#pipe(upstream, client) };
    this.#links.add(link);
    this.#apply(link);
    const teardown = () => {
      if (!this.#links.delete(link)) return;
      link.toRelay.destroy();
      link.toClient.destroy();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
    // A half-close travels after the bytes queued ahead of it.
    client.on('end', () => link.toRelay.end(() => upstream.end()));
    upstream.on('end', () => link.toClient.end(() => client.end()));
  }

  #pipe(from: Socket, to: Socket): DelayedPipe {
    const pipe = new DelayedPipe((chunk) => {
      if (!to.destroyed) to.write(chunk);
      if (from.isPaused() && pipe.queuedBytes < this.#maxQueuedBytes / 2) from.resume();
    }, this.#clock);
    from.on('data', (chunk: Buffer) => {
      pipe.write(chunk);
      if (pipe.queuedBytes > this.#maxQueuedBytes) from.pause();
    });
    return pipe;
  }
}
