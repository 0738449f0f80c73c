// The HAProxy router against real HAProxy (Debian's 2.6): the shared router
// suite, and what only HAProxy does (its files, changes without reloads,
// integer weights, re-attaching after Slipway restarts, starting again after
// HAProxy died).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseInfo, parseServersState, runtimeCommand } from "./haproxy-api.js";
import { readMeta } from "./haproxy-config.js";
import { canaryPercent } from "./haproxy-weights.js";
import { createRouter, HAPROXY_PATH, HaproxyRouter, normalizeTable, type RouteTable } from "./index.js";
import { describeRouter, eventually, load, request, startBackend, type TestBackend } from "./router.case.js";

const installed = existsSync(HAPROXY_PATH);
if (!installed) {
  process.stderr.write(`\n*** HAProxy router tests SKIPPED: ${HAPROXY_PATH} is missing (apt-get install haproxy; CI installs it) ***\n\n`);
  describe("TrafficRouter: haproxy", () => {
    it.skip(`skipped: HAProxy is not installed at ${HAPROXY_PATH}`, () => undefined);
  });
} else {
  describeRouter("haproxy", (o) => createRouter({ kind: "haproxy", ...o, statsIntervalMs: 250 }), { statsLagMs: 1_000 });

  describe("HAProxy router", () => {
    let dataDir = "";
    const routers: HaproxyRouter[] = [];
    const backends: TestBackend[] = [];
    const make = (slots?: number) => {
      const r = createRouter({ kind: "haproxy", env: "prod", service: "api", port: 0, dataDir, statsIntervalMs: 250, ...(slots ? { slots } : {}) }) as HaproxyRouter;
      routers.push(r);
      return r;
    };
    const backend = async (id: string, release: string) => {
      const b = await startBackend(id, release);
      backends.push(b);
      return b.backend;
    };
    const socket = (r: HaproxyRouter) => readMeta(readFileSync(r.configFile, "utf8"))!.socket;
    const workerPid = async (r: HaproxyRouter) => parseInfo(await runtimeCommand(socket(r), "show info")).get("Pid");

    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), "slipway-haproxy-"));
    });
    afterEach(async () => {
      for (const r of routers.splice(0)) await r.close();
      for (const b of backends.splice(0)) b.kill();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("writes its files under <dataDir>/traffic/<env>/<service>/ and changes weights without reloading", async () => {
      const r = make();
      await r.start();
      expect(r.configFile).toBe(join(dataDir, "traffic", "prod", "api", "haproxy.cfg"));
      const cfg = readFileSync(r.configFile, "utf8");
      expect(cfg).toMatch(/stats socket \S+ mode 600 level admin expose-fd listeners/);
      expect(cfg).toMatch(/retries 3/);
      expect(cfg).toMatch(/option redispatch 1/);
      expect(cfg).toMatch(/retry-on conn-failure empty-response/);
      expect(cfg).toMatch(/server slot16 /);
      expect(readFileSync(r.pidFile, "utf8").trim()).toBe(String(r.pid));
      const worker = await workerPid(r);
      const [s1, s2, c1] = [await backend("s1", "v1"), await backend("s2", "v1"), await backend("c1", "v2")];
      for (const weight of [1, 5, 25, 50, 99, 100, 0]) {
        await r.apply({ stable: { release: "v1", backends: [s1, s2] }, canary: { release: "v2", backends: [c1], weight } });
        expect((await r.current()).canary?.weight).toBe(weight);
      }
      await r.apply({ stable: { release: "v2", backends: [c1] } });
      expect(await workerPid(r)).toBe(worker);
      expect((await request(r.port)).body).toBe("v2 c1");
    });

    it("keeps the split accurate with several instances per release (integer server weights)", async () => {
      const r = make();
      await r.start();
      const stable = [await backend("s1", "v1"), await backend("s2", "v1"), await backend("s3", "v1")];
      const canary = [await backend("c1", "v2"), await backend("c2", "v2")];
      for (const weight of [5, 33, 70]) {
        await r.apply({ stable: { release: "v1", backends: stable }, canary: { release: "v2", backends: canary, weight } });
        const servers = parseServersState(await runtimeCommand(socket(r), "show servers state app")).filter((s) => s.opState === 2 && (s.adminState & 1) === 0);
        const byPort = new Map(servers.map((s) => [s.port, s.weight]));
        const share = canaryPercent(
          stable.map((b) => byPort.get(b.port)!),
          canary.map((b) => byPort.get(b.port)!),
        );
        expect(Math.abs(share - weight)).toBeLessThan(0.2);
      }
      const result = await load(r.port, 8, 500);
      expect(result.failures).toEqual([]);
      const share = (result.byRelease.v2 ?? 0) / result.ok;
      expect(share).toBeGreaterThan(0.62);
      expect(share).toBeLessThan(0.78);
    });

    it("re-attaches to the HAProxy a previous Slipway left running, with its table", async () => {
      const first = make();
      await first.start();
      const [a, b] = [await backend("a", "v1"), await backend("b", "v2")];
      const table: RouteTable = { stable: { release: "v1", backends: [a] }, canary: { release: "v2", backends: [b], weight: 40 }, sticky: { cookie: "sid" } };
      await first.apply(table);
      const pid = first.pid;
      const port = first.port;
      await first.detach();
      // Traffic goes on while no Slipway watches.
      expect((await request(port)).status).toBe(200);
      const second = createRouter({ kind: "haproxy", env: "prod", service: "api", port, dataDir, statsIntervalMs: 250 }) as HaproxyRouter;
      routers.push(second);
      await second.start();
      expect(second.pid).toBe(pid);
      expect(second.port).toBe(port);
      expect(await second.current()).toEqual(normalizeTable(table));
      await second.apply({ stable: { release: "v2", backends: [b] } });
      expect((await request(port)).body).toBe("v2 b");
      const stats = await eventually(
        () => second.stats("v2", 60_000),
        (s) => s.requests >= 1,
        5_000,
      );
      expect(stats.requests).toBe(1);
    });

    it("grows its server slots with a reload when a table needs more, without failing a request", async () => {
      const r = make(2);
      await r.start();
      const bs = [await backend("a", "v1"), await backend("b", "v1"), await backend("c", "v1")];
      await r.apply({ stable: { release: "v1", backends: bs.slice(0, 1) } });
      let stop = false;
      const agentLoad = (async () => {
        const failures: string[] = [];
        while (!stop) {
          const x = await request(r.port).catch((e: Error) => ({ status: 0, body: e.message }));
          if (x.status !== 200) failures.push(`${x.status} ${x.body}`);
        }
        return failures;
      })();
      await r.apply({ stable: { release: "v1", backends: bs } });
      expect(readMeta(readFileSync(r.configFile, "utf8"))!.slots).toBeGreaterThanOrEqual(4);
      expect((await r.current()).stable.backends.map((x) => x.id)).toEqual(["a", "b", "c"]);
      stop = true;
      expect(await agentLoad).toEqual([]);
    });

    it("starts HAProxy again when it died", async () => {
      const r = make();
      await r.start();
      const a = await backend("a", "v1");
      await r.apply({ stable: { release: "v1", backends: [a] } });
      process.kill(r.pid, "SIGKILL");
      // Its worker notices the master's death and exits.
      expect(
        await eventually(
          () =>
            request(r.port).then(
              () => false,
              () => true,
            ),
          (down) => down,
        ),
      ).toBe(true);
      await r.apply({ stable: { release: "v1", backends: [a] } });
      expect((await request(r.port)).body).toBe("v1 a");
      expect(await r.current()).toEqual({ stable: { release: "v1", backends: [a] } });
    });

    it("names the missing program and the fix", async () => {
      const r = createRouter({ kind: "haproxy", env: "prod", service: "api", port: 0, dataDir, haproxyPath: "/nonexistent/haproxy" });
      await expect(r.start()).rejects.toThrow(/HAProxy is not at \/nonexistent\/haproxy .*apt-get install haproxy/);
    });
  });
}
