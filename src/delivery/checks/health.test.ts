// Health for a period: probes over time with a fake clock, failure thresholds, hung and throwing probes, cancellation, the HTTP probe.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { httpProbe, runHealthPeriod, type Clock, type ProbeResult } from "./health.js";

/** A clock whose sleeps pass at once, moving its time forward. */
function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

/** Probe answers in order, then healthy; records the fake time of each probe. */
function scripted(clock: { t: number }, answers: ProbeResult[]) {
  const times: number[] = [];
  return {
    times,
    probe: async (): Promise<ProbeResult> => {
      times.push(clock.t);
      return answers.shift() ?? { ok: true };
    },
  };
}

describe("runHealthPeriod", () => {
  it("passes when every probe over the period is healthy, probing at the start, every interval and at the end", async () => {
    const clock = fakeClock();
    const s = scripted(clock, []);
    const r = await runHealthPeriod({ durationMs: 10_000, intervalMs: 3000, probe: s.probe, clock });
    expect(r).toMatchObject({ ok: true, probes: 5, failures: 0, reason: "healthy for 10s (5 probes)" });
    expect(s.times).toEqual([0, 3000, 6000, 9000, 10_000]);
  });

  it("fails at the first failing probe, with its reason and when", async () => {
    const clock = fakeClock();
    const s = scripted(clock, [{ ok: true }, { ok: true }, { ok: false, reason: "instance 2 exited with code 1" }]);
    const r = await runHealthPeriod({ durationMs: 60_000, intervalMs: 1000, probe: s.probe, clock });
    expect(r).toMatchObject({ ok: false, probes: 3, failures: 1, reason: "unhealthy 2s into the 1m health period: instance 2 exited with code 1" });
  });

  it("tolerates fewer failing probes in a row than the threshold", async () => {
    const clock = fakeClock();
    const bad = { ok: false, reason: "GET /up returned 503" };
    const tolerated = await runHealthPeriod({ durationMs: 5000, intervalMs: 1000, failureThreshold: 3, probe: scripted(clock, [bad, bad, { ok: true }, bad]).probe, clock });
    expect(tolerated).toMatchObject({ ok: true, failures: 3, reason: "healthy for 5s (6 probes, 3 failing probes tolerated (fewer than 3 in a row))" });
    const clock2 = fakeClock();
    const failed = await runHealthPeriod({ durationMs: 5000, intervalMs: 1000, failureThreshold: 3, probe: scripted(clock2, [{ ok: true }, bad, bad, bad]).probe, clock: clock2 });
    expect(failed).toMatchObject({ ok: false, reason: "unhealthy 3s into the 5s health period: GET /up returned 503 (3 failing probes in a row)" });
  });

  it("fails a probe that throws or does not answer", async () => {
    const clock = fakeClock();
    const thrown = await runHealthPeriod({ durationMs: 1000, intervalMs: 100, clock, probe: async () => Promise.reject(new Error("router unreachable")) });
    expect(thrown.reason).toBe("unhealthy at the first probe of the 1s health period: the probe failed: router unreachable");
    const hung = await runHealthPeriod({ durationMs: 1000, intervalMs: 100, probeTimeoutMs: 50, probe: () => new Promise<ProbeResult>(() => {}) });
    expect(hung.ok).toBe(false);
    expect(hung.reason).toMatch(/^unhealthy at the first probe of the 1s health period: the probe did not answer within 50ms$/);
  });

  it("probes once for a zero period", async () => {
    const clock = fakeClock();
    const r = await runHealthPeriod({ durationMs: 0, intervalMs: 1000, probe: scripted(clock, []).probe, clock });
    expect(r).toMatchObject({ ok: true, probes: 1, reason: "healthy for 0s (1 probe)" });
  });

  it("stops when cancelled, and is not a pass", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    const started = performance.now();
    const r = await runHealthPeriod({ durationMs: 60_000, intervalMs: 50, probe: async () => ({ ok: true }), signal: abort.signal });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^cancelled after \d+ms of 1m \(\d+ probes\)$/);
  });

  it("watches for real time with the real clock", async () => {
    let probes = 0;
    const started = performance.now();
    const r = await runHealthPeriod({ durationMs: 300, intervalMs: 100, probe: async () => (probes++, { ok: true }) });
    expect(r.ok).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    expect(probes).toBeGreaterThanOrEqual(3);
  });
});

describe("httpProbe", () => {
  it("is healthy on 2xx and 3xx, and says what it got otherwise", async () => {
    let status = 200;
    const server = http.createServer((_req, res) => {
      res.statusCode = status;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/up`;
    try {
      expect(await httpProbe(url)()).toEqual({ ok: true });
      status = 302;
      expect(await httpProbe(url)()).toEqual({ ok: true });
      status = 503;
      expect(await httpProbe(url)()).toEqual({ ok: false, reason: `GET ${url} returned 503` });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect((await httpProbe(url)()).reason).toMatch(/connection refused/);
  });
});
