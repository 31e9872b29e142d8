/** What one fuzz probe saw of the relay's answers: the probes fill it in, the tally counts it. */
export interface Outcome {
  inputs: number;
  errors: number[];
  errorsWithId: number;
  /** The relay's close code (null: we closed first, or no connection). */
  close: number | null;
  /** Extra closes in a storm (one per socket the relay closed). */
  stormCloses: number[];
  http: number | null;
  connectFailed: boolean;
  /** A valid hello was not welcomed (only for probes that needed one). */
  setupFailed: boolean;
  undecodable: number;
  /** A control input that is fine to let through (e.g. a normal close the relay echoes). */
  benign: boolean;
}

export function emptyOutcome(inputs: number): Outcome {
  return {
    inputs,
    errors: [],
    errorsWithId: 0,
    close: null,
    stormCloses: [],
    http: null,
    connectFailed: false,
    setupFailed: false,
    undecodable: 0,
    benign: false,
  };
}
