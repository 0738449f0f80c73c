// Smoke checks against a real local HTTP server: statuses, body text, request body and headers, timeouts, refused connections.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SmokeRequest } from "../model.js";
import { joinUrl, runSmoke, type SmokeRequestResult } from "./smoke.js";

let server: http.Server;
let base: string;
const received: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      const path = (req.url ?? "/").split("?")[0];
      switch (path) {
        case "/healthz":
        case "/app/healthz":
          res.end("ok");
          return;
        case "/":
          res.setHeader("content-type", "text/html");
          res.end("<html><h1>Welcome to the shop</h1></html>");
          return;
        case "/fail":
          res.statusCode = 500;
          res.end("Internal error: database unreachable\n");
          return;
        case "/created":
          res.statusCode = 201;
          res.end(JSON.stringify({ id: 7, echo: body, token: req.headers["x-token"] }));
          return;
        case "/old":
          res.statusCode = 301;
          res.setHeader("location", "/new");
          res.end();
          return;
        case "/slow":
          return; // never answers
        default:
          res.statusCode = 404;
          res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function req(method: SmokeRequest["method"], path: string, more: Partial<SmokeRequest> = {}): SmokeRequest {
  return { method, path, status: [200], headers: {}, ...more };
}

const requests = (details: unknown) => (details as { requests: SmokeRequestResult[] }).requests;

describe("runSmoke", () => {
  it("passes when every request answers with an expected status", async () => {
    const r = await runSmoke([req("GET", "/healthz"), req("HEAD", "/"), req("GET", "/old", { status: [301, 302] })], base, { timeoutMs: 5000 });
    expect(r.ok).toBe(true);
    expect(r.kind).toBe("smoke");
    expect(r.name).toBe("smoke");
    expect(r.reason).toMatch(/^3 requests answered as expected: GET \/healthz returned 200 in \d+ms; HEAD \/ returned 200 in \d+ms; GET \/old returned 301 in \d+ms$/);
    expect(requests(r.details).map((x) => x.status)).toEqual([200, 200, 301]);
  });

  it("fails on an unexpected status, quoting the start of the body", async () => {
    const r = await runSmoke([req("GET", "/fail")], base, { timeoutMs: 5000, name: "api smoke" });
    expect(r.ok).toBe(false);
    expect(r.name).toBe("api smoke");
    expect(r.reason).toBe('GET /fail returned 500, expected 200 (body: "Internal error: database unreachable")');
  });

  it("names the expected statuses", async () => {
    const two = await runSmoke([req("GET", "/missing", { status: [200, 204] })], base, { timeoutMs: 5000 });
    expect(two.reason).toBe("GET /missing returned 404, expected 200 or 204");
    const three = await runSmoke([req("GET", "/missing", { status: [200, 201, 204] })], base, { timeoutMs: 5000 });
    expect(three.reason).toBe("GET /missing returned 404, expected one of 200, 201, 204");
  });

  it("checks that the body contains a text", async () => {
    const ok = await runSmoke([req("GET", "/", { contains: "Welcome" })], base, { timeoutMs: 5000 });
    expect(ok.ok).toBe(true);
    const bad = await runSmoke([req("GET", "/", { contains: "Sold out" })], base, { timeoutMs: 5000 });
    expect(bad.ok).toBe(false);
    expect(bad.reason).toBe('GET / returned 200 but its body does not contain "Sold out" (body starts: "<html><h1>Welcome to the shop</h1></html>")');
  });

  it("sends the body and headers", async () => {
    const r = await runSmoke([req("POST", "/created?x=1", { status: [201], body: '{"name":"a"}', headers: { "x-token": "t0k", "content-type": "application/json" }, contains: '"token":"t0k"' })], base, {
      timeoutMs: 5000,
    });
    expect(r.ok).toBe(true);
    const last = received.at(-1)!;
    expect(last).toMatchObject({ method: "POST", url: "/created?x=1", body: '{"name":"a"}' });
    expect(last.headers["content-type"]).toBe("application/json");
    expect(last.headers["content-length"]).toBe("12");
  });

  it("fails a request that does not answer in time", async () => {
    const started = performance.now();
    const r = await runSmoke([req("GET", "/slow")], base, { timeoutMs: 300 });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe("GET /slow: no answer within 300ms");
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("reports every failing request, not only the first", async () => {
    const r = await runSmoke([req("GET", "/fail"), req("GET", "/healthz"), req("GET", "/missing")], base, { timeoutMs: 5000 });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe('2 of 3 requests failed: GET /fail returned 500, expected 200 (body: "Internal error: database unreachable"); GET /missing returned 404, expected 200');
  });

  it("says when nothing listens", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await runSmoke([req("GET", "/healthz")], `http://127.0.0.1:${port}`, { timeoutMs: 5000 });
    expect(r.reason).toBe(`GET /healthz: connection refused (127.0.0.1:${port})`);
  });

  it("keeps the base URL's path", async () => {
    expect(joinUrl("http://h:1/app/", "/healthz")).toBe("http://h:1/app/healthz");
    expect(joinUrl("http://h:1", "/x?y=1")).toBe("http://h:1/x?y=1");
    const r = await runSmoke([req("GET", "/healthz")], `${base}/app`, { timeoutMs: 5000 });
    expect(r.ok).toBe(true);
    expect(received.at(-1)?.url).toBe("/app/healthz");
  });

  it("stops when cancelled", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const r = await runSmoke([req("GET", "/slow"), req("GET", "/healthz")], base, { timeoutMs: 5000, signal: abort.signal });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe("GET /slow: cancelled");
    expect(requests(r.details)).toHaveLength(1);
  });
});
