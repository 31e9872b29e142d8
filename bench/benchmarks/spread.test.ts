import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { spread, statuses } from './spread.js';

test('spread: the median with the range and the number of runs; an even count takes the middle two', () => {
  assert.deepEqual(spread([1.2, 1.05, 1.13]), { median: 1.13, text: '1.13 (1.05–1.20, 3 runs)' });
  assert.deepEqual(spread([4, 1, 2, 3], 1), { median: 2.5, text: '2.5 (1.0–4.0, 4 runs)' });
});

test('spread: one run is its value alone; runs without the figure are left out, none is n/a', () => {
  assert.deepEqual(spread([1.8]), { median: 1.8, text: '1.80' });
  assert.deepEqual(spread([null, 2, undefined, Number.NaN]), { median: 2, text: '2.00' });
  assert.deepEqual(spread([null, undefined]), { median: null, text: 'n/a' });
});

test('statuses: each status once, with its count, in the order first seen', () => {
  assert.equal(statuses([{ status: 'pass' }, { status: 'invalid' }, { status: 'pass' }]), 'pass ×2, invalid ×1');
});
