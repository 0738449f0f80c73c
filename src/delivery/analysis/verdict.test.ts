// The verdict of one measurement from given observations (no provider).
import { describe, expect, it } from "vitest";
import type { Analysis, CustomMetric } from "../model.js";
import { parseThreshold, type Threshold, type ThresholdKind } from "../threshold.js";
import type { WindowStats } from "./types.js";
import { judge, type CustomObservation } from "./verdict.js";

function t(text: string, kind: ThresholdKind): Threshold {
  const p = parseThreshold(text, kind);
  if (!p.ok) throw new Error(p.message);
  return p.value;
}

function analysis(over: Partial<Analysis> = {}): Analysis {
  return {
    provider: { kind: "builtin" },
    conditions: { error_rate: t("<1%", "rate"), p99: t("<500ms", "latency") },
    metrics: [],
    minRequests: 50,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    ...over,
  };
}

function stats(requests: number, errors: number, p99: number | null = 120): WindowStats {
  return { requests, errors, latency: { p50: p99 === null ? null : p99 / 3, p90: null, p95: null, p99 } };
}

const target = { env: "prod", service: "web", release: "web-7", windowMs: 30_000 };
const at = new Date("2026-11-26T10:00:00Z");
const queueDepth: CustomMetric = { name: "queue_depth", source: { kind: "prometheus", address: "http://prom:9090", query: "q" }, condition: t("<100", "number") };

describe("judge", () => {
  it("passes when every condition holds, with values and results", () => {
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(600, 3, 212) }, custom: [] }, at);
    expect(m.verdict).toBe("pass");
    expect(m.at).toBe("2026-11-26T10:00:00.000Z");
    expect(m.values).toEqual({ requests: 600, errors: 3, error_rate: 0.005, p99: 212 });
    expect(m.results).toEqual([
      { metric: "error_rate", value: 0.005, condition: "<1%", ok: true },
      { metric: "p99", value: 212, condition: "<500ms", ok: true },
    ]);
    expect(m.reason).toBe("all conditions met: error rate 0.5% < 1%, p99 212ms < 500ms over 30s (3 of 600 requests failed)");
  });

  it("fails on an error rate over the limit, saying by how much over which window", () => {
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(60, 12) }, custom: [] }, at);
    expect(m.verdict).toBe("fail");
    expect(m.reason).toBe("error rate 20.0% ≥ 1% over 30s (12 of 60 requests failed)");
    expect(m.results[0]).toEqual({ metric: "error_rate", value: 0.2, condition: "<1%", ok: false });
    expect(m.results[1]?.ok).toBe(true);
  });

  it("fails on latency and names every failed condition", () => {
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(100, 5, 1250) }, custom: [] }, at);
    expect(m.verdict).toBe("fail");
    expect(m.reason).toBe("error rate 5.0% ≥ 1%, p99 1.25s ≥ 500ms over 30s (5 of 100 requests failed)");
  });

  it("is inconclusive with fewer requests than min_requests, even when a value is over its limit", () => {
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(7, 7, 40) }, custom: [] }, at);
    expect(m.verdict).toBe("inconclusive");
    expect(m.reason).toBe("only 7 requests in 30s, fewer than min_requests 50: inconclusive (measured error rate 100.0%, p99 40ms)");
    expect(m.values.requests).toBe(7);
  });

  it("is inconclusive with no requests at all, never a pass", () => {
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(0, 0, null) }, custom: [] }, at);
    expect(m.verdict).toBe("inconclusive");
    expect(m.reason).toBe("no requests in 30s, fewer than min_requests 50: inconclusive");
    expect(m.values).toEqual({ requests: 0, errors: 0, error_rate: null, p99: null });
    expect(m.results.every((r) => r.ok === null)).toBe(true);
  });

  it("is inconclusive when a condition has no value despite enough requests", () => {
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(80, 0, null) }, custom: [] }, at);
    expect(m.verdict).toBe("inconclusive");
    expect(m.reason).toBe("no value to judge: p99: no latency samples in 30s (80 requests in 30s): inconclusive");
  });

  it("is an error when the router's numbers could not be read", () => {
    const m = judge(analysis(), target, { router: { ok: false, error: "Prometheus at http://prom:9090 did not answer: connect ECONNREFUSED" }, custom: [] }, at);
    expect(m.verdict).toBe("error");
    expect(m.reason).toBe("could not measure: Prometheus at http://prom:9090 did not answer: connect ECONNREFUSED");
    expect(m.values.requests).toBeNull();
  });

  it("judges success_rate and custom metrics in their units", () => {
    const a = analysis({ conditions: { success_rate: t(">=99%", "rate") }, metrics: [queueDepth] });
    const custom: CustomObservation[] = [{ metric: queueDepth, ok: true, value: 240 }];
    const m = judge(a, target, { router: { ok: true, stats: stats(200, 1) }, custom }, at);
    expect(m.verdict).toBe("fail");
    expect(m.reason).toBe("queue_depth 240 ≥ 100");
    expect(m.values).toEqual({ requests: 200, errors: 1, success_rate: 0.995, queue_depth: 240 });
  });

  it("fails on a failed condition even when a custom metric could not be measured, and mentions it", () => {
    const custom: CustomObservation[] = [{ metric: queueDepth, ok: false, error: "Prometheus at http://prom:9090 refused the query" }];
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(100, 50) }, custom }, at);
    expect(m.verdict).toBe("fail");
    expect(m.reason).toMatch(/^error rate 50\.0% ≥ 1% over 30s \(50 of 100 requests failed\); also could not measure: metric queue_depth: Prometheus/);
  });

  it("is an error when only a custom metric could not be measured", () => {
    const custom: CustomObservation[] = [{ metric: queueDepth, ok: false, error: "http://x/m answered HTTP 503" }];
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(100, 0) }, custom }, at);
    expect(m.verdict).toBe("error");
    expect(m.reason).toBe("could not measure: metric queue_depth: http://x/m answered HTTP 503");
    expect(m.values.queue_depth).toBeNull();
  });

  it("is inconclusive when a custom metric has no data (an empty Prometheus result)", () => {
    const custom: CustomObservation[] = [{ metric: queueDepth, ok: true, value: null, empty: "the query returned no series" }];
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(100, 0) }, custom }, at);
    expect(m.verdict).toBe("inconclusive");
    expect(m.reason).toBe("no value to judge: queue_depth: the query returned no series (100 requests in 30s): inconclusive");
  });

  it("keeps a custom metric named like a built-in value apart", () => {
    const p99: CustomMetric = { ...queueDepth, name: "p99" };
    const m = judge(analysis(), target, { router: { ok: true, stats: stats(100, 0, 100) }, custom: [{ metric: p99, ok: true, value: 3 }] }, at);
    expect(m.values.p99).toBe(100);
    expect(m.values["metric:p99"]).toBe(3);
  });

  it("checks min_requests even without a condition on the router (custom metrics only)", () => {
    const a = analysis({ conditions: {}, metrics: [queueDepth] });
    const m = judge(a, target, { router: { ok: true, stats: stats(10, 0) }, custom: [{ metric: queueDepth, ok: true, value: 1 }] }, at);
    expect(m.verdict).toBe("inconclusive");
    expect(m.reason).toBe("only 10 requests in 30s, fewer than min_requests 50: inconclusive (measured queue_depth 1)");
  });
});
