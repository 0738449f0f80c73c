// The shared test suite every TrafficRouter implementation runs (like
// store.case.ts and executor.case.ts):
//
//   describeRouter("builtin", (o) => createRouter({ kind: "builtin", ...o }));
//
// Real HTTP on 127.0.0.1: small Node backends in this process, a router on
// a free port. Timings are generous and splits have tolerance bands, so the
// suite holds on a loaded two-core machine.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { normalizeTable, type Backend, type RouteTable, type TrafficRouter } from "./router.js";

export interface RouterCaseOptions {
  env: string;
  service: string;
  port: number;
  host: string;
  dataDir: string;
}

export interface TestBackend {
  backend: Backend;
  server: http.Server;
  /** Requests answered so far. */
  served: number;
  /** Stops accepting, lets requests in flight finish, closes idle keep-alive connections. */
  stop(): Promise<void>;
  /** Closes the listener and resets every connection at once (a crash). */
  kill(): void;
}

/**
 * A backend answering `<release> <id>`; `/slow?ms=N` waits N ms first,
 * `/status?code=N` answers N, a POST body is echoed after the name.
 */
export async function startBackend(id: string, release: string): Promise<TestBackend> {
  const sockets = new Set<net.Socket>();
  const t: TestBackend = {
    backend: { id, release, host: "127.0.0.1", port: 0 },
    served: 0,
    server: http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const answer = () => {
          t.served++;
          const body = `${release} ${id}${chunks.length > 0 ? ` ${Buffer.concat(chunks).toString()}` : ""}`;
          res.writeHead(Number(url.searchParams.get("code") ?? 200), { "content-type": "text/plain", "x-backend": id, "x-seen-forwarded-for": String(req.headers["x-forwarded-for"] ?? ""), "x-seen-forwarded-proto": String(req.headers["x-forwarded-proto"] ?? "") });
          res.end(body);
        };
        const ms = Number(url.searchParams.get("ms") ?? 0);
        if (ms > 0) setTimeout(answer, ms);
        else answer();
      });
    }),
    stop: async () => {
      await new Promise<void>((resolve) => {
        t.server.close(() => resolve());
        t.server.closeIdleConnections();
      });
    },
    kill: () => {
      t.server.close();
      for (const s of sockets) s.resetAndDestroy();
    },
  };
  t.server.keepAliveTimeout = 30_000;
  t.server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => t.server.listen(0, "127.0.0.1", () => resolve()));
  t.backend.port = (t.server.address() as net.AddressInfo).port;
  return t;
}

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function request(port: number, options: { path?: string; headers?: Record<string, string>; method?: string; body?: string; agent?: http.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: options.path ?? "/", method: options.method ?? "GET", headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on("error", reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error("no answer within 20 s")));
    req.on("error", reject);
    req.end(options.body);
  });
}

export interface LoadResult {
  ok: number;
  failures: string[];
  byRelease: Record<string, number>;
}

/** `concurrency` clients sending GETs (keep-alive) until stopped; every non-2xx or error is a failure. `result` grows live. */
export function startLoad(port: number, concurrency: number, path = "/"): { result: LoadResult; stop(): Promise<LoadResult> } {
  let stopped = false;
  const result = { ok: 0, failures: [], byRelease: {} } as LoadResult;
  const running = runLoad(port, concurrency, path, () => stopped, result);
  return {
    result,
    stop: async () => {
      stopped = true;
      await running;
      return result;
    },
  };
}

/** `count` GETs from `concurrency` clients. */
export async function load(port: number, concurrency: number, count: number, path = "/"): Promise<LoadResult> {
  let sent = 0;
  const result = { ok: 0, failures: [], byRelease: {} } as LoadResult;
  await runLoad(port, concurrency, path, () => sent++ >= count, result);
  return result;
}

async function runLoad(port: number, concurrency: number, path: string, done: () => boolean, result: LoadResult): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!done()) {
        try {
          const a = await request(port, { path, agent });
          if (a.status >= 200 && a.status < 300) {
            result.ok++;
            const release = a.body.split(" ")[0] ?? "?";
            result.byRelease[release] = (result.byRelease[release] ?? 0) + 1;
          } else result.failures.push(`${a.status} ${a.body.slice(0, 200)}`);
        } catch (err) {
          result.failures.push(`error: ${(err as Error).message}`);
        }
      }
    }),
  );
  agent.destroy();
}

