import type { ErrorTable } from '../../relay/protocol/src/relaybench-error.js';

/**
 * RB_BENCH_*: the benchmarks under bench/benchmarks/ and loadgen/bench/ (not the CLI). They print
 * these codes themselves, as the CLI does (`error RB_BENCH_ARGS: …`); the table is what
 * docs/errors.md is checked against.
 */
export const benchErrors = {
  RB_BENCH_ARGS: { message: 'A benchmark was given an option it does not know, one without its value, or a bad value.', retriable: false },
  RB_BENCH_NO_CLIENT: { message: 'None of the Kafka clients asked for is installed; nothing to measure.', retriable: false },
} as const satisfies ErrorTable;
