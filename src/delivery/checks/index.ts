// Checks: verifications during and after a rollout — smoke requests, a
// workflow run against the environment, load with thresholds, health for a
// period — each with a timeout and a reason in words. The load generator is
// also used on its own by tests, benchmarks and the demo.
export type { CheckResult } from "./check-result.js";
export { runCheck, ENVIRONMENT_URL_VARIABLE, type CheckContext, type RunWorkflow } from "./run-check.js";
export { runSmoke, joinUrl, type SmokeOptions, type SmokeRequestResult } from "./smoke.js";
export { runLoad, startLoad, summarizeLoad, type LoadOptions, type LoadReport, type LoadHandle, type LoadResult, type ErrorCause } from "./load.js";
export { evaluateThresholds, parseK6Threshold, metricLabel, type ThresholdResult, type ThresholdsVerdict } from "./thresholds.js";
export { runHealthPeriod, httpProbe, realClock, type HealthProbe, type ProbeResult, type HealthPeriodOptions, type HealthPeriodResult, type Clock } from "./health.js";
export { httpRequest, describeNetworkError, HttpFailure, type HttpAnswer, type HttpRequestOptions } from "./http-request.js";
export { LatencyHistogram, type LatencySummary } from "./histogram.js";
