/**
 * Counts what the fuzz saw: every probe's outcome by category, every error and close code the
 * relay sent, and each code checked against the protocol's documented tables.
 */
import { ALWAYS_REJECTED, FUZZ_CATEGORIES, type FuzzCategory } from './cases.js';
import { isDocumentedCloseCode, isDocumentedErrorCode } from './documented.js';
import type { Outcome } from './outcome.js';

export interface CategoryReport {
  probes: number;
  inputs: number;
  /** Probes that drew at least one error frame or close from the relay. */
  rejected: number;
  /** Probes the relay let through without complaint. */
  accepted: number;
  connectFailed: number;
  setupFailed: number;
  /** "e<code>…+c<close>" → probes. */
  outcomes: Record<string, number>;
}

export interface FuzzReport {
  readonly durationMs: number;
  readonly connections: number;
  readonly probes: number;
  readonly inputs: number;
  readonly categories: Record<FuzzCategory, CategoryReport>;
  /** Error frames by `error.code`; close codes by code (sent by the relay). */
  readonly errorCodes: Record<string, number>;
  readonly closeCodes: Record<string, number>;
  readonly httpStatuses: Record<string, number>;
  /** Error frames that named the msgId / reqId they refuse. */
  readonly errorsWithId: number;
  readonly undocumented: {
    readonly errorCodes: Record<string, number>;
    readonly closeCodes: Record<string, number>;
    readonly samples: string[];
  };
  /** Server frames the reference decoder refused (a relay bug). */
  readonly undecodableServerFrames: number;
  /** Always-rejected categories with a probe the relay let through (first few, for the log). */
  readonly acceptedSamples: string[];
}

const SAMPLES = 20;
const add = (m: Record<string, number>, k: string | number, n = 1) => (m[String(k)] = (m[String(k)] ?? 0) + n);

/** The outcome's key in `CategoryReport.outcomes`, e.g. `e3+c4011` or `accepted`. */
function outcomeKey(o: Outcome): string {
  const uniq = [...new Set(o.errors)].sort((a, b) => a - b);
  const parts = [
    ...uniq.map((e) => `e${e}`),
    ...(o.close === null ? [] : [`c${o.close}`]),
    ...(o.stormCloses.length > 0 ? [`${o.stormCloses.length}×c${[...new Set(o.stormCloses)].join('/')}`] : []),
    ...(o.http !== null && o.http !== 101 ? [`http${o.http}`] : []),
  ];
  return parts.join('+') || 'accepted';
}

/** Not safe to share between concurrent runs; lanes of one run may record in any order. */
export class FuzzTally {
  readonly #categories = Object.fromEntries(
    FUZZ_CATEGORIES.map((c) => [
      c,
      { probes: 0, inputs: 0, rejected: 0, accepted: 0, connectFailed: 0, setupFailed: 0, outcomes: {} } satisfies CategoryReport,
    ]),
  ) as Record<FuzzCategory, CategoryReport>;
  readonly #errorCodes: Record<string, number> = {};
  readonly #closeCodes: Record<string, number> = {};
  readonly #httpStatuses: Record<string, number> = {};
  readonly #undocErrors: Record<string, number> = {};
  readonly #undocCloses: Record<string, number> = {};
  readonly #samples: string[] = [];
  readonly #acceptedSamples: string[] = [];
  #errorsWithId = 0;
  #undecodable = 0;

  record(category: FuzzCategory, o: Outcome, detail: string): void {
    const c = this.#categories[category];
    c.probes++;
    c.inputs += o.inputs;
    if (o.connectFailed) c.connectFailed++;
    if (o.setupFailed) c.setupFailed++;
    if (o.connectFailed || o.setupFailed) return;
    this.#errorsWithId += o.errorsWithId;
    this.#undecodable += o.undecodable;
    const closes = [...(o.close === null ? [] : [o.close]), ...o.stormCloses];
    for (const code of o.errors)
      this.#count(this.#errorCodes, this.#undocErrors, code, isDocumentedErrorCode(code), `${category}: error ${code} (${detail})`);
    for (const code of closes)
      this.#count(this.#closeCodes, this.#undocCloses, code, isDocumentedCloseCode(code), `${category}: close ${code} (${detail})`);
    if (o.http !== null) add(this.#httpStatuses, o.http);
    const rejected = o.errors.length > 0 || closes.length > 0 || (o.http !== null && o.http !== 101);
    if (rejected) c.rejected++;
    else {
      c.accepted++;
      if (ALWAYS_REJECTED.has(category) && !o.benign && this.#acceptedSamples.length < SAMPLES)
        this.#acceptedSamples.push(`${category}: ${detail}`);
    }
    add(c.outcomes, outcomeKey(o));
  }

  #count(all: Record<string, number>, undocumented: Record<string, number>, code: number, documented: boolean, sample: string): void {
    add(all, code);
    if (documented) return;
    add(undocumented, code);
    if (this.#samples.length < SAMPLES) this.#samples.push(sample);
  }

  report(durationMs: number, connections: number): FuzzReport {
    const categories = Object.values(this.#categories);
    return {
      durationMs,
      connections,
      probes: categories.reduce((a, c) => a + c.probes, 0),
      inputs: categories.reduce((a, c) => a + c.inputs, 0),
      categories: this.#categories,
      errorCodes: this.#errorCodes,
      closeCodes: this.#closeCodes,
      httpStatuses: this.#httpStatuses,
      errorsWithId: this.#errorsWithId,
      undocumented: { errorCodes: this.#undocErrors, closeCodes: this.#undocCloses, samples: this.#samples },
      undecodableServerFrames: this.#undecodable,
      acceptedSamples: this.#acceptedSamples,
    };
  }
}
