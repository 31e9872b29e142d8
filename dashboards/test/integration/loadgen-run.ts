import { join } from 'node:path';
import { freePort } from '../../../testbed/process/ports.js';
import { spawnSupervised, stopSupervised, type Supervised } from '../../../testbed/process/supervisor.js';
import { REPO_ROOT } from '../../src/paths.js';

/**
 * Runs the real loadgen CLI (`relaybench loadgen`) as a supervised process with a /metrics
 * port and the test's run_id label, for the dashboard test.
 */
const CLI = join(REPO_ROOT, 'dist', 'bench', 'src', 'cli', 'main.js');

export interface LoadgenRun {
  readonly proc: Supervised;
  readonly metricsUrl: string;
  /** Resolves with all stdout when the process ends; rejects on a non-zero exit. */
  readonly done: Promise<string>;
  stop(): Promise<void>;
}

export async function startLoadgen(options: {
  relays: readonly string[];
  users: number;
  ratePerSec: number;
  durationS: number;
  /** Default: the CLI's. */
  warmupS?: number;
  tokenSecret: string;
  runId: string;
  /** The WorkerResult file, in the test's own temporary folder (the CLI's default is the checkout's results/). */
  resultPath: string;
}): Promise<LoadgenRun> {
  const port = await freePort();
  const args = [
    CLI,
    'loadgen',
    '--relays',
    options.relays.join(','),
    '--users',
    String(options.users),
    '--rate',
    String(options.ratePerSec),
    '--duration',
    `${options.durationS}s`,
    ...(options.warmupS === undefined ? [] : ['--warmup', `${options.warmupS}s`]),
    '--token-secret',
    options.tokenSecret,
    '--metrics-port',
    String(port),
    '--run-id',
    options.runId,
    '--result',
    options.resultPath,
  ];
  const proc = spawnSupervised('relaybench-loadgen', process.execPath, args, { cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (process.env.RELAYBENCH_TEST_VERBOSE !== undefined) process.stderr.write(d);
  });
  const done = proc.exited.then(({ code, signal }) => {
    if (code !== 0) throw new Error(`loadgen exited ${code ?? signal}: ${stderr.slice(-2000)}`);
    return stdout;
  });
  done.catch(() => {}); // observed by the caller
  return {
    proc,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    done,
    stop: () => stopSupervised(proc, 10_000),
  };
}

/** Waits until the worker's /metrics answers 200 (or the process ends / time runs out). */
export async function waitForMetrics(url: string, run: LoadgenRun, timeoutMs = 30_000): Promise<void> {
  let ended = false;
  void run.proc.exited.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !ended) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => (await r.arrayBuffer(), r.status === 200),
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`loadgen metrics at ${url} never answered`);
}
