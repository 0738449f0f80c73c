// runCheck: each kind of check through one door, timeouts, cancellation, and checks that cannot run.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Check } from "../model.js";
import { parseThreshold, type Threshold } from "../threshold.js";
import { ENVIRONMENT_URL_VARIABLE, runCheck, type RunWorkflow } from "./run-check.js";

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/slow") return void setTimeout(() => res.end("slow"), 400);
    if (req.url === "/hang") return;
    if (req.url === "/broken") {
      res.statusCode = 502;
      return void res.end("bad gateway");
    }
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const position = { line: 1, column: 1 };
type Variant<K extends Check["kind"]> = Omit<Extract<Check, { kind: K }>, "name" | "timeout" | "position">;

function check<K extends Check["kind"]>(kind: K, fields: Omit<Variant<K>, "kind">, timeout = 60_000, name: string = kind): Check {
  return { name, timeout, position, kind, ...fields } as unknown as Check;
}

function threshold(text: string, kind: "rate" | "latency"): Threshold {
  const r = parseThreshold(text, kind);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe("runCheck", () => {
  it("runs a smoke check against the base URL", async () => {
    const ok = await runCheck(check("smoke", { requests: [{ method: "GET", path: "/", status: [200], contains: "ok", headers: {} }] }), { baseUrl: base });
    expect(ok).toMatchObject({ name: "smoke", kind: "smoke", ok: true });
    expect(ok.durationMs).toBeGreaterThan(0);
    const bad = await runCheck(check("smoke", { requests: [{ method: "GET", path: "/broken", status: [200], headers: {} }] }), { baseUrl: base });
    expect(bad).toMatchObject({ ok: false, reason: 'GET /broken returned 502, expected 200 (body: "bad gateway")' });
  });

  it("fails a check that outlives its timeout, and cancels it", async () => {
    const r = await runCheck(check("smoke", { requests: [{ method: "GET", path: "/hang", status: [200], headers: {} }] }, 200), { baseUrl: base });
    expect(r).toMatchObject({ ok: false, reason: "timed out after 200ms" });
    expect(r.durationMs).toBeLessThan(3000);
  });

  it("words the timeout as slipway.yml does, and aborts the work", async () => {
    vi.useFakeTimers();
    try {
      let seen: AbortSignal | undefined;
      const never: RunWorkflow = (_w, _i, _e, signal) => {
        seen = signal;
        return new Promise(() => {});
      };
      const pending = runCheck({ ...check("workflow", { workflow: "e2e.yml", inputs: {} }), timeout: 120_000 }, { baseUrl: base, runWorkflow: never });
      await vi.advanceTimersByTimeAsync(120_000);
      expect((await pending).reason).toBe("timed out after 2m");
      expect(seen?.aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops when cancelled", async () => {
    const never: RunWorkflow = () => new Promise(() => {});
    const abort = new AbortController();
    const cancelled = runCheck(check("workflow", { workflow: "e2e.yml", inputs: {} }), { baseUrl: base, runWorkflow: never, signal: abort.signal });
    setTimeout(() => abort.abort(), 20);
    const r = await cancelled;
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^cancelled after \d+ms$/);
  });

  it("runs a workflow check with the environment's URL in its environment", async () => {
    const calls: { workflow: string; inputs: Record<string, string>; env: Record<string, string> }[] = [];
    const runWorkflow: RunWorkflow = async (workflow, inputs, env) => {
      calls.push({ workflow, inputs, env });
      return { ok: true, reason: "all 3 jobs succeeded", runId: 42 };
    };
    const r = await runCheck(check("workflow", { workflow: "e2e.yml", inputs: { suite: "smoke" } }, 60_000, "workflow e2e.yml"), { baseUrl: base, runWorkflow, environment: "staging", release: "web#3" });
    expect(r).toMatchObject({ name: "workflow e2e.yml", kind: "workflow", ok: true, reason: "e2e.yml (run 42): all 3 jobs succeeded" });
    expect(calls).toEqual([{ workflow: "e2e.yml", inputs: { suite: "smoke" }, env: { [ENVIRONMENT_URL_VARIABLE]: base, SLIPWAY_ENVIRONMENT: "staging", SLIPWAY_RELEASE: "web#3" } }]);
    expect(ENVIRONMENT_URL_VARIABLE).toBe("SLIPWAY_ENVIRONMENT_URL");

    const failing: RunWorkflow = async () => ({ ok: false, reason: "job 'e2e' failed at step 'Run tests'", runId: 43 });
    expect((await runCheck(check("workflow", { workflow: "e2e.yml", inputs: {} }), { baseUrl: base, runWorkflow: failing })).reason).toBe("e2e.yml (run 43): job 'e2e' failed at step 'Run tests'");
    const throwing: RunWorkflow = async () => {
      throw new Error("the workflow file is gone");
    };
    expect(await runCheck(check("workflow", { workflow: "e2e.yml", inputs: {} }), { baseUrl: base, runWorkflow: throwing })).toMatchObject({ ok: false, reason: "the check could not run: the workflow file is gone" });
  });

  it("fails a workflow check when no runner is connected, rather than passing it", async () => {
    const r = await runCheck(check("workflow", { workflow: "e2e.yml", inputs: {} }), { baseUrl: base });
    expect(r).toMatchObject({ ok: false, reason: "cannot run the workflow e2e.yml: no workflow runner is connected here" });
  });

  it("runs a load check and judges its thresholds", async () => {
    const r = await runCheck(check("load", { rps: 50, duration: 600, connections: 8, path: "/", thresholds: { error_rate: threshold("<1%", "rate"), p95: threshold("<2s", "latency") } }), { baseUrl: base });
    expect(r.ok).toBe(true);
    expect(r.reason).toMatch(/^error_rate=0% < 1%, p\(95\)=[\d.]+ms < 2000ms \(30 requests at [\d.]+\/s \(target 50\/s\), 0 errors, /);
    const details = r.details as { report: { sent: number; statuses: Record<string, number> } };
    expect(details.report.statuses).toEqual({ "200": 30 });
  });

  it("fails a load check on a threshold, with k6's words", async () => {
    const r = await runCheck(check("load", { rps: 20, duration: 500, connections: 16, path: "/broken", thresholds: { error_rate: threshold("<1%", "rate") } }), { baseUrl: base });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^error_rate=100% ≥ 1% \(10 requests at [\d.]+\/s \(target 20\/s\), 10 errors \(100\.00%: HTTP 502 ×10\)/);
  });

  it("fails a load check whose requests had to be dropped", async () => {
    const r = await runCheck(check("load", { rps: 40, duration: 500, connections: 2, path: "/slow", thresholds: { error_rate: threshold("<1%", "rate") } }), { baseUrl: base });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^\d+ of 20 requests could not be sent: all 2 connections stayed busy waiting for answers, so the service did not take 40 requests per second \(/);
  });

  it("runs a health check with the given probe", async () => {
    let n = 0;
    const healthy = await runCheck(check("health", { duration: 200 }), { baseUrl: base, healthIntervalMs: 50, healthProbe: async () => (n++, { ok: true }) });
    expect(healthy).toMatchObject({ ok: true, kind: "health" });
    expect(healthy.reason).toMatch(/^healthy for 200ms \(\d+ probes\)$/);
    expect(n).toBeGreaterThanOrEqual(3);
    const sick = await runCheck(check("health", { duration: 5000 }), { baseUrl: base, healthIntervalMs: 50, healthProbe: async () => ({ ok: false, reason: "instance web-2 is not answering /up" }) });
    expect(sick).toMatchObject({ ok: false, reason: "unhealthy at the first probe of the 5s health period: instance web-2 is not answering /up" });
    const none = await runCheck(check("health", { duration: 1000 }), { baseUrl: base });
    expect(none).toMatchObject({ ok: false, reason: "cannot watch health: no health probe is connected here" });
  });

  it("does not start when already cancelled", async () => {
    const abort = new AbortController();
    abort.abort();
    expect(await runCheck(check("health", { duration: 1000 }), { baseUrl: base, signal: abort.signal, healthProbe: async () => ({ ok: true }) })).toMatchObject({ ok: false, reason: "cancelled before it started" });
  });
});
