import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntervalBook, perSecond } from './interval-book.js';
import { StageRecorder } from '../stats/recorder.js';

test('perSecond: events over the interval, and 0 (not NaN) before the first interval is cut', () => {
  const book = new IntervalBook(new StageRecorder({ startMs: 0, useWebAssembly: false }), 10_000, null);
  assert.equal(perSecond(book.last, book.last.sent), 0);
  assert.equal(perSecond({ ...book.last, seconds: 2, sent: 300 }, 300), 150);
});
