// The Prometheus provider against a real Prometheus (Debian's
// /usr/bin/prometheus, started here on a free port with a temporary
// configuration and data directory) scraping a real local exporter that
// serves the router's metric names with the shared suite's traffic.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Analysis, CustomMetric } from "../model.js";
import { parseThreshold, type Threshold, type ThresholdKind } from "../threshold.js";
import { measure } from "./measure.js";
import { runMetricProviderCases } from "./metric-provider.case.js";
import { DURATION_METRIC, PrometheusProvider, queryPrometheus, REQUESTS_METRIC, routerQueries } from "./prometheus.js";
import { HAVE_PROMETHEUS, PROMETHEUS, startPrometheus as startRealPrometheus, until, type RunningPrometheus } from "../../../test/helpers/prometheus.js";
const WINDOW_MS = 5000;

describe("routerQueries", () => {
  it("builds the PromQL for the named conditions over the router's metrics", () => {
    const q = routerQueries({ env: "prod", service: "web", release: 'we"b-3', windowMs: 30_000 }, ["p99"]);
    expect(q.requests).toBe('sum(increase(slipway_router_requests_total{env="prod",service="web",release="we\\"b-3"}[30s]))');
    expect(q.errors).toBe('sum(increase(slipway_router_requests_total{env="prod",service="web",release="we\\"b-3",code_class="5xx"}[30s]))');
    expect(q.quantiles).toEqual({ p99: 'histogram_quantile(0.99, sum by (le) (rate(slipway_router_request_duration_seconds_bucket{env="prod",service="web",release="we\\"b-3"}[30s])))' });
  });
});

// ---------------------------------------------------------------- the exporter

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Per second: 2xx and 5xx answers, answers in (25 ms, 50 ms] and in (1 s, 2.5 s]. */
const RELEASES: Record<string, { ok: number; errors: number; fast: number; slow: number }> = {
  steady: { ok: 40, errors: 0, fast: 40, slow: 0 },
  failing: { ok: 32, errors: 8, fast: 20, slow: 20 },
  quiet: { ok: 0.4, errors: 0, fast: 0.4, slow: 0 },
};

