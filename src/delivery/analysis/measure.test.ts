// measure() with the built-in provider (a fake router giving exact numbers),
// and the failures of providers turned into "error" measurements.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import type { Analysis, ValueSource } from "../model.js";
import { parseThreshold, type Threshold, type ThresholdKind } from "../threshold.js";
import { BuiltinProvider } from "./builtin-provider.js";
import { measure } from "./measure.js";
import { runMetricProviderCases, TRAFFIC } from "./metric-provider.case.js";
import type { WindowStats } from "./types.js";

/** A fake router with the shared suite's traffic: exact counts and percentiles over any window. */
function fakeRouter(release: string, windowMs: number): WindowStats {
  const s = windowMs / 1000;
  switch (release) {
    case "steady":
      return { requests: TRAFFIC.steady.perSecond * s, errors: 0, latency: { p50: 37.5, p90: 47.5, p95: 48.75, p99: 49.75 } };
    case "failing":
      return { requests: TRAFFIC.failing.perSecond * s, errors: TRAFFIC.failing.errorsPerSecond * s, latency: { p50: 50, p90: 2200, p95: 2350, p99: 2470 } };
    default:
      return { requests: 0, errors: 0, latency: { p50: null, p90: null, p95: null, p99: null } };
  }
}

runMetricProviderCases("built-in router", async () => ({ provider: new BuiltinProvider(fakeRouter), windowMs: 30_000, tolerance: 0, cleanup: async () => undefined }));

function t(text: string, kind: ThresholdKind): Threshold {
  const p = parseThreshold(text, kind);
  if (!p.ok) throw new Error(p.message);
  return p.value;
}

const canary: Analysis = {
  provider: { kind: "builtin" },
  conditions: { error_rate: t("<1%", "rate"), p99: t("<500ms", "latency") },
  metrics: [],
  minRequests: 50,
  failureLimit: 0,
  consecutiveErrorLimit: 4,
};
const resolve = (v: ValueSource) => (v.from === "literal" ? v.value : "");
const now = () => new Date("2026-11-26T10:00:00Z");
const target = (release: string, windowMs = 30_000) => ({ env: "prod", service: "web", release, windowMs });

describe("measure with the built-in router", () => {
  it("passes a healthy release", async () => {
    const m = await measure(canary, target("steady"), { builtin: fakeRouter, resolve, now });
    expect(m).toEqual({
      at: "2026-11-26T10:00:00.000Z",
      verdict: "pass",
      values: { requests: 1200, errors: 0, error_rate: 0, p99: 49.75 },
      results: [
        { metric: "error_rate", value: 0, condition: "<1%", ok: true },
        { metric: "p99", value: 49.75, condition: "<500ms", ok: true },
      ],
      reason: "all conditions met: error rate 0.0% < 1%, p99 49.8ms < 500ms over 30s (0 of 1200 requests failed)",
    });
  });

  it("fails a release with errors and slow answers", async () => {
    const m = await measure(canary, target("failing"), { builtin: fakeRouter, resolve, now });
    expect(m.verdict).toBe("fail");
    expect(m.reason).toBe("error rate 20.0% ≥ 1%, p99 2.47s ≥ 500ms over 30s (240 of 1200 requests failed)");
  });

  it("is inconclusive with too few requests, passing the window to the router", async () => {
    const windows: number[] = [];
    const few = (_r: string, w: number): WindowStats => {
      windows.push(w);
      return { requests: 7, errors: 0, latency: { p50: 10, p90: 12, p95: 13, p99: 14 } };
    };
    const m = await measure(canary, target("steady", 45_000), { builtin: few, resolve, now });
    expect(windows).toEqual([45_000]);
    expect(m.verdict).toBe("inconclusive");
    expect(m.reason).toBe("only 7 requests in 45s, fewer than min_requests 50: inconclusive (measured error rate 0.0%, p99 14ms)");
  });

  it("is an error when the router is not there or fails", async () => {
    const absent = await measure(canary, target("steady"), { resolve, now });
    expect(absent.verdict).toBe("error");
    expect(absent.reason).toBe("could not measure: the built-in router of web in prod is not running, so it has no metrics for steady");
    const throwing = await measure(canary, target("steady"), {
      resolve,
      now,
      builtin: () => {
        throw new Error("no route for steady");
      },
    });
    expect(throwing.verdict).toBe("error");
    expect(throwing.reason).toBe("could not measure: the built-in router could not report on steady: no route for steady");
    const garbage = await measure(canary, target("steady"), { resolve, now, builtin: () => ({ requests: -1 }) as unknown as WindowStats });
    expect(garbage.reason).toMatch(/^could not measure: the built-in router reported malformed numbers for steady/);
  });

  it("is an error when Prometheus does not answer, naming its address without credentials", async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const { port } = s.address() as AddressInfo;
    await new Promise((r) => s.close(r));
    const m = await measure({ ...canary, provider: { kind: "prometheus", address: `http://admin:hunter2@127.0.0.1:${port}` } }, target("steady"), { resolve, now });
    expect(m.verdict).toBe("error");
    expect(m.reason).toBe(`could not measure: Prometheus at http://127.0.0.1:${port} did not answer: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(m.values.requests).toBeNull();
  });
});
