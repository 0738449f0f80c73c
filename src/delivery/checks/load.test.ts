// The load generator against real local HTTP servers: rate, exact counts of statuses and network errors, the connection cap, stop and cancel.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runLoad, startLoad, summarizeLoad, type LoadReport } from "./load.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: http.Server[] = [];

async function serve(handler: Handler): Promise<{ url: string; server: http.Server; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on("connection", () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, connections: () => connections };
}

function shut(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => (s.listening ? shut(s) : Promise.resolve())));
});

/** Every request sent ends as exactly one response or one network error (or was cancelled). */
function expectAccounted(r: LoadReport): void {
  expect(r.inFlight).toBe(0);
  expect(r.sent).toBe(r.responses + r.networkErrors + r.cancelled);
  expect(r.completed).toBe(r.responses + r.networkErrors);
  expect(r.scheduled).toBe(r.sent + r.dropped);
  expect(Object.values(r.statuses).reduce((a, b) => a + b, 0)).toBe(r.responses);
  expect(r.errorCauses.reduce((a, c) => a + c.count, 0)).toBe(r.errors);
}

describe("runLoad", () => {
  it("holds a constant rate: 200 requests per second for 2 seconds", async () => {
    const { url } = await serve((_req, res) => res.end("ok"));
    const r = await runLoad({ url, rps: 200, durationMs: 2000, connections: 16 });
    expectAccounted(r);
    expect(r.scheduled).toBe(400);
    expect(r.sent, JSON.stringify(r)).toBe(400);
    expect(r.dropped).toBe(0);
    expect(r.statuses).toEqual({ "200": 400 });
    expect(r.errors).toBe(0);
    expect(r.errorRate).toBe(0);
    expect(r.achievedRps).toBeGreaterThan(170);
    expect(r.achievedRps).toBeLessThanOrEqual(200.0001);
    expect(r.sendingMs).toBeGreaterThanOrEqual(2000);
    expect(r.running).toBe(false);
    expect(r.stoppedBy).toBe("duration");
    const l = r.latency;
    expect(l.min).not.toBeNull();
    expect(l.min! <= l.p50! && l.p50! <= l.p90! && l.p90! <= l.p95! && l.p95! <= l.p99! && l.p99! <= l.max!).toBe(true);
    expect(summarizeLoad(r)).toMatch(/^400 requests at \d+\.\d\/s \(target 200\/s\), 0 errors, p\(50\)=/);
  });

  it("counts 5xx answers exactly when the service fails every 5th request", async () => {
    const served: Record<string, number> = {};
    let n = 0;
    const { url } = await serve((_req, res) => {
      n++;
      res.statusCode = n % 5 === 0 ? 503 : 200;
      res.on("finish", () => (served[res.statusCode] = (served[res.statusCode] ?? 0) + 1));
      res.end(res.statusCode === 503 ? "busy" : "ok");
    });
    const r = await runLoad({ url, rps: 150, durationMs: 1000, connections: 8 });
    expectAccounted(r);
    expect(r.sent).toBe(150);
    expect(r.statuses).toEqual(served);
    expect(r.statuses).toEqual({ "200": 120, "503": 30 });
    expect(r.httpErrors).toBe(30);
    expect(r.networkErrors).toBe(0);
    expect(r.errorRate).toBeCloseTo(0.2, 10);
    expect(r.errorCauses).toEqual([{ cause: "HTTP 503", count: 30, firstAtMs: expect.any(Number) }]);
    expect(summarizeLoad(r)).toContain("30 errors (20.00%: HTTP 503 ×30)");
  });

  it("counts 4xx as errors and 3xx as answers", async () => {
    let n = 0;
    const { url } = await serve((_req, res) => {
      n++;
      res.statusCode = n % 2 === 0 ? 302 : 404;
      res.end();
    });
    const r = await runLoad({ url, rps: 100, durationMs: 200, connections: 4 });
    expectAccounted(r);
    expect(r.statuses).toEqual({ "302": 10, "404": 10 });
    expect(r.httpErrors).toBe(10);
  });

  it("counts network errors when nothing listens", async () => {
    const { url, server } = await serve((_req, res) => res.end());
    await shut(server);
    const r = await runLoad({ url, rps: 50, durationMs: 500, connections: 16 });
    expectAccounted(r);
    expect(r.sent).toBe(25);
    expect(r.networkErrors).toBe(25);
    expect(r.responses).toBe(0);
    expect(r.errorRate).toBe(1);
    expect(r.errorCauses).toHaveLength(1);
    expect(r.errorCauses[0]!.cause).toMatch(/^ECONNREFUSED: connection refused \(127\.0\.0\.1:\d+\)$/);
    expect(r.latency.p95).toBeNull();
  });

  it("counts every request when the service goes away in the middle of the load", async () => {
    let served = 0;
    const { url, server } = await serve((_req, res) => {
      res.on("finish", () => served++);
      res.end("ok");
    });
    const load = startLoad({ url, rps: 200, durationMs: 1000, connections: 8 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await shut(server);
    const r = await load.done;
    expectAccounted(r);
    expect(r.sent, JSON.stringify(r)).toBe(200);
    expect(r.responses).toBeGreaterThan(0);
    expect(r.responses).toBeLessThanOrEqual(served);
    expect(r.networkErrors).toBeGreaterThan(0);
    expect(r.errorCauses.map((c) => c.cause).join(" ")).toContain("ECONNREFUSED");
  });

  it("never has more than `connections` requests in flight, and counts the ones it could not send", async () => {
    let concurrent = 0;
    let most = 0;
    const { url } = await serve((_req, res) => {
      concurrent++;
      most = Math.max(most, concurrent);
      setTimeout(() => {
        concurrent--;
        res.end("slow");
      }, 300);
    });
    const r = await runLoad({ url, rps: 100, durationMs: 1000, connections: 4 });
    expectAccounted(r);
    expect(most).toBeLessThanOrEqual(4);
    expect(r.scheduled).toBe(100);
    expect(r.dropped).toBeGreaterThan(50);
    expect(r.sent).toBeGreaterThanOrEqual(4);
    expect(r.sent).toBeLessThanOrEqual(30);
    expect(r.errors).toBe(0);
    expect(r.latency.p50).toBeGreaterThanOrEqual(290);
    expect(summarizeLoad(r)).toContain(`${r.dropped} dropped (all 4 connections busy)`);
  });

  it("does not drop requests because its own process paused", async () => {
    const { url } = await serve((_req, res) => res.end("ok"));
    const load = startLoad({ url, rps: 100, durationMs: 1000, connections: 4 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const until = performance.now() + 150;
    while (performance.now() < until) {
      // the event loop is blocked: 15 requests come due meanwhile, more than the 4 connections
    }
    const r = await load.done;
    expectAccounted(r);
    expect(r.dropped).toBe(0);
    expect(r.sent).toBe(100);
    expect(r.late).toBeGreaterThanOrEqual(10);
    expect(r.maxLagMs).toBeGreaterThanOrEqual(100);
  });

  it("reuses keep-alive connections", async () => {
    const s = await serve((_req, res) => res.end("ok"));
    const r = await runLoad({ url: s.url, rps: 100, durationMs: 1000, connections: 4 });
    expect(r.responses).toBe(100);
    expect(s.connections()).toBeLessThanOrEqual(4);
  });

  it("fails a request that is not answered in time", async () => {
    const { url } = await serve(() => {
      /* never answers */
    });
    const r = await runLoad({ url, rps: 20, durationMs: 500, connections: 16, timeoutMs: 300 });
    expectAccounted(r);
    expect(r.networkErrors).toBe(10);
    expect(r.errorCauses).toEqual([{ cause: "TIMEOUT: no answer within 300ms", count: 10, firstAtMs: expect.any(Number) }]);
  });

  it("sends the method, headers and body", async () => {
    const seen: string[] = [];
    const { url } = await serve((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url} ${req.headers["x-test"]} ${req.headers["content-type"]} ${body}`);
        res.end();
      });
    });
    const results: boolean[] = [];
    const r = await runLoad({
      url: `${url}api?x=1`,
      rps: 50,
      durationMs: 200,
      connections: 2,
      method: "POST",
      headers: { "x-test": "yes", "content-type": "application/json" },
      body: '{"a":1}',
      onResult: (x) => results.push(x.ok),
    });
    expect(r.responses).toBe(10);
    expect(new Set(seen)).toEqual(new Set(['POST /api?x=1 yes application/json {"a":1}']));
    expect(results).toEqual(Array(10).fill(true));
  });

  it("refuses options that cannot work", async () => {
    await expect(runLoad({ url: "ftp://example.com/", rps: 10, durationMs: 100, connections: 1 })).rejects.toThrow("not an http or https URL");
    await expect(runLoad({ url: "http://127.0.0.1:1/", rps: 0, durationMs: 100, connections: 1 })).rejects.toThrow("rps must be a positive number");
    await expect(runLoad({ url: "http://127.0.0.1:1/", rps: 1, durationMs: 100, connections: 0 })).rejects.toThrow("connections");
    await expect(runLoad({ url: "http://127.0.0.1:1/", rps: 1, durationMs: 100, connections: 1, headers: { "bad header": "x" } })).rejects.toThrow();
  });
});

describe("startLoad", () => {
  it("runs until stopped, with a live report, and nothing is sent after stop", async () => {
    let served = 0;
    const { url } = await serve((_req, res) => {
      served++;
      res.end("ok");
    });
    const load = startLoad({ url, rps: 100, connections: 8 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const live = load.report();
    expect(live.running).toBe(true);
    expect(live.sent).toBeGreaterThan(25);
    expect(live.sent).toBeLessThan(80);
    const final = await load.stop();
    expectAccounted(final);
    expect(final.running).toBe(false);
    expect(final.stoppedBy).toBe("stop");
    expect(final.sent).toBeGreaterThanOrEqual(live.sent);
    expect(final.responses).toBe(final.sent);
    expect(final.achievedRps).toBeGreaterThan(70);
    const after = served;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(served).toBe(after);
    expect(served).toBe(final.sent);
    expect(await load.stop()).toEqual(final);
  });

  it("cancels the requests in flight when its signal is aborted", async () => {
    const { url } = await serve((_req, res) => setTimeout(() => res.end("late"), 2000));
    const abort = new AbortController();
    const load = startLoad({ url, rps: 50, durationMs: 5000, connections: 16, signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    abort.abort();
    const r = await load.done;
    expect(performance.now() - started).toBeLessThan(1000);
    expectAccounted(r);
    expect(r.stoppedBy).toBe("signal");
    expect(r.cancelled).toBe(r.sent);
    expect(r.cancelled).toBeGreaterThan(5);
    expect(r.errors).toBe(0);
  });
});
