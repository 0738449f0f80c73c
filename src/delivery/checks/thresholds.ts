// Thresholds on a load report, judged as k6 judges them and explained in its
// words: `p(95)=312ms ≥ 300ms`, `error_rate=2.50% ≥ 1%`. The model's
// `Threshold` is the source of truth; `parseK6Threshold` reads k6 spellings
// (`p(95)<300`, `rate<0.01`) into it for people who bring them along.
import type { Parsed } from "../duration.js";
import type { MetricName } from "../model.js";
import { meetsThreshold, type Comparator, type Threshold } from "../threshold.js";
import type { LoadReport } from "./load.js";

export interface ThresholdResult {
  metric: MetricName;
  threshold: string;
  /** In the threshold's unit (ms, or a fraction for rates); null when there was nothing to measure. */
  measured: number | null;
  ok: boolean;
  /** `p(95)=312ms ≥ 300ms`. */
  reason: string;
}

export interface ThresholdsVerdict {
  ok: boolean;
  /** The failing thresholds, else all of them. */
  reason: string;
  results: ThresholdResult[];
}

const NEGATION: Record<Comparator, string> = { "<": "≥", "<=": ">", ">": "≤", ">=": "<" };
const SHOWN: Record<Comparator, string> = { "<": "<", "<=": "≤", ">": ">", ">=": "≥" };
const ORDER: MetricName[] = ["error_rate", "success_rate", "p50", "p90", "p95", "p99"];

/** `p95` → `p(95)`, as k6 writes percentiles. */
export function metricLabel(metric: MetricName): string {
  const m = /^p(\d+)$/.exec(metric);
  return m ? `p(${m[1]})` : metric;
}

function trim(n: number, digits: number): string {
  return String(Number(n.toFixed(digits)));
}

function formatValue(value: number, unit: Threshold["unit"]): string {
  if (unit === "ratio") return `${trim(value * 100, 2)}%`;
  if (unit === "ms") return `${trim(value, value < 10 ? 2 : value < 100 ? 1 : 0)}ms`;
  return trim(value, 3);
}

function measure(report: LoadReport, metric: MetricName): number | null {
  switch (metric) {
    case "error_rate":
      return report.completed === 0 ? null : report.errorRate;
    case "success_rate":
      return report.completed === 0 ? null : 1 - report.errorRate;
    default:
      return report.latency[metric];
  }
}

/** Judges each threshold; one without data (no request completed, no response to time) fails: never a silent pass. */
export function evaluateThresholds(report: LoadReport, thresholds: Partial<Record<MetricName, Threshold>>): ThresholdsVerdict {
  const results: ThresholdResult[] = [];
  for (const metric of ORDER) {
    const t = thresholds[metric];
    if (!t) continue;
    const label = metricLabel(metric);
    const measured = measure(report, metric);
    if (measured === null) {
      const why = report.completed === 0 ? "no request completed" : "no request was answered (every one failed on the network)";
      results.push({ metric, threshold: t.text, measured, ok: false, reason: `${label} cannot be measured: ${why}` });
      continue;
    }
    const ok = meetsThreshold(t, measured);
    const limit = formatValue(t.value, t.unit);
    results.push({ metric, threshold: t.text, measured, ok, reason: `${label}=${formatValue(measured, t.unit)} ${ok ? SHOWN[t.op] : NEGATION[t.op]} ${limit}` });
  }
  const failed = results.filter((r) => !r.ok);
  const shown = failed.length > 0 ? failed : results;
  return { ok: failed.length === 0, reason: shown.map((r) => r.reason).join(", ") || "no thresholds", results };
}

const K6 = /^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|med|rate)\s*(<=|>=|<|>|==|!=|=)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?\s*$/;

/**
 * A k6 threshold expression → the model's metric and threshold:
 * `p(95)<300` (milliseconds, as k6's http_req_duration), `p(95)<0.3s`,
 * `med<100` (p50), `rate<0.01` or `rate<1%` (http_req_failed: the error rate).
 */
export function parseK6Threshold(text: string): Parsed<{ metric: MetricName; threshold: Threshold }> {
  const fix = 'write p(50), p(90), p(95), p(99), med or rate, an operator and a limit, e.g. "p(95)<300" or "rate<0.01"';
  const m = K6.exec(text);
  if (!m) {
    const agg = /^\s*(avg|min|max|count|p\([^)]*\))/.exec(text)?.[1];
    if (agg && !agg.startsWith("p(")) return { ok: false, message: `the aggregation '${agg}' in '${text}' is not measured by Slipway`, fix };
    return { ok: false, message: `'${text}' is not a k6 threshold`, fix };
  }
  const [, what, percentile, op, number, unit] = m;
  if (op === "==" || op === "!=" || op === "=") return { ok: false, message: `the operator ${op} in '${text}' is not supported`, fix: "use <, <=, > or >=: a measurement is judged against a limit" };
  const comparator = op as Comparator;
  const n = Number(number);
  if (what === "rate") {
    if (unit === "ms" || unit === "s") return { ok: false, message: `a rate has no time unit: '${text}'`, fix: 'write a fraction ("rate<0.01") or a percentage ("rate<1%")' };
    const value = unit === "%" ? n / 100 : n;
    if (value > 1) return { ok: false, message: `the rate in '${text}' is above 1 (100%)`, fix: 'write a fraction between 0 and 1, e.g. "rate<0.01"' };
    return { ok: true, value: { metric: "error_rate", threshold: { op: comparator, value, unit: "ratio", text } } };
  }
  const p = what === "med" ? "50" : percentile!;
  const metric = `p${Number(p)}`;
  if (!["p50", "p90", "p95", "p99"].includes(metric)) return { ok: false, message: `the percentile p(${p}) in '${text}' is not measured`, fix: "use p(50), p(90), p(95) or p(99)" };
  if (unit === "%") return { ok: false, message: `a latency is not a percentage: '${text}'`, fix: 'write milliseconds, e.g. "p(95)<300"' };
  const value = unit === "s" ? n * 1000 : n;
  return { ok: true, value: { metric: metric as MetricName, threshold: { op: comparator, value, unit: "ms", text } } };
}
