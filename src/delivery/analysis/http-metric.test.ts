// Custom metrics from a JSON endpoint, against a real local HTTP server.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Analysis, CustomMetric, ValueSource } from "../model.js";
import { parseThreshold } from "../threshold.js";
import { fetchHttpMetric, parseFieldPath, readField } from "./http-metric.js";
import { measure } from "./measure.js";
import { ProviderError, type WindowStats } from "./types.js";

const TOKEN = "s3cr3t-token-value";
const seen: IncomingMessage[] = [];
let server: Server;
let base: string;

const ROUTES: Record<string, (req: IncomingMessage) => { status: number; body: string; delayMs?: number }> = {
  "/metrics": () => ({ status: 200, body: JSON.stringify({ data: { errors: { rate: 0.004, count: 2 }, items: [{ value: "12.5" }], empty: null, label: "high" } }) }),
  "/secured": (req) =>
    req.headers.authorization === `Bearer ${TOKEN}` ? { status: 200, body: '{"value": 3}' } : { status: 401, body: `unauthorized: got ${String(req.headers.authorization)}` },
  "/broken": () => ({ status: 200, body: "<html>not json</html>" }),
  "/down": () => ({ status: 503, body: "maintenance" }),
  "/slow": () => ({ status: 200, body: '{"value": 1}', delayMs: 2000 }),
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    const route = ROUTES[new URL(req.url ?? "/", "http://x").pathname];
    const answer = route ? route(req) : { status: 404, body: "not found" };
    setTimeout(() => res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body), answer.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
/** A port nothing listens on (just released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const target = { env: "prod", service: "web", release: "web-7", windowMs: 30_000 };
const resolve = (v: ValueSource): string => {
  if (v.from === "literal") return v.value;
  if (v.from === "secret" && v.name === "METRICS_TOKEN") return `Bearer ${TOKEN}`;
  throw new Error(`${v.from}:${v.name} is not set`);
};

describe("field paths", () => {
  it("reads dotted paths, indexes and a leading $.", () => {
    expect(parseFieldPath("data.errors.rate")).toEqual(["data", "errors", "rate"]);
    expect(parseFieldPath("$.items[0].value")).toEqual(["items", 0, "value"]);
    expect(parseFieldPath("items.1")).toEqual(["items", 1]);
    expect(readField({ a: [{ b: "7" }] }, "a[0].b")).toEqual({ value: 7 });
  });

  it("says what is there when a field is missing or not a number", () => {
    expect(() => readField({ data: { errors: { count: 1 } } }, "data.errors.rate")).toThrow("the answer has no field 'data.errors.rate': nothing under 'data.errors' at 'rate' (data.errors is an object with count)");
    expect(() => readField({ data: [] }, "data[2]")).toThrow(ProviderError);
    expect(() => readField({ v: true }, "v")).toThrow("'v' in the answer is true, not a number");
    expect(readField({ v: null }, "v")).toEqual({ value: null, empty: "'v' is null" });
  });
});

describe("fetchHttpMetric against a real server", () => {
  it("reads a nested number, with placeholders expanded in the URL", async () => {
    const r = await fetchHttpMetric({ url: `${base}/metrics?release={{release}}&env={{ env }}&w={{window}}`, field: "data.errors.rate", headers: {} }, target, { resolve });
    expect(r).toEqual({ value: 0.004 });
    expect(seen.at(-1)?.url).toBe("/metrics?release=web-7&env=prod&w=30s");
  });

  it("sends resolved headers", async () => {
    const r = await fetchHttpMetric({ url: `${base}/secured`, field: "value", headers: { Authorization: { from: "secret", name: "METRICS_TOKEN" } } }, target, { resolve });
    expect(r.value).toBe(3);
  });

  it("keeps secret header values out of errors, even when the server echoes them", async () => {
    const err = await fetchHttpMetric({ url: `${base}/secured`, field: "value", headers: { Authorization: { from: "literal", value: "Bearer wrong" }, "X-Key": { from: "secret", name: "METRICS_TOKEN" } } }, target, { resolve }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/answered HTTP 401 Unauthorized: unauthorized: got Bearer wrong/);
    expect((err as Error).message).not.toContain(TOKEN);
  });

  it("reports a value that cannot be read as an error naming it", async () => {
    const err = await fetchHttpMetric({ url: `${base}/secured`, field: "value", headers: { Authorization: { from: "env", name: "NOPE" } } }, target, { resolve }).catch((e: Error) => e);
    expect((err as Error).message).toBe("header Authorization: env:NOPE is not set");
  });

  it("reports bad JSON, an error status, a timeout and a closed port", async () => {
    const at = (path: string, timeoutMs?: number) => fetchHttpMetric({ url: `${base}${path}`, field: "value", headers: {} }, target, { resolve, ...(timeoutMs ? { timeoutMs } : {}) }).catch((e: Error) => e.message);
    expect(await at("/broken")).toBe(`${base}/broken answered something that is not JSON: <html>not json</html>`);
    expect(await at("/down")).toBe(`${base}/down answered HTTP 503 Service Unavailable: maintenance`);
    expect(await at("/slow", 200)).toBe(`${base}/slow did not answer: no answer within 0.2s`);
    const port = await closedPort();
    const closed = await fetchHttpMetric({ url: `http://127.0.0.1:${port}/metrics`, field: "v", headers: {} }, target, { resolve }).catch((e: Error) => e.message);
    expect(closed).toBe(`http://127.0.0.1:${port}/metrics did not answer: connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});

describe("measure with http metrics", () => {
  const cond = (text: string) => {
    const p = parseThreshold(text, "number");
    if (!p.ok) throw new Error(p.message);
    return p.value;
  };
  const metric = (name: string, path: string, field: string, condition: string): CustomMetric => ({ name, source: { kind: "http", url: `${base}${path}`, field, headers: {} }, condition: cond(condition) });
  const analysis = (metrics: CustomMetric[]): Analysis => ({ provider: { kind: "builtin" }, conditions: {}, metrics, minRequests: 10, failureLimit: 0, consecutiveErrorLimit: 4 });
  const busy = (): WindowStats => ({ requests: 100, errors: 0, latency: { p50: 5, p90: 8, p95: 9, p99: 10 } });

  it("passes, fails and errors on the endpoint's answers", async () => {
    const deps = { builtin: busy, resolve };
    const pass = await measure(analysis([metric("backend_errors", "/metrics", "data.errors.rate", "<1%")]), target, deps);
    expect(pass.verdict).toBe("pass");
    expect(pass.reason).toBe("all conditions met: backend_errors 0.4% < 1%");
    expect(pass.values).toEqual({ requests: 100, errors: 0, backend_errors: 0.004 });

    const fail = await measure(analysis([metric("queue", "/metrics", "data.items[0].value", "<10")]), target, deps);
    expect(fail.verdict).toBe("fail");
    expect(fail.reason).toBe("queue 12.5 ≥ 10");

    const missing = await measure(analysis([metric("queue", "/metrics", "data.queue.depth", "<10")]), target, deps);
    expect(missing.verdict).toBe("error");
    expect(missing.reason).toBe(`could not measure: metric queue: ${base}/metrics: the answer has no field 'data.queue.depth': nothing under 'data' at 'queue' (data is an object with errors, items, empty, label)`);

    const empty = await measure(analysis([metric("queue", "/metrics", "data.empty", "<10")]), target, deps);
    expect(empty.verdict).toBe("inconclusive");
    expect(empty.reason).toBe("no value to judge: queue: 'data.empty' is null (100 requests in 30s): inconclusive");
  });
});
