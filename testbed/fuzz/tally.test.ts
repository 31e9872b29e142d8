import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyOutcome, type Outcome } from './outcome.js';
import { FuzzTally } from './tally.js';

const outcome = (fields: Partial<Outcome>): Outcome => ({ ...emptyOutcome(1), ...fields });

test('the tally counts codes, keys each outcome, and flags undocumented codes and accepted always-rejected probes', () => {
  const tally = new FuzzTally();
  tally.record('truncated', outcome({ errors: [3, 3], close: 1008 }), 'a');
  tally.record('truncated', outcome({}), 'b'); // let through: truncated is always rejected
  tally.record('hello-storm', outcome({ stormCloses: [4011, 4011] }), 'c');
  tally.record('random-bytes', outcome({ close: 4999 }), 'd'); // not in the protocol's table
  tally.record('bad-token', outcome({ connectFailed: true, errors: [1] }), 'e'); // no answer counted
  const r = tally.report(1000, 2);
  assert.equal(r.probes, 5);
  assert.deepEqual(r.categories.truncated.outcomes, { 'e3+c1008': 1, accepted: 1 });
  assert.deepEqual([r.categories.truncated.rejected, r.categories.truncated.accepted], [1, 1]);
  assert.deepEqual(r.categories['hello-storm'].outcomes, { '2×c4011': 1 });
  assert.deepEqual(r.errorCodes, { 3: 2 });
  assert.deepEqual(r.closeCodes, { 1008: 1, 4011: 2, 4999: 1 });
  assert.deepEqual(r.undocumented.closeCodes, { 4999: 1 });
  assert.deepEqual(r.acceptedSamples, ['truncated: b']);
  assert.equal(r.categories['bad-token'].connectFailed, 1);
});
