// The verdict of one measurement, decided by a pure function from what the
// providers observed: pass, fail, inconclusive (too few requests, or no value
// for a condition — never a silent pass) or error (a provider could not
// measure), with the values measured and the reason in words.
import type { Analysis, CustomMetric, MetricName } from "../model.js";
import { meetsThreshold, type Threshold } from "../threshold.js";
import { formatComparison, formatRequests, formatValue, formatWindow } from "./format.js";
import type { ConditionResult, MeasureTarget, Measurement, Verdict, WindowStats } from "./types.js";

/** What the router's provider gave: its numbers, or why it could not. */
export type RouterObservation = { ok: true; stats: WindowStats } | { ok: false; error: string };

/** What a custom metric's source gave: a value (null: no data, with why), or why it could not. */
export type CustomObservation = { metric: CustomMetric; ok: true; value: number | null; empty?: string } | { metric: CustomMetric; ok: false; error: string };

export interface Observations {
  router: RouterObservation;
  custom: CustomObservation[];
}

/** The named conditions in the order they are reported. */
export const METRIC_NAMES: readonly MetricName[] = ["error_rate", "success_rate", "p50", "p90", "p95", "p99"];

const LABEL: Record<MetricName, string> = { error_rate: "error rate", success_rate: "success rate", p50: "p50", p90: "p90", p95: "p95", p99: "p99" };

/** The keys of `values` Slipway itself fills; a custom metric with one of these names is stored as `metric:<name>`. */
const RESERVED = new Set<string>(["requests", "errors", ...METRIC_NAMES]);

export function customValueKey(name: string): string {
  return RESERVED.has(name) ? `metric:${name}` : name;
}

/** The value of a named condition from the router's numbers: rates as fractions, latencies in ms; null when there is none. */
export function metricValue(name: MetricName, s: WindowStats): number | null {
  switch (name) {
    case "error_rate":
      return s.requests > 0 ? s.errors / s.requests : null;
    case "success_rate":
      return s.requests > 0 ? (s.requests - s.errors) / s.requests : null;
    default:
      return s.latency[name];
  }
}

interface Judged {
  result: ConditionResult;
  threshold: Threshold;
  label: string;
  /** `error rate 20.0% ≥ 1%`, or `p99: no samples`. */
  phrase: string;
  builtin: boolean;
}

function judgeValue(metric: string, label: string, value: number | null, t: Threshold, builtin: boolean, empty: string): Judged {
  if (value === null) {
    return { result: { metric, value: null, condition: t.text, ok: null }, threshold: t, label, phrase: `${label}: ${empty}`, builtin };
  }
  const ok = meetsThreshold(t, value);
  return { result: { metric, value, condition: t.text, ok }, threshold: t, label, phrase: formatComparison(label, value, t, ok), builtin };
}

/** Decides the measurement from the observations. */
export function judge(analysis: Analysis, target: MeasureTarget, obs: Observations, at: Date): Measurement {
  const window = formatWindow(target.windowMs);
  const values: Record<string, number | null> = {};
  const judged: Judged[] = [];
  const errors: string[] = [];
  const stats = obs.router.ok ? obs.router.stats : undefined;
  if (!obs.router.ok) errors.push(obs.router.error);

  values.requests = stats ? stats.requests : null;
  values.errors = stats ? stats.errors : null;
  for (const name of METRIC_NAMES) {
    const t = analysis.conditions[name];
    if (!t) continue;
    const value = stats ? metricValue(name, stats) : null;
    values[name] = value;
    const empty = !stats ? "not measured" : name.startsWith("p") ? `no latency samples in ${window}` : `no requests in ${window}`;
    judged.push(judgeValue(name, LABEL[name], value, t, true, empty));
  }
  for (const c of obs.custom) {
    const key = customValueKey(c.metric.name);
    if (!c.ok) {
      errors.push(`metric ${c.metric.name}: ${c.error}`);
      values[key] = null;
      judged.push(judgeValue(c.metric.name, c.metric.name, null, c.metric.condition, false, "not measured"));
      continue;
    }
    values[key] = c.value;
    judged.push(judgeValue(c.metric.name, c.metric.name, c.value, c.metric.condition, false, c.empty ?? "no value"));
  }
  const results = judged.map((j) => j.result);
  const done = (verdict: Verdict, reason: string): Measurement => ({ at: at.toISOString(), verdict, values, results, reason });

  // 1. Without the request count, min_requests cannot be checked: nothing can be concluded.
  if (!stats) return done("error", `could not measure: ${errors.join("; ")}`);

  // 2. Too few requests: inconclusive, whatever the values say.
  const counts = countPhrase(stats, analysis);
  if (stats.requests < analysis.minRequests) {
    const few = stats.requests === 0 ? `no requests in ${window}` : `only ${formatRequests(stats.requests)} in ${window}`;
    const seen = judged.filter((j) => j.result.value !== null).map((j) => `${j.label} ${formatValue(j.result.value as number, j.threshold.unit)}`);
    const also = errors.length > 0 ? `; also could not measure: ${errors.join("; ")}` : "";
    return done("inconclusive", `${few}, fewer than min_requests ${analysis.minRequests}: inconclusive${seen.length > 0 ? ` (measured ${seen.join(", ")})` : ""}${also}`);
  }

  // 3. A condition not met fails the measurement, even when another could not be measured.
  const failed = judged.filter((j) => j.result.ok === false);
  if (failed.length > 0) {
    const also = errors.length > 0 ? `; also could not measure: ${errors.join("; ")}` : "";
    return done("fail", `${phrases(failed, window, counts)}${also}`);
  }

  // 4. A custom metric that could not be measured.
  if (errors.length > 0) return done("error", `could not measure: ${errors.join("; ")}`);

  // 5. A condition without a value: no data is never a pass.
  const missing = judged.filter((j) => j.result.ok === null);
  if (missing.length > 0) {
    return done("inconclusive", `no value to judge: ${missing.map((j) => j.phrase).join("; ")} (${formatRequests(stats.requests)} in ${window}): inconclusive`);
  }

  if (judged.length === 0) return done("pass", `${formatRequests(stats.requests)} in ${window}, at least min_requests ${analysis.minRequests}; no condition to judge`);
  return done("pass", `all conditions met: ${phrases(judged, window, counts)}`);
}

/** `(12 of 60 requests failed)` when a rate is judged, `(60 requests)` otherwise. */
function countPhrase(s: WindowStats, analysis: Analysis): string {
  const rates = analysis.conditions.error_rate !== undefined || analysis.conditions.success_rate !== undefined;
  return rates ? `(${s.errors} of ${formatRequests(s.requests)} failed)` : `(${formatRequests(s.requests)})`;
}

/** Builtin phrases share the window and the counts; custom metrics follow. */
function phrases(items: Judged[], window: string, counts: string): string {
  const builtin = items.filter((j) => j.builtin).map((j) => j.phrase);
  const custom = items.filter((j) => !j.builtin).map((j) => j.phrase);
  const parts: string[] = [];
  if (builtin.length > 0) parts.push(`${builtin.join(", ")} over ${window} ${counts}`);
  if (custom.length > 0) parts.push(custom.join(", "));
  return parts.join("; ");
}
