// One measurement of an analysis: read the router's numbers from the
// provider (built-in router or Prometheus) and each custom metric from its
// source, all at once, then judge them (verdict.ts).
import type { Analysis, CustomMetric, MetricName } from "../model.js";
import { BuiltinProvider } from "./builtin-provider.js";
import { fetchHttpMetric } from "./http-metric.js";
import { expandPlaceholders, PrometheusProvider, queryPrometheus } from "./prometheus.js";
import { ProviderError, type MeasureDeps, type MeasureTarget, type Measurement, type MetricProvider, type Quantile } from "./types.js";
import { judge, type CustomObservation, type RouterObservation } from "./verdict.js";

const QUANTILES: readonly MetricName[] = ["p50", "p90", "p95", "p99"];

/** The provider that measures the named conditions of an analysis. */
export function metricProvider(analysis: Analysis, deps: Pick<MeasureDeps, "builtin" | "fetch" | "timeoutMs">): MetricProvider {
  if (analysis.provider.kind === "prometheus") {
    return new PrometheusProvider(analysis.provider.address, { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) });
  }
  return new BuiltinProvider(deps.builtin);
}

/** Measures the analysis for the target's release over its window; never throws: a provider failure is an "error" measurement. */
export async function measure(analysis: Analysis, target: MeasureTarget, deps: MeasureDeps): Promise<Measurement> {
  const at = (deps.now ?? (() => new Date()))();
  const quantiles = QUANTILES.filter((q) => analysis.conditions[q] !== undefined) as Quantile[];
  const provider = metricProvider(analysis, deps);
  const [router, custom] = await Promise.all([observeRouter(provider, target, quantiles, at), Promise.all(analysis.metrics.map((m) => observeCustom(m, target, at, deps)))]);
  return judge(analysis, target, { router, custom }, at);
}

async function observeRouter(provider: MetricProvider, target: MeasureTarget, quantiles: Quantile[], at: Date): Promise<RouterObservation> {
  try {
    return { ok: true, stats: await provider.window(target, quantiles, at) };
  } catch (err) {
    return { ok: false, error: describeFailure(err) };
  }
}

async function observeCustom(metric: CustomMetric, target: MeasureTarget, at: Date, deps: MeasureDeps): Promise<CustomObservation> {
  const options = { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) };
  try {
    const source = metric.source;
    const r =
      source.kind === "prometheus"
        ? await queryPrometheus(source.address, expandPlaceholders(source.query, target), at, options)
        : await fetchHttpMetric(source, target, { resolve: deps.resolve, ...options });
    return { metric, ok: true, value: r.value, ...(r.empty ? { empty: r.empty } : {}) };
  } catch (err) {
    return { metric, ok: false, error: describeFailure(err) };
  }
}

/** A ProviderError's words as they are; anything else is unexpected, and says so. */
function describeFailure(err: unknown): string {
  if (err instanceof ProviderError) return err.message;
  return `unexpected error: ${(err as Error)?.message ?? String(err)}`;
}
