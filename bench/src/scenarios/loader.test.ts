import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RelaybenchError } from '../../../relay/protocol/src/relaybench-error.js';
import { listScenarios, loadScenario, parseScenario, REPO_ROOT } from './loader.js';
import { parseObjective } from './objectives.js';

const FIXTURES = join(REPO_ROOT, 'bench', 'test', 'fixtures', 'scenarios');

function errorOf(fn: () => unknown): RelaybenchError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RelaybenchError, `not a RelaybenchError: ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('every shipped scenario loads', () => {
  const names = listScenarios();
  for (const n of ['smoke', 'steady', 'ramp', 'scale-out', 'offline-burst', 'group-fanout']) assert.ok(names.includes(n), n);
  for (const n of names) {
    const s = loadScenario(n);
    assert.equal(s.name, n);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.workload));
  }
  const smoke = loadScenario('smoke');
  assert.equal(smoke.durationMs, 30_000);
  assert.equal(smoke.warmupMs, 15_000);
  assert.equal(smoke.workload.ratePerSec, 200);
  assert.equal(smoke.objectives[0]!.threshold, 250_000);
  const steady = loadScenario('steady');
  assert.ok(steady.workload.ratePerSec * (steady.durationMs / 1000) >= 1_000_000, 'steady logs ≥ 1,000,000 sends');
  assert.deepEqual(
    loadScenario('scale-out').phases.map((p) => p.relays),
    [1, 2, 3],
  );
  assert.ok(loadScenario('ramp').ramp !== undefined);
  assert.equal(loadScenario('group-fanout').reference, 'kafka-direct');
});

test('broken scenario: unknown field → path, line, and a suggestion', () => {
  const e = errorOf(() => loadScenario(join(FIXTURES, 'unknown-field.yaml')));
  assert.equal(e.code, 'RB_SCENARIO_INVALID');
  assert.match(e.message, /unknown-field\.yaml:10:3: workload: unknown field "recipents" \(did you mean "recipients"\?\)/);
});

test('broken scenario: a misspelled required field is named as unknown, at its line, with a suggestion (not as missing)', () => {
  const e = errorOf(() => loadScenario(join(FIXTURES, 'misspelled-required.yaml')));
  assert.equal(e.code, 'RB_SCENARIO_INVALID');
  assert.match(e.message, /misspelled-required\.yaml:3:1: unknown field "partitons" \(did you mean "partitions"\?\)/);
});

test('broken scenario: wrong type → path, expectation and the value given', () => {
  const e = errorOf(() => loadScenario(join(FIXTURES, 'wrong-type.yaml')));
  assert.equal(e.code, 'RB_SCENARIO_INVALID');
  assert.match(e.message, /wrong-type\.yaml:9:9: workload\.rate: expected a positive number, got "fast"$/);
});

test('broken scenario: out of range → the allowed values', () => {
  const e = errorOf(() => loadScenario(join(FIXTURES, 'out-of-range.yaml')));
  assert.equal(e.code, 'RB_SCENARIO_INVALID');
  assert.match(e.message, /out-of-range\.yaml:2:10: brokers: expected 1 or 3, got 2$/);
});

test('broken scenario: bad objective expression → which objective and why', () => {
  const e = errorOf(() => loadScenario(join(FIXTURES, 'bad-objective.yaml')));
  assert.equal(e.code, 'RB_SCENARIO_OBJECTIVE');
  assert.match(e.message, /bad-objective\.yaml:12:5: objectives\[1\]: "p99\(e2eCorrected\) <= 250": a latency threshold needs a unit/);
});

test('broken scenario: YAML syntax error → line and column', () => {
  const e = errorOf(() => loadScenario(join(FIXTURES, 'yaml-syntax.yaml')));
  assert.equal(e.code, 'RB_SCENARIO_YAML');
  assert.match(e.message, /yaml-syntax\.yaml:[56]:\d+: \S/);
});

test('unknown scenario name lists the known ones', () => {
  const e = errorOf(() => loadScenario('nope'));
  assert.equal(e.code, 'RB_SCENARIO_NOT_FOUND');
  assert.match(e.message, /smoke/);
});

test('more schema rules: required fields, durations, cross-field checks', () => {
  const base =
    'name: x\nbrokers: 1\npartitions: 12\nrelays: 1\nworkers: 1\nduration: 30s\nworkload:\n  users: 10\n  rate: 10\nobjectives: [lost == 0]\n';
  assert.equal(parseScenario(base, '/tmp/x.yaml').durationMs, 30_000);
  assert.match(
    errorOf(() => parseScenario(base.replace('duration: 30s\n', ''), '/tmp/x.yaml')).message,
    /duration: expected .*, got nothing \(the field is required\)/,
  );
  assert.match(
    errorOf(() => parseScenario(base.replace('30s', 'soon'), '/tmp/x.yaml')).message,
    /6:11: duration: expected a duration > 0 like 30s/,
  );
  assert.match(
    errorOf(() => parseScenario(base.replace('users: 10', 'users: 1.5'), '/tmp/x.yaml')).message,
    /workload\.users: expected a whole number from 2 to/,
  );
  assert.match(
    errorOf(() => parseScenario(`${base}ramp: {from: 100, step: 10, to: 50, stepDuration: 5s}\n`, '/tmp/x.yaml')).message,
    /ramp: a ramp needs a latency objective|ramp\.to: expected a rate ≥ ramp\.from/,
  );
  assert.match(
    errorOf(() => parseScenario(base.replace('  rate: 10', '  rate: 10\n  recipients: { kind: everyone }'), '/tmp/x.yaml')).message,
    /workload\.recipients(\.kind)?: /,
  );
  assert.match(errorOf(() => parseScenario('- a\n- b\n', '/tmp/x.yaml')).message, /expected a mapping/);
  assert.equal(parseScenario(base, '/tmp/x.yaml').firstWarmupMs, undefined);
  assert.equal(parseScenario(`${base}firstWarmup: 20s\n`, '/tmp/x.yaml').firstWarmupMs, 20_000);
  assert.match(
    errorOf(() => parseScenario(`${base}firstWarmup: later\n`, '/tmp/x.yaml')).message,
    /11:14: firstWarmup: expected a duration/,
  );
});

test('objective expressions parse with kinds and units', () => {
  assert.deepEqual(parseObjective('p99(e2eCorrected) <= 250ms').metric, {
    kind: 'latency',
    stat: 'percentile',
    percentile: 99,
    stage: 'e2eCorrected',
  });
  assert.equal(parseObjective('p99.9(ack) < 1s').threshold, 1_000_000);
  assert.equal(
    parseObjective('p999(ack) < 1s').metric.kind === 'latency' &&
      (parseObjective('p999(ack) < 1s').metric as { percentile: number }).percentile,
    99.9,
  );
  assert.equal(parseObjective('max(ack)<=500us').threshold, 500);
  assert.deepEqual(parseObjective('lost == 0').metric, { kind: 'count', counter: 'lost' });
  assert.equal(parseObjective('achievedRatio >= 0.95').threshold, 0.95);
  for (const bad of [
    'p99(e2e) <= 250ms',
    'lost == 0ms',
    'p99(ack) <= 3 parsecs',
    'p99(ack) ~ 3ms',
    'achievedRatio >= 95%',
    'lost == 0.5',
    'p0(ack) < 1ms',
    'speed > 3',
  ])
    assert.throws(() => parseObjective(bad), Error, bad);
});
