// After Slipway restarts: a new supervisor on the same data directory adopts
// the recorded instances that still run, reports the dead ones lost and kills
// unrecorded processes of the data directory; Slipway killed with SIGKILL
// leaves its instances running; one supervisor per data directory; strays.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProcessSupervisor, type InstanceSpec, type TargetEvent } from "./index.js";
import { processRunning } from "./proc.js";
import { eventually, fastHealth, get, killMarked, markedPids, serviceFolder } from "./test-support.js";

describe("adoption after a restart", () => {
  let dataDir: string;
  let app: string;
  const supervisors: ProcessSupervisor[] = [];
  const tokens = new Set<string>();
  const unmarked: number[] = [];

  const spec = (overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
    env: "dev",
    service: "web",
    release: "web#1",
    digest: `sha256:${"b".repeat(64)}`,
    dir: app,
    command: ["node", "server.mjs"],
    environment: { GREETING: "hi" },
    health: fastHealth(),
    stopTimeout: 5_000,
    ...overrides,
  });

  function supervisor(events?: TargetEvent[]): ProcessSupervisor {
    const sup = new ProcessSupervisor({ dataDir, pollMs: 100, backoff: { initialMs: 100 }, ...(events ? { onEvent: (e: TargetEvent) => events.push(e) } : {}) });
    supervisors.push(sup);
    return sup;
  }

  /** A service process started as Slipway would, but never recorded (Slipway died before writing instances.json). */
  function unrecorded(token: string, id: string, port: number): number {
    const child = spawn("node", ["server.mjs"], {
      cwd: app,
      detached: true,
      stdio: "ignore",
      env: { PATH: process.env.PATH, PORT: String(port), SLIPWAY_ENV: "dev", SLIPWAY_SERVICE: "web", SLIPWAY_RELEASE: "web#1", SLIPWAY_INSTANCE: id, SLIPWAY_SUPERVISOR: token },
    });
    child.unref();
    return child.pid!;
  }

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-adopt-data-"));
    app = serviceFolder();
  });

  afterEach(async () => {
    for (const sup of supervisors.splice(0)) {
      if (sup.supervisorToken) tokens.add(sup.supervisorToken);
      await sup.stopAll().catch(() => undefined);
      sup.close();
    }
    for (const t of tokens) killMarked(t);
    for (const pid of unmarked.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  });

  afterAll(async () => {
    await eventually("no marked process is left", () => [...tokens].every((t) => markedPids(t).length === 0), 5_000);
  });

  it("adopts what still runs, reports the dead lost, kills the unrecorded, and supervises the adopted as its own", async () => {
    const first = supervisor();
    const a = await first.start(spec());
    const b = await first.start(spec());
    expect((await first.waitHealthy(a.id, 20_000)).healthy).toBe(true);
    expect((await first.waitHealthy(b.id, 20_000)).healthy).toBe(true);
    const token = first.supervisorToken;
    first.close(); // Slipway stops; the processes keep running

    process.kill(-b.pid!, "SIGKILL"); // one dies while nobody watches
    const orphan = unrecorded(token, "dev.web.7", 0);
    await eventually("the orphan runs", () => markedPids(token).includes(orphan));

    const events: TargetEvent[] = [];
    const second = supervisor(events);
    const result = await second.adopt();
    expect(result.adopted.map((i) => [i.id, i.pid, i.state, i.adopted])).toEqual([[a.id, a.pid, "healthy", true]]);
    expect(result.lost.map((r) => [r.id, r.pid])).toEqual([[b.id, b.pid]]);
    expect(result.killed).toEqual([orphan]);
    await eventually("the orphan is gone", () => !processRunning(orphan));
    expect(events.map((e) => e.kind).sort()).toEqual(["adopted", "lost", "orphan-killed"]);
    expect(second.list().map((i) => i.id)).toEqual([a.id]);
    const state = JSON.parse(readFileSync(join(dataDir, "targets", "instances.json"), "utf8")) as { instances: { id: string }[] };
    expect(state.instances.map((i) => i.id)).toEqual([a.id]);
    expect(await second.adopt()).toBe(await second.adopt()); // once

    // It is supervised as if it were its own: a crash is noticed (by polling) and restarted with the same environment and port.
    process.kill(a.pid!, "SIGKILL");
    await eventually("it was restarted", () => second.get(a.id)?.restarts === 1 && second.get(a.id)?.pid !== null);
    expect(events.find((e) => e.kind === "exit")?.message).toContain("exit code unknown: Slipway adopted it after a restart");
    expect((await second.waitHealthy(a.id, 20_000)).healthy).toBe(true);
    const env = JSON.parse((await get(a.port, "/env")).body) as Record<string, string>;
    expect(env).toMatchObject({ GREETING: "hi", PORT: String(a.port), SLIPWAY_INSTANCE: a.id, SLIPWAY_SUPERVISOR: token });

    // Instance numbers go on where the previous supervisor stopped.
    const c = await second.start(spec());
    expect(c.id).toBe("dev.web.3");
    await second.stopAll();
    expect(markedPids(token)).toEqual([]);
  });

  it("keeps the instances of a Slipway killed with SIGKILL running, and adopts them", async () => {
    // A small Slipway: the supervisor bundled into a script (CommonJS: the bundle holds CommonJS packages).
    const driver = join(dataDir, "driver.cjs");
    await build({
      stdin: {
        contents: `
          import { ProcessSupervisor } from "./index.ts";
          void (async () => {
          const [dataDir, dir] = process.argv.slice(2);
          const sup = new ProcessSupervisor({ dataDir });
          const health = { path: "/healthz", interval: 100, timeout: 2000, healthyThreshold: 1, unhealthyThreshold: 2, startTimeout: 15000 };
          const s = await sup.start({ env: "prod", service: "api", release: "api#2", digest: "sha256:${"c".repeat(64)}", dir, command: "node server.mjs", health, stopTimeout: 5000 });
          const r = await sup.waitHealthy(s.id, 20000);
          console.log(JSON.stringify({ id: s.id, pid: s.pid, port: s.port, healthy: r.healthy, token: sup.supervisorToken }));
          setInterval(() => {}, 1000);
          })();
        `,
        resolveDir: fileURLToPath(new URL(".", import.meta.url)),
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      outfile: driver,
      logLevel: "error",
    });
    const slipway = spawn("node", [driver, dataDir, app], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      slipway.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("\n")) resolve(out.trim());
      });
      slipway.once("exit", (code) => reject(new Error(`the driver exited with ${code} before it reported`)));
    });
    const started = JSON.parse(line) as { id: string; pid: number; port: number; healthy: boolean; token: string };
    tokens.add(started.token);
    expect(started).toMatchObject({ id: "prod.api.1", healthy: true });

    slipway.kill("SIGKILL");
    await new Promise((r) => slipway.once("exit", r));
    await new Promise((r) => setTimeout(r, 300));
    expect(processRunning(started.pid)).toBe(true);
    expect((await get(started.port, "/healthz")).status).toBe(200);

    const next = supervisor();
    const result = await next.adopt(); // the dead driver's lock is stale: taken over
    expect(result.adopted.map((i) => [i.id, i.pid, i.state])).toEqual([[started.id, started.pid, "healthy"]]);
    expect(result.lost).toEqual([]);
    expect(result.killed).toEqual([]);
    const stopped = await next.stop(started.id);
    expect(stopped.reason).toBe("stopped: it exited after SIGTERM");
    expect(processRunning(started.pid)).toBe(false);
    expect(markedPids(started.token)).toEqual([]);
  });

  it("treats an unreadable instances.json as empty: its processes are orphans", async () => {
    const first = supervisor();
    const a = await first.start(spec());
    first.close();
    writeFileSync(join(dataDir, "targets", "instances.json"), "{ not json");
    const second = supervisor();
    const result = await second.adopt();
    expect(result).toMatchObject({ adopted: [], lost: [], killed: [a.pid] });
    expect(readdirSync(join(dataDir, "targets")).some((f) => f.startsWith("instances.json.corrupt-"))).toBe(true);
    await eventually("it is gone", () => !processRunning(a.pid!));
  });

  it("finishes the stop of an instance that Slipway was stopping when it died", async () => {
    const first = supervisor();
    const a = await first.start(spec({ environment: { MODE: "ignore-term" } }));
    first.close();
    // What a Slipway killed during stop() leaves: the record says it was stopping.
    const file = join(dataDir, "targets", "instances.json");
    const content = JSON.parse(readFileSync(file, "utf8")) as { instances: { stopping?: boolean }[] };
    content.instances[0]!.stopping = true;
    writeFileSync(file, JSON.stringify(content));
    const result = await supervisor().adopt();
    expect(result).toMatchObject({ adopted: [], lost: [], killed: [a.pid] });
    await eventually("it is gone", () => !processRunning(a.pid!));
  });

  it("lets one supervisor own a data directory at a time", async () => {
    const first = supervisor();
    await first.adopt();
    const second = supervisor();
    await expect(second.adopt()).rejects.toThrow(/another Slipway process \(pid \d+\) supervises the services of this data directory .*; stop it first, or give this one another --data-dir/);
    first.close();
    const third = supervisor();
    await expect(third.adopt()).resolves.toMatchObject({ adopted: [], lost: [], killed: [] });
    await expect(first.start(spec())).rejects.toThrow(/was closed/);
  });

  it("shows processes started out of band as strays, and kills them on request", async () => {
    const sup = supervisor();
    const own = await sup.start(spec());
    const token = sup.supervisorToken;
    const copy = unrecorded(token, "dev.web.42", 0); // a copy started by hand with an instance's environment
    const folder = join(dataDir, "releases", "web", "d".repeat(64));
    mkdirSync(folder, { recursive: true });
    const byHand = spawn("node", ["-e", "setInterval(() => {}, 1000)"], { cwd: folder, stdio: "ignore", env: { PATH: process.env.PATH } });
    unmarked.push(byHand.pid!);

    await eventually("both are strays", () => sup.strays().length === 2);
    const strays = sup.strays().sort((x, y) => (x.instance ? -1 : y.instance ? 1 : 0));
    expect(strays[0]).toMatchObject({ pid: copy, env: "dev", service: "web", release: "web#1", instance: "dev.web.42" });
    expect(strays[0]?.reason).toContain("which this Slipway does not run");
    expect(strays[1]).toMatchObject({ pid: byHand.pid, env: undefined, service: "web", instance: undefined });
    expect(strays[1]?.reason).toMatch(/works in the release folder .* but was not started by Slipway/);
    expect(sup.strays().some((s) => s.pid === own.pid)).toBe(false);

    expect(await sup.killStray(copy)).toBe(true);
    expect(await sup.killStray(byHand.pid!)).toBe(true);
    expect(sup.strays()).toEqual([]);
    expect(await sup.killStray(copy)).toBe(false);
    await expect(sup.killStray(process.pid)).rejects.toThrow(/is not a stray of this data directory/);
    expect(existsSync(join(dataDir, "targets", "supervisor-id"))).toBe(true);
  });
});
