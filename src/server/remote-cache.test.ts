import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role, TokenRecord } from "../store/index.js";
import { DEFAULT_REMOTE_CACHE_MAX_BYTES, isRemoteCachePath, RemoteCache, remoteCacheMaxBytes, remoteCacheRouteLabel } from "./remote-cache.js";

const token = (name: string, role: Role): TokenRecord => ({ id: 1, name, role, groups: [], createdAt: "", createdBy: null, lastUsedAt: null, revokedAt: null });
const TOKENS: Record<string, TokenRecord> = { slw_dev: token("dev", "developer"), slw_view: token("view", "viewer") };

let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "slipway-remote-cache-"));
  const cache = new RemoteCache({ dataDir: dir, identify: (t) => (t ? TOKENS[t] : undefined), maxBytes: 64 });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (!isRemoteCachePath(url.pathname)) {
      res.writeHead(404).end();
      return;
    }
    void cache.serve(req, res, url);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = method === "HEAD" ? "" : await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, any> };
}

describe("Turborepo's remote cache API (/v8/artifacts)", () => {
  it("answers the status; refuses a missing or unknown token (401) and a viewer's upload (403), naming the fix", async () => {
    const s = await call("GET", "/v8/artifacts/status", { token: "slw_view" });
    expect([s.status, s.json()]).toEqual([200, { status: "enabled" }]);
    const none = await call("GET", "/v8/artifacts/status");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect(none.json().error).toMatchObject({ code: "unauthorized", message: expect.stringContaining("TURBO_TOKEN") });
    expect((await call("GET", "/v8/artifacts/status", { token: "slw_nope" })).status).toBe(401);
    const viewer = await call("PUT", "/v8/artifacts/0123456789abcdef?slug=acme", { token: "slw_view", body: "x" });
    expect(viewer.status).toBe(403);
    expect(viewer.json().error.message).toMatch(/token 'view' is viewer; .*needs developer/);
  });

  it("stores an artifact with its duration and tag, and gives them back with GET and HEAD, per team", async () => {
    const put = await call("PUT", "/v8/artifacts/0123456789abcdef?teamId=team_acme", {
      token: "slw_dev",
      body: "tar-bytes",
      headers: { "content-type": "application/octet-stream", "x-artifact-duration": "1520", "x-artifact-tag": "c2lnbmF0dXJl" },
    });
    expect(put.status).toBe(202);
    const get = await call("GET", "/v8/artifacts/0123456789abcdef?teamId=team_acme", { token: "slw_view" });
    expect(get.status).toBe(200);
    expect(get.text).toBe("tar-bytes");
    expect(get.headers.get("x-artifact-duration")).toBe("1520");
    expect(get.headers.get("x-artifact-tag")).toBe("c2lnbmF0dXJl");
    expect(get.headers.get("content-type")).toBe("application/octet-stream");
    const head = await call("HEAD", "/v8/artifacts/0123456789abcdef?teamId=team_acme", { token: "slw_view" });
    expect([head.status, head.headers.get("content-length"), head.headers.get("x-artifact-duration")]).toEqual([200, "9", "1520"]);
    // Another team does not see it; the slug is the team's other spelling.
    expect((await call("GET", "/v8/artifacts/0123456789abcdef?slug=other", { token: "slw_view" })).status).toBe(404);
    expect((await call("HEAD", "/v8/artifacts/0123456789abcdef", { token: "slw_view" })).status).toBe(404);
    const missing = await call("GET", "/v8/artifacts/ffffffffffffffff?teamId=team_acme", { token: "slw_view" });
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe("not_found");
    // A second PUT replaces the entry.
    expect((await call("PUT", "/v8/artifacts/0123456789abcdef?teamId=team_acme", { token: "slw_dev", body: "tar-bytes-2" })).status).toBe(202);
    const again = await call("GET", "/v8/artifacts/0123456789abcdef?teamId=team_acme", { token: "slw_view" });
    expect([again.text, again.headers.get("x-artifact-duration")]).toEqual(["tar-bytes-2", null]);
  });

  it("answers a batch query with each hash's size, duration and tag, or null", async () => {
    await call("PUT", "/v8/artifacts/aaaa1111?slug=batch", { token: "slw_dev", body: "12345", headers: { "x-artifact-duration": "7", "x-artifact-tag": "t" } });
    const q = await call("POST", "/v8/artifacts?slug=batch", { token: "slw_view", body: JSON.stringify({ hashes: ["aaaa1111", "bbbb2222", "../x"] }), headers: { "content-type": "application/json" } });
    expect(q.status).toBe(200);
    expect(q.json()).toEqual({ aaaa1111: { size: 5, taskDurationMs: 7, tag: "t" }, bbbb2222: null, "../x": { error: { message: expect.stringContaining("not a hash") } } });
    const bad = await call("POST", "/v8/artifacts?slug=batch", { token: "slw_view", body: '{"hashes": "x"}' });
    expect([bad.status, bad.json().error.message]).toEqual([400, expect.stringContaining("body.hashes must be an array")]);
    const events = await call("POST", "/v8/artifacts/events", { token: "slw_view", body: JSON.stringify([{ source: "REMOTE", event: "HIT", hash: "aaaa1111" }]) });
    expect(events.status).toBe(200);
  });

  it("refuses hashes and teams that could reach outside its folder, bad headers, other methods and bodies over the limit", async () => {
    for (const path of ["/v8/artifacts/..%2F..%2Fetc", "/v8/artifacts/abc.def", `/v8/artifacts/${"a".repeat(129)}`]) {
      const r = await call("GET", path, { token: "slw_view" });
      expect(r.status, path).toBe(400);
      expect(r.json().error.message).toContain("params.hash");
    }
    const team = await call("GET", "/v8/artifacts/abcd?slug=..", { token: "slw_view" });
    expect([team.status, team.json().error.message]).toEqual([400, expect.stringContaining("query.slug")]);
    const duration = await call("PUT", "/v8/artifacts/abcd", { token: "slw_dev", body: "x", headers: { "x-artifact-duration": "soon" } });
    expect([duration.status, duration.json().error.message]).toEqual([400, expect.stringContaining("header x-artifact-duration")]);
    const del = await call("DELETE", "/v8/artifacts/abcd", { token: "slw_dev" });
    expect([del.status, del.headers.get("allow")]).toEqual([405, "GET, HEAD, PUT"]);
    const big = await call("PUT", "/v8/artifacts/abcd", { token: "slw_dev", body: "x".repeat(65) });
    expect([big.status, big.json().error.message]).toEqual([413, expect.stringContaining("SLIPWAY_REMOTE_CACHE_MAX_BYTES")]);
    // Streamed without a Content-Length: refused while reading, nothing stored, no temp file left.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/v8/artifacts/abcd`, { method: "PUT", headers: { authorization: "Bearer slw_dev", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write("0123456789");
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await call("HEAD", "/v8/artifacts/abcd", { token: "slw_view" })).status).toBe(404);
    expect(readdirSync(join(dir, "blobs", "tmp"))).toEqual([]);
  });

  it("treats an entry whose blob is gone as missing", async () => {
    await call("PUT", "/v8/artifacts/cccc3333?slug=gone", { token: "slw_dev", body: "will vanish" });
    writeFileSync(join(dir, "remote-cache", "turbo", "gone", "cccc3333.json"), JSON.stringify({ digest: `sha256:${"0".repeat(64)}`, size: 11, createdAt: "", createdBy: "x" }));
    expect((await call("GET", "/v8/artifacts/cccc3333?slug=gone", { token: "slw_view" })).status).toBe(404);
    expect(readdirSync(join(dir, "remote-cache", "turbo", "gone"))).toEqual([]);
  });
});

