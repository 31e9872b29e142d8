import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDurationMs, parseDurationMs } from './duration.js';

test('a duration is a number with a unit; the result is exact milliseconds', () => {
  const cases: [string, number][] = [
    ['250us', 0.25],
    ['250µs', 0.25],
    ['500ms', 500],
    ['1.5s', 1500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 5 s ', 5000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
});

test('a bare number, a negative or an unknown unit is not a duration', () => {
  for (const text of ['30', '1.5', '-1s', '3x', '', 's', '1e3ms']) assert.equal(parseDurationMs(text), undefined, JSON.stringify(text));
});

test('formatDurationMs reads back as the same duration', () => {
  for (const ms of [0.25, 1, 250, 1500, 30_000, 120_000]) assert.equal(parseDurationMs(formatDurationMs(ms)), ms);
});
