import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSupervised, stopSupervised } from '../../../testbed/process/supervisor.js';
import { statFields } from '../resources/proc-stat.js';
import { probeRealtime, REALTIME_PREFIX, resolveGeneratorPriority } from './generator-priority.js';

test('realtime: the worker command gets the chrt prefix when the probe passes, up to one worker per core', () => {
  for (const workers of [1, 2]) {
    const p = resolveGeneratorPriority('realtime', workers, 2, () => undefined);
    assert.deepEqual(p.prefix, ['chrt', '--fifo', '--reset-on-fork', '1']);
    assert.equal(p.applied, 'realtime');
  }
});

test('realtime with more workers at once than cores: the normal scheduler, and why', () => {
  const p = resolveGeneratorPriority('realtime', 3, 2, () => assert.fail('probed'));
  assert.deepEqual([p.applied, p.prefix], ['normal', []]);
  assert.match(p.detail, /3 worker\(s\) at once on 2 core\(s\)/);
});

test('realtime refused: the run falls back to the normal scheduler and says why', () => {
  const p = resolveGeneratorPriority('realtime', 1, 2, () => "chrt refused: failed to set pid 0's policy: Operation not permitted");
  assert.deepEqual(p.prefix, []);
  assert.equal(p.requested, 'realtime');
  assert.equal(p.applied, 'normal');
  assert.match(p.detail, /Operation not permitted/);
});

test('normal: no prefix and no probe', () => {
  const p = resolveGeneratorPriority('normal', 1, 2, () => assert.fail('probed'));
  assert.deepEqual([p.applied, p.prefix], ['normal', []]);
});

/** Scheduling policy (field 41 of /proc/<pid>/task/<tid>/stat; 1 = SCHED_FIFO) of every thread. */
function threadPolicies(pid: number): Map<number, number> {
  return new Map(
    readdirSync(`/proc/${pid}/task`).map((tid) => {
      return [Number(tid), Number(statFields(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))[41 - 3])];
    }),
  );
}

test("under the prefix a Node child's main thread runs SCHED_FIFO and its other threads normal (where this host allows it)", async (t) => {
  const refused = probeRealtime();
  if (refused !== undefined) return t.skip(refused);
  // The child says "up" once its script runs (V8's and libuv's threads exist by then) and waits to be stopped.
  const [command, ...args] = [...REALTIME_PREFIX, process.execPath, '-e', "console.log('up'); setInterval(() => {}, 1000)"];
  const proc = spawnSupervised('rt-probe', command!, args);
  try {
    await new Promise((resolve) => proc.child.stdout?.once('data', resolve));
    const policies = threadPolicies(proc.pid);
    const others = [...policies].filter(([tid]) => tid !== proc.pid).map(([, policy]) => policy);
    assert.ok(others.length > 0, 'V8 and libuv threads exist');
    assert.deepEqual({ main: policies.get(proc.pid), others: [...new Set(others)] }, { main: 1, others: [0] });
  } finally {
    await stopSupervised(proc, 5_000);
  }
});
