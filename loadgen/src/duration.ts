/**
 * Durations in flags and scenario files, one rule for the loadgen and the bench: a number (fractions
 * allowed) followed by a unit — us (or µs), ms, s, m, h — e.g. "250us", "500ms", "1.5s", "5m". A
 * bare number is refused: a reader cannot tell seconds from milliseconds. The result is exact
 * milliseconds ("250us" → 0.25); a caller that needs whole milliseconds or microseconds says so.
 */
const UNIT_MS = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h)$/;

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** "30s", "2m30s"-free compact form for messages and reports: 1500 → "1.5s", 250 → "250ms". */
export function formatDurationMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)}s`;
  if (ms >= 1) return `${+ms.toFixed(3)}ms`;
  return `${+(ms * 1000).toFixed(1)}us`;
}
