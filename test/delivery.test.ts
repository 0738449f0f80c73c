// Delivery through the built CLI: `slipway up` killed with SIGKILL during a
// canary at 25% and started again resumes the rollout at that step, with the
// router's split, the running processes and the state repository agreeing and
// no orphan process; `promote` moves it on; `status` shows it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, describeResult, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const SERVER = String.raw`
const http = require("http");
const version = require("fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : "hello from " + version));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

const SLIPWAY_YML = `
services:
  web:
    release: { file: build }
    run:
      command: node server.js
      instances: 2
      health: { path: /healthz, interval: 200ms, timeout: 1s }
      stop_timeout: 5s
environments:
  prod:
    auto: true
    strategy:
      canary:
        steps: [25, 50]
        interval: 10m
        analysis: { error_rate: "<1%", min_requests: 1 }
    services:
      web: { port: PORT }
`;

/** Process groups working in the data directory's release folders: one per instance (`sh -c` and its child share it), adopted or not, and any stray. */
function releaseProcesses(dataDir: string): { pid: number; cwd: string }[] {
  const out: { pid: number; cwd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (cwd.startsWith(join(dataDir, "releases")) && pgrp === Number(entry)) out.push({ pid: Number(entry), cwd });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function versionOf(cwd: string): string {
  return readFileSync(join(cwd, "VERSION"), "utf8").trim();
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

class Up {
  readonly proc: ChildProcess;
  out = "";
  constructor(repo: string) {
    this.proc = spawn(process.execPath, [CLI, "up", "--interval", "300ms"], { cwd: repo, env: { ...process.env, NO_COLOR: "1", SLIPWAY_ACTOR: "tester" }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout?.on("data", (c: Buffer) => (this.out += c.toString()));
    this.proc.stderr?.on("data", (c: Buffer) => (this.out += c.toString()));
  }
  async saw(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(this.out)) {
      if (Date.now() > end) throw new Error(`slipway up never printed ${pattern}; it printed:\n${this.out}`);
      if (this.proc.exitCode !== null) throw new Error(`slipway up exited with ${this.proc.exitCode}:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async kill(signal: NodeJS.Signals): Promise<void> {
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill(signal);
    await exited;
  }
}

describe("slipway up", { timeout: 120_000 }, () => {
  const port = 20_000 + (process.pid % 20_000);
  const repo = makeRepo({ "slipway.yml": SLIPWAY_YML.replace("PORT", String(port)) });
  const dataDir = join(repo, ".slipway");
  afterAll(() => {
    for (const p of releaseProcesses(dataDir)) {
      try {
        process.kill(-p.pid, "SIGKILL");
      } catch {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    removeDir(repo);
  });

  const release = async (version: string) => {
    const dir = join(repo, "build");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "server.js"), SERVER);
    writeFileSync(join(dir, "VERSION"), version);
    const r = await runCli(["release", "create", "--service", "web", "--file", "build"], { cwd: repo });
    expect(r.code, describeResult(r)).toBe(0);
  };

  it("killed with SIGKILL during a canary at 25%, resumes it after a restart with processes, router and Git agreeing", async () => {
    await release("v1");
    let up = new Up(repo);
    await up.saw(/web#1 is stable in prod/);
    await release("v2");
    await up.saw(/web#2 gets 25% of requests/);

    await up.kill("SIGKILL");
    // The instances outlive Slipway: two of each release.
    const during = releaseProcesses(dataDir).map((p) => versionOf(p.cwd)).sort();
    expect(during).toEqual(["v1", "v1", "v2", "v2"]);

    up = new Up(repo);
    await up.saw(/resuming the rollout of web#2 at step 1 \(25%\)/);
    await up.saw(/web#2 gets 25% of requests \(step 1 of 2\)/);
    // No orphan and no duplicate: the same four processes, adopted.
    expect(releaseProcesses(dataDir).map((p) => versionOf(p.cwd)).sort()).toEqual(["v1", "v1", "v2", "v2"]);
    expect(up.out).toMatch(/adopted instance .* of web#1/);
    // The router sends about a quarter of the requests to web#2.
    const answers = await Promise.all(Array.from({ length: 400 }, () => get(port)));
    const share = answers.filter((a) => a === "hello from v2").length / answers.length;
    expect(answers.every((a) => a === "hello from v1" || a === "hello from v2")).toBe(true);
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
    // Git and the store say the same: web#2 desired, rolling out at 25% from web#1.
    const status = await runCli(["status", "--json"], { cwd: repo });
    expect(status.code, describeResult(status)).toBe(0);
    const s = (JSON.parse(status.stdout) as { services: Array<Record<string, unknown>> }).services[0];
    expect(s).toMatchObject({ env: "prod", service: "web", stable: "web#1", desired: { release: "web#2" }, sync: "Progressing", weights: { "web#1": 75, "web#2": 25 } });

    // `promote` moves the canary on, step by step, to all traffic.
    expect((await runCli(["promote", "prod"], { cwd: repo })).code).toBe(0);
    await up.saw(/web#2 gets 50% of requests/);
    expect((await runCli(["promote", "prod"], { cwd: repo })).code).toBe(0);
    await up.saw(/web#2 is stable in prod/);
    const after = releaseProcesses(dataDir).map((p) => versionOf(p.cwd));
    expect(after).toEqual(["v2", "v2"]);
    expect(await get(port)).toBe("hello from v2");

    const text = await runCli(["status"], { cwd: repo });
    expect(text.stdout).toMatch(/prod\s+web\s+web#2\s+web#2\s+canary succeeded\s+web#2 100%\s+.*Synced/);
    const history = await runCli(["history", "--json"], { cwd: repo });
    expect((JSON.parse(history.stdout) as Array<{ release: string; action: string; author: string }>).map((h) => `${h.action} ${h.release} by ${h.author}`)).toEqual([
      "promote web#2 by slipway",
      "promote web#1 by slipway",
    ]);
    await up.kill("SIGTERM");
    expect(up.proc.exitCode).toBe(0);
  });

  it("gives usage errors that say what to do", async () => {
    const noRollout = await runCli(["promote", "prod"], { cwd: repo });
    expect(noRollout.code).toBe(2);
    expect(noRollout.stderr).toContain("no rollout of web is in progress in prod");
    const badEnv = await runCli(["abort", "qa"], { cwd: repo });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("has no environment 'qa'; its environments: prod");
    const noApproval = await runCli(["approve", "prod", "web#2"], { cwd: repo });
    expect(noApproval.code).toBe(2);
    expect(noApproval.stderr).toContain("environment 'prod' needs no approval");
    const noRelease = await runCli(["rollback", "prod", "--to", "web#9"], { cwd: repo });
    expect(noRelease.code).toBe(2);
    expect(noRelease.stderr).toContain("there is no release web#9");
  });
});

describe("slipway up: a workflow check", { timeout: 120_000 }, () => {
  const repo = makeRepo({
    "slipway.yml": `
services:
  web:
    release: { file: build }
    run: { command: node server.js, health: { path: /healthz, interval: 200ms } }
environments:
  staging:
    auto: true
    strategy: rolling
    checks:
      - workflow: e2e.yml
`,
    ".github/workflows/e2e.yml": `
on: workflow_dispatch
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - run: node -e "fetch(process.env.SLIPWAY_ENVIRONMENT_URL).then((r) => r.text()).then((t) => { console.log(process.env.SLIPWAY_ENVIRONMENT, t); if (t !== 'hello from v1') process.exit(1) })"
`,
  });
  afterAll(async () => {
    await runCli(["down"], { cwd: repo });
    removeDir(repo);
  });

  it("runs the workflow against the environment's URL: passes for a good release, rolls back a bad one", async () => {
    const release = async (version: string) => {
      mkdirSync(join(repo, "build"), { recursive: true });
      writeFileSync(join(repo, "build", "server.js"), SERVER);
      writeFileSync(join(repo, "build", "VERSION"), version);
      expect((await runCli(["release", "create", "--service", "web", "--file", "build"], { cwd: repo })).code).toBe(0);
    };
    await release("v1");
    const first = await runCli(["up", "--once", "--interval", "300ms"], { cwd: repo, timeoutMs: 90_000 });
    expect(first.code, describeResult(first)).toBe(0);
    expect(first.stdout).toMatch(/check workflow e2e\.yml: passed: e2e\.yml \(run \d+\): succeeded \(`slipway logs \d+`\)/);
    await release("v2");
    const second = await runCli(["up", "--once", "--interval", "300ms"], { cwd: repo, timeoutMs: 90_000 });
    expect(second.code, describeResult(second)).toBe(1);
    expect(second.stdout).toMatch(/check workflow e2e\.yml: failed: e2e\.yml \(run \d+\): ended in failure/);
    expect(second.stdout).toMatch(/web#2 rolled back in staging/);
    const logs = await runCli(["logs", /e2e\.yml \(run (\d+)\): ended/.exec(second.stdout)?.[1] ?? "0"], { cwd: repo });
    expect(logs.stdout).toContain("staging hello from v2");
  });
});
