/**
 * The one error base class of the project. Every error a user can meet carries a stable code
 * (`RB_<AREA>_<WHAT>`, never reused once retired), a sentence, and whether retrying may help.
 * Each area declares its codes in its own `errors.ts` table; `docs/errors.md` lists them all and
 * a test fails when the two diverge.
 */
export interface ErrorSpec {
  /** One sentence an operator can act on. */
  readonly message: string;
  readonly retriable: boolean;
}

export type ErrorTable = Readonly<Record<string, ErrorSpec>>;

export class RelaybenchError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelaybenchError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }

  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Builds a typed factory over one area's table so call sites cannot invent codes. */
export function errorFactory<T extends ErrorTable>(table: T) {
  return (code: keyof T & string, detail?: string, cause?: unknown): RelaybenchError => {
    const spec = table[code];
    if (spec === undefined) throw new Error(`unknown error code ${code}`);
    const message = detail === undefined ? spec.message : `${spec.message} ${detail}`;
    return new RelaybenchError(code, message, { retriable: spec.retriable, cause });
  };
}

export function isRelaybenchError(e: unknown): e is RelaybenchError {
  return e instanceof RelaybenchError;
}
