/**
 * The WorkerResult of a finished run, assembled from what the run holds. Apart from LocalWorker so
 * the shape of the result (and which parts are optional) reads in one place.
 */
import type { LedgerCounts } from '../ledger.js';
import type { WorkerResult } from './contract.js';
import type { Run } from './run-setup.js';

export interface RunEnd {
  /** The start instant (ms): sending started then; measurement began warmupMs later. */
  readonly startMs: number;
  readonly endedMs: number;
  readonly counts: LedgerCounts;
  readonly drain: WorkerResult['drain'];
}

export function assembleResult(run: Run, end: RunEnd): WorkerResult {
  const { plan, w, book, ledger, server, state } = run;
  const { startMs, counts, drain } = end;
  return {
    workerId: plan.workerId,
    mode: plan.mode,
    startedMs: run.startedMs,
    measureStartMs: startMs + w.warmupMs,
    endedMs: end.endedMs,
    plan,
    ledger: counts,
    intervals: book.intervals,
    counts: book.counts,
    targetRatePerSec: w.ratePerSec,
    achievedRatePerSec: book.achievedRatePerSec(startMs + w.warmupMs + w.durationMs),
    generatorBound: book.generatorBound,
    maxScheduleLagUs: book.maxScheduleLagUs,
    peakConnections: state.peakConnections,
    rssBytes: process.memoryUsage().rss,
    ...(drain === undefined ? {} : { drain }),
    ...(counts.lost > 0 ? { lostIds: ledger.lostIds() } : {}),
    ...(server === null ? {} : { metricsUrl: server.url }),
    disruptions: run.disruptions.toArray(),
    ...(state.faults === null ? {} : { faultEvents: [...state.faults.events] }),
  };
}
