// Ctrl-C (or SIGTERM) during a run: the first signal stops the workers gracefully and is
// remembered, so the run writes the partial results as `interrupted` and starts nothing more.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onInterrupt } from '../../../testbed/process/supervisor.js';
import type { Worker } from '../../../loadgen/src/worker/contract.js';
import type { SegmentSummary } from '../results/summary.js';
import { runError } from './errors.js';

/** The first signal the run received (undefined while none came). */
export interface Interruption {
  readonly signal: NodeJS.Signals | undefined;
}

/**
 * Takes the first signal from the process supervisor: marks the run folder INTERRUPTED and stops
 * the workers in `running` (as they are then). `giveBackSignals` ends the watch.
 */
export function watchForInterrupt(
  dir: string,
  running: readonly Worker[],
  log: (line: string) => void,
): { interruption: Interruption; giveBackSignals: () => void } {
  const interruption = { signal: undefined as NodeJS.Signals | undefined };
  const giveBackSignals = onInterrupt((signal) => {
    interruption.signal = signal;
    writeFileSync(
      join(dir, 'INTERRUPTED'),
      `Interrupted by ${signal} at ${new Date().toISOString()}; the workers were stopped and partial results written.\n`,
    );
    log(
      `${signal}: stopping the workers; partial results follow (${signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal'} kills everything at once)`,
    );
    for (const w of running) void w.stop().catch(() => {});
  });
  return { interruption, giveBackSignals };
}

export function throwIfInterrupted(interruption: Interruption): void {
  if (interruption.signal !== undefined)
    throw runError('RB_RUN_INTERRUPTED', `Interrupted by ${interruption.signal} before the load started; nothing to write.`);
}

/** At the end of an interrupted run: a note for the summary, or an error when no relay segment has results to write. */
export function noteInterruption(interruption: Interruption, notes: string[], done: readonly SegmentSummary[]): void {
  if (interruption.signal === undefined) return;
  notes.push(`interrupted by ${interruption.signal}: the results cover what ran until then`);
  if (!done.some((d) => d.mode === 'relay'))
    throw runError(
      'RB_RUN_INTERRUPTED',
      `Interrupted by ${interruption.signal} before a relay segment produced results; nothing to write.`,
    );
}
