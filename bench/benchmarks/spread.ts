/**
 * Figures over repeated runs, for the benchmarks' tables: the median of the runs' values with
 * their range, because one run on a shared host moves by ±15 %. A median of per-run figures
 * (each from its own histograms), not an average of percentiles.
 */
import { median } from '../src/gate/mann-whitney.js';

/** A figure with its digits, or `n/a` when a run did not have it. */
export const fmt = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));

/** The median of the runs' values and their range: `1.13 (1.05–1.20, 3 runs)`; one run, the value alone. */
export function spread(values: readonly (number | null | undefined)[], digits = 2): { median: number | null; text: string } {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return { median: null, text: 'n/a' };
  const m = median(v);
  const range = v.length === 1 ? '' : ` (${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)}, ${v.length} runs)`;
  return { median: m, text: `${fmt(m, digits)}${range}` };
}

/** `pass ×3` or `pass ×2, invalid ×1`. */
export function statuses(runs: readonly { readonly status: string }[]): string {
  const n = new Map<string, number>();
  for (const x of runs) n.set(x.status, (n.get(x.status) ?? 0) + 1);
  return [...n].map(([status, k]) => `${status} ×${k}`).join(', ');
}
