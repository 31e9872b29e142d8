/**
 * The system under test's relay tier: N `relaybench relay` processes on loopback, each under the
 * process supervisor (none outlives the run). `scaleTo(n)` starts more (scale-out phases) and
 * waits until the consumer group is Stable with every partition owned and every relay owning
 * some (when partitions ≥ relays). A relay that exits while the fleet is up rejects `failed`.
 * Not re-entrant: one call at a time.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnSupervised, stopSupervised, type Supervised } from '../process/supervisor.js';
import { runError } from './errors.js';

export interface RelayHandle {
  readonly gatewayId: string;
  readonly url: string;
  readonly httpUrl: string;
  readonly proc: Supervised;
}

export interface RelayFleetOptions {
  readonly cli: string;
  readonly brokers: readonly string[];
  readonly partitions: number;
  readonly tokenSecret: string;
  readonly logDir: string;
  readonly idPrefix: string;
  readonly startTimeoutMs?: number;
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export class RelayFleet {
  readonly #o: RelayFleetOptions;
  readonly #relays: RelayHandle[] = [];
  readonly #logs: WriteStream[] = [];
  #stopping = false;
  #fail: (e: Error) => void = () => {};
  /** Rejects when a relay dies while the fleet is up; never resolves. */
  readonly failed: Promise<never>;

  constructor(options: RelayFleetOptions) {
    this.#o = options;
    this.failed = new Promise<never>((_, reject) => (this.#fail = reject));
    this.failed.catch(() => {}); // observed by the run; never an unhandled rejection
  }

  get relays(): readonly RelayHandle[] {
    return this.#relays;
  }

  async scaleTo(count: number): Promise<void> {
    while (this.#relays.length < count) this.#relays.push(await this.#startOne(this.#relays.length));
    if (this.#relays.length > count) throw runError('RB_RUN_BAD_OPTION', `scaling in (${this.#relays.length} → ${count} relays) is not supported; phases only add relays.`);
    await this.waitReady();
  }

  async #startOne(index: number): Promise<RelayHandle> {
    const gatewayId = `${this.#o.idPrefix}-r${index}`;
    const args = [this.#o.cli, 'relay', '--port', '0', '--brokers', this.#o.brokers.join(','), '--gateway-id', gatewayId, '--partitions', String(this.#o.partitions)];
    const proc = spawnSupervised(`relay-${gatewayId}`, process.execPath, args, { env: { ...process.env, RELAY_TOKEN_SECRET: this.#o.tokenSecret } });
    const log = createWriteStream(join(this.#o.logDir, `relay-${index}.log`));
    this.#logs.push(log);
    let tail = '';
    proc.child.stderr?.on('data', (d: Buffer) => {
      log.write(d);
      tail = (tail + d.toString()).slice(-2000);
    });
    const lines = createInterface({ input: proc.child.stdout! });
    const info = await new Promise<{ url: string; httpUrl: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(runError('RB_RUN_INFRA_RELAY', `${gatewayId} printed no "listening" line within ${this.#o.startTimeoutMs ?? 60_000} ms. ${tail}`)), this.#o.startTimeoutMs ?? 60_000);
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string; httpUrl?: string };
          if (msg.event === 'listening' && msg.url !== undefined && msg.httpUrl !== undefined) {
            clearTimeout(timer);
            resolve({ url: msg.url, httpUrl: msg.httpUrl });
          }
        } catch {
          // a log line, not an event
        }
      });
      void proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(runError('RB_RUN_INFRA_RELAY', `${gatewayId} exited (${code ?? signal}) while starting: ${tail.trim().split('\n').slice(-5).join(' | ')}`));
      });
    });
    void proc.exited.then(({ code, signal }) => {
      if (!this.#stopping) this.#fail(runError('RB_RUN_INFRA_RELAY', `${gatewayId} died during the run (${code ?? signal}); its log: ${join(this.#o.logDir, `relay-${index}.log`)}`));
    });
    this.#o.log?.(`relay ${gatewayId}: ${info.url} (pid ${proc.pid})`);
    return { gatewayId, url: info.url, httpUrl: info.httpUrl, proc };
  }

  /** Every relay's /readyz is 200 and /routes shows a Stable group owning every partition. */
  async waitReady(): Promise<void> {
    const timeoutMs = this.#o.readyTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const ready = await Promise.all(this.#relays.map((r) => fetch(`${r.httpUrl}/readyz`).then((res) => res.status === 200, () => false)));
      if (ready.every(Boolean)) {
        try {
          const routes = (await (await fetch(`${this.#relays[0]!.httpUrl}/routes`)).json()) as { partitions: Record<string, string>; partitionCount: number; groupState: string };
          const owners = new Set(Object.values(routes.partitions));
          const wantOwners = Math.min(this.#relays.length, routes.partitionCount);
          if (Object.keys(routes.partitions).length === routes.partitionCount && routes.groupState === 'Stable' && owners.size >= wantOwners) return;
          last = `group ${routes.groupState}, ${Object.keys(routes.partitions).length}/${routes.partitionCount} partitions owned by ${owners.size}/${wantOwners} relays`;
        } catch (e) {
          last = `GET /routes failed: ${e instanceof Error ? e.message : String(e)}`;
        }
      } else last = `${ready.filter(Boolean).length}/${ready.length} relays ready`;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw runError('RB_RUN_INFRA_RELAY', `Relays not ready after ${timeoutMs} ms: ${last}.`);
  }

  /** Metrics URLs for Prometheus. */
  metricsUrls(): string[] {
    return this.#relays.map((r) => `${r.httpUrl}/metrics`);
  }

  /** SIGTERM (relays drain), SIGKILL after 20 s. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#relays.map((r) => stopSupervised(r.proc, 20_000)));
    for (const l of this.#logs) l.end();
  }
}
