// The built-in router: the shared router suite, and what only the built-in
// proxy does (request bodies replayed on retry, hop-by-hop headers, chunked
// and bodyless responses, upgrades, timeouts, requests in flight).
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRouter, RouterError, type TrafficRouter } from "./index.js";
import { describeRouter, eventually, request, startBackend, type TestBackend } from "./router.case.js";

describeRouter("builtin", (o) => createRouter({ kind: "builtin", ...o }), { statsLagMs: 0 });

describe("built-in router", () => {
  let dataDir = "";
  let router: TrafficRouter;
  const servers: http.Server[] = [];
  const backends: TestBackend[] = [];

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-builtin-"));
    router = createRouter({ kind: "builtin", env: "test", service: "web", port: 0, dataDir, backendTimeoutMs: 1_000 });
    await router.start();
  });
  afterEach(async () => {
    await router.close();
    for (const s of servers.splice(0)) s.close();
    for (const b of backends.splice(0)) b.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function serve(handler: http.RequestListener): Promise<{ id: string; release: string; host: string; port: number; server: http.Server }> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return { id: `h${servers.length}`, release: "v1", host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, server };
  }

  async function deadPort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it("replays a POST body on another backend when the first refuses the connection", async () => {
    const live = await startBackend("live", "v1");
    backends.push(live);
    const dead = { id: "dead", release: "v1", host: "127.0.0.1", port: await deadPort() };
    await router.apply({ stable: { release: "v1", backends: [dead, live.backend] } });
    for (let i = 0; i < 4; i++) {
      const a = await request(router.port, { method: "POST", body: `payload-${i}`, headers: { "content-type": "text/plain" } });
      expect(a).toMatchObject({ status: 200, body: `v1 live payload-${i}` });
    }
    expect(router.metricsText()).toMatch(/slipway_router_retries_total\{env="test",service="web"\} [1-9]/);
  });

  it("streams large bodies both ways, chunked or with a length", async () => {
    const b = await serve((req, res) => {
      let n = 0;
      req.on("data", (c: Buffer) => (n += c.length));
      req.on("end", () => {
        res.write(`got ${n} bytes;`);
        res.write("x".repeat(300_000));
        res.end(";end");
      });
    });
    await router.apply({ stable: { release: "v1", backends: [b] } });
    const answer = await new Promise<{ status: number; body: string; te: string | undefined }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: router.port, method: "PUT", path: "/upload", agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), te: res.headers["transfer-encoding"] }));
      });
      req.on("error", reject);
      // No Content-Length: the body goes out chunked, 5 MB in 64 KiB pieces.
      const piece = Buffer.alloc(64 * 1024, 97);
      for (let i = 0; i < 80; i++) req.write(piece);
      req.end();
    });
    expect(answer.status).toBe(200);
    expect(answer.te).toBe("chunked");
    expect(answer.body.startsWith(`got ${80 * 64 * 1024} bytes;`)).toBe(true);
    expect(answer.body.endsWith(";end")).toBe(true);
    expect(answer.body.length).toBe(`got ${80 * 64 * 1024} bytes;`.length + 300_000 + 4);
    const fixed = await request(router.port, { method: "POST", body: "y".repeat(200_000) });
    expect(fixed.body.startsWith("got 200000 bytes;")).toBe(true);
  });

  it("drops hop-by-hop headers both ways and sets X-Forwarded-For and -Proto", async () => {
    const b = await serve((req, res) => {
      res.writeHead(200, { "content-type": "application/json", connection: "keep-alive, X-Hop", "x-hop": "secret", "keep-alive": "timeout=5", "set-cookie": ["a=1", "b=2"] });
      res.end(JSON.stringify(req.headers));
    });
    await router.apply({ stable: { release: "v1", backends: [b] } });
    const a = await request(router.port, {
      headers: { Connection: "keep-alive, X-Secret", "X-Secret": "1", "Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic x", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https", "X-Kept": "yes" },
    });
    const seen = JSON.parse(a.body) as Record<string, string>;
    expect(seen["x-secret"]).toBeUndefined();
    expect(seen["keep-alive"]).toBeUndefined();
    expect(seen["proxy-authorization"]).toBeUndefined();
    expect(seen["x-kept"]).toBe("yes");
    expect(seen["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("https");
    expect(seen.host).toBe(`127.0.0.1:${router.port}`);
    expect(a.headers["x-hop"]).toBeUndefined();
    expect(a.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
  });

  it("relays bodyless answers (HEAD, 204, 304) and keeps the connection usable", async () => {
    const b = await serve((req, res) => {
      if (req.url === "/204") res.writeHead(204).end();
      else if (req.url === "/304") res.writeHead(304, { etag: '"x"' }).end();
      else res.writeHead(200, { "content-length": 5 }).end(req.method === "HEAD" ? undefined : "hello");
    });
    await router.apply({ stable: { release: "v1", backends: [b] } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      expect(await request(router.port, { method: "HEAD", agent })).toMatchObject({ status: 200, body: "" });
      expect(await request(router.port, { path: "/204", agent })).toMatchObject({ status: 204, body: "" });
      expect(await request(router.port, { path: "/304", agent })).toMatchObject({ status: 304, body: "" });
      expect(await request(router.port, { agent })).toMatchObject({ status: 200, body: "hello" });
    }
    agent.destroy();
  });

  it("answers 504 when a backend does not answer in time, and counts it as an error", async () => {
    const slow = await startBackend("slow", "v1");
    backends.push(slow);
    await router.apply({ stable: { release: "v1", backends: [slow.backend] } });
    const a = await request(router.port, { path: "/slow?ms=3000" });
    expect(a.status).toBe(504);
    expect(a.body).toMatch(/backend slow of v1 .* did not answer in time/);
    expect(router.stats("v1", 60_000)).toMatchObject({ requests: 1, errors: 1 });
  });

  it("counts requests in flight per backend until they finish", async () => {
    const b = await startBackend("b", "v1");
    backends.push(b);
    await router.apply({ stable: { release: "v1", backends: [b.backend] } });
    const pending = request(router.port, { path: "/slow?ms=400" });
    expect(
      await eventually(
        () => router.inFlight("b"),
        (n) => n === 1,
      ),
    ).toBe(1);
    expect(await router.drained(["b"], 50)).toBe(false);
    await router.apply({ stable: { release: "v1", backends: [] } });
    expect(router.inFlight("b")).toBe(1);
    expect(await router.drained(["b"], 5_000)).toBe(true);
    expect((await pending).status).toBe(200);
    expect(router.inFlight("b")).toBe(0);
  });

  it("tunnels upgraded connections (WebSocket) and counts them in flight", async () => {
    const b = await serve((_req, res) => res.end("plain"));
    b.server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`);
      socket.on("data", (d: Buffer) => socket.write(`echo:${d.toString()}`));
    });
    await router.apply({ stable: { release: "v1", backends: [b] } });
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: router.port, path: "/ws", headers: { Connection: "Upgrade", Upgrade: "websocket" }, agent: false });
      req.on("upgrade", (res: http.IncomingMessage, s: net.Socket) => {
        expect(res.statusCode).toBe(101);
        resolve(s);
      });
      req.on("error", reject);
      req.end();
    });
    const echoed = new Promise<string>((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString())));
    socket.write("ping");
    expect(await echoed).toBe("echo:ping");
    expect(router.inFlight(b.id)).toBe(1);
    socket.destroy();
    expect(
      await eventually(
        () => router.inFlight(b.id),
        (n) => n === 0,
      ),
    ).toBe(0);
  });

  it("refuses a bad route table with the field and the fix", async () => {
    const b = { id: "x", release: "v1", host: "127.0.0.1", port: 8080 };
    const bad = async (table: unknown, message: RegExp) => {
      const err = await router.apply(table as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RouterError);
      expect((err as Error).message).toMatch(message);
    };
    await bad({ stable: { release: "v1", backends: [b, b] } }, /backend id 'x' appears twice/);
    await bad({ stable: { release: "v1", backends: [] }, canary: { release: "v2", backends: [], weight: 150 } }, /canary.weight 150 is not a percentage from 0 to 100/);
    await bad({ stable: { release: "v1", backends: [] }, canary: { release: "v1", backends: [], weight: 5 } }, /the canary's release is the stable release/);
    await bad({ stable: { release: "v1", backends: [{ ...b, release: "v2" }] } }, /belongs to release 'v2' but is listed under 'v1'/);
    await bad({ stable: { release: "v1", backends: [{ ...b, port: 70000 }] } }, /port 70000 is not a port number/);
    await bad({ stable: { release: "v1", backends: [] }, sticky: { header: "X-A", cookie: "s" } }, /choose one/);
    expect(() => createRouter({ kind: "builtin", env: "a b", service: "web", port: 0, dataDir })).toThrow(/router env 'a b'/);
  });

  it("reports a port in use with the port and the fix", async () => {
    const other = createRouter({ kind: "builtin", env: "test", service: "web", port: router.port, dataDir });
    await expect(other.start()).rejects.toThrow(new RegExp(`port ${router.port} on 127.0.0.1 for test/web is in use by another process`));
  });
});
