/**
 * The order of a gate's trials and the loop that runs them, with the run itself injected (a
 * real `relaybench run` in the CLI, synthetic trials in tests).
 *
 * Order: pairs, each either A B or B A — `alternate` (A B B A A B …: a linear drift of the
 * machine over the gate cancels out) or `random` (a seeded coin per pair; the seed is printed, so
 * the order can be replayed). Either way both sides get the same number of slots.
 * An invalid trial (messages lost, generator-bound) is rerun on the same side at once, up to
 * `maxReruns` per side; a side that uses them all and still gets an invalid trial stops the loop
 * (the gate then exits 2: invalid, not a regression).
 */
import { createPrng } from '../../../loadgen/src/rate/prng.js';
import type { GateTrial, Side } from './decide.js';

export type OrderMode = 'alternate' | 'random';

export function trialOrder(perSide: number, mode: OrderMode, seed: number): Side[] {
  const rnd = createPrng(seed);
  const out: Side[] = [];
  for (let i = 0; i < perSide; i++) {
    const baseFirst = mode === 'alternate' ? i % 2 === 0 : rnd.next() < 0.5;
    out.push(...(baseFirst ? (['base', 'new'] as const) : (['new', 'base'] as const)));
  }
  return out;
}

export type RunTrial = (side: Side, index: number, attempt: number) => Promise<GateTrial>;

export interface LoopOutcome {
  readonly trials: readonly GateTrial[];
  readonly reruns: Readonly<Record<Side, number>>;
  /** Set when a side stayed invalid past its reruns. */
  readonly gaveUp: string | null;
}

export interface LoopEvents {
  /** After each trial (valid or not): how many slots are done of how many. */
  onTrial?(t: GateTrial, done: number, total: number, rerunNext: boolean): void;
}

export async function runTrialLoop(
  order: readonly Side[],
  maxReruns: number,
  run: RunTrial,
  events: LoopEvents = {},
): Promise<LoopOutcome> {
  const trials: GateTrial[] = [];
  const reruns: Record<Side, number> = { base: 0, new: 0 };
  let index = 0;
  for (const [slot, side] of order.entries()) {
    for (let attempt = 1; ; attempt++) {
      const t = await run(side, index++, attempt);
      trials.push(t);
      const rerun = !t.valid && reruns[side] < maxReruns;
      events.onTrial?.(t, slot + (t.valid ? 1 : 0), order.length, rerun);
      if (t.valid) break;
      if (!rerun)
        return {
          trials,
          reruns,
          gaveUp: `${side} trial ${t.runId} was invalid (${t.invalidReasons.join('; ') || 'invalid run'}) after ${reruns[side]} rerun(s) of that side (--max-reruns ${maxReruns})`,
        };
      reruns[side]++;
    }
  }
  return { trials, reruns, gaveUp: null };
}
