import { errorFactory, type ErrorTable } from '../../../relay/protocol/src/relaybench-error.js';

/** RB_PROM_*: the Prometheus server a run starts (or is pointed at) and its HTTP API. */
export const prometheusErrors = {
  RB_PROM_BAD_MODE: { message: 'The --prometheus value is not valid (expected auto, off, or an http(s):// URL).', retriable: false },
  RB_PROM_BAD_TARGET: { message: 'A scrape target is not a valid http(s) metrics URL.', retriable: false },
  RB_PROM_START_FAILED: { message: 'The prometheus server did not start or did not become ready in time.', retriable: true },
  RB_PROM_QUERY_FAILED: { message: 'A PromQL query against Prometheus failed.', retriable: true },
} as const satisfies ErrorTable;

export const prometheusError = errorFactory(prometheusErrors);
