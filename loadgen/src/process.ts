/**
 * A worker as a process (`relaybench loadgen`): runs one plan with a LocalWorker, prints one JSON
 * line per event on stdout (`{"event":"progress",...WorkerProgress}` about once a second, then
 * `{"event":"done","result":"<path>"}`), human progress on stderr, and writes the WorkerResult as
 * JSON (plus one .hlog per stage when asked). SIGTERM/SIGINT end the run early; the result is
 * still written. Only this module and the CLI command touch process-wide state.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadgenError } from './errors.js';
import { writeStageHlog } from './stats/hlog.js';
import { STAGES } from './stats/stages.js';
import type { WorkerPlan, WorkerResult } from './worker/contract.js';
import { LocalWorker } from './worker/local-worker.js';
import { ProgressPrinter } from './worker/progress-printer.js';

export interface WorkerProcessOptions {
  readonly plan: WorkerPlan;
  readonly resultPath: string;
  /** Write `<stage>.hlog` files here (optional). */
  readonly hlogDir?: string;
}

export async function runWorkerProcess(options: WorkerProcessOptions): Promise<WorkerResult> {
  process.title = 'relaybench-loadgen';
  const worker = new LocalWorker(options.plan.workerId);
  const printer = new ProgressPrinter(process.stderr);
  let metricsAnnounced = false;
  worker.onProgress((p) => {
    process.stdout.write(`${JSON.stringify({ event: 'progress', ...p })}\n`);
    if (!metricsAnnounced && p.metricsUrl !== undefined) {
      printer.end();
      process.stderr.write(`metrics: ${p.metricsUrl}\n`);
      metricsAnnounced = true;
    }
    printer.print(p);
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    printer.end();
    process.stderr.write(
      signals === 1 ? `${signal}: stopping early, the result will still be written\n` : `${signal} again: exiting now\n`,
    );
    if (signals === 1) void worker.stop();
    else process.exit(130);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.start(options.plan);
    const result = await worker.result();
    printer.end();
    await writeResult(options.resultPath, result);
    if (options.hlogDir !== undefined) await writeHlogs(options.hlogDir, result);
    if (result.generatorBound)
      process.stderr.write(
        `WARNING: generator-bound — schedule lag p99 stayed above ${options.plan.maxScheduleLagUs} µs; this run is INVALID\n`,
      );
    const l = result.ledger;
    process.stderr.write(
      `done: sent ${l.sent} acked ${l.acked} delivered ${l.delivered} lost ${l.lost} duplicated ${l.duplicated} reordered ${l.reordered} decrypt failures ${l.decryptFailures}; result ${options.resultPath}\n`,
    );
    process.stdout.write(`${JSON.stringify({ event: 'done', result: options.resultPath })}\n`);
    return result;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export async function writeResult(path: string, result: WorkerResult): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(result, null, 1)}\n`);
  } catch (e) {
    throw loadgenError('RB_LOADGEN_RESULT_FILE', `${path}: ${e instanceof Error ? e.message : String(e)}.`, e);
  }
}

async function writeHlogs(dir: string, result: WorkerResult): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const stage of STAGES) {
    const text = writeStageHlog(
      stage,
      result.intervals,
      {
        startTimeMs: Math.min(result.measureStartMs, result.intervals[0]?.startMs ?? Infinity),
        comments: [`worker=${result.workerId} mode=${result.mode}`],
      },
      result.workerId,
    );
    await writeFile(join(dir, `${stage}.hlog`), text);
  }
}