export async function eventually<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The sample lines of a Prometheus exposition, checked line by line; throws on a malformed line. */
export function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      if (types.has(type[1]!)) throw new Error(`family ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: m[3] === "+Inf" ? Infinity : Number(m[3]) });
  }
  return samples;
}

export interface RouterCaseSettings {
  /** Seconds until request counts show in stats() (HAProxy's are read every second). */
  statsLagMs: number;
}

export function describeRouter(label: string, factory: (o: RouterCaseOptions) => TrafficRouter, settings: RouterCaseSettings): void {
  describe(`TrafficRouter: ${label}`, () => {
    let dataDir = "";
    let router: TrafficRouter;
    const backends: TestBackend[] = [];

    const make = (): TrafficRouter => factory({ env: "test", service: "web", port: 0, host: "127.0.0.1", dataDir });
    const backend = async (id: string, release: string) => {
      const b = await startBackend(id, release);
      backends.push(b);
      return b;
    };

    beforeEach(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "slipway-router-"));
      router = make();
      await router.start();
    });
    afterEach(async () => {
      await router.close();
      for (const b of backends.splice(0)) b.kill();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("answers 503 with a clear body when there is no backend", async () => {
      const first = await request(router.port);
      expect(first.status).toBe(503);
      expect(first.body).toMatch(/web in test has no backend/);
      await router.apply({ stable: { release: "v1", backends: [] } });
      const again = await request(router.port);
      expect(again.status).toBe(503);
      expect(again.body).toMatch(/no backend/);
    });

    it("routes every request to the stable release, round robin over its backends", async () => {
      const a = await backend("a", "v1");
      const b = await backend("b", "v1");
      await router.apply({ stable: { release: "v1", backends: [a.backend, b.backend] } });
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push(await request(router.port));
      expect(answers.every((x) => x.status === 200 && x.body.startsWith("v1 "))).toBe(true);
      expect(a.served).toBeGreaterThanOrEqual(5);
      expect(b.served).toBeGreaterThanOrEqual(5);
      const fwd = answers[0]!.headers;
      expect(fwd["x-seen-forwarded-for"]).toBe("127.0.0.1");
      expect(fwd["x-seen-forwarded-proto"]).toBe("http");
    });

    it("splits requests by weight within tolerance", async () => {
      const s1 = await backend("s1", "v1");
      const s2 = await backend("s2", "v1");
      const c1 = await backend("c1", "v2");
      await router.apply({ stable: { release: "v1", backends: [s1.backend, s2.backend] }, canary: { release: "v2", backends: [c1.backend], weight: 20 } });
      const r = await load(router.port, 8, 600);
      expect(r.failures).toEqual([]);
      const share = (r.byRelease.v2 ?? 0) / r.ok;
      expect(share).toBeGreaterThan(0.15);
      expect(share).toBeLessThan(0.25);
      await router.apply({ stable: { release: "v1", backends: [s1.backend, s2.backend] }, canary: { release: "v2", backends: [c1.backend], weight: 100 } });
      const all = await load(router.port, 4, 40);
      expect(all.byRelease).toEqual({ v2: all.ok });
      await router.apply({ stable: { release: "v1", backends: [s1.backend, s2.backend] }, canary: { release: "v2", backends: [c1.backend], weight: 0 } });
      const none = await load(router.port, 4, 40);
      expect(none.byRelease).toEqual({ v1: none.ok });
    });

    for (const via of ["header", "cookie"] as const) {
      it(`keeps a key on one release while the weights stay (sticky by ${via})`, async () => {
        const s1 = await backend("s1", "v1");
        const s2 = await backend("s2", "v1");
        const c1 = await backend("c1", "v2");
        const c2 = await backend("c2", "v2");
        await router.apply({
          stable: { release: "v1", backends: [s1.backend, s2.backend] },
          canary: { release: "v2", backends: [c1.backend, c2.backend], weight: 30 },
          sticky: via === "header" ? { header: "X-User" } : { cookie: "session" },
        });
        const agent = new http.Agent({ keepAlive: true });
        const seen = new Map<string, Set<string>>();
        for (let round = 0; round < 4; round++) {
          await Promise.all(
            Array.from({ length: 60 }, async (_, k) => {
              const key = `user-${k}`;
              const headers: Record<string, string> = via === "header" ? { "X-User": key } : { Cookie: `theme=dark; session=${key}; other=1` };
              const a = await request(router.port, { headers, agent });
              expect(a.status).toBe(200);
              const set = seen.get(key) ?? new Set<string>();
              set.add(a.body.split(" ")[0]!);
              seen.set(key, set);
            }),
          );
        }
        agent.destroy();
        for (const [key, releases] of seen) expect([key, [...releases]]).toEqual([key, [expect.any(String)]]);
        const onCanary = [...seen.values()].filter((r) => r.has("v2")).length;
        // 30% of 60 keys is 18; hashing spreads keys unevenly, so a wide band.
        expect(onCanary).toBeGreaterThanOrEqual(5);
        expect(onCanary).toBeLessThanOrEqual(35);
        // Requests without a key are split by weight.
        const plain = await load(router.port, 4, 200);
        expect(plain.failures).toEqual([]);
        expect(plain.byRelease.v2 ?? 0).toBeGreaterThan(0);
        expect(plain.byRelease.v1 ?? 0).toBeGreaterThan(0);
      });
    }

    it("switches releases under constant load without failing a request", async () => {
      const a1 = await backend("a1", "v1");
      const a2 = await backend("a2", "v1");
      await router.apply({ stable: { release: "v1", backends: [a1.backend, a2.backend] } });
      const traffic = startLoad(router.port, 12);
      const steps: string[] = [];
      try {
        await sleep(300);
        const b1 = await backend("b1", "v2");
        for (const weight of [10, 50]) {
          await router.apply({ stable: { release: "v1", backends: [a1.backend, a2.backend] }, canary: { release: "v2", backends: [b1.backend], weight } });
          steps.push(`canary ${weight}%`);
          await sleep(400);
        }
        const b2 = await backend("b2", "v2");
        await router.apply({ stable: { release: "v2", backends: [b1.backend, b2.backend] } });
        steps.push("v2 stable");
        expect(await router.drained(["a1", "a2"], 10_000)).toBe(true);
        await Promise.all([a1.stop(), a2.stop()]);
        steps.push("v1 stopped");
        await sleep(400);
        const b3 = await backend("b3", "v2");
        await router.apply({ stable: { release: "v2", backends: [b2.backend, b3.backend] } });
        const deadline = Date.now() + 10_000;
        while (router.inFlight("b1") > 0 && Date.now() < deadline) await sleep(10);
        await b1.stop();
        steps.push("b1 replaced by b3");
        // At least a few thousand requests in all, however slow the machine (bounded in time).
        const until = Date.now() + 20_000;
        while (traffic.result.ok + traffic.result.failures.length < 3000 && Date.now() < until) await sleep(100);
      } finally {
        await traffic.stop();
      }
      const r = traffic.result;
      expect(steps).toEqual(["canary 10%", "canary 50%", "v2 stable", "v1 stopped", "b1 replaced by b3"]);
      expect(r.failures).toEqual([]);
      expect(r.ok).toBeGreaterThanOrEqual(3000);
      expect(r.byRelease.v1 ?? 0).toBeGreaterThan(0);
      expect(r.byRelease.v2 ?? 0).toBeGreaterThan(0);
    }, 60_000);

    it("retries on another backend when one dies abruptly, without a client error", async () => {
      const x1 = await backend("x1", "v1");
      const x2 = await backend("x2", "v1");
      await router.apply({ stable: { release: "v1", backends: [x1.backend, x2.backend] } });
      const fast = startLoad(router.port, 6);
      const slow = startLoad(router.port, 4, "/slow?ms=150");
      await sleep(500);
      x1.kill();
      await sleep(1500);
      const [f, s] = await Promise.all([fast.stop(), slow.stop()]);
      expect(f.failures).toEqual([]);
      expect(s.failures).toEqual([]);
      expect(f.ok).toBeGreaterThan(50);
      expect(x2.served).toBeGreaterThan(0);
    });

    it("counts requests, errors and latency per release over sliding windows", async () => {
      const a = await backend("a", "v1");
      const b = await backend("b", "v2");
      await router.apply({ stable: { release: "v1", backends: [a.backend] }, canary: { release: "v2", backends: [b.backend], weight: 100 } });
      const agent = new http.Agent({ keepAlive: true });
      await Promise.all(Array.from({ length: 30 }, () => request(router.port, { path: "/slow?ms=40", agent })));
      await Promise.all(Array.from({ length: 10 }, () => request(router.port, { path: "/status?code=503", agent })));
      await router.apply({ stable: { release: "v1", backends: [a.backend] } });
      await Promise.all(Array.from({ length: 5 }, () => request(router.port, { agent })));
      agent.destroy();
      const v2 = await eventually(
        () => router.stats("v2", 60_000),
        (s) => s.requests >= 40 && s.latency.p50 !== null,
        settings.statsLagMs + 5_000,
      );
      expect(v2.requests).toBe(40);
      expect(v2.errors).toBe(10);
      expect(v2.latency.p50).toBeGreaterThanOrEqual(30);
      expect(v2.latency.p50).toBeLessThan(1_000);
      expect(v2.latency.p99).toBeGreaterThanOrEqual(v2.latency.p95!);
      expect(v2.latency.p95).toBeGreaterThanOrEqual(v2.latency.p90!);
      expect(v2.latency.p90).toBeGreaterThanOrEqual(v2.latency.p50!);
      const v1 = await eventually(
        () => router.stats("v1", 60_000),
        (s) => s.requests >= 5,
        settings.statsLagMs + 5_000,
      );
      expect(v1).toMatchObject({ requests: 5, errors: 0 });
      expect(router.stats("nope", 60_000)).toEqual({ requests: 0, errors: 0, latency: { p50: null, p90: null, p95: null, p99: null } });
      // A second later (plus HAProxy's reading interval) the requests have left a 1 s window, not a minute's.
      await sleep(2_100 + settings.statsLagMs);
      expect(router.stats("v2", 1_000).requests).toBe(0);
      expect(router.stats("v2", 60_000).requests).toBe(40);
    });

    it("exports Prometheus metrics that parse (counter and histogram)", async () => {
      const a = await backend("a", "v1");
      await router.apply({ stable: { release: "v1", backends: [a.backend] } });
      for (let i = 0; i < 6; i++) await request(router.port, { path: i < 4 ? "/slow?ms=5" : "/status?code=404" });
      const samples = await eventually(
        () => parseExposition(router.metricsText()),
        (s) => s.some((x) => x.name === "slipway_router_request_duration_seconds_count" && x.labels.release === "v1" && x.value >= 6) && s.some((x) => x.name === "slipway_router_requests_total" && x.labels.release === "v1" && x.labels.code_class === "4xx" && x.value === 2),
        settings.statsLagMs + 5_000,
      );
      const v1 = (name: string, extra: Record<string, string> = {}) => samples.filter((s) => s.name === name && s.labels.release === "v1" && Object.entries(extra).every(([k, v]) => s.labels[k] === v));
      expect(v1("slipway_router_requests_total", { code_class: "2xx" })[0]).toMatchObject({ labels: { env: "test", service: "web", release: "v1", code_class: "2xx" }, value: 4 });
      expect(v1("slipway_router_requests_total", { code_class: "4xx" })[0]?.value).toBe(2);
      expect(v1("slipway_router_requests_total", { code_class: "5xx" })[0]?.value).toBe(0);
      const buckets = v1("slipway_router_request_duration_seconds_bucket");
      expect(buckets.length).toBeGreaterThan(5);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      expect(buckets.at(-1)!.labels.le).toBe("+Inf");
      const count = v1("slipway_router_request_duration_seconds_count")[0]!.value;
      expect(buckets.at(-1)!.value).toBe(count);
      expect(v1("slipway_router_request_duration_seconds_sum")[0]!.value).toBeGreaterThan(0);
      if (existsSync("/usr/bin/promtool")) {
        // Prometheus' own linter reads the exposition too.
        execFileSync("/usr/bin/promtool", ["check", "metrics"], { input: router.metricsText(), stdio: ["pipe", "pipe", "pipe"] });
      }
    });

    it("reports through current() what apply() set", async () => {
      const a = await backend("a", "v1");
      const b = await backend("b", "v1");
      const c = await backend("c", "v2");
      const table: RouteTable = {
        stable: { release: "v1", backends: [b.backend, a.backend] },
        canary: { release: "v2", backends: [c.backend], weight: 35 },
        sticky: { header: "X-User" },
      };
      await router.apply(table);
      expect(await router.current()).toEqual(normalizeTable(table));
      const promoted: RouteTable = { stable: { release: "v2", backends: [c.backend] } };
      await router.apply(promoted);
      expect(await router.current()).toEqual(promoted);
      expect((await request(router.port)).body).toBe("v2 c");
      await router.apply({ stable: { release: "v2", backends: [] } });
      expect(await router.current()).toEqual({ stable: { release: "v2", backends: [] } });
    });

    it("frees its port when closed", async () => {
      const port = router.port;
      expect(port).toBeGreaterThan(0);
      expect((await request(port)).status).toBe(503);
      await router.close();
      await new Promise<void>((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(port, "127.0.0.1", () => s.close(() => resolve()));
      });
      await expect(request(port)).rejects.toThrow(/ECONNREFUSED/);
      await expect(router.apply({ stable: { release: "v1", backends: [] } })).rejects.toThrow(/closed/);
    });
  });
}
