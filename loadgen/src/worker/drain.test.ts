import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drainUntilQuiet, type DrainState } from './drain.js';

/** A drain over a fake clock that moves 1 s per look, so no test waits on the real one for long. */
function state(fields: Partial<DrainState>): DrainState {
  let now = 0;
  return {
    drainMs: 5000,
    nowMs: () => (now += 1000),
    pending: () => 1,
    progress: () => 0,
    queued: () => false,
    reconnecting: () => false,
    stopRequested: () => false,
    ...fields,
  };
}

test('nothing pending: the drain ends at once', async () => {
  const r = await drainUntilQuiet(state({ pending: () => 0 }));
  assert.equal(r.pendingAtEnd, 0);
  assert.equal(r.stillProgressing, false);
});

test('pending but no progress: the drain ends after drainMs plus the quiet time, and reports what is left', async () => {
  const r = await drainUntilQuiet(state({}));
  assert.equal(r.pendingAtEnd, 1);
  assert.equal(r.stillProgressing, false);
  assert.ok(r.waitedMs >= 5000, `waited ${r.waitedMs}`);
});

test('a user still reconnecting keeps the drain open until the hard limit, which then says so', async () => {
  let progress = 0;
  const r = await drainUntilQuiet(state({ drainMs: 1000, progress: () => progress++, reconnecting: () => true }));
  assert.equal(r.stillProgressing, true, 'progress never stopped');
  assert.ok(r.waitedMs >= 60_000, `waited ${r.waitedMs} (the hard limit is drainMs + 60 s)`);
});
