// Seeded samplers for workload shape: recipient choice and message size. All synchronous, O(1) or
// O(log N) per sample, deterministic for a given PRNG.
import type { Prng } from './prng.js';

export type RecipientSpec =
  | { readonly kind: 'uniform'; readonly users: number }
  /** Zipf over ranks 0..users−1: P(rank k) ∝ 1/(k+1)^s; rank 0 (user 0) is hottest. */
  | { readonly kind: 'zipf'; readonly users: number; readonly s: number };

export interface RecipientPicker {
  /** A recipient index in [0, users) different from `senderIndex` (users ≥ 2). */
  pick(senderIndex: number): number;
}

export function createRecipientPicker(spec: RecipientSpec, prng: Prng): RecipientPicker {
  const n = spec.users;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`need at least 2 users: ${n}`);
  if (spec.kind === 'uniform') {
    return {
      pick(sender) {
        const r = Math.floor(prng.next() * (n - 1));
        return r >= sender ? r + 1 : r;
      },
    };
  }
  const cdf = zipfCdf(n, spec.s);
  return {
    pick(sender) {
      // Rejection of self: the sender is hit with probability ≤ P(rank 0); a few draws suffice.
      for (let i = 0; i < 64; i++) {
        const r = searchCdf(cdf, prng.next());
        if (r !== sender) return r;
      }
      return (sender + 1) % n;
    },
  };
}

/** Cumulative distribution of Zipf(s) over n ranks; last element is exactly 1. */
export function zipfCdf(n: number, s: number): Float64Array {
  if (!(s >= 0)) throw new RangeError(`zipf exponent must be ≥ 0: ${s}`);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] as number) / sum;
  cdf[n - 1] = 1;
  return cdf;
}

/** Smallest index i with cdf[i] > u (u in [0,1)). */
export function searchCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export type SizeSpec =
  | { readonly kind: 'fixed'; readonly bytes: number }
  | { readonly kind: 'uniform'; readonly minBytes: number; readonly maxBytes: number }
  /** exp(N(ln medianBytes, sigma²)), rounded and clamped to [minBytes, maxBytes]. */
  | {
      readonly kind: 'lognormal';
      readonly medianBytes: number;
      readonly sigma: number;
      readonly minBytes: number;
      readonly maxBytes: number;
    };

/** Returns a sampler of integer message sizes in bytes. */
export function createSizeSampler(spec: SizeSpec, prng: Prng): () => number {
  switch (spec.kind) {
    case 'fixed':
      return () => spec.bytes;
    case 'uniform': {
      const span = spec.maxBytes - spec.minBytes + 1;
      if (!(span >= 1)) throw new RangeError('maxBytes must be ≥ minBytes');
      return () => spec.minBytes + Math.floor(prng.next() * span);
    }
    case 'lognormal': {
      if (!(spec.maxBytes >= spec.minBytes) || !(spec.medianBytes > 0) || !(spec.sigma >= 0))
        throw new RangeError('bad lognormal size spec');
      const mu = Math.log(spec.medianBytes);
      return () => {
        // Box–Muller; 1 − u is in (0, 1] so the log is finite.
        const z = Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next());
        const v = Math.round(Math.exp(mu + spec.sigma * z));
        return v < spec.minBytes ? spec.minBytes : v > spec.maxBytes ? spec.maxBytes : v;
      };
    }
  }
}
