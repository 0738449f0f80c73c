// The Prometheus analysis provider end to end: a real Prometheus (Debian's
// /usr/bin/prometheus, on a free port with a temporary configuration and data
// directory) scrapes the REAL built-in router's /metrics (serveMetrics) while
// requests go through the router to two in-process backends: release web#1
// always answers 200, release web#2 answers 500 to every 5th request. Then
// measure() with `provider: prometheus` judges each release by PromQL through
// Prometheus' HTTP API: web#2 fails at about 20% errors, web#1 passes, and a
// min_requests far above the traffic is inconclusive.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measure, parseThreshold, type Analysis } from "../src/delivery/index.js";
import { queryPrometheus } from "../src/delivery/analysis/index.js";
import { createRouter, REQUESTS_TOTAL, serveMetrics, type TrafficRouter } from "../src/traffic/index.js";
import { HAVE_PROMETHEUS, PROMETHEUS, startPrometheus, until, type RunningPrometheus } from "./helpers/prometheus.js";

const STABLE = "web#1";
const CANARY = "web#2";
/** Requests sent through the router: WORKERS clients, each REQUESTS_PER_WORKER requests PAUSE_MS apart (≈ 3–4 s in all). */
const WORKERS = 4;
const REQUESTS_PER_WORKER = 80;
const PAUSE_MS = 40;

if (!HAVE_PROMETHEUS) console.warn(`SKIPPED: test/prometheus-router.test.ts needs ${PROMETHEUS} (Debian package prometheus); it is not installed`);

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function threshold(text: string, kind: "rate" | "latency") {
  const p = parseThreshold(text, kind);
  if (!p.ok) throw new Error(p.message);
  return p.value;
}

