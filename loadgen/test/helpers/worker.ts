import { TEST_SECRET } from '../../../test/helpers/client.js';
import type { Target } from '../../src/driver/target.js';
import type { WorkerPlan, WorkerResult, WorkloadShape } from '../../src/worker/contract.js';
import { LocalWorker } from '../../src/worker/local-worker.js';
import { makePlan } from '../../src/worker/plan.js';

let n = 0;

/** A plan for tests: small, relay mode, no metrics server unless asked, a unique user prefix. */
export function testPlan(fields: Partial<Omit<WorkerPlan, 'workload'>> & { workload?: Partial<WorkloadShape> }): WorkerPlan {
  const id = `t${Date.now().toString(36)}${n++}`;
  return makePlan({
    workerId: id,
    userPrefix: `${id}-u`,
    tokenSecret: TEST_SECRET,
    metricsPort: -1,
    startAtMs: Date.now(),
    ...fields,
    workload: { users: 10, ratePerSec: 100, durationMs: 3000, warmupMs: 0, drainMs: 10_000, readDelayMs: 50, ...fields.workload },
  });
}

/** Runs a plan to its end in this process. */
export async function runWorker(plan: WorkerPlan, targetFactory?: (plan: WorkerPlan) => Target): Promise<WorkerResult> {
  const w = new LocalWorker(plan.workerId, targetFactory === undefined ? {} : { targetFactory });
  await w.start(plan);
  return w.result();
}
