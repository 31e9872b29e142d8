import type { ScrapeTarget } from './config.js';
import type { PrometheusServer } from './server.js';

/**
 * The scrape targets of one segment: its workers, and every relay that ran in it. A relay a fault
 * adds mid-segment is scraped from then on; one a fault kills or drains stays a target, so Grafana
 * shows it down (`up` 0) rather than gone. Updates run one at a time, in call order — the server
 * rewrites one file and waits until Prometheus lists exactly those targets, so two at once would
 * wait for each other's lists.
 */
export class SegmentTargets {
  readonly #relays = new Set<string>();
  readonly #server: Pick<PrometheusServer, 'updateTargets'>;
  readonly #workers: readonly ScrapeTarget[];
  readonly #onError: (e: unknown) => void;
  #queue: Promise<void> = Promise.resolve();

  constructor(server: Pick<PrometheusServer, 'updateTargets'>, workers: readonly ScrapeTarget[], onError: (e: unknown) => void) {
    this.#server = server;
    this.#workers = workers;
    this.#onError = onError;
  }

  /** Adds the relays' metrics URLs to the set and queues an update; resolves when it is done (never rejects: errors go to onError). */
  update(relayMetricsUrls: readonly string[]): Promise<void> {
    for (const url of relayMetricsUrls) this.#relays.add(url);
    const targets: ScrapeTarget[] = [...[...this.#relays].map((url): ScrapeTarget => ({ url, role: 'relay' })), ...this.#workers];
    this.#queue = this.#queue.then(() => this.#server.updateTargets(targets)).catch(this.#onError);
    return this.#queue;
  }
}
