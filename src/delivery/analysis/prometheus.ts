// The Prometheus provider: instant PromQL queries through the HTTP API
// (`POST /api/v1/query`), the built-in queries over the router's metrics
// (`slipway_router_requests_total`, `slipway_router_request_duration_seconds`)
// for the named conditions, and the value of a custom query.
import { fetchJson, displayUrl } from "./fetch-json.js";
import { ProviderError, type MeasureTarget, type MetricProvider, type Quantile, type WindowStats } from "./types.js";

/** The router's request counter; labels env, service, release, code_class (2xx, 3xx, 4xx, 5xx). */
export const REQUESTS_METRIC = "slipway_router_requests_total";
/** The router's latency histogram in seconds; labels env, service, release. */
export const DURATION_METRIC = "slipway_router_request_duration_seconds";

const QUANTILE: Record<Quantile, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

export interface PrometheusOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** One instant query's answer: the value, or null when the result is empty or NaN (no samples). */
export interface QueryValue {
  value: number | null;
  /** Why there is no value, in words, when value is null. */
  empty?: string;
}

/** A window as a PromQL range: `30s`, or `1500ms` when not whole seconds. */
export function promDuration(windowMs: number): string {
  const ms = Math.max(1, Math.round(windowMs));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A PromQL string literal. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** `{env="prod",service="web",release="web-3"}` plus any extra matchers. */
function selector(target: MeasureTarget, extra = ""): string {
  return `{env=${quote(target.env)},service=${quote(target.service)},release=${quote(target.release)}${extra}}`;
}

/** The PromQL Slipway sends for the named conditions of one release over its window. */
export function routerQueries(target: MeasureTarget, quantiles: readonly Quantile[] = ["p50", "p90", "p95", "p99"]): { requests: string; errors: string; quantiles: Partial<Record<Quantile, string>> } {
  const range = `[${promDuration(target.windowMs)}]`;
  const out: Partial<Record<Quantile, string>> = {};
  for (const q of quantiles) {
    out[q] = `histogram_quantile(${QUANTILE[q]}, sum by (le) (rate(${DURATION_METRIC}_bucket${selector(target)}${range})))`;
  }
  return {
    requests: `sum(increase(${REQUESTS_METRIC}${selector(target)}${range}))`,
    errors: `sum(increase(${REQUESTS_METRIC}${selector(target, ',code_class="5xx"')}${range}))`,
    quantiles: out,
  };
}

/**
 * `{{env}}`, `{{service}}`, `{{release}}` and `{{window}}` (a PromQL range
 * such as `30s`) in a custom query or URL, replaced by the target's values
 * (passed through `encode` first, for URLs). Other text is left as written.
 */
export function expandPlaceholders(text: string, target: MeasureTarget, encode: (s: string) => string = (s) => s): string {
  const values: Record<string, string> = { env: target.env, service: target.service, release: target.release, window: promDuration(target.windowMs) };
  return text.replace(/\{\{\s*(env|service|release|window)\s*\}\}/g, (_, name: string) => encode(values[name] as string));
}

/** Runs one instant query at `at` and returns its single value. A result of several series is an error. */
export async function queryPrometheus(address: string, query: string, at: Date, options: PrometheusOptions = {}): Promise<QueryValue> {
  const what = `Prometheus at ${displayUrl(address)}`;
  const url = `${address.replace(/\/+$/, "")}/api/v1/query`;
  const form = new URLSearchParams({ query, time: (at.getTime() / 1000).toFixed(3) });
  const res = await fetchJson({ url, method: "POST", form, what, ...options });
  const body = res.json as { status?: unknown; errorType?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } } | undefined;
  if (body === undefined || typeof body !== "object" || body === null || (body.status !== "success" && body.status !== "error")) {
    throw new ProviderError(`${what} answered HTTP ${res.status} ${res.statusText} with something that is not the Prometheus API's JSON: ${res.snippet}`);
  }
  if (body.status === "error") {
    throw new ProviderError(`${what} refused the query (HTTP ${res.status}, ${String(body.errorType ?? "error")}): ${String(body.error ?? "no message")}`);
  }
  const data = body.data;
  if (data?.resultType === "scalar") return sampleValue(data.result, what);
  if (data?.resultType !== "vector" || !Array.isArray(data.result)) {
    throw new ProviderError(`${what} answered a ${String(data?.resultType ?? "missing")} result; an analysis query must return an instant vector or a scalar`);
  }
  const series = data.result as { metric?: Record<string, string>; value?: unknown }[];
  if (series.length === 0) return { value: null, empty: "the query returned no series" };
  if (series.length > 1) {
    const labels = series.slice(0, 3).map((s) => formatLabels(s.metric ?? {}));
    throw new ProviderError(`${what} returned ${series.length} series (${labels.join(", ")}${series.length > 3 ? ", …" : ""}); a metric needs one value: aggregate the query, e.g. sum(...)`);
  }
  return sampleValue(series[0]?.value, what);
}

function sampleValue(sample: unknown, what: string): QueryValue {
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[1] !== "string") {
    throw new ProviderError(`${what} answered a sample that is not [time, "value"]: ${JSON.stringify(sample)}`);
  }
  const value = Number(sample[1]);
  if (Number.isNaN(value)) return { value: null, empty: "the query's value is NaN (no samples in the window)" };
  return { value };
}

function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${quote(v)}`);
  return `{${parts.join(",")}}`;
}

/** The named conditions measured by Prometheus scraping Slipway's router. */
export class PrometheusProvider implements MetricProvider {
  readonly description: string;

  constructor(
    private readonly address: string,
    private readonly options: PrometheusOptions = {},
  ) {
    this.description = `Prometheus at ${displayUrl(address)}`;
  }

  async window(target: MeasureTarget, quantiles: readonly Quantile[], at: Date): Promise<WindowStats> {
    const q = routerQueries(target, quantiles);
    const run = (query: string) => queryPrometheus(this.address, query, at, this.options);
    const [requests, errors, ...latencies] = await Promise.all([run(q.requests), run(q.errors), ...quantiles.map((k) => run(q.quantiles[k] as string))]);
    // increase() extrapolates to the window's edges, so counts come back fractional: round them.
    const total = Math.max(0, Math.round(requests?.value ?? 0));
    const failed = Math.min(total, Math.max(0, Math.round(errors?.value ?? 0)));
    const latency: WindowStats["latency"] = { p50: null, p90: null, p95: null, p99: null };
    quantiles.forEach((k, i) => {
      const v = latencies[i]?.value;
      latency[k] = v === null || v === undefined ? null : v * 1000;
    });
    return { requests: total, errors: failed, latency };
  }
}
