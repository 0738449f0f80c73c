// The control loop end to end, with real parts: releases made from folders
// holding a small Node server, supervised processes, the built-in router on
// loopback, the state repository in Git, and a local PagerDuty receiver.
// Each deploy runs under constant load; "dropped" counts what a client of
// the router would see as the router's fault: network errors and 502/503/504.
// (A faulty release's own 500s are its answers, passed on as they are.)
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseDeliveryConfig, startLoad, type LoadHandle, type LoadReport } from "../delivery/index.js";
import { openStateRepository, type StateRepository } from "../gitops/index.js";
import { createRelease } from "../release/index.js";
import { openStore, type DeliveryEvent, type Store } from "../store/index.js";
import { materializeRelease } from "../targets/index.js";
import { ControlLoop } from "./controller.js";
import { deliveryStatus } from "./status.js";

const SERVER = String.raw`
const http = require("http");
const fs = require("fs");
const b = JSON.parse(fs.readFileSync(__dirname + "/behaviour.json", "utf8"));
let n = 0;
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") return res.end(b.healthy === false ? (res.statusCode = 503, "sick") : "ok");
  n++;
  if (b.failEvery && n % b.failEvery === 0) { res.statusCode = 500; return res.end("boom"); }
  res.end("hello from " + b.version);
});
server.keepAliveTimeout = 5000;
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

interface World {
  root: string;
  dataDir: string;
  store: Store;
  repo: StateRepository;
  loop: ControlLoop;
  events: DeliveryEvent[];
  release(version: string, behaviour?: { failEvery?: number; healthy?: boolean }): Promise<string>;
  url(env: string): string;
}

const cleanups: (() => Promise<void> | void)[] = [];
const roots: string[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  // Nothing of a test is left running: no HAProxy, no instance (a process whose command line or working directory is in its folder).
  const left = readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
        const cwd = readlinkSync(`/proc/${p}/cwd`);
        return roots.some((r) => cmd.includes(r) || cwd.startsWith(r));
      } catch {
        return false;
      }
    });
  expect(left, "processes left running by the test").toEqual([]);
});

async function world(yaml: string, router: "builtin" | "haproxy" = "builtin"): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), "slipway-control-"));
  roots.push(root);
  const dataDir = join(root, "data");
  const { config, diagnostics } = parseDeliveryConfig(yaml, join(root, "slipway.yml"));
  const errors = diagnostics.filter((d) => d.severity === "error");
  expect(errors, errors.map((d) => `${d.line}:${d.column} ${d.message}`).join("\n")).toEqual([]);
  if (!config) throw new Error("no config");
  const store = openStore(dataDir);
  const repo = await openStateRepository({ dataDir });
  events = [];
  const loop = new ControlLoop({ dataDir, store, stateRepo: repo, config, router, intervalMs: 300, onEvent: (e) => events.push(e) });
  cleanups.push(() => store.close());
  cleanups.push(() => loop.shutdown());
  let n = 0;
  return {
    root,
    dataDir,
    store,
    repo,
    loop,
    events,
    async release(version, behaviour = {}) {
      const dir = join(root, `build-${++n}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "server.js"), SERVER);
      writeFileSync(join(dir, "behaviour.json"), JSON.stringify({ version, ...behaviour }));
      const { release } = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: dir }, createdBy: "ci" });
      return `web#${release.number}`;
    },
    url(env) {
      const port = store.getDeployment(env, "web")?.port;
      if (!port) throw new Error(`no router port for ${env}`);
      return `http://127.0.0.1:${port}/`;
    },
  };
}

