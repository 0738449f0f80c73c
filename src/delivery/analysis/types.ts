// The shapes of analysis: what a metric provider reports for one release
// over a window (WindowStats), what one measurement records (Measurement),
// and the MetricProvider interface the built-in router and Prometheus
// implement.
import type { ValueSource } from "../model.js";

// What the router saw of one release over a window (requests, 5xx and
// router failures, latency percentiles in ms): the router module owns the
// shape, the built-in provider reads it as it is.
import type { LatencyPercentiles, WindowStats } from "../../traffic/index.js";
export type { LatencyPercentiles, WindowStats };

export type Quantile = keyof LatencyPercentiles;

/** The release being judged and the window its metrics are read over (ending at the measurement). */
export interface MeasureTarget {
  env: string;
  service: string;
  release: string;
  windowMs: number;
}

/** What `measure` needs from outside: the router's numbers, secret values, HTTP. */
export interface MeasureDeps {
  /** The built-in router's numbers for a release over the last `windowMs` (required with `provider: builtin`). */
  builtin?: (release: string, windowMs: number) => WindowStats | Promise<WindowStats>;
  /** Reads `env:` and `secret:` values (HTTP metric headers). May throw; the measurement is then an error naming the value. */
  resolve: (v: ValueSource) => string | Promise<string>;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Per HTTP request to Prometheus or a metric endpoint; default 10 s (Argo Rollouts' web metric default). */
  timeoutMs?: number;
}

export type Verdict = "pass" | "fail" | "inconclusive" | "error";

/** One condition judged: `ok` is null when there was no value to compare. */
export interface ConditionResult {
  metric: string;
  value: number | null;
  condition: string;
  ok: boolean | null;
}

/** One measurement of an analysis, stored with the values measured and the verdict's reason in words. */
export interface Measurement {
  /** ISO 8601 time the measurement was taken (the end of its window). */
  at: string;
  verdict: Verdict;
  /** `requests`, `errors`, each named condition measured (rates as fractions, latencies in ms) and each custom metric by name. */
  values: Record<string, number | null>;
  results: ConditionResult[];
  reason: string;
}

/**
 * Where the named conditions (error_rate, success_rate, p50–p99) are
 * measured. Implementations: the built-in router, Prometheus.
 */
export interface MetricProvider {
  /** For messages: "the built-in router", "Prometheus at http://localhost:9090". */
  readonly description: string;
  /**
   * Requests, 5xx errors and the latency percentiles asked for of the
   * target over its window ending at `at`. Percentiles not asked for may be
   * null. Throws a ProviderError when it cannot measure.
   */
  window(target: MeasureTarget, quantiles: readonly Quantile[], at: Date): Promise<WindowStats>;
}

/** A provider could not measure (unreachable, bad answer, missing field): the measurement is an error, never a pass. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
}
