// The supervisor with real processes and real HTTP: start with PORT and the
// SLIPWAY_* variables, health checks, crash and restart with backoff,
// graceful stop with drain, SIGKILL after the stop timeout, captured logs.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProcessSupervisor, TargetError, type InstanceSpec, type TargetEvent } from "./index.js";
import { processRunning, readCwd } from "./proc.js";
import { eventually, fastHealth, get, killMarked, markedPids, serviceFolder } from "./test-support.js";

describe("ProcessSupervisor", () => {
  let dataDir: string;
  let app: string;
  let sup: ProcessSupervisor;
  let events: TargetEvent[];
  const tokens: string[] = [];

  const spec = (overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
    env: "dev",
    service: "web",
    release: "web#1",
    digest: `sha256:${"a".repeat(64)}`,
    dir: app,
    command: ["node", "server.mjs"],
    cwd: ".",
    environment: {},
    health: fastHealth(),
    stopTimeout: 5_000,
    ...overrides,
  });

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-target-data-"));
    app = serviceFolder();
    events = [];
    sup = new ProcessSupervisor({ dataDir, onEvent: (e) => events.push(e), backoff: { initialMs: 200, maxMs: 800, resetAfterMs: 60_000 } });
  });

  afterEach(async () => {
    await sup.stopAll().catch(() => undefined);
    sup.close();
    tokens.push(sup.supervisorToken);
    killMarked(sup.supervisorToken);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  });

  afterAll(async () => {
    // No test may leave a process behind.
    await eventually("no marked process is left", () => tokens.every((t) => markedPids(t).length === 0), 5_000);
  });

  it("starts an instance with PORT and the SLIPWAY_* variables, checks its health and captures its log", async () => {
    process.env.SLIPWAY_MASTER_KEY_FOR_TEST = "must-not-leak";
    const started = await sup.start(spec({ environment: { GREETING: "hello", PORT: "1" } }));
    delete process.env.SLIPWAY_MASTER_KEY_FOR_TEST;
    expect(started).toMatchObject({ id: "dev.web.1", env: "dev", service: "web", release: "web#1", state: "starting", restarts: 0, adopted: false });
    expect(started.pid).toBeGreaterThan(0);
    expect(started.port).toBeGreaterThan(0);

    const result = await sup.waitHealthy(started.id, 20_000);
    expect(result).toEqual({ healthy: true, reason: "GET /healthz returned 200" });
    expect(sup.get(started.id)?.state).toBe("healthy");
    expect(events.map((e) => e.kind)).toEqual(["started", "healthy"]);

    const env = JSON.parse((await get(started.port, "/env")).body) as Record<string, string>;
    expect(env).toMatchObject({
      PORT: String(started.port),
      GREETING: "hello",
      SLIPWAY_ENV: "dev",
      SLIPWAY_SERVICE: "web",
      SLIPWAY_RELEASE: "web#1",
      SLIPWAY_INSTANCE: "dev.web.1",
      SLIPWAY_SUPERVISOR: sup.supervisorToken,
    });
    expect(env.SLIPWAY_MASTER_KEY_FOR_TEST).toBeUndefined();
    expect(env.PATH).toBeTruthy();

    await eventually("the log has both streams", () => {
      const log = readFileSync(started.log, "utf8");
      return log.includes(`listening on ${started.port} as dev.web.1`) && log.includes("stderr works");
    });
    expect(started.log).toBe(join(dataDir, "logs", "targets", "dev", "web", "dev.web.1.log"));

    const state = JSON.parse(readFileSync(join(dataDir, "targets", "instances.json"), "utf8")) as { instances: { id: string; pid: number }[] };
    expect(state.instances.map((i) => [i.id, i.pid])).toEqual([["dev.web.1", started.pid]]);
    expect(JSON.stringify(state)).not.toContain("hello"); // environment values (secrets) are not written down
  });

  it("runs a string command with sh -c in cwd, and keeps the port it is given", async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const s = await sup.start(spec({ command: "exec node ../server.mjs", cwd: "sub", port }));
    expect(s.port).toBe(port);
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    expect((await get(port, "/healthz")).status).toBe(200);
    expect(readCwd(s.pid!)).toBe(join(app, "sub"));
  });

  it("restarts a crashing instance with growing backoff and reports each exit", async () => {
    const s = await sup.start(spec({ environment: { MODE: "crash", CRASH_AFTER_MS: "300" } }));
    await eventually("it restarted twice", () => (sup.get(s.id)?.restarts ?? 0) >= 2);
    const exits = events.filter((e) => e.kind === "exit");
    const restarts = events.filter((e) => e.kind === "restart");
    expect(exits[0]?.message).toMatch(/exited with code 3 after .*; last log lines: .*crashing on purpose/);
    expect(restarts[0]?.message).toContain("after 200ms of backoff");
    expect(restarts[1]?.message).toContain("after 400ms of backoff");
    // The second delay is the doubled one (lower bounds only: a loaded machine is slower, never faster).
    const gap = (i: number) => Date.parse(restarts[i]!.at) - Date.parse(exits[i]!.at);
    expect(gap(0)).toBeGreaterThanOrEqual(190);
    expect(gap(1)).toBeGreaterThanOrEqual(390);
    expect(sup.get(s.id)?.port).toBe(s.port);
    expect(sup.get(s.id)?.lastExit).toMatchObject({ code: 3, signal: null });
    expect(readFileSync(s.log, "utf8")).toMatch(/\[slipway\] .* dev\.web\.1 exited with code 3/);
  });

  it("reports an instance that exits before it is healthy, with its last log lines", async () => {
    const s = await sup.start(spec({ environment: { MODE: "exit-now" } }));
    const result = await sup.waitHealthy(s.id, 20_000);
    expect(result.healthy).toBe(false);
    expect(result.reason).toMatch(/^exited with code 1 after .* before it became healthy; last log lines: fatal: cannot open database at \/nonexistent$/);
  });

  it("says why an instance never becomes healthy, and marks it unhealthy after start_timeout", async () => {
    const s = await sup.start(spec({ environment: { MODE: "unhealthy" }, health: fastHealth({ startTimeout: 3_000 }) }));
    const result = await sup.waitHealthy(s.id, 1_500);
    expect(result.healthy).toBe(false);
    // Which check failed last depends on how fast node starts on this machine.
    const failure = /(GET \/healthz returned 500|GET \/healthz: connection refused \(nothing listens on the port\)) (once|twice|[a-z]+ times|\d+ times)$/;
    expect(result.reason).toMatch(/^not healthy after 1.5s: /);
    expect(result.reason).toMatch(failure);
    await eventually("it is unhealthy", () => sup.get(s.id)?.state === "unhealthy");
    expect(sup.get(s.id)?.reason).toMatch(/^not healthy 3s after it started: /);
    expect(sup.get(s.id)?.reason).toMatch(failure);
    expect(events.find((e) => e.kind === "unhealthy")?.message).toContain("is unhealthy");
  });

  it("turns unhealthy after unhealthy_threshold failures and healthy again", async () => {
    const s = await sup.start(spec());
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    await get(s.port, "/fail");
    await eventually("it is unhealthy", () => sup.get(s.id)?.state === "unhealthy");
    expect(sup.get(s.id)?.reason).toMatch(/^GET \/healthz returned 500 (twice|three times|.* times)$/);
    await get(s.port, "/recover");
    await eventually("it is healthy again", () => sup.get(s.id)?.state === "healthy");
    expect(events.map((e) => e.kind)).toEqual(["started", "healthy", "unhealthy", "healthy"]);
  });

  it("notices a process killed by hand and restarts it", async () => {
    const s = await sup.start(spec());
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    process.kill(s.pid!, "SIGKILL");
    await eventually("it was restarted", () => sup.get(s.id)?.restarts === 1 && sup.get(s.id)?.pid !== null);
    expect(events.find((e) => e.kind === "exit")?.message).toMatch(/was killed by SIGKILL/);
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    expect(sup.get(s.id)?.pid).not.toBe(s.pid);
  });

  it("does not restart when restart is off: the instance fails and stays visible", async () => {
    const s = await sup.start(spec({ restart: false, environment: { MODE: "crash" } }));
    await eventually("it failed", () => sup.get(s.id)?.state === "failed");
    expect(sup.get(s.id)).toMatchObject({ pid: null, restarts: 0 });
    expect(sup.get(s.id)?.reason).toMatch(/exited with code 3 .*not restarted: restarts are off/);
    await sup.stop(s.id);
    expect(sup.list()).toEqual([]);
  });

  it("stops gracefully: SIGTERM, the request in flight completes, the instance is forgotten", async () => {
    const s = await sup.start(spec({ environment: { SLOW_MS: "1500" } }));
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    const inFlight = get(s.port, "/slow");
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await sup.stop(s.id);
    expect(await inFlight).toEqual({ status: 200, body: "slow done" });
    expect(stopped).toMatchObject({ state: "stopped", reason: "stopped: it exited after SIGTERM" });
    expect(processRunning(s.pid!)).toBe(false);
    expect(sup.list()).toEqual([]);
    expect(readFileSync(s.log, "utf8")).toMatch(/draining[\s\S]*drained/);
    const state = JSON.parse(readFileSync(join(dataDir, "targets", "instances.json"), "utf8")) as { instances: unknown[] };
    expect(state.instances).toEqual([]);
  });

  it("kills with SIGKILL a process that ignores SIGTERM after the stop timeout", async () => {
    const s = await sup.start(spec({ environment: { MODE: "ignore-term" }, stopTimeout: 800 }));
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    const began = Date.now();
    const stopped = await sup.stop(s.id);
    expect(Date.now() - began).toBeGreaterThanOrEqual(750);
    expect(stopped.reason).toBe("stopped: it was still running 800ms after SIGTERM and was killed with SIGKILL");
    expect(processRunning(s.pid!)).toBe(false);
    expect(readFileSync(s.log, "utf8")).toContain("ignoring SIGTERM");
  });

  it("stops the whole process group of a shell command", async () => {
    // sh stays the parent (two commands), node is its child in the same group.
    const s = await sup.start(spec({ command: "node server.mjs; echo after" }));
    expect((await sup.waitHealthy(s.id, 20_000)).healthy).toBe(true);
    const before = markedPids(sup.supervisorToken);
    expect(before.length).toBe(2);
    await sup.stop(s.id);
    expect(markedPids(sup.supervisorToken)).toEqual([]);
  });

  it("refuses to start what cannot run, saying what to fix", async () => {
    await expect(sup.start(spec({ command: ["no-such-program-xyz"] }))).rejects.toThrow(/`no-such-program-xyz` was not found .*install it or give its full path in run.command/);
    await expect(sup.start(spec({ cwd: "missing" }))).rejects.toThrow(/run.cwd 'missing' is not a folder in the release .*fix run.cwd in slipway.yml/);
    await expect(sup.start(spec({ cwd: "../.." }))).rejects.toThrow(/leads outside the release folder/);
    await expect(sup.start(spec({ service: "Web_1" }))).rejects.toThrow(TargetError);
    await expect(sup.stop("dev.web.99")).rejects.toThrow(/there is no instance dev.web.99/);
    expect(sup.list()).toEqual([]);
  });
});
