// The shared test suite every MetricProvider runs: call
// runMetricProviderCases from the implementation's *.test.ts with a fixture
// that serves the traffic described by TRAFFIC for three releases.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeasureTarget, MetricProvider } from "./types.js";

/**
 * What the fixture's router has seen of each release, per second of the window:
 * - steady: 40 requests, none 5xx, every one between 25 and 50 ms;
 * - failing: 40 requests, 8 of them 5xx (20%), half between 25 and 50 ms and half between 1 and 2.5 s;
 * - idle: nothing at all.
 */
export const TRAFFIC = {
  steady: { perSecond: 40, errorsPerSecond: 0 },
  failing: { perSecond: 40, errorsPerSecond: 8 },
} as const;

export interface MetricProviderFixture {
  provider: MetricProvider;
  /** The window the fixture's data covers; counts are TRAFFIC × window seconds (approximately, for providers that extrapolate). */
  windowMs: number;
  /** Relative tolerance on counts: 0 for exact providers. */
  tolerance: number;
  cleanup(): Promise<void>;
}

export function runMetricProviderCases(name: string, factory: () => Promise<MetricProviderFixture>): void {
  describe(`MetricProvider: ${name}`, () => {
    let f: MetricProviderFixture;
    const target = (release: string): MeasureTarget => ({ env: "prod", service: "web", release, windowMs: f.windowMs });
    const near = (actual: number, expected: number) => {
      expect(actual).toBeGreaterThanOrEqual(Math.floor(expected * (1 - f.tolerance)));
      expect(actual).toBeLessThanOrEqual(Math.ceil(expected * (1 + f.tolerance)));
    };

    beforeAll(async () => {
      f = await factory();
    });
    afterAll(async () => {
      await f?.cleanup();
    });

    it("counts the requests and 5xx answers of a release over the window", async () => {
      const seconds = f.windowMs / 1000;
      const steady = await f.provider.window(target("steady"), ["p99"], new Date());
      near(steady.requests, TRAFFIC.steady.perSecond * seconds);
      expect(steady.errors).toBe(0);
      const failing = await f.provider.window(target("failing"), ["p99"], new Date());
      near(failing.requests, TRAFFIC.failing.perSecond * seconds);
      near(failing.errors, TRAFFIC.failing.errorsPerSecond * seconds);
      expect(failing.errors / failing.requests).toBeCloseTo(0.2, 1);
    });

    it("reports the latency percentiles asked for, in milliseconds", async () => {
      const steady = await f.provider.window(target("steady"), ["p50", "p99"], new Date());
      expect(steady.latency.p50).toBeGreaterThanOrEqual(25);
      expect(steady.latency.p50).toBeLessThanOrEqual(50);
      expect(steady.latency.p99).toBeGreaterThan(25);
      expect(steady.latency.p99).toBeLessThanOrEqual(50);
      const failing = await f.provider.window(target("failing"), ["p99"], new Date());
      expect(failing.latency.p99).toBeGreaterThan(1000);
      expect(failing.latency.p99).toBeLessThanOrEqual(2500);
    });

    it("reports no requests and no latency for a release without traffic", async () => {
      const idle = await f.provider.window(target("idle"), ["p50", "p90", "p95", "p99"], new Date());
      expect(idle).toEqual({ requests: 0, errors: 0, latency: { p50: null, p90: null, p95: null, p99: null } });
    });
  });
}