describe("Nx's self-hosted remote cache API (/v1/cache)", () => {
  it("PUT answers 202, a second PUT of the hash 409; GET gives the bytes back or 404", async () => {
    expect((await call("GET", "/v1/cache/1234567890", { token: "slw_view" })).status).toBe(404);
    const put = await call("PUT", "/v1/cache/1234567890", { token: "slw_dev", body: "nx-tar", headers: { "content-type": "application/octet-stream" } });
    expect(put.status).toBe(202);
    const get = await call("GET", "/v1/cache/1234567890", { token: "slw_view" });
    expect([get.status, get.text, get.headers.get("content-type")]).toEqual([200, "nx-tar", "application/octet-stream"]);
    const again = await call("PUT", "/v1/cache/1234567890", { token: "slw_dev", body: "other" });
    expect([again.status, again.headers.get("content-type")]).toEqual([409, "text/plain; charset=utf-8"]);
    expect((await call("GET", "/v1/cache/1234567890", { token: "slw_view" })).text).toBe("nx-tar");
  });

  it("answers errors as text that Nx shows: 401, 403 for a read-only token, 400 without Content-Length or with a bad hash", async () => {
    const none = await call("GET", "/v1/cache/1");
    expect([none.status, none.text]).toEqual([401, expect.stringContaining("NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN")]);
    const viewer = await call("PUT", "/v1/cache/2", { token: "slw_view", body: "x" });
    expect([viewer.status, viewer.text]).toEqual([403, expect.stringContaining("needs developer")]);
    const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${base}/v1/cache/3`, { method: "PUT", headers: { authorization: "Bearer slw_dev", "transfer-encoding": "chunked" } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end("abc");
    });
    expect(chunked).toEqual({ status: 400, text: expect.stringContaining("Content-Length") });
    expect((await call("GET", "/v1/cache/a%2F..%2F..%2Fx", { token: "slw_view" })).status).toBe(400);
    expect((await call("HEAD", "/v1/cache/1", { token: "slw_view" })).status).toBe(405);
  });
});

describe("helpers", () => {
  it("reads the size limit from the environment and names the variable when it is wrong", () => {
    expect(remoteCacheMaxBytes({})).toBe(DEFAULT_REMOTE_CACHE_MAX_BYTES);
    expect(remoteCacheMaxBytes({ SLIPWAY_REMOTE_CACHE_MAX_BYTES: "512M" })).toBe(512 * 1024 ** 2);
    expect(remoteCacheMaxBytes({ SLIPWAY_REMOTE_CACHE_MAX_BYTES: "2GiB" })).toBe(2 * 1024 ** 3);
    expect(remoteCacheMaxBytes({ SLIPWAY_REMOTE_CACHE_MAX_BYTES: "1000" })).toBe(1000);
    expect(() => remoteCacheMaxBytes({ SLIPWAY_REMOTE_CACHE_MAX_BYTES: "lots" })).toThrow(/SLIPWAY_REMOTE_CACHE_MAX_BYTES must be a size .* got 'lots'/);
    expect(() => remoteCacheMaxBytes({ SLIPWAY_REMOTE_CACHE_MAX_BYTES: "0" })).toThrow(/SLIPWAY_REMOTE_CACHE_MAX_BYTES/);
  });

  it("labels paths for metrics without the hash", () => {
    expect(isRemoteCachePath("/v8/artifacts")).toBe(true);
    expect(isRemoteCachePath("/v8/artifactsx")).toBe(false);
    expect(isRemoteCachePath("/v1/cache/12")).toBe(true);
    expect(remoteCacheRouteLabel("/v8/artifacts/abc")).toBe("/v8/artifacts/{hash}");
    expect(remoteCacheRouteLabel("/v8/artifacts/status")).toBe("/v8/artifacts/status");
    expect(remoteCacheRouteLabel("/v1/cache/12")).toBe("/v1/cache/{hash}");
  });
});
