import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerCommand } from './worker-process.js';

test('workerCommand: the priority prefix, then Node with single-threaded GC and a small young generation, then the loadgen command', () => {
  const argv = workerCommand('/x/cli.js', ['chrt', '--fifo', '1'], '/r/w0.plan.json', '/r/w0.result.json');
  assert.deepEqual(argv, [
    'chrt',
    '--fifo',
    '1',
    process.execPath,
    '--single-threaded-gc',
    '--max-semi-space-size=4',
    '/x/cli.js',
    'loadgen',
    '--plan',
    '/r/w0.plan.json',
    '--result',
    '/r/w0.result.json',
  ]);
  assert.equal(workerCommand('/x/cli.js', [], 'p', 'r')[0], process.execPath, 'no prefix: Node first');
});