let events: DeliveryEvent[] = [];

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last events:\n${events.slice(-12).map((e) => `${e.at} ${e.kind} ${e.message}`).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const finished = (w: World, release: string) => () => w.store.listRollouts({ env: undefined }).find((r) => r.toRelease === release && r.finishedAt !== null);

/** Requests the router failed: network errors and the proxy's own error codes. (Requests the generator did not send because all its connections were busy are not in it; `sent` counts what was.) */
function dropped(r: LoadReport): number {
  return r.networkErrors + (r.statuses["502"] ?? 0) + (r.statuses["503"] ?? 0) + (r.statuses["504"] ?? 0);
}

/** Constant load on the router while `during` runs, until at least `minRequests` were answered; returns the final report. */
async function underLoad(url: string, minRequests: number, during: () => Promise<void>): Promise<LoadReport> {
  const load: LoadHandle = startLoad({ url, rps: 500, connections: 64 });
  try {
    await during();
    while (load.report().completed < minRequests) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await load.stop();
  }
  return load.stop();
}

const base = (env: string, strategy: string, extra = "") => `
services:
  web:
    release: { file: web.tgz }
    run:
      command: node server.js
      instances: 2
      health: { path: /healthz, interval: 200ms, timeout: 1s, start_timeout: 10s }
      stop_timeout: 5s
environments:
  ${env}:
    auto: true
    strategy: ${strategy}
${extra}`;

describe("control loop (real processes, built-in router, Git)", { timeout: 90_000 }, () => {
  for (const [name, strategy, router] of [
    ["rolling", "{ rolling: { max_surge: 1, max_unavailable: 0 } }", "builtin"],
    ["blue-green", "{ blue-green: { scale_down_delay: 1s } }", "builtin"],
    ["canary", "{ canary: { steps: [25, 50], interval: 2s, analysis: { error_rate: '<5%', min_requests: 20 } } }", "builtin"],
    ["canary through HAProxy", "{ canary: { steps: [25, 50], interval: 2s, analysis: { error_rate: '<5%', min_requests: 20 } } }", "haproxy"],
  ] as const) {
    it(`${name}: a deploy under constant load drops none of 5,000+ requests`, async () => {
      const w = await world(base("prod", strategy), router);
      const first = await w.release("v1");
      await w.loop.start();
      expect((await until("first deploy", finished(w, first))).phase).toBe("succeeded");
      const second = await w.release("v2");
      const report = await underLoad(w.url("prod"), 5200, async () => {
        await w.loop.tick();
        const r = await until("second deploy", finished(w, second), 60_000);
        expect(r.phase, r.reason ?? "").toBe("succeeded");
      });
      expect(report.completed).toBeGreaterThanOrEqual(5000);
      expect(dropped(report), JSON.stringify([report.statuses, report.errorCauses])).toBe(0);
      expect(report.httpErrors, JSON.stringify([report.statuses, report.errorCauses])).toBe(0);
      expect(w.store.getDeployment("prod", "web")?.release).toBe(second);
      // Only the new release runs, and Git says so.
      expect(w.loop.supervisor.list().map((i) => i.release)).toEqual([second, second]);
      const desired = await w.repo.readDesired("prod");
      expect(desired.states[0]?.state.release).toBe(second);
      const status = await deliveryStatus(w.store, w.repo, undefined);
      expect(status.services[0]).toMatchObject({ stable: second, sync: "Synced", weights: { [second]: 100 } });
    });
  }

  it("canary: a release failing 20% of requests is rolled back within interval + 2 s, Git reverted, PagerDuty triggered", async () => {
    const received: { body: Record<string, unknown>; at: number }[] = [];
    const pd: Server = createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        received.push({ body: JSON.parse(text) as Record<string, unknown>, at: Date.now() });
        res.statusCode = 202;
        res.end('{"status":"success"}');
      });
    });
    await new Promise<void>((r) => pd.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => pd.close(() => r())));
    const port = (pd.address() as { port: number }).port;
    const interval = 3000;
    const w = await world(
      base("prod", `{ canary: { steps: [25, 50, 75], interval: 3s, analysis: { error_rate: "<1%", min_requests: 20 } } }`, `
    rollback: { automatic: true, alert: [pagerduty] }
alerts:
  pagerduty: { routing_key: test-routing-key, url: "http://127.0.0.1:${port}/v2/enqueue" }
`),
    );
    const good = await w.release("v1");
    await w.loop.start();
    await until("first deploy", finished(w, good));
    const bad = await w.release("v2", { failEvery: 5 });
    let onset = 0;
    const report = await underLoad(w.url("prod"), 5200, async () => {
      await w.loop.tick();
      const step = await until("canary traffic", () => w.events.find((e) => e.kind === "step" && e.message.startsWith(`${bad} gets 25%`)));
      onset = Date.parse(step.at);
      const r = await until("rollback", finished(w, bad), 30_000);
      expect(r.phase).toBe("rolled-back");
      expect(r.reason).toMatch(/analysis failed: error rate 2\d\.\d% ≥ 1%|analysis failed: .*error rate/);
    });
    const back = w.events.find((e) => e.kind === "rollout-rolled-back");
    expect(back).toBeDefined();
    const elapsed = Date.parse(back?.at ?? "") - onset;
    expect(elapsed).toBeLessThanOrEqual(interval + 2000);
    // The router's fault: none. (The bad release's own 500s are counted apart.)
    expect(dropped(report), JSON.stringify([report.statuses, report.errorCauses])).toBe(0);
    expect(report.completed).toBeGreaterThanOrEqual(5000);
    expect(w.loop.supervisor.list().map((i) => i.release)).toEqual([good, good]);
    // Git matches what runs: the promotion of the bad release was reverted.
    const history = await w.repo.history("prod");
    expect(history[0]).toMatchObject({ action: "rollback", release: good });
    expect(history[1]).toMatchObject({ action: "promote", release: bad });
    expect((await w.repo.readDesired("prod")).states[0]?.state.release).toBe(good);
    // PagerDuty got a trigger with the reason.
    const trigger = await until("PagerDuty trigger", () => received.find((r) => r.body.event_action === "trigger"));
    expect(trigger.body).toMatchObject({ routing_key: "test-routing-key", dedup_key: "slipway/prod/web" });
    expect(JSON.stringify(trigger.body)).toMatch(/error rate/);
    // The next success resolves it.
    const fixed = await w.release("v3");
    await underLoad(w.url("prod"), 0, async () => {
      await w.loop.tick();
      expect((await until("fixed deploy", finished(w, fixed), 60_000)).phase).toBe("succeeded");
    });
    const resolve = await until("PagerDuty resolve", () => received.find((r) => r.body.event_action === "resolve"));
    expect(resolve.body).toMatchObject({ dedup_key: "slipway/prod/web" });
  });

  it("canary: too little traffic is inconclusive and pauses, never promotes; abort rolls back", async () => {
    const w = await world(base("prod", `{ canary: { steps: [25, 50], interval: 1s, analysis: { error_rate: "<1%", min_requests: 50 } } }`));
    const v1 = await w.release("v1");
    await w.loop.start();
    await until("first deploy", finished(w, v1));
    const v2 = await w.release("v2");
    await w.loop.tick();
    const paused = await until("pause", () => w.store.listRollouts().find((r) => r.toRelease === v2 && r.phase === "paused"));
    expect(paused.reason).toMatch(/^inconclusive: (no|only \d+) requests/);
    expect(paused.weight).toBe(25);
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.store.getRollout(paused.id)).toMatchObject({ phase: "paused", weight: 25 });
    expect(w.store.getDeployment("prod", "web")?.release).toBe(v1);
    const m = w.store.listMeasurements(paused.id);
    expect(m.map((x) => x.verdict)).toEqual(["inconclusive"]);
    w.store.addCommand({ env: "prod", service: "web", kind: "abort", by: "alice", reason: "too quiet to judge" });
    const done = await until("abort", finished(w, v2));
    expect(done).toMatchObject({ phase: "aborted", reason: "aborted by alice: too quiet to judge" });
    expect(w.loop.supervisor.list().map((i) => i.release)).toEqual([v1, v1]);
  });

  it("a release that never becomes healthy fails its rollout with the reason; the stable release keeps all traffic", async () => {
    const w = await world(base("prod", "{ rolling: { max_surge: 1, max_unavailable: 0 } }").replace("start_timeout: 10s", "start_timeout: 2s"));
    const v1 = await w.release("v1");
    await w.loop.start();
    await until("first deploy", finished(w, v1));
    const v2 = await w.release("v2", { healthy: false });
    const report = await underLoad(w.url("prod"), 0, async () => {
      await w.loop.tick();
      const r = await until("failed rollout", finished(w, v2));
      expect(r.phase).toBe("failed");
      expect(r.reason).toMatch(/did not become healthy/);
    });
    expect(report.errors).toBe(0);
    expect(w.store.getDeployment("prod", "web")?.release).toBe(v1);
    expect(w.loop.supervisor.list().map((i) => i.release)).toEqual([v1, v1]);
    await until("revert", () => w.events.find((e) => e.kind === "reverted"));
    expect((await w.repo.readDesired("prod")).states[0]?.state.release, JSON.stringify(w.events.map((e) => e.message), null, 1)).toBe(v1);
  });

  for (const selfHeal of [true, false]) {
    it(`drift: a killed process and a release started by hand are ${selfHeal ? "detected and healed" : "only reported with self_heal: false"}`, async () => {
      const w = await world(base("prod", "rolling", `    self_heal: ${selfHeal}\n`));
      const v1 = await w.release("v1");
      await w.loop.start();
      await until("first deploy", finished(w, v1));
      const victim = w.loop.supervisor.list()[0];
      expect(victim?.pid).toBeGreaterThan(0);
      process.kill(victim?.pid ?? 0, "SIGKILL");
      await until("drift reported", () => w.events.find((e) => e.kind === "drift" || e.kind === "instance-exit"), 5000);
      if (selfHeal) {
        await until("healed", () => w.loop.supervisor.list().filter((i) => i.release === v1 && i.state === "healthy").length === 2, 10_000);
      } else {
        await w.loop.tick();
        const drift = await until("drift", () => w.events.find((e) => e.kind === "drift"));
        expect(drift.message).toMatch(/1 of 2 instance\(s\) of web#1 are not running/);
        const status = await deliveryStatus(w.store, w.repo, undefined);
        expect(status.services[0]).toMatchObject({ sync: "OutOfSync" });
        expect(w.loop.supervisor.list().filter((i) => i.state !== "failed")).toHaveLength(1);
      }

      // A release started by hand from the release folder.
      const record = w.store.getRelease("web", 1);
      if (!record) throw new Error("no release");
      const folder = await materializeRelease(w.dataDir, record);
      const stray = spawn("node", ["server.js"], { cwd: folder, env: { ...process.env, PORT: "0" }, stdio: "ignore", detached: true });
      cleanups.push(() => {
        try {
          process.kill(stray.pid ?? 0, "SIGKILL");
        } catch {
          // gone
        }
      });
      await new Promise((r) => setTimeout(r, 300));
      await w.loop.tick();
      const found = await until("stray reported", () => w.events.find((e) => e.kind === "drift" && e.message.includes(String(stray.pid))), 10_000);
      expect(found.message).toMatch(/without Slipway's supervision/);
      if (selfHeal) {
        await until("stray stopped", () => stray.exitCode !== null || stray.signalCode !== null, 15_000);
        await until("healed event", () => w.events.find((e) => e.kind === "healed" && e.message.includes(String(stray.pid))));
      } else {
        await new Promise((r) => setTimeout(r, 1000));
        expect(stray.exitCode).toBeNull();
        expect(stray.signalCode).toBeNull();
      }
    });
  }

  it("drift: HAProxy's servers changed by hand through its runtime API are detected and put back", async () => {
    const w = await world(base("prod", "rolling"), "haproxy");
    const v1 = await w.release("v1");
    await w.loop.start();
    await until("first deploy", finished(w, v1));
    // An operator puts a server in maintenance by hand.
    const socket = join(w.dataDir, "traffic", "prod", "web", "admin.sock");
    const reply = await new Promise<string>((resolve, reject) => {
      const c = createConnection(socket, () => c.end("set server app/slot1 state maint\n"));
      let text = "";
      c.on("data", (d: Buffer) => (text += d.toString()));
      c.on("end", () => resolve(text));
      c.on("error", reject);
    });
    expect(reply.trim()).toBe("");
    await w.loop.tick();
    const drift = await until("drift", () => w.events.find((e) => e.kind === "drift"), 10_000);
    expect(drift.message).toMatch(/the router's backends \(.*\) are not the running instances of web#1/);
    await until("healed", () => w.events.find((e) => e.kind === "healed"), 10_000);
    await w.loop.tick();
    const table = await w.loop.target("prod", "web")?.router.current();
    expect(table?.stable.backends).toHaveLength(2);
    const status = await deliveryStatus(w.store, w.repo, undefined);
    expect(status.services[0]).toMatchObject({ sync: "Synced" });
  });
});
