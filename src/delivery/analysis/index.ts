// Analysis: measurements that judge a rollout step — pass, fail,
// inconclusive (too few requests: never a silent pass) or error — from the
// built-in router, Prometheus or a JSON endpoint, and the run of them judged
// with Argo Rollouts' failure_limit / consecutive_error_limit.
export { measure, metricProvider } from "./measure.js";
export { AnalysisRun, assessRun, type RunLimits, type RunPhase, type RunStatus } from "./analysis-run.js";
export { judge, metricValue, customValueKey, METRIC_NAMES, type Observations, type RouterObservation, type CustomObservation } from "./verdict.js";
export { PrometheusProvider, queryPrometheus, routerQueries, expandPlaceholders, promDuration, REQUESTS_METRIC, DURATION_METRIC, type QueryValue } from "./prometheus.js";
export { BuiltinProvider, type RouterStats } from "./builtin-provider.js";
export { fetchHttpMetric, readField, parseFieldPath, type HttpMetricSource } from "./http-metric.js";
export {
  ProviderError,
  type ConditionResult,
  type LatencyPercentiles,
  type MeasureDeps,
  type MeasureTarget,
  type Measurement,
  type MetricProvider,
  type Quantile,
  type Verdict,
  type WindowStats,
} from "./types.js";
