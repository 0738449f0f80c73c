// Environment protection for workflow jobs through the built CLI: a job with
// `environment: prod`, whose slipway.yml environment requires an approval,
// waits (without running, without the environment's secrets) until `slipway
// approve prod run:RUN`; a rejection fails it without running it.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, describeResult, git, makeRepo, removeDir, runCli } from "./helpers/cli.js";
import { api, startServer, until } from "./helpers/server.js";

const SLIPWAY_YML = `services:
  web:
    release: { file: build }
    run: { command: node server.js }
environments:
  prod:
    approval: { required: 1, from: [qa] }
`;

const workflow = (marks: string) => `name: Deploy
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: touch "${marks}/built"
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: test "$KEY" = prod-only-key && touch "${marks}/deployed"
        env: { KEY: "\${{ secrets.DEPLOY_KEY }}" }
`;

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

/** `slipway run` in the background: its output so far and its exit. */
function startRun(cwd: string) {
  const child = spawn(process.execPath, [CLI, "run"], { cwd, env: { ...process.env, NO_COLOR: "1", SLIPWAY_ACTOR: "dev" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { out: () => out, exited };
}

async function setup(): Promise<{ repo: string; marks: string }> {
  const marks = mkdtempSync(join(tmpdir(), "slipway-env-gate-marks-"));
  const repo = makeRepo({ "slipway.yml": SLIPWAY_YML, ".github/workflows/deploy.yml": workflow(marks), ".gitignore": ".slipway/\n", "build/x": "1\n" });
  cleanup.push(marks, repo);
  const set = await runCli(["secrets", "set", "DEPLOY_KEY", "--env", "prod"], { cwd: repo, input: "prod-only-key" });
  expect(set.code, describeResult(set)).toBe(0);
  return { repo, marks };
}

describe("environment protection for workflow jobs", () => {
  it("a job for prod waits for the run's approval, then runs with prod's secrets", async () => {
    const { repo, marks } = await setup();
    const run = startRun(repo);
    const waiting = await until("deploy waiting", async () => (/\[deploy\] waiting — environment prod: .*slipway approve prod run:(\d+)/.exec(run.out()) ?? undefined), 30_000);
    expect(existsSync(join(marks, "built"))).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(join(marks, "deployed"))).toBe(false);
    // Someone outside qa does not open it; a qa member does.
    const outsider = await runCli(["approve", "prod", `run:${waiting[1]}`, "--as", "eve"], { cwd: repo });
    expect(outsider.code, describeResult(outsider)).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(join(marks, "deployed"))).toBe(false);
    const ok = await runCli(["approve", "prod", `run:${waiting[1]}`, "--as", "ann", "--group", "qa"], { cwd: repo });
    expect(ok.code, describeResult(ok)).toBe(0);
    expect(ok.stdout).toContain(`approved run ${waiting[1]}'s jobs for prod as ann`);
    expect(await run.exited, run.out()).toBe(0);
    expect(readFileSync(join(marks, "deployed"), "utf8")).toBe("");
  });

  it("a rejection fails the job without running it; approving an unknown run is an error", async () => {
    const { repo, marks } = await setup();
    const run = startRun(repo);
    const waiting = await until("deploy waiting", async () => (/slipway approve prod run:(\d+)/.exec(run.out()) ?? undefined), 30_000);
    const no = await runCli(["reject", "prod", `run:${waiting[1]}`, "--as", "ann", "--group", "qa", "--comment", "not today"], { cwd: repo });
    expect(no.code, describeResult(no)).toBe(0);
    expect(await run.exited).toBe(1);
    expect(run.out()).toMatch(/\[deploy\] ✗ failure — environment prod: .*ann/);
    expect(existsSync(join(marks, "deployed"))).toBe(false);
    const unknown = await runCli(["approve", "prod", "run:999"], { cwd: repo });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("there is no run 999");
  });

  it("under slipway server: the pushed run's job waits until a release-manager of the group approves through the API", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-env-gate-server-"));
    const marks = mkdtempSync(join(tmpdir(), "slipway-env-gate-server-marks-"));
    cleanup.push(dataDir, marks);
    const s = await startServer(dataDir);
    try {
      const set = await runCli(["secrets", "set", "DEPLOY_KEY", "--env", "prod", "--data-dir", dataDir], { cwd: dataDir, input: "prod-only-key" });
      expect(set.code, describeResult(set)).toBe(0);
      expect((await api(s, "POST", "/api/repos", s.admin, { name: "acme/gated" })).status).toBe(201);
      const work = makeRepo({ "slipway.yml": SLIPWAY_YML, ".github/workflows/deploy.yml": workflow(marks), "build/x": "1\n" });
      cleanup.push(work);
      git(work, "push", "-q", `${s.url.replace("http://", `http://a:${s.admin}@`)}/git/acme/gated.git`, "main");
      await until("build done", async () => (existsSync(join(marks, "built")) ? true : undefined), 30_000);
      const run = await until("the run", async () => ((await api(s, "GET", "/api/runs?repository=acme/gated", s.admin)).json.runs as Array<{ id: number }>)[0]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(existsSync(join(marks, "deployed"))).toBe(false);
      const developer = (await api(s, "POST", "/api/tokens", s.admin, { name: "dev-1", role: "developer" })).json.token as string;
      expect((await api(s, "POST", `/api/runs/${run.id}/approvals`, developer, { env: "prod" })).status).toBe(403);
      const qa = (await api(s, "POST", "/api/tokens", s.admin, { name: "qa-lead", role: "release-manager", groups: ["qa"] })).json.token as string;
      const ok = await api(s, "POST", `/api/runs/${run.id}/approvals`, qa, { env: "prod", comment: "ship it" });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ run: run.id, env: "prod", by: "qa-lead", decision: "approve" });
      const done = await until("the run completed", async () => {
        const r = (await api(s, "GET", `/api/runs/${run.id}`, s.admin)).json as { status: string; conclusion: string };
        return r.status === "completed" ? r : undefined;
      }, 30_000);
      expect(done.conclusion).toBe("success");
      expect(existsSync(join(marks, "deployed"))).toBe(true);
      expect((await api(s, "POST", `/api/runs/${run.id}/approvals`, qa, { env: "prod" })).status).toBe(409);
    } finally {
      const exited = new Promise((r) => s.child.once("exit", r));
      s.child.kill("SIGTERM");
      await exited;
    }
  });
});

