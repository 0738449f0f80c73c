// The traffic module's door: routers that split HTTP traffic between the
// stable and the new release of a service (built-in proxy, HAProxy), their
// per-release statistics, and the /metrics endpoint.
export {
  type Backend,
  type LatencyPercentiles,
  type RouteTable,
  type RouterErrorCode,
  type RouterKind,
  type RouterOptions,
  type TrafficRouter,
  type WindowStats,
  HISTORY_SECONDS,
  RouterError,
  normalizeTable,
  validateTable,
} from "./router.js";
export { createRouter } from "./create-router.js";
export { BuiltinRouter } from "./builtin-router.js";
export { HaproxyRouter, HAPROXY_PATH } from "./haproxy-router.js";
export { DURATION_BUCKETS, REQUEST_DURATION, REQUESTS_TOTAL, combineMetrics, serveMetrics, type MetricsSource, type ServeMetricsOptions } from "./metrics.js";
