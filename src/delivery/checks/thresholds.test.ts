// Thresholds on load reports in k6's words, k6 spellings, and the latency histogram's accuracy.
import { describe, expect, it } from "vitest";
import type { MetricName } from "../model.js";
import { parseThreshold, type Threshold } from "../threshold.js";
import { LatencyHistogram } from "./histogram.js";
import type { LoadReport } from "./load.js";
import { evaluateThresholds, metricLabel, parseK6Threshold } from "./thresholds.js";

function report(over: Partial<LoadReport> = {}): LoadReport {
  return {
    url: "http://127.0.0.1:1/",
    targetRps: 100,
    connections: 16,
    startedAt: "2026-06-01T00:00:00.000Z",
    running: false,
    stoppedBy: "duration",
    sendingMs: 1000,
    elapsedMs: 1010,
    scheduled: 100,
    sent: 100,
    dropped: 0,
    waiting: 0,
    late: 0,
    maxLagMs: 1,
    inFlight: 0,
    cancelled: 0,
    completed: 100,
    responses: 100,
    statuses: { "200": 100 },
    errors: 0,
    httpErrors: 0,
    networkErrors: 0,
    errorRate: 0,
    errorCauses: [],
    achievedRps: 100,
    latency: { min: 1, mean: 50, p50: 40, p90: 120, p95: 312, p99: 480, max: 900 },
    ...over,
  };
}

function t(text: string, kind: "rate" | "latency"): Threshold {
  const r = parseThreshold(text, kind);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe("evaluateThresholds", () => {
  it("explains a failing threshold as k6 does", () => {
    const v = evaluateThresholds(report(), { p95: t("<300ms", "latency"), error_rate: t("<1%", "rate") });
    expect(v.ok).toBe(false);
    expect(v.reason).toBe("p(95)=312ms ≥ 300ms");
    expect(v.results).toEqual([
      { metric: "error_rate", threshold: "<1%", measured: 0, ok: true, reason: "error_rate=0% < 1%" },
      { metric: "p95", threshold: "<300ms", measured: 312, ok: false, reason: "p(95)=312ms ≥ 300ms" },
    ]);
  });

  it("lists every threshold when all pass", () => {
    const v = evaluateThresholds(report({ errors: 1, httpErrors: 1, errorRate: 0.0025 }), { p99: t("<=0.5s", "latency"), error_rate: t("<1%", "rate"), success_rate: t(">=99%", "rate") });
    expect(v.ok).toBe(true);
    expect(v.reason).toBe("error_rate=0.25% < 1%, success_rate=99.75% ≥ 99%, p(99)=480ms ≤ 500ms");
  });

  it("shows each operator's opposite when failing", () => {
    const r = report({ errorRate: 0.025, errors: 5 });
    expect(evaluateThresholds(r, { error_rate: t("<=2%", "rate") }).reason).toBe("error_rate=2.5% > 2%");
    expect(evaluateThresholds(r, { success_rate: t(">99%", "rate") }).reason).toBe("success_rate=97.5% ≤ 99%");
    expect(evaluateThresholds(r, { success_rate: t(">=99%", "rate") }).reason).toBe("success_rate=97.5% < 99%");
    expect(evaluateThresholds(report({ latency: { ...report().latency, p50: 3.456 } }), { p50: t("<2ms", "latency") }).reason).toBe("p(50)=3.46ms ≥ 2ms");
  });

  it("fails a threshold with nothing to measure", () => {
    const none = report({ completed: 0, responses: 0, sent: 0, scheduled: 0, statuses: {}, latency: { min: null, mean: null, p50: null, p90: null, p95: null, p99: null, max: null } });
    const v = evaluateThresholds(none, { error_rate: t("<1%", "rate"), p95: t("<300ms", "latency") });
    expect(v.ok).toBe(false);
    expect(v.reason).toBe("error_rate cannot be measured: no request completed, p(95) cannot be measured: no request completed");
    const refused = report({ responses: 0, networkErrors: 100, errors: 100, errorRate: 1, statuses: {}, latency: none.latency });
    expect(evaluateThresholds(refused, { p95: t("<300ms", "latency") }).reason).toBe("p(95) cannot be measured: no request was answered (every one failed on the network)");
  });

  it("passes with no thresholds, saying so", () => {
    expect(evaluateThresholds(report(), {})).toEqual({ ok: true, reason: "no thresholds", results: [] });
  });
});

describe("parseK6Threshold", () => {
  it.each([
    ["p(95)<300", "p95", { op: "<", value: 300, unit: "ms" }],
    ["p(99) <= 1.5s", "p99", { op: "<=", value: 1500, unit: "ms" }],
    ["med<100ms", "p50", { op: "<", value: 100, unit: "ms" }],
    ["p(90)>=5", "p90", { op: ">=", value: 5, unit: "ms" }],
    ["rate<0.01", "error_rate", { op: "<", value: 0.01, unit: "ratio" }],
    ["rate<1%", "error_rate", { op: "<", value: 0.01, unit: "ratio" }],
  ])("%s", (text, metric, threshold) => {
    const r = parseK6Threshold(text);
    expect(r).toEqual({ ok: true, value: { metric, threshold: { ...threshold, text } } });
  });

  it.each([
    ["p(99.9)<300", "the percentile p(99.9) in 'p(99.9)<300' is not measured"],
    ["avg<200", "the aggregation 'avg' in 'avg<200' is not measured by Slipway"],
    ["p(95)==300", "the operator == in 'p(95)==300' is not supported"],
    ["rate<2", "the rate in 'rate<2' is above 1 (100%)"],
    ["rate<5ms", "a rate has no time unit: 'rate<5ms'"],
    ["p(95)<5%", "a latency is not a percentage: 'p(95)<5%'"],
    ["fast", "'fast' is not a k6 threshold"],
  ])("refuses %s", (text, message) => {
    const r = parseK6Threshold(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toBe(message);
      expect(r.fix).not.toBe("");
    }
  });

  it("labels metrics as k6 does", () => {
    expect((["p50", "p95", "error_rate"] as MetricName[]).map(metricLabel)).toEqual(["p(50)", "p(95)", "error_rate"]);
  });
});

describe("LatencyHistogram", () => {
  it("gives percentiles within 0.5% of the exact nearest-rank values", () => {
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const h = new LatencyHistogram();
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.exp(rand() * 9) / 10; // 0.1 ms to 800 ms, log-uniform
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [50, 90, 95, 99]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1]!;
      expect(Math.abs(h.percentile(p)! - exact) / exact).toBeLessThan(0.005);
    }
    const s = h.summary();
    expect(s.min).toBeCloseTo(values[0]!, 3);
    expect(s.max).toBeCloseTo(values.at(-1)!, 3);
    expect(s.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 2);
  });

  it("is exact for small values and empty when nothing was recorded", () => {
    const h = new LatencyHistogram();
    expect(h.summary().p99).toBeNull();
    for (const v of [0.1, 0.2, 0.2, 0.25]) h.record(v);
    expect(h.percentile(50)).toBe(0.2);
    expect(h.percentile(100)).toBe(0.25);
  });
});
