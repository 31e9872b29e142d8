/**
 * The system under test's relay tier: N `relaybench relay` processes on loopback, each under the
 * process supervisor (none outlives the run). `scaleTo(n)` starts more (scale-out phases) and
 * waits until the consumer group is Stable with every partition owned by a live relay and every
 * relay owning some (when partitions ≥ relays). A relay that exits while the fleet is up rejects
 * `failed` — unless a fault removed it on purpose (`removeRelay`: SIGKILL or a SIGTERM drain).
 * Relays have stable indexes (0, 1, …; an added relay gets the next one, never reused).
 * Topics get replication factor min(3, brokers) (min.insync.replicas = RF − 1, set by the relay).
 * Not re-entrant: one scaleTo/addRelay/removeRelay at a time; waitReady/readiness may run beside.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnSupervised, stopSupervised, type Supervised } from '../../../testbed/process/supervisor.js';
import { LatencyProxy, type Latency } from '../faults/latency-proxy.js';
import { runError } from './errors.js';

export interface RelayHandle {
  /** Stable index: the n-th relay started by this fleet (log file relay-<index>.log). */
  readonly index: number;
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
  /** Address the relays listen on and advertise (default loopback); remote joiners must reach it. */
  readonly host?: string;
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /**
   * Put a LatencyProxy in front of every relay (a scenario with a `latency` fault): the relay
   * advertises the proxy as its public URL, so clients and /routes go through it; readiness and
   * metrics use the relay's own port.
   */
  readonly latencyProxies?: boolean;
  /** The relays' Kafka client (default: whatever this process's environment names). */
  readonly kafkaClient?: string;
}

