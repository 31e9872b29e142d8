/**
 * What `relaybench collect` reads of a run's two topics: the run record, assignments, joins and
 * the coordinator's `end` from the control topic; results and failures from the results topic.
 * It reads until every assigned worker has a result or a failure (after the `end`), the reader
 * crashes, or the timeout passes; collect.ts judges what it got.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkajsAdapter, type Admin, type InRecord } from '../../../relay/kafka/src/index.js';
import { distError } from './errors.js';
import {
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

export interface RunTopicsOptions {
  readonly brokers: readonly string[];
  /** Results each collected segment must have (default: as many as the coordinator assigned). */
  readonly workers?: number;
  /** How long to wait for results still being published. */
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** What the run's topics held when reading stopped. */
export interface RunTopics {
  run: RunRecord | undefined;
  /** The coordinator's `end` of the run came. */
  ended: boolean;
  /** The coordinator's assignments, by assignment id. */
  readonly assigns: Map<string, AssignMessage>;
  readonly joins: Map<string, JoinMessage>;
  /** Whole result texts, by assignment id. */
  readonly texts: Map<string, string>;
  /** Why an assignment has no result (its worker failed, or its result is unreadable), by assignment id. */
  readonly problems: Map<string, string>;
  /** The reader's consumer gave up. */
  crashed: Error | undefined;
}

export async function readRunTopics(o: RunTopicsOptions, runId: string): Promise<RunTopics> {
  const adapter = createKafkajsAdapter({ brokers: o.brokers, clientId: 'relaybench-collect', log: o.log });
  let admin: Admin | undefined;
  let reader: RunLogReader | undefined;
  const t: RunTopics = {
    run: undefined,
    ended: false,
    assigns: new Map(),
    joins: new Map(),
    texts: new Map(),
    problems: new Map(),
    crashed: undefined,
  };
  const assembler = new ResultAssembler();
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
      onRecord: (r) => takeRecord(t, runId, assembler, r),
      onCrash: (e) => (t.crashed = e),
    });
    await waitForResults(o, runId, t, reader);
  } finally {
    await reader?.stop().catch(() => {});
    await admin?.close().catch(() => {});
  }
  return t;
}

/** One record of either topic, into `t`. */
function takeRecord(t: RunTopics, runId: string, assembler: ResultAssembler, r: InRecord): void {
  if (r.topic === controlTopic(runId)) {
    const m = decodeControl(runId, r.value);
    if (m?.type === 'run' && t.run === undefined) t.run = m;
    else if (m?.type === 'assign' && m.coordinatorId === t.run?.coordinatorId) t.assigns.set(m.assignmentId, m);
    else if (m?.type === 'join') t.joins.set(m.joinerId, m);
    else if (m?.type === 'end' && m.coordinatorId === t.run?.coordinatorId) t.ended = true;
    return;
  }
  const m = decodeResults(runId, r.value);
  if (m?.type === 'failed') t.problems.set(m.assignmentId, `${m.workerId} failed on joiner ${m.joinerId}: ${m.code}: ${m.message}`);
  else if (m?.type === 'result') {
    const text = assembler.add(m);
    if (text instanceof Error) t.problems.set(m.assignmentId, `${m.workerId}: result unreadable: ${text.message}`);
    else if (text !== null) t.texts.set(m.assignmentId, text);
  }
}

async function waitForResults(o: RunTopicsOptions, runId: string, t: RunTopics, reader: RunLogReader): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const caughtUp = await Promise.race([
    reader.caughtUp.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), o.timeoutMs))),
  ]);
  clearTimeout(timer);
  if (caughtUp) o.log(`read ${controlTopic(runId)} and ${resultsTopic(runId)}: ${t.assigns.size} assignment(s), ${t.texts.size} result(s)`);
  let announced = false;
  while (!complete(t, o.workers) && t.crashed === undefined && Date.now() < deadline) {
    if (!announced && caughtUp)
      o.log(
        `waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for ${[...t.assigns.keys()].filter((id) => !t.texts.has(id)).length} result(s) still being published${t.ended ? '' : " and the coordinator's end of the run"}`,
      );
    announced = true;
    await sleep(200);
  }
}

// Until the coordinator's `end`, a later segment may still be assigned.
function complete(t: RunTopics, workers: number | undefined): boolean {
  if (t.run === undefined || !t.ended) return false;
  const perSegment = assignedPerSegment(t);
  if (workers !== undefined && (perSegment.size === 0 || [...perSegment.values()].some((n) => n < workers))) return false;
  return [...t.assigns.keys()].every((id) => t.texts.has(id) || t.problems.has(id));
}

/** Assignments per segment index. */
export function assignedPerSegment(t: RunTopics): Map<number, number> {
  return countBy([...t.assigns.values()], (a) => a.segmentIndex);
}

function countBy<T>(xs: readonly T[], key: (x: T) => number): Map<number, number> {
  const out = new Map<number, number>();
  for (const x of xs) out.set(key(x), (out.get(key(x)) ?? 0) + 1);
  return out;
}
