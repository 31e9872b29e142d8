/**
 * Stable exit codes of every `relaybench` command (documented in docs/cli.md; never renumbered).
 * A gate failure is distinct from bad input, which is distinct from the harness breaking.
 */
export const ExitCode = {
  OK: 0,
  /** An objective or a regression gate failed (the run itself was valid). */
  GATE_FAILED: 1,
  /** Bad input (flags, scenario file, result file) or an invalid run (lost messages, generator-bound). */
  INVALID: 2,
  /** Infrastructure failed: Kafka, a relay or a worker could not start or died. */
  INFRA: 3,
  /** A bug in relaybench itself. */
  INTERNAL: 4,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
