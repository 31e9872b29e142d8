// The Prometheus runner the bench uses: detect → start (or use an external one) → query → stop.
export { detectPrometheus, NOT_INSTALLED_MESSAGE, type PrometheusMode, type PrometheusPlan } from './detect.js';
export { startPrometheus, type PrometheusServer, type StartPrometheusOptions } from './server.js';
export { PrometheusClient, finiteSampleCount, singleValue, type PrometheusQuerier, type QueryResult } from './client.js';
export {
  renderPrometheusConfig,
  renderTargetsFile,
  DEFAULT_SCRAPE_INTERVAL_MS,
  type ScrapeTarget,
  type TargetRole,
  type RunLabels,
} from './config.js';
export { crossCheck, crossCheckQueries, bucketBoundsAround, type CrossCheckResult, type CrossCheckOptions } from './cross-check.js';
export { prometheusErrors, prometheusError } from './errors.js';
export { SegmentTargets } from './segment-targets.js';
