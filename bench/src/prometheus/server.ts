import { setTimeout as sleep } from 'node:timers/promises';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from '../../../testbed/process/ports.js';
import { spawnSupervised, stopSupervised, type Supervised } from '../../../testbed/process/supervisor.js';
import { PrometheusClient, type ActiveTarget, type QueryResult, type PrometheusQuerier } from './client.js';
import {
  CONFIG_FILE,
  TARGETS_FILE,
  renderPrometheusConfig,
  renderTargetsFile,
  toFileSdGroup,
  type RunLabels,
  type ScrapeTarget,
} from './config.js';
import { prometheusError } from './errors.js';

/**
 * Runs the real `prometheus` binary for one run, under the process supervisor (it never
 * outlives the run, even if the bench is SIGKILLed). Data goes to `<runDir>/prometheus/`, the
 * config to `<runDir>/prometheus.yml`, targets to `<runDir>/prometheus-targets.json`, the
 * server's log to `<runDir>/prometheus.log`. Listens on 127.0.0.1 and a free port only.
 *
 * Concurrency: one handle per run; `updateTargets` calls must not overlap (they rewrite a file).
 */
export interface StartPrometheusOptions extends RunLabels {
  readonly runDir: string;
  readonly targets: readonly ScrapeTarget[];
  /** Default `prometheus` (from PATH). */
  readonly binary?: string;
  readonly scrapeIntervalMs?: number;
  readonly readyTimeoutMs?: number;
}

export interface PrometheusServer extends PrometheusQuerier {
  readonly url: string;
  readonly pid: number;
  readonly configFile: string;
  readonly dataDir: string;
  /** Rewrites the targets file (file_sd, no reload) and waits until Prometheus lists exactly these targets. */
  updateTargets(targets: readonly ScrapeTarget[], timeoutMs?: number): Promise<void>;
  /** Waits until every active target has been scraped successfully at least once. */
  waitForTargetsUp(timeoutMs?: number): Promise<ActiveTarget[]>;
  activeTargets(): Promise<ActiveTarget[]>;
  /** SIGTERM (Prometheus flushes its head block), SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const runDir = resolve(options.runDir);
  const dataDir = join(runDir, 'prometheus');
  const configFile = join(runDir, CONFIG_FILE);
  const targetsFile = join(runDir, TARGETS_FILE);
  const run: RunLabels = { runId: options.runId, scenario: options.scenario };
  for (const t of options.targets) toFileSdGroup(t, run); // validate before spawning anything
  await mkdir(dataDir, { recursive: true });
  await writeAtomically(targetsFile, renderTargetsFile(options.targets, run));
  await writeFile(configFile, renderPrometheusConfig({ targetsFile, scrapeIntervalMs: options.scrapeIntervalMs }));

  const binary = options.binary ?? 'prometheus';
  const log = createWriteStream(join(runDir, 'prometheus.log'), { flags: 'a' });
  let lastError = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const proc = spawnSupervised('prometheus', binary, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ]);
    let stderrTail = '';
    proc.child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4000);
      log.write(d);
    });
    proc.child.stdout?.on('data', (d: Buffer) => log.write(d));
    const client = new PrometheusClient(`http://127.0.0.1:${port}`);
    const outcome = await waitReady(client, proc, options.readyTimeoutMs ?? 30_000);
    if (outcome === 'ready') return handle(client, proc, { configFile, dataDir, targetsFile, run, log });
    await stopSupervised(proc, 5_000);
    lastError = `${outcome}: ${stderrTail.slice(-1500)}`;
    if (!/address already in use/i.test(stderrTail)) break; // a port race is the only thing worth retrying
  }
  log.end();
  throw prometheusError('RB_PROM_START_FAILED', `${binary}: ${lastError}`);
}

async function waitReady(client: PrometheusClient, proc: Supervised, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return 'exited';
    if (await client.ready()) return 'ready';
    await sleep(100);
  }
  return 'timeout';
}

function handle(
  client: PrometheusClient,
  proc: Supervised,
  files: { configFile: string; dataDir: string; targetsFile: string; run: RunLabels; log: NodeJS.WritableStream },
): PrometheusServer {
  let stopped: Promise<void> | undefined;
  const waitForTargetsUp = async (timeoutMs = 15_000): Promise<ActiveTarget[]> => {
    const deadline = Date.now() + timeoutMs;
    let targets: ActiveTarget[] = [];
    while (Date.now() < deadline) {
      targets = await client.activeTargets();
      if (targets.every((t) => t.health === 'up')) return targets;
      await sleep(250);
    }
    const down = targets
      .filter((t) => t.health !== 'up')
      .map((t) => `${t.scrapeUrl} (${t.health}${t.lastError === '' ? '' : `: ${t.lastError}`})`);
    throw prometheusError('RB_PROM_START_FAILED', `Targets not up after ${timeoutMs} ms: ${down.join(', ')}`);
  };
  return {
    url: client.url,
    pid: proc.pid,
    configFile: files.configFile,
    dataDir: files.dataDir,
    query: (promql: string, timeSec?: number): Promise<QueryResult> => client.query(promql, timeSec),
    queryRange: (promql: string, startSec: number, endSec: number, stepSec: number): Promise<QueryResult> =>
      client.queryRange(promql, startSec, endSec, stepSec),
    activeTargets: () => client.activeTargets(),
    waitForTargetsUp,
    async updateTargets(targets: readonly ScrapeTarget[], timeoutMs = 15_000): Promise<void> {
      const want = new Set(targets.map((t) => new URL(t.url).href));
      await writeAtomically(files.targetsFile, renderTargetsFile(targets, files.run));
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const have = new Set((await client.activeTargets()).map((t) => new URL(t.scrapeUrl).href));
        if (have.size === want.size && [...want].every((u) => have.has(u))) return;
        await sleep(200);
      }
      throw prometheusError('RB_PROM_START_FAILED', `Prometheus did not pick up the new targets within ${timeoutMs} ms.`);
    },
    stop(): Promise<void> {
      stopped ??= stopSupervised(proc, 10_000).finally(() => files.log.end());
      return stopped;
    },
  };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
