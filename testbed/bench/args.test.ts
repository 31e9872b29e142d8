import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchCount, benchPositionals, checkBenchArgs } from './args.js';

const spec = { usage: 'u', valued: ['--rounds'], switches: ['--skip-ramp'], positionals: 2, numeric: [0], internal: ['--child'] };

test('--help anywhere before -- asks for the usage; good arguments pass', () => {
  assert.equal(checkBenchArgs(['--help'], spec), 'help');
  assert.equal(checkBenchArgs(['5', '-h'], spec), 'help');
  assert.equal(checkBenchArgs(['5', 'ref', '--rounds', '3', '--skip-ramp'], spec), null);
  assert.equal(checkBenchArgs([], spec), null);
  assert.equal(checkBenchArgs(['5', '--', '--anything', '--help'], spec), null, 'after -- is passed through');
});

test('an unknown flag, a missing value, a stray positional or a non-number is a problem', () => {
  assert.match(checkBenchArgs(['--bogus'], spec)!, /unknown option --bogus/);
  assert.match(checkBenchArgs(['--rounds'], spec)!, /--rounds needs a value/);
  assert.match(checkBenchArgs(['1', '2', '3'], spec)!, /too many arguments/);
  assert.match(checkBenchArgs(['ten'], spec)!, /ten is not a number/);
});

test('benchPositionals: neither flags nor the values of valued flags, nothing after --', () => {
  assert.deepEqual(benchPositionals(spec, ['--rounds', '3', '5', '--skip-ramp', 'ref', '--', 'x']), ['5', 'ref']);
  assert.deepEqual(benchPositionals(spec, ['--rounds', '3']), []);
});

test("a benchmark's internal child mode is not checked", () => {
  assert.equal(checkBenchArgs(['--child', '{"x":1}'], spec), null);
});

test('benchCount: a whole number ≥ 1, the fallback when absent, anything else refused with exit 2', (t) => {
  assert.equal(benchCount('--rounds', 7, ['5', '--rounds', '12']), 12);
  assert.equal(benchCount('--rounds', 7, ['5']), 7);
  const exit = t.mock.method(process, 'exit', (code: number) => {
    throw new Error(`exit ${code}`);
  });
  const written: string[] = [];
  t.mock.method(process.stderr, 'write', (s: string) => written.push(s));
  for (const bad of ['0', '2.5', 'x', '-3']) assert.throws(() => benchCount('--rounds', 7, ['--rounds', bad]), /exit 2/);
  assert.equal(exit.mock.callCount(), 4);
  assert.match(written[0]!, /^error RB_BENCH_ARGS: --rounds 0: expected a whole number ≥ 1\. See --help\./);
});