/** The router's metrics in the Prometheus text format, as counters growing since `start`. */
function exposition(start: number): string {
  const t = (Date.now() - start) / 1000;
  const n = (perSecond: number) => Math.floor(perSecond * t);
  const lines = [
    `# HELP ${REQUESTS_METRIC} Requests answered by the router.`,
    `# TYPE ${REQUESTS_METRIC} counter`,
    `# HELP ${DURATION_METRIC} Time to answer a request.`,
    `# TYPE ${DURATION_METRIC} histogram`,
  ];
  for (const [release, r] of Object.entries(RELEASES)) {
    const labels = `env="prod",service="web",release="${release}"`;
    // Every code class from zero, as the router exposes them: increase() cannot see a series' first value.
    const classes: Record<string, number> = { "2xx": n(r.ok), "3xx": 0, "4xx": 0, "5xx": n(r.errors) };
    for (const [cls, v] of Object.entries(classes)) lines.push(`${REQUESTS_METRIC}{${labels},code_class="${cls}"} ${v}`);
    const fast = n(r.fast);
    const slow = n(r.slow);
    for (const le of BUCKETS) lines.push(`${DURATION_METRIC}_bucket{${labels},le="${le}"} ${(le >= 0.05 ? fast : 0) + (le >= 2.5 ? slow : 0)}`);
    lines.push(`${DURATION_METRIC}_bucket{${labels},le="+Inf"} ${fast + slow}`);
    lines.push(`${DURATION_METRIC}_sum{${labels}} ${fast * 0.0375 + slow * 1.75}`);
    lines.push(`${DURATION_METRIC}_count{${labels}} ${fast + slow}`);
  }
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- Prometheus

interface Running {
  address: string;
  stop(): Promise<void>;
}

/** The exporter, and Prometheus scraping it until it holds enough samples for increase() over the window. */
async function startPrometheus(): Promise<Running> {
  const start = Date.now();
  const exporter: Server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition(start)));
  await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
  const closeExporter = async () => {
    exporter.closeAllConnections();
    await new Promise((r) => exporter.close(r));
  };
  let prom: RunningPrometheus;
  try {
    prom = await startRealPrometheus((exporter.address() as AddressInfo).port);
  } catch (err) {
    await closeExporter();
    throw err;
  }
  const stop = async () => {
    await prom.stop();
    await closeExporter();
  };
  try {
    // Enough samples for increase() over the window: a few scrapes more than it spans.
    const samples = `count_over_time(${REQUESTS_METRIC}{release="steady",code_class="2xx"}[1m])`;
    await until(async () => ((await queryPrometheus(prom.address, samples, new Date())).value ?? 0) >= WINDOW_MS / 1000 + 2, 30_000, () => `Prometheus scraped too little: ${prom.log()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: prom.address, stop };
}

let running: Promise<Running> | undefined;
const prometheus = () => (running ??= startPrometheus());

if (!HAVE_PROMETHEUS) console.warn(`SKIPPED: the Prometheus tests need ${PROMETHEUS} (Debian package prometheus); it is not installed`);

afterAll(async () => {
  if (running) await (await running).stop();
});

if (HAVE_PROMETHEUS) {
  runMetricProviderCases("Prometheus", async () => {
    const p = await prometheus();
    return { provider: new PrometheusProvider(p.address), windowMs: WINDOW_MS, tolerance: 0.25, cleanup: async () => undefined };
  });
}

function t(text: string, kind: ThresholdKind): Threshold {
  const p = parseThreshold(text, kind);
  if (!p.ok) throw new Error(p.message);
  return p.value;
}

describe.skipIf(!HAVE_PROMETHEUS)(`measure through a real Prometheus${HAVE_PROMETHEUS ? "" : ` (skipped: ${PROMETHEUS} is not installed)`}`, () => {
  let address = "";
  const target = (release: string, over: Partial<{ env: string; service: string }> = {}) => ({ env: "prod", service: "web", release, windowMs: WINDOW_MS, ...over });
  const analysis = (over: Partial<Analysis> = {}): Analysis => ({
    provider: { kind: "prometheus", address },
    conditions: { error_rate: t("<1%", "rate"), p99: t("<500ms", "latency") },
    metrics: [],
    minRequests: 50,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    ...over,
  });
  const deps = { resolve: () => "" };

  beforeAll(async () => {
    address = (await prometheus()).address;
  });

  it("passes a healthy release", async () => {
    const m = await measure(analysis(), target("steady"), deps);
    expect(m.verdict).toBe("pass");
    expect(m.values.error_rate).toBe(0);
    expect(m.values.p99).toBeGreaterThan(25);
    expect(m.values.p99).toBeLessThanOrEqual(50);
    expect(m.reason).toMatch(/^all conditions met: error rate 0\.0% < 1%, p99 \d+(\.\d)?ms < 500ms over 5s \(0 of \d+ requests failed\)$/);
  });

  it("fails a release with 20% errors and slow answers", async () => {
    const m = await measure(analysis(), target("failing"), deps);
    expect(m.verdict).toBe("fail");
    expect(m.reason).toMatch(/^error rate (1[5-9]|2[0-5])\.\d% ≥ 1%, p99 2\.\d\ds ≥ 500ms over 5s \(\d+ of \d+ requests failed\)$/);
    expect(m.results.map((r) => r.ok)).toEqual([false, false]);
  });

  it("is inconclusive with a trickle of requests, and with none", async () => {
    const quiet = await measure(analysis(), target("quiet"), deps);
    expect(quiet.verdict).toBe("inconclusive");
    expect(quiet.reason).toMatch(/^(only \d requests?|no requests) in 5s, fewer than min_requests 50: inconclusive/);
    const absent = await measure(analysis(), target("steady", { env: "staging" }), deps);
    expect(absent.verdict).toBe("inconclusive");
    expect(absent.reason).toBe("no requests in 5s, fewer than min_requests 50: inconclusive");
    expect(absent.values).toEqual({ requests: 0, errors: 0, error_rate: null, p99: null });
  });

  it("keeps services apart", async () => {
    const other = await new PrometheusProvider(address).window(target("steady", { service: "api" }), ["p99"], new Date());
    expect(other.requests).toBe(0);
  });

  it("evaluates custom queries with placeholders, and reports several series and bad PromQL", async () => {
    const metric = (name: string, query: string, condition: string): CustomMetric => ({ name, source: { kind: "prometheus", address, query }, condition: t(condition, "number") });
    const rps = metric("rps", 'sum(rate(slipway_router_requests_total{env="{{env}}",service="{{service}}",release="{{release}}"}[{{window}}]))', ">10");
    const pass = await measure(analysis({ conditions: {}, metrics: [rps] }), target("steady"), deps);
    expect(pass.verdict).toBe("pass");
    expect(pass.values.rps).toBeGreaterThan(30);
    expect(pass.reason).toMatch(/^all conditions met: rps \d+(\.\d+)? > 10$/);

    const perClass = metric("per_class", 'sum by (code_class) (slipway_router_requests_total{release="{{release}}"})', "<1");
    const several = await measure(analysis({ conditions: {}, metrics: [perClass] }), target("steady"), deps);
    expect(several.verdict).toBe("error");
    expect(several.reason).toMatch(new RegExp(`^could not measure: metric per_class: Prometheus at ${address} returned 4 series \\(\\{code_class="\\dxx"\\}, .*\\); a metric needs one value: aggregate the query, e\\.g\\. sum\\(\\.\\.\\.\\)$`));

    const broken = await measure(analysis({ metrics: [metric("broken", "sum(rate(x[5s]", "<1")] }), target("steady"), deps);
    expect(broken.verdict).toBe("error");
    expect(broken.reason).toMatch(/^could not measure: metric broken: Prometheus at http:\/\/127\.0\.0\.1:\d+ refused the query \(HTTP 400, bad_data\): invalid parameter "query": .*parse error/);

    const none = await measure(analysis({ metrics: [metric("absent", 'sum(nothing_here_total{release="{{release}}"})', "<1")] }), target("steady"), deps);
    expect(none.verdict).toBe("inconclusive");
    expect(none.reason).toMatch(/absent: the query returned no series/);
  });

  it("answers a scalar query", async () => {
    expect(await queryPrometheus(address, "scalar(vector(42))", new Date())).toEqual({ value: 42 });
  });
});
