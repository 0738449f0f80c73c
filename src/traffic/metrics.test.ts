// Prometheus exposition of the routers, merged for /metrics.
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { combineMetrics, escapeLabel, formatRouterMetrics, RouterMetrics, serveMetrics } from "./metrics.js";
import { parseExposition } from "./router.case.js";

function sample(env: string, release: string): string {
  const m = new RouterMetrics();
  m.release(release).addRequests("2xx", 3);
  m.release(release).addRequests("5xx");
  m.release(release).observe(0.004);
  m.release(release).observe(20);
  return formatRouterMetrics(env, "web", m, [{ name: "slipway_router_backends", help: "Backends.", type: "gauge", samples: [{ labels: { release }, value: 2 }] }], "Latency.");
}

describe("router metrics", () => {
  it("formats counters by status class and a cumulative histogram", () => {
    const s = parseExposition(sample("prod", "v1"));
    const get = (name: string, labels: Record<string, string> = {}) => s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
    expect(get("slipway_router_requests_total", { code_class: "2xx" })).toBe(3);
    expect(get("slipway_router_requests_total", { code_class: "5xx" })).toBe(1);
    expect(get("slipway_router_requests_total", { code_class: "3xx" })).toBe(0);
    expect(s.some((x) => x.labels.code_class === "1xx")).toBe(false);
    expect(get("slipway_router_request_duration_seconds_bucket", { le: "0.001" })).toBe(0);
    expect(get("slipway_router_request_duration_seconds_bucket", { le: "0.005" })).toBe(1);
    expect(get("slipway_router_request_duration_seconds_bucket", { le: "10" })).toBe(1);
    expect(get("slipway_router_request_duration_seconds_bucket", { le: "+Inf" })).toBe(2);
    expect(get("slipway_router_request_duration_seconds_count")).toBe(2);
    expect(get("slipway_router_request_duration_seconds_sum")).toBeCloseTo(20.004, 6);
    expect(get("slipway_router_backends", { env: "prod", service: "web", release: "v1" })).toBe(2);
  });

  it("escapes label values", () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  it("merges several routers into one family each", () => {
    const text = combineMetrics([sample("dev", "v1"), sample("prod", "v2")]);
    expect(text.match(/^# TYPE slipway_router_requests_total counter$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE slipway_router_backends gauge$/gm)).toHaveLength(1);
    const s = parseExposition(text);
    expect(s.filter((x) => x.name === "slipway_router_requests_total" && x.labels.code_class === "2xx").map((x) => x.labels.env)).toEqual(["dev", "prod"]);
    expect(combineMetrics([])).toBe("");
  });

  it("serves the routers' metrics at /metrics and reports a port in use", async () => {
    const routers = [{ metricsText: () => sample("dev", "v1") }, { metricsText: () => sample("prod", "v1") }];
    const server = serveMetrics(0, () => routers);
    await new Promise<void>((r) => server.once("listening", () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      expect(parseExposition(body).filter((x) => x.name === "slipway_router_request_duration_seconds_count")).toHaveLength(2);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      const errors: Error[] = [];
      const clash = serveMetrics(port, routers, { onError: (e) => errors.push(e) });
      await new Promise((r) => setTimeout(r, 100));
      clash.close();
      expect(errors[0]?.message).toMatch(new RegExp(`cannot serve /metrics on 127.0.0.1:${port}: port ${port} is in use: choose another metrics port`));
    } finally {
      server.close();
    }
  });
});
