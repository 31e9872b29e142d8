/**
 * Run outputs are plug-ins (STYLE §11): each renders one file of the run folder from the
 * summary and the interval logs, synchronously and without I/O (the store writes the text).
 * Registered by name in registry.ts; `relaybench report` re-renders them all.
 */
import type { HlogInterval } from '../../../loadgen/src/stats/hlog.js';
import type { Stage } from '../../../loadgen/src/stats/stages.js';
import type { RunSummary } from '../results/summary.js';

export interface ReportInput {
  readonly summary: RunSummary;
  /** Intervals of each stage's .hlog (all segments; `tag` = segment name). May be empty. */
  readonly hlogs: Readonly<Partial<Record<Stage, readonly HlogInterval[]>>>;
}

export interface RunOutput {
  /** Registry name, e.g. `html`. */
  readonly name: string;
  /** File name inside the run folder. */
  readonly file: string;
  render(input: ReportInput): string;
}
