/**
 * `relaybench collect <run-id>`: rebuilds results/<run-id>/ from the run's topics alone — the
 * run record (scenario with objectives, segments, versions) from the control topic, every
 * assigned worker's result from the results topic — and merges them with the same code as a
 * local run (summarizeSegment → assembleSummary → writeRunFolder). It waits (up to the timeout)
 * for results still being published, and fails rather than summarise a segment with a worker
 * missing: a partial merge would look like a valid, smaller run. Reading the topics: run-topics.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { assembleSummary, type RunContext } from '../results/assemble.js';
import { writeRunFolder, SUMMARY_FILE, type SegmentIntervals } from '../results/store.js';
import { summarizeSegment } from '../results/summarize.js';
import type { RunSummary, SegmentSummary } from '../results/summary.js';
import { readWorkerResult } from '../orchestrator/worker-process.js';
import { distError } from './errors.js';
import { checkRunId, controlTopic, resultsTopic, type AssignMessage, type RunRecord } from './protocol.js';
import { assignedPerSegment, readRunTopics, type RunTopics, type RunTopicsOptions } from './run-topics.js';

/** The brokers, --workers, the timeout and the log are what reading the run's topics needs (RunTopicsOptions). */
export interface CollectOptions extends RunTopicsOptions {
  readonly runId: string;
  /** Parent of run folders (the folder is <resultsDir>/<runId>). */
  readonly resultsDir: string;
  /** Overwrite an existing summary.json. */
  readonly force?: boolean;
}

export interface CollectedSegment {
  readonly name: string;
  readonly index: number;
  readonly results: readonly WorkerResult[];
}

export interface CollectOutcome {
  readonly summary: RunSummary;
  readonly dir: string;
  readonly segments: readonly CollectedSegment[];
}

export async function collectRun(o: CollectOptions): Promise<CollectOutcome> {
  const runId = checkRunId(o.runId);
  const dir = resolve(o.resultsDir, runId);
  if (o.force !== true && existsSync(join(dir, SUMMARY_FILE)))
    throw distError('RB_DIST_BAD_OPTION', `${join(dir, SUMMARY_FILE)} exists; pass --force to overwrite it, or another --results-dir.`);
  const topics = await readRunTopics(o, runId);
  const record = collectable(o, runId, topics);

  await mkdir(join(dir, 'workers'), { recursive: true });
  if (record.scenarioYaml !== null) await writeFile(join(dir, 'scenario.yaml'), record.scenarioYaml);
  const bySegment = await writeWorkerFiles(dir, topics);
  const { segments, done, intervals } = summarizeSegments(record, bySegment, o.log);
  if (!done.some((d) => d.mode === 'relay')) throw distError('RB_DIST_RESULTS_MISSING', `run ${runId}: no relay segment has results.`);
  const summary = assembleSummary(runContext(runId, record, topics), done);
  await writeRunFolder(dir, summary, intervals);
  return { summary, dir, segments };
}

/** The run record, when every assigned worker has a result (and each segment its workers); else throws what is missing. */
function collectable(o: CollectOptions, runId: string, t: RunTopics): RunRecord {
  if (t.crashed !== undefined) throw t.crashed;
  if (t.run === undefined)
    throw distError('RB_DIST_NO_RUN', `run ${runId}: ${controlTopic(runId)} has no run record (no coordinator opened this run).`);
  const record: RunRecord = t.run;
  const missing = [...t.assigns.values()]
    .filter((a) => !t.texts.has(a.assignmentId))
    .map((a) => t.problems.get(a.assignmentId) ?? `${a.plan.workerId} (joiner ${a.joinerId}): no result`);
  const perSegment = assignedPerSegment(t);
  if (o.workers !== undefined)
    for (const [i, n] of perSegment)
      if (n < o.workers) missing.push(`segment ${record.segments[i]?.name ?? i}: ${n} of ${o.workers} workers assigned`);
  if (t.assigns.size === 0) missing.push('no worker was assigned a plan');
  if (missing.length > 0)
    throw distError('RB_DIST_RESULTS_MISSING', `run ${runId} after ${Math.round(o.timeoutMs / 1000)} s: ${missing.join('; ')}.`);
  if (!t.ended)
    o.log(
      `the coordinator has not ended run ${runId} (still running, or it died): collecting the ${t.assigns.size} plan(s) assigned so far`,
    );
  return record;
}

type Assigned = { a: AssignMessage; result: WorkerResult };

/** Writes each worker's plan and result into workers/ and reads the result back; by segment index. */
async function writeWorkerFiles(dir: string, t: RunTopics): Promise<Map<number, Assigned[]>> {
  const bySegment = new Map<number, Assigned[]>();
  for (const a of [...t.assigns.values()].sort(
    (x, y) => x.segmentIndex - y.segmentIndex || x.plan.workerId.localeCompare(y.plan.workerId),
  )) {
    const id = a.plan.workerId;
    await writeFile(join(dir, 'workers', `${id}.plan.json`), `${JSON.stringify(a.plan, null, 1)}\n`);
    const path = join(dir, 'workers', `${id}.result.json`);
    await writeFile(path, t.texts.get(a.assignmentId)!);
    // The same checks as a local worker's result file.
    const result = await readWorkerResult(path, id);
    const list = bySegment.get(a.segmentIndex) ?? [];
    list.push({ a, result });
    bySegment.set(a.segmentIndex, list);
  }
  return bySegment;
}

/** Each segment summarised from its workers' results, in segment order. */
function summarizeSegments(record: RunRecord, bySegment: Map<number, Assigned[]>, log: (line: string) => void) {
  const segments: CollectedSegment[] = [];
  const done: SegmentSummary[] = [];
  const intervals: SegmentIntervals[] = [];
  for (const [index, list] of [...bySegment].sort((x, y) => x[0] - y[0])) {
    const first = list[0]!.a;
    const spec = record.segments[index] ?? {
      name: first.segment,
      mode: first.plan.mode,
      relays: 0,
      durationMs: first.plan.workload.durationMs,
    };
    const results = list.map((x) => x.result);
    const s = summarizeSegment(record.scenario.objectives, spec, results);
    done.push(s.summary);
    intervals.push(s.intervals);
    segments.push({ name: spec.name, index, results });
    log(
      `segment ${spec.name}: ${results.length} worker(s) · sent ${s.merged.ledger.sent} delivered ${s.merged.ledger.delivered} lost ${s.merged.ledger.lost} · e2e p99 ${(s.merged.stages.e2eCorrected.p99 / 1000).toFixed(1)} ms`,
    );
  }
  return { segments, done, intervals };
}

/** The run as the coordinator recorded it, with notes on where the results came from. */
function runContext(runId: string, record: RunRecord, t: RunTopics): RunContext {
  const hosts = [...t.assigns.values()].map((a) => {
    const j = t.joins.get(a.joinerId);
    return `${a.plan.workerId} on ${j === undefined ? a.joinerId : `${j.joinerId} (${j.host}, ${j.cores} cores)`}`;
  });
  return {
    runId,
    createdAt: new Date(record.atMs).toISOString(),
    scenario: record.scenario,
    versions: record.versions,
    machine: record.machine,
    kafka: record.kafka,
    prometheus: { status: 'off', url: null },
    interrupted: false,
    notes: [
      ...(t.ended ? [] : ['the coordinator had not ended the run when it was collected: later segments may be missing']),
      `collected from Kafka (${resultsTopic(runId)}) by relaybench collect on ${hostname()}; coordinator ${record.coordinatorId} on ${record.host}; machine = the coordinator's`,
      `remote workers: ${hosts.join(', ')}`,
    ],
  };
}
