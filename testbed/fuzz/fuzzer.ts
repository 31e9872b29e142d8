/**
 * A fuzz traffic generator for live relays: `connections` lanes, each opening one connection per
 * probe (a category from cases.ts, run by probes.ts), and a tally (tally.ts) of what the relay
 * answered. Never throws because of what the relay sends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MAX_FRAME_BYTES } from '../../relay/protocol/src/index.js';
import { createPrng, type Prng } from '../../loadgen/src/rate/prng.js';
import { FUZZ_CATEGORIES, buildProbe, type CaseContext, type FuzzCategory, type Probe } from './cases.js';
import { runProbe } from './probes.js';
import { FuzzTally, type CategoryReport, type FuzzReport } from './tally.js';

export type { CategoryReport, FuzzReport };

export interface FuzzOptions {
  readonly relays: readonly string[];
  /** The relays' token secret (valid hellos; bad-token probes forge around it). */
  readonly secret: string;
  /** Lanes: connections in use at once (a hello storm briefly adds its own). */
  readonly connections: number;
  readonly durationMs: number;
  /** Probes started per second over all lanes (default: no cap). */
  readonly probesPerSec?: number;
  readonly seed?: number;
  /** Prefix of every fuzz userId (distinct from the users whose traffic is measured). */
  readonly userPrefix?: string;
  readonly maxPayloadBytes?: number;
  /** The relays' per-connection burst: floods send this many pings and more. */
  readonly rateBurst: number;
  readonly helloTimeoutMs?: number;
  /** Relative weights (default 1; the slow categories less). 0 leaves a category out. */
  readonly weights?: Partial<Record<FuzzCategory, number>>;
  readonly sourceAddresses?: readonly string[];
}

const DEFAULT_WEIGHTS: Partial<Record<FuzzCategory, number>> = {
  'no-hello': 0.05,
  'hello-storm': 0.2,
  flood: 0.3,
  'keys-flood': 0.2,
  oversized: 0.5,
  'forbidden-confirm': 0.5,
};

class Pacer {
  #next = performance.now();
  readonly #gapMs: number;
  constructor(perSec: number | undefined) {
    this.#gapMs = perSec === undefined || perSec <= 0 ? 0 : 1000 / perSec;
  }
  async take(): Promise<void> {
    if (this.#gapMs === 0) return;
    const now = performance.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#gapMs;
    if (at > now) await sleep(at - now);
  }
}

/** Runs the fuzz until `durationMs` has passed and every probe has finished. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const prefix = options.userPrefix ?? `fz${Date.now().toString(36)}`;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const weights = FUZZ_CATEGORIES.map((c) => Math.max(0, options.weights?.[c] ?? DEFAULT_WEIGHTS[c] ?? 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const enabled = FUZZ_CATEGORIES.filter((_, i) => weights[i]! > 0);
  const tally = new FuzzTally();
  let sources = 0;
  const source = () =>
    options.sourceAddresses === undefined || options.sourceAddresses.length === 0
      ? undefined
      : options.sourceAddresses[sources++ % options.sourceAddresses.length];
  const pacer = new Pacer(options.probesPerSec);
  const t0 = performance.now();
  const deadline = t0 + options.durationMs;

  const lane = async (index: number) => {
    const prng = createPrng((options.seed ?? 1) * 1000 + index);
    const user = `${prefix}L${index}`;
    let first = true;
    while (performance.now() < deadline) {
      await pacer.take();
      if (performance.now() >= deadline) break;
      // The first probe of each lane walks the categories in order, so a short run still covers them all.
      const category = first ? enabled[index % enabled.length]! : pickWeighted(prng, weights, totalWeight);
      first = false;
      const ctx: CaseContext = {
        prng,
        secret: options.secret,
        user,
        sink: `${prefix}sink`,
        maxPayloadBytes,
        floodFrames: options.rateBurst + 500,
        keyFetches: Math.min(300, options.rateBurst),
        helloTimeoutMs,
      };
      const probe = buildProbe(category, ctx);
      const url = options.relays[Math.floor(prng.next() * options.relays.length)]!;
      const outcome = await runProbe(probe, url, {
        secret: options.secret,
        user,
        storm: `${prefix}S${index}`,
        localAddress: source(),
        helloTimeoutMs,
      });
      tally.record(category, outcome, describe(probe));
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => lane(i)));
  return tally.report(Math.round(performance.now() - t0), options.connections);
}

function pickWeighted(prng: Prng, weights: readonly number[], total: number): FuzzCategory {
  let x = prng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return FUZZ_CATEGORIES[i]!;
  }
  return FUZZ_CATEGORIES[FUZZ_CATEGORIES.length - 1]!;
}

function describe(p: Probe): string {
  switch (p.shape) {
    case 'ws':
      return `${p.afterHello ? 'after' : 'before'} hello, ${p.inputs.length} input(s), first ${p.inputs[0]?.kind === 'text' ? `text(${p.inputs[0].text.length})` : `bin ${Buffer.from(p.inputs[0]?.kind === 'binary' ? p.inputs[0].bytes.subarray(0, 24) : []).toString('hex')}`}`;
    case 'storm':
      return `${p.connections} hellos of one user`;
    case 'raw':
      return p.what;
    case 'idle':
      return 'no hello';
  }
}
