// Sliding-window statistics: one-second buckets, windows, percentiles.
import { describe, expect, it } from "vitest";
import { HISTORY_SECONDS } from "./router.js";
import { latencyBucket, percentiles, WindowedStats, LATENCY_BUCKETS } from "./window-stats.js";

const T0 = 1_700_000_000_000;

describe("WindowedStats", () => {
  it("reads percentiles within the histogram's 4% resolution", () => {
    const w = new WindowedStats();
    for (let i = 1; i <= 1000; i++) w.record("v1", i / 10, i % 100 === 0, T0 + (i % 500));
    const s = w.stats("v1", 60_000, T0 + 999);
    expect(s.requests).toBe(1000);
    expect(s.errors).toBe(10);
    for (const [q, want] of [
      ["p50", 50],
      ["p90", 90],
      ["p95", 95],
      ["p99", 99],
    ] as const) {
      expect(Math.abs(s.latency[q]! - want) / want).toBeLessThan(0.04);
    }
  });

  it("sums only the seconds that overlap the window, and forgets after HISTORY_SECONDS", () => {
    const w = new WindowedStats();
    w.record("v1", 5, false, T0);
    w.record("v1", 5, true, T0 + 10_000);
    w.addCounts("v1", 3, 1, T0 + 20_000);
    w.addLatency("v1", 7, T0 + 20_000);
    expect(w.stats("v1", 1_000, T0 + 20_500)).toMatchObject({ requests: 3, errors: 1 });
    expect(w.stats("v1", 1_000, T0 + 20_500).latency.p50).toBeCloseTo(7, 0);
    expect(w.stats("v1", 11_000, T0 + 20_500)).toMatchObject({ requests: 4, errors: 2 });
    expect(w.stats("v1", 60_000, T0 + 20_500)).toMatchObject({ requests: 5, errors: 2 });
    expect(w.stats("v1", 60_000, T0 + 90_000).requests).toBe(0);
    // A window longer than the history reads what is kept.
    expect(w.stats("v1", 3_600_000, T0 + (HISTORY_SECONDS - 5) * 1000).requests).toBe(5);
    expect(w.stats("v1", 3_600_000, T0 + (HISTORY_SECONDS + 30) * 1000).requests).toBe(0);
    // A ring slot reused by a later second starts from zero.
    w.record("v1", 1, false, T0 + HISTORY_SECONDS * 1000);
    expect(w.stats("v1", 1_000, T0 + HISTORY_SECONDS * 1000)).toMatchObject({ requests: 1, errors: 0 });
  });

  it("reports nulls without samples and keeps releases apart", () => {
    const w = new WindowedStats();
    w.addCounts("v1", 4, 0, T0);
    w.record("v2", 3, false, T0);
    expect(w.stats("v1", 5_000, T0)).toEqual({ requests: 4, errors: 0, latency: { p50: null, p90: null, p95: null, p99: null } });
    expect(w.stats("v2", 5_000, T0).requests).toBe(1);
    expect(w.stats("v3", 5_000, T0).requests).toBe(0);
    expect(percentiles(new Float64Array(LATENCY_BUCKETS), 0).p99).toBeNull();
  });

  it("puts latencies into increasing buckets from 0 to minutes", () => {
    let last = -1;
    for (const ms of [0, 0.01, 0.05, 0.5, 1, 10, 100, 1_000, 60_000, 1e9]) {
      const b = latencyBucket(ms);
      expect(b).toBeGreaterThanOrEqual(last);
      expect(b).toBeLessThan(LATENCY_BUCKETS);
      last = b;
    }
    expect(latencyBucket(Number.NaN)).toBe(0);
  });
});
