/**
 * `relaybench collect <run-id>`: rebuilds results/<run-id>/ from the run's topics alone — the
 * run record (scenario with objectives, segments, versions) from the control topic, every
 * assigned worker's result from the results topic — and merges them with the same code as a
 * local run (summarizeSegment → assembleSummary → writeRunFolder). It waits (up to the timeout)
 * for results still being published, and fails rather than summarise a segment with a worker
 * missing: a partial merge would look like a valid, smaller run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createKafkajsAdapter, type Admin } from '../../../relay/kafka/src/index.js';
import type { WorkerResult } from '../../../loadgen/src/worker/contract.js';
import { assembleSummary } from '../results/assemble.js';
import { writeRunFolder, SUMMARY_FILE, type SegmentIntervals } from '../results/store.js';
import { summarizeSegment } from '../results/summarize.js';
import type { RunSummary, SegmentSummary } from '../results/summary.js';
import { readWorkerResult } from '../orchestrator/worker-process.js';
import { distError } from './errors.js';
import {
  checkRunId,
  controlTopic,
  decodeControl,
  decodeResults,
  resultsTopic,
  ResultAssembler,
  type AssignMessage,
  type JoinMessage,
  type RunRecord,
} from './protocol.js';
import { readRunLog, runTopicsExist, type RunLogReader } from './run-log.js';

export interface CollectOptions {
  readonly runId: string;
  readonly brokers: readonly string[];
  /** Parent of run folders (the folder is <resultsDir>/<runId>). */
  readonly resultsDir: string;
  /** Results each collected segment must have (default: as many as the coordinator assigned). */
  readonly workers?: number;
  /** How long to wait for results still being published. */
  readonly timeoutMs: number;
  /** Overwrite an existing summary.json. */
  readonly force?: boolean;
  readonly log: (line: string) => void;
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
  const adapter = createKafkajsAdapter({ brokers: o.brokers, clientId: 'relaybench-collect', log: o.log });
  let admin: Admin | undefined;
  let reader: RunLogReader | undefined;
  let run: RunRecord | undefined;
  let ended = false;
  const assigns = new Map<string, AssignMessage>();
  const joins = new Map<string, JoinMessage>();
  const texts = new Map<string, string>();
  const problems = new Map<string, string>();
  const assembler = new ResultAssembler();
  let crashed: Error | undefined;
  try {
    admin = await adapter.admin();
    if (!(await runTopicsExist(admin, runId)))
      throw distError(
        'RB_DIST_NO_RUN',
        `run ${runId}: topics ${controlTopic(runId)} and ${resultsTopic(runId)} do not exist on ${o.brokers.join(',')}.`,
      );
    reader = await readRunLog(adapter, admin, {
      topics: [controlTopic(runId), resultsTopic(runId)],
      groupPrefix: 'relaybench-collect',
      onRecord: (r) => {
        if (r.topic === controlTopic(runId)) {
          const m = decodeControl(runId, r.value);
          if (m?.type === 'run' && run === undefined) run = m;
          else if (m?.type === 'assign' && m.coordinatorId === run?.coordinatorId) assigns.set(m.assignmentId, m);
          else if (m?.type === 'join') joins.set(m.joinerId, m);
          else if (m?.type === 'end' && m.coordinatorId === run?.coordinatorId) ended = true;
          return;
        }
        const m = decodeResults(runId, r.value);
        if (m?.type === 'failed') problems.set(m.assignmentId, `${m.workerId} failed on joiner ${m.joinerId}: ${m.code}: ${m.message}`);
        else if (m?.type === 'result') {
          const text = assembler.add(m);
          if (text instanceof Error) problems.set(m.assignmentId, `${m.workerId}: result unreadable: ${text.message}`);
          else if (text !== null) texts.set(m.assignmentId, text);
        }
      },
      onCrash: (e) => (crashed = e),
    });
    const deadline = Date.now() + o.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const caughtUp = await Promise.race([
      reader.caughtUp.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), o.timeoutMs))),
    ]);
    clearTimeout(timer);
    if (caughtUp) o.log(`read ${controlTopic(runId)} and ${resultsTopic(runId)}: ${assigns.size} assignment(s), ${texts.size} result(s)`);
    // Until the coordinator's `end`, a later segment may still be assigned.
    const complete = (): boolean => {
      if (run === undefined || !ended) return false;
      const perSegment = countBy([...assigns.values()], (a) => a.segmentIndex);
      if (o.workers !== undefined && (perSegment.size === 0 || [...perSegment.values()].some((n) => n < o.workers!))) return false;
      return [...assigns.keys()].every((id) => texts.has(id) || problems.has(id));
    };
    let announced = false;
    while (!complete() && crashed === undefined && Date.now() < deadline) {
      if (!announced && caughtUp)
        o.log(
          `waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for ${[...assigns.keys()].filter((id) => !texts.has(id)).length} result(s) still being published${ended ? '' : " and the coordinator's end of the run"}`,
        );
      announced = true;
      await sleep(200);
    }
  } finally {
    await reader?.stop().catch(() => {});
    await admin?.close().catch(() => {});
  }
  if (crashed !== undefined) throw crashed;
  if (run === undefined)
    throw distError('RB_DIST_NO_RUN', `run ${runId}: ${controlTopic(runId)} has no run record (no coordinator opened this run).`);
  const record: RunRecord = run;
  const missing = [...assigns.values()]
    .filter((a) => !texts.has(a.assignmentId))
    .map((a) => problems.get(a.assignmentId) ?? `${a.plan.workerId} (joiner ${a.joinerId}): no result`);
  const perSegment = countBy([...assigns.values()], (a) => a.segmentIndex);
  if (o.workers !== undefined)
    for (const [i, n] of perSegment)
      if (n < o.workers) missing.push(`segment ${record.segments[i]?.name ?? i}: ${n} of ${o.workers} workers assigned`);
  if (assigns.size === 0) missing.push('no worker was assigned a plan');
  if (missing.length > 0)
    throw distError('RB_DIST_RESULTS_MISSING', `run ${runId} after ${Math.round(o.timeoutMs / 1000)} s: ${missing.join('; ')}.`);
  if (!ended)
    o.log(`the coordinator has not ended run ${runId} (still running, or it died): collecting the ${assigns.size} plan(s) assigned so far`);

  await mkdir(join(dir, 'workers'), { recursive: true });
  if (record.scenarioYaml !== null) await writeFile(join(dir, 'scenario.yaml'), record.scenarioYaml);
  const bySegment = new Map<number, { a: AssignMessage; result: WorkerResult }[]>();
  for (const a of [...assigns.values()].sort((x, y) => x.segmentIndex - y.segmentIndex || x.plan.workerId.localeCompare(y.plan.workerId))) {
    const id = a.plan.workerId;
    await writeFile(join(dir, 'workers', `${id}.plan.json`), `${JSON.stringify(a.plan, null, 1)}\n`);
    const path = join(dir, 'workers', `${id}.result.json`);
    await writeFile(path, texts.get(a.assignmentId)!);
    // The same checks as a local worker's result file.
    const result = await readWorkerResult(path, id);
    const list = bySegment.get(a.segmentIndex) ?? [];
    list.push({ a, result });
    bySegment.set(a.segmentIndex, list);
  }
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
    o.log(
      `segment ${spec.name}: ${results.length} worker(s) · sent ${s.merged.ledger.sent} delivered ${s.merged.ledger.delivered} lost ${s.merged.ledger.lost} · e2e p99 ${(s.merged.stages.e2eCorrected.p99 / 1000).toFixed(1)} ms`,
    );
  }
  if (!done.some((d) => d.mode === 'relay')) throw distError('RB_DIST_RESULTS_MISSING', `run ${runId}: no relay segment has results.`);
  const hosts = [...assigns.values()].map((a) => {
    const j = joins.get(a.joinerId);
    return `${a.plan.workerId} on ${j === undefined ? a.joinerId : `${j.joinerId} (${j.host}, ${j.cores} cores)`}`;
  });
  const summary = assembleSummary(
    {
      runId,
      createdAt: new Date(record.atMs).toISOString(),
      scenario: record.scenario,
      versions: record.versions,
      machine: record.machine,
      kafka: record.kafka,
      prometheus: { status: 'off', url: null },
      interrupted: false,
      notes: [
        ...(ended ? [] : ['the coordinator had not ended the run when it was collected: later segments may be missing']),
        `collected from Kafka (${resultsTopic(runId)}) by relaybench collect on ${hostname()}; coordinator ${record.coordinatorId} on ${record.host}; machine = the coordinator's`,
        `remote workers: ${hosts.join(', ')}`,
      ],
    },
    done,
  );
  await writeRunFolder(dir, summary, intervals);
  return { summary, dir, segments };
}

function countBy<T>(xs: readonly T[], key: (x: T) => number): Map<number, number> {
  const out = new Map<number, number>();
  for (const x of xs) out.set(key(x), (out.get(key(x)) ?? 0) + 1);
  return out;
}