describe.skipIf(!HAVE_PROMETHEUS)(`the Prometheus provider on a real Prometheus scraping the built-in router${HAVE_PROMETHEUS ? "" : ` (skipped: ${PROMETHEUS} is not installed)`}`, () => {
  let dir = "";
  let router: TrafficRouter | undefined;
  let metricsServer: Server | undefined;
  let prometheus: RunningPrometheus | undefined;
  const backends: Server[] = [];
  /** Requests each backend answered, and the 500s web#2 gave. */
  const seen = { [STABLE]: 0, [CANARY]: 0, canaryErrors: 0 };
  /** What the clients got back through the router, by status. */
  const statuses = new Map<number, number>();
  let address = "";
  let trafficStart = 0;
  let measuredAt = new Date();
  let windowMs = 0;

  const promValue = async (query: string) => (await queryPrometheus(address, query, new Date(), { timeoutMs: 5000 })).value;
  const selector = (release: string, extra = "") => `{env="prod",service="web",release="${release}"${extra}}`;

  const analysis = (minRequests = 50): Analysis => ({
    provider: { kind: "prometheus", address },
    conditions: { error_rate: threshold("<5%", "rate"), p99: threshold("<5s", "latency") },
    metrics: [],
    minRequests,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
  });
  const target = (release: string) => ({ env: "prod", service: "web", release, windowMs });
  const deps = { resolve: () => "", now: () => measuredAt, timeoutMs: 10_000 };

  async function send(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${router!.port}/hello`);
    await res.arrayBuffer();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "slipway-prometheus-router-"));

    // Two releases of "web", one instance each.
    const stable = createServer((req, res) => {
      seen[STABLE]++;
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" }).end("ok from web#1\n");
    });
    const canary = createServer((req, res) => {
      const n = ++seen[CANARY];
      req.resume();
      if (n % 5 === 0) {
        seen.canaryErrors++;
        res.writeHead(500, { "content-type": "text/plain" }).end("web#2 broke\n");
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok from web#2\n");
      }
    });
    backends.push(stable, canary);
    const [stablePort, canaryPort] = await Promise.all([listen(stable), listen(canary)]);

    // The real built-in router, half the requests to each release.
    router = createRouter({ kind: "builtin", env: "prod", service: "web", port: 0, dataDir: join(dir, "slipway") });
    await router.start();
    await router.apply({
      stable: { release: STABLE, backends: [{ id: "web-1-a", release: STABLE, host: "127.0.0.1", port: stablePort }] },
      canary: { release: CANARY, backends: [{ id: "web-2-a", release: CANARY, host: "127.0.0.1", port: canaryPort }], weight: 50 },
    });

    // Its metrics, served the way `slipway` serves them.
    const metricsErrors: Error[] = [];
    metricsServer = serveMetrics(0, [router], { onError: (e) => metricsErrors.push(e) });
    if (!metricsServer.listening) await new Promise<void>((r) => metricsServer!.once("listening", () => r()));
    expect(metricsErrors).toEqual([]);
    const metricsPort = (metricsServer.address() as AddressInfo).port;

    // Prometheus scraping it every second.
    prometheus = await startPrometheus(metricsPort);
    address = prometheus.address;

    // One request to each release, so that the router exposes both releases'
    // counters (all status classes, from their first values) before the
    // traffic: increase() cannot see a series' first sample.
    await send(); // stable
    await send(); // canary (the smooth round robin alternates at 50%)
    const scraped = (release: string) => `count_over_time(${REQUESTS_TOTAL}${selector(release, ',code_class="5xx"')}[1m])`;
    await until(
      async () => ((await promValue(scraped(STABLE))) ?? 0) >= 2 && ((await promValue(scraped(CANARY))) ?? 0) >= 2,
      15_000,
      () => `Prometheus did not scrape the router's series in 15 s: ${prometheus?.log() ?? ""}`,
    );

    // A few hundred requests through the router over a few seconds.
    trafficStart = Date.now();
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        for (let i = 0; i < REQUESTS_PER_WORKER; i++) {
          await send();
          await sleep(PAUSE_MS);
        }
      }),
    );

    // Until Prometheus' latest samples hold every request the backends answered.
    const total = (release: string) => `sum(${REQUESTS_TOTAL}${selector(release)})`;
    await until(
      async () => (await promValue(total(STABLE))) === seen[STABLE] && (await promValue(total(CANARY))) === seen[CANARY],
      15_000,
      () => `Prometheus did not catch up with the router in 15 s (backends answered ${seen[STABLE]} and ${seen[CANARY]}): ${prometheus?.log() ?? ""}`,
    );
    // Every measurement below is taken at this instant over a window from shortly before the traffic.
    measuredAt = new Date();
    windowMs = (Math.ceil((measuredAt.getTime() - trafficStart) / 1000) + 2) * 1000;
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (metricsServer) await closeServer(metricsServer);
    await router?.close();
    await Promise.all(backends.map(closeServer));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it("sent the traffic through the router as planned", () => {
    const sent = 2 + WORKERS * REQUESTS_PER_WORKER;
    expect(seen[STABLE] + seen[CANARY]).toBe(sent);
    // The smooth weighted round robin splits 50% exactly: one each in turn.
    expect(Math.abs(seen[STABLE] - seen[CANARY])).toBeLessThanOrEqual(1);
    expect(seen.canaryErrors).toBe(Math.floor(seen[CANARY] / 5));
    expect(statuses.get(500) ?? 0).toBe(seen.canaryErrors);
    expect(statuses.get(200) ?? 0).toBe(sent - seen.canaryErrors);
  });

  it("fails web#2 at about 20% errors, as measured through Prometheus", async () => {
    const m = await measure(analysis(), target(CANARY), deps);
    expect(m.verdict, m.reason).toBe("fail");
    expect(m.reason).toMatch(/^error rate (1[5-9]|2[0-5])\.\d% ≥ 5% over \d+s \(\d+ of \d+ requests failed\)$/);
    const requests = m.values.requests as number;
    const errors = m.values.errors as number;
    // increase() extrapolates to the window's edges: counts are near, not exact.
    expect(requests).toBeGreaterThanOrEqual(Math.floor(0.8 * (seen[CANARY] - 1)));
    expect(requests).toBeLessThanOrEqual(Math.ceil(1.5 * seen[CANARY]));
    expect(errors).toBeGreaterThanOrEqual(Math.floor(0.7 * seen.canaryErrors));
    expect(errors).toBeLessThanOrEqual(Math.ceil(1.5 * seen.canaryErrors));
    expect(m.values.error_rate).toBeGreaterThanOrEqual(0.15);
    expect(m.values.error_rate).toBeLessThanOrEqual(0.25);
    expect(m.values.p99).toBeGreaterThan(0);
    expect(m.values.p99).toBeLessThan(5000);
    expect(m.results.map((r) => [r.metric, r.ok])).toEqual([
      ["error_rate", false],
      ["p99", true],
    ]);

    // The router's own numbers over the same window agree.
    const own = await measure({ ...analysis(), provider: { kind: "builtin" } }, target(CANARY), { ...deps, builtin: (release, ms) => router!.stats(release, ms) });
    expect(own.verdict, own.reason).toBe("fail");
    expect(Math.abs((own.values.error_rate as number) - (m.values.error_rate as number))).toBeLessThanOrEqual(0.05);
  });

  it("passes web#1, which never errs", async () => {
    const m = await measure(analysis(), target(STABLE), deps);
    expect(m.verdict, m.reason).toBe("pass");
    expect(m.values.errors).toBe(0);
    expect(m.values.error_rate).toBe(0);
    expect(m.values.requests).toBeGreaterThanOrEqual(Math.floor(0.8 * (seen[STABLE] - 1)));
    expect(m.values.requests).toBeLessThanOrEqual(Math.ceil(1.5 * seen[STABLE]));
    expect(m.values.p99).toBeGreaterThan(0);
    expect(m.values.p99).toBeLessThan(5000);
    expect(m.reason).toMatch(/^all conditions met: error rate 0\.0% < 5%, p99 \S+ < 5s over \d+s \(0 of \d+ requests failed\)$/);
  });

  it("is inconclusive when min_requests is far above the traffic, for either release", async () => {
    for (const release of [CANARY, STABLE]) {
      const m = await measure(analysis(100_000), target(release), deps);
      expect(m.verdict, m.reason).toBe("inconclusive");
      expect(m.reason).toMatch(/^only \d+ requests in \d+s, fewer than min_requests 100000: inconclusive \(measured error rate \d+\.\d%, p99 \S+\)$/);
      expect(m.values.requests).toBeGreaterThan(0);
    }
  });
});