export class RelayFleet {
  readonly #o: RelayFleetOptions;
  readonly #relays: RelayHandle[] = [];
  /** Every process ever started (a relay being started or removed is in here, not in #relays). */
  readonly #procs = new Set<Supervised>();
  readonly #planned = new Set<Supervised>();
  readonly #pids: number[] = [];
  readonly #logs: WriteStream[] = [];
  readonly #proxies = new Map<number, LatencyProxy>();
  #nextIndex = 0;
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
    while (this.#relays.length < count) this.#relays.push(await this.#startOne(this.#nextIndex++));
    if (this.#relays.length > count)
      throw runError(
        'RB_RUN_BAD_OPTION',
        `scaling in (${this.#relays.length} → ${count} relays) is not supported; phases only add relays.`,
      );
    await this.waitReady();
  }

  async #startOne(index: number): Promise<RelayHandle> {
    const gatewayId = `${this.#o.idPrefix}-r${index}`;
    const args = this.#relayArgs(gatewayId);
    const host = this.#o.host ?? '127.0.0.1';
    let proxy: LatencyProxy | undefined;
    if (this.#o.latencyProxies === true) {
      proxy = new LatencyProxy();
      this.#proxies.set(index, proxy);
      args.push('--public-url', `ws://${host}:${await proxy.listen(host)}/`);
    }
    // RF 3 on three brokers, so a broker fault loses nothing acknowledged (min ISR = RF − 1).
    args.push('--replication-factor', String(Math.min(3, this.#o.brokers.length)));
    const proc = this.#spawn(gatewayId, args);
    const { log, tail } = this.#captureStderr(proc, index);
    const info = await this.#listening(proc, gatewayId, log, tail, proxy, host);
    this.#failOnDeath(proc, gatewayId, index);
    this.#o.log?.(`relay ${gatewayId}: ${info.url} (pid ${proc.pid})`);
    return { index, gatewayId, url: info.url, httpUrl: info.httpUrl, proc };
  }

  /** The `relaybench relay` command line up to its public URL and replication factor. */
  #relayArgs(gatewayId: string): string[] {
    const args = [
      this.#o.cli,
      'relay',
      '--port',
      '0',
      '--brokers',
      this.#o.brokers.join(','),
      '--gateway-id',
      gatewayId,
      '--partitions',
      String(this.#o.partitions),
    ];
    if (this.#o.host !== undefined) args.push('--host', this.#o.host);
    return args;
  }

  #spawn(gatewayId: string, args: readonly string[]): Supervised {
    const proc = spawnSupervised(`relay-${gatewayId}`, process.execPath, args, {
      env: {
        ...process.env,
        RELAY_TOKEN_SECRET: this.#o.tokenSecret,
        ...(this.#o.kafkaClient === undefined ? {} : { RELAYBENCH_KAFKA_CLIENT: this.#o.kafkaClient }),
      },
    });
    this.#procs.add(proc);
    this.#pids.push(proc.pid);
    void proc.exited.then(() => this.#procs.delete(proc));
    return proc;
  }

  /** Opens relay-<index>.log and copies stderr into it; tail() is the last 2000 characters of stderr. */
  #captureStderr(proc: Supervised, index: number): { log: WriteStream; tail: () => string } {
    const log = createWriteStream(join(this.#o.logDir, `relay-${index}.log`));
    this.#logs.push(log);
    let tail = '';
    proc.child.stderr?.on('data', (d: Buffer) => {
      log.write(d);
      tail = (tail + d.toString()).slice(-2000);
    });
    return { log, tail: () => tail };
  }

  /** Copies stdout lines into the log until the relay's "listening" event; rejects on a timeout or an exit first. */
  #listening(
    proc: Supervised,
    gatewayId: string,
    log: WriteStream,
    tail: () => string,
    proxy: LatencyProxy | undefined,
    host: string,
  ): Promise<{ url: string; httpUrl: string }> {
    const lines = createInterface({ input: proc.child.stdout! });
    return new Promise<{ url: string; httpUrl: string }>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            runError(
              'RB_RUN_INFRA_RELAY',
              `${gatewayId} printed no "listening" line within ${this.#o.startTimeoutMs ?? 60_000} ms. ${tail()}`,
            ),
          ),
        this.#o.startTimeoutMs ?? 60_000,
      );
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string; httpUrl?: string; port?: number };
          if (msg.event === 'listening' && msg.url !== undefined && msg.httpUrl !== undefined) {
            clearTimeout(timer);
            if (proxy !== undefined && msg.port !== undefined) proxy.setUpstream(host, msg.port);
            resolve({ url: msg.url, httpUrl: proxy === undefined || msg.port === undefined ? msg.httpUrl : `http://${host}:${msg.port}` });
          }
        } catch {
          // a log line, not an event
        }
      });
      void proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          runError(
            'RB_RUN_INFRA_RELAY',
            `${gatewayId} exited (${code ?? signal}) while starting: ${tail().trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
      });
    });
  }

  /** Once started, a relay that exits while the fleet is up and no fault removed it fails the run. */
  #failOnDeath(proc: Supervised, gatewayId: string, index: number): void {
    void proc.exited.then(({ code, signal }) => {
      if (!this.#stopping && !this.#planned.has(proc))
        this.#fail(
          runError(
            'RB_RUN_INFRA_RELAY',
            `${gatewayId} died during the run (${code ?? signal}); its log: ${join(this.#o.logDir, `relay-${index}.log`)}`,
          ),
        );
    });
  }

  /** Starts one more relay (the next index) and returns once it listens; waitReady() for the rebalance. */
  async addRelay(): Promise<RelayHandle> {
    const handle = await this.#startOne(this.#nextIndex++);
    this.#relays.push(handle);
    return handle;
  }

  /**
   * Removes relay `index` on purpose: `kill` = SIGKILL (a crash); `drain` = SIGTERM (the relay
   * drains: closes its sockets with 1012, leaves the group, exits 0; SIGKILL after `drainGraceMs`).
   * It leaves `relays` at once, so readiness checks wait for the group to drop it.
   */
  async removeRelay(
    index: number,
    how: 'kill' | 'drain',
    drainGraceMs = 30_000,
  ): Promise<{ handle: RelayHandle; code: number | null; signal: NodeJS.Signals | null; tookMs: number }> {
    const at = this.#relays.findIndex((r) => r.index === index);
    if (at < 0)
      throw runError(
        'RB_RUN_BAD_OPTION',
        `No running relay with index ${index} (running: ${this.#relays.map((r) => r.index).join(', ') || 'none'}).`,
      );
    const handle = this.#relays[at]!;
    this.#planned.add(handle.proc);
    this.#relays.splice(at, 1);
    const t0 = Date.now();
    await stopSupervised(handle.proc, how === 'kill' ? 5_000 : drainGraceMs, how === 'kill' ? 'SIGKILL' : 'SIGTERM');
    const { code, signal } = await handle.proc.exited;
    return { handle, code, signal, tookMs: Date.now() - t0 };
  }

  /** Waits until readiness() holds (RB_RUN_INFRA_RELAY after readyTimeoutMs). */
  async waitReady(): Promise<void> {
    const timeoutMs = this.#o.readyTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const check = await this.readiness();
      if (check.ready) return;
      last = check.why;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw runError('RB_RUN_INFRA_RELAY', `Relays not ready after ${timeoutMs} ms: ${last}.`);
  }

  /**
   * One readiness check: every running relay's /readyz is 200, and the group is Stable with
   * every partition owned by a running relay (a killed one stays in the group until its session
   * times out) and every relay owning some (when partitions ≥ relays).
   */
  async readiness(): Promise<{ ready: boolean; why: string }> {
    const relays = [...this.#relays];
    if (relays.length === 0) return { ready: false, why: 'no relay running' };
    const ready = await Promise.all(
      relays.map((r) =>
        fetch(`${r.httpUrl}/readyz`).then(
          (res) => res.status === 200,
          () => false,
        ),
      ),
    );
    if (!ready.every(Boolean)) return { ready: false, why: `${ready.filter(Boolean).length}/${ready.length} relays ready` };
    try {
      const routes = (await (await fetch(`${relays[0]!.httpUrl}/routes`)).json()) as {
        partitions: Record<string, string>;
        partitionCount: number;
        groupState: string;
      };
      const live = new Set(relays.map((r) => r.url));
      const owned = Object.values(routes.partitions);
      const owners = new Set(owned);
      const wantOwners = Math.min(relays.length, routes.partitionCount);
      const byLive = owned.filter((u) => live.has(u)).length;
      if (owned.length === routes.partitionCount && byLive === owned.length && routes.groupState === 'Stable' && owners.size >= wantOwners)
        return { ready: true, why: 'ready' };
      return {
        ready: false,
        why: `group ${routes.groupState}, ${byLive}/${routes.partitionCount} partitions owned by running relays, ${owners.size}/${wantOwners} owners`,
      };
    } catch (e) {
      return { ready: false, why: `GET /routes failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** Every relay process this fleet started, running or not (tests check none outlives the run). */
  get spawnedPids(): readonly number[] {
    return [...this.#pids];
  }

  /** Adds (null: removes) latency `id` on the proxies in front of these relays (null: every running one); returns the indexes hit. */
  setLatency(relays: readonly number[] | null, id: string, latency: Latency | null): number[] {
    const indexes = relays ?? this.#relays.map((r) => r.index);
    const hit = indexes.filter((i) => this.#proxies.has(i));
    for (const i of hit) this.#proxies.get(i)!.setLatency(id, latency);
    return hit;
  }

  /** Metrics URLs for Prometheus. */
  metricsUrls(): string[] {
    return this.#relays.map((r) => `${r.httpUrl}/metrics`);
  }

  /** SIGTERM (relays drain), SIGKILL after 20 s. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#procs].map((p) => stopSupervised(p, 20_000)));
    await Promise.all([...this.#proxies.values()].map((p) => p.close()));
    for (const l of this.#logs) l.end();
  }
}
