// `slipway server --deliver`: a push to a hosted repository builds a
// release, the server's control loop rolls it out to dev, prod waits for an
// approval given through the API by a release-manager, then runs it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, makeRepo, runCli } from "./helpers/cli.js";
import { freePort } from "./helpers/net.js";
import { api, startServer, until, type Started } from "./helpers/server.js";


const SERVICE = `const http = require("node:http");
http.createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : "svc " + process.env.GREETING)).listen(Number(process.env.PORT), "127.0.0.1");
`;

const CI = `name: CI
on:
  push:
    branches: [main]
jobs:
  package:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/upload-artifact@v4
        with:
          name: svc
          path: server.js
`;

const slipwayYml = (devPort: number, prodPort: number) => `services:
  svc:
    release: { workflow: ci.yml, artifact: svc }
    run:
      command: node server.js
      health: { path: /healthz, interval: 500ms, timeout: 2s }
    env:
      GREETING: hello
environments:
  dev:
    auto: true
    strategy: rolling
    services:
      svc: { port: ${devPort} }
  prod:
    after: dev
    approval: { required: 1, from: [qa] }
    strategy: rolling
    services:
      svc: { port: ${prodPort} }
`;

describe("slipway server --deliver", () => {
  const cleanup: string[] = [];
  let s: Started | undefined;
  let dataDir = "";

  afterAll(async () => {
    if (s && s.child.exitCode === null) {
      const exited = new Promise((r) => s?.child.once("exit", r));
      s.child.kill("SIGTERM");
      await exited;
    }
    // The instances outlive the server (as they outlive `slipway up`): stop them.
    if (dataDir) expect((await runCli(["down", "--data-dir", dataDir], { cwd: dataDir })).code).toBe(0);
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it("builds a release from a push, rolls it out to dev, and to prod once a release-manager approves through the API", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-server-deliver-"));
    cleanup.push(dataDir);
    const [devPort, prodPort] = [await freePort(), await freePort()];
    s = await startServer(dataDir, ["--deliver", "acme/svc", "--interval", "300ms"]);
    const admin = s.admin;
    const made = async (role: string) => (await api(s as Started, "POST", "/api/tokens", admin, { name: `${role}-1`, role })).json.token as string;
    const developer = await made("developer");
    const manager = await made("release-manager");

    // Before the repository exists, delivery says what it waits for.
    const waiting = await api(s, "GET", "/api/delivery", developer);
    expect(waiting.status).toBe(200);
    expect(waiting.json.configError).toContain("no repository acme/svc yet");

    expect((await api(s, "POST", "/api/repos", admin, { name: "acme/svc" })).status).toBe(201);
    const work = makeRepo({ "server.js": SERVICE, ".github/workflows/ci.yml": CI, "slipway.yml": slipwayYml(devPort, prodPort) });
    cleanup.push(work);
    git(work, "push", "-q", `${s.url.replace("http://", `http://d:${developer}@`)}/git/acme/svc.git`, "main");

    type Svc = { env: string; service: string; desired: { release: string } | null; stable: string | null; sync: string; waiting: string | null; awaitingApproval: string | null };
    const statusOf = async (env: string) => {
      const st = (await api(s as Started, "GET", "/api/delivery", developer)).json as { services?: Svc[] };
      return st.services?.find((x) => x.env === env);
    };
    // The run's artifact became svc#1, and the loop rolled it out to dev.
    await until("svc#1 in dev", async () => ((await statusOf("dev"))?.stable === "svc#1" && (await fetch(`http://127.0.0.1:${devPort}/`).then((r) => r.text()).catch(() => "")) === "svc hello" ? true : undefined), 60_000);
    const prod = await until("prod waiting for its approval", async () => {
      const p = await statusOf("prod");
      return p?.waiting ? p : undefined;
    });
    expect(prod).toMatchObject({ desired: null, stable: null, awaitingApproval: "svc#1" });
    expect(prod.waiting).toContain("waiting for 1 more from qa");
    expect((await statusOf("dev"))?.awaitingApproval).toBeNull();

    // Approving takes a release-manager; the loop then promotes and rolls out.
    expect((await api(s, "POST", "/api/delivery/approvals", developer, { env: "prod", release: "svc#1" })).status).toBe(403);
    expect((await api(s, "POST", "/api/delivery/approvals", manager, { env: "staging", release: "svc#1" })).status).toBe(404);
    expect((await api(s, "POST", "/api/delivery/approvals", manager, { env: "dev", release: "svc#1" })).status).toBe(409);
    // A release-manager outside the group the gate names does not open it.
    const outside = await api(s, "POST", "/api/delivery/approvals", manager, { env: "prod", release: "svc#1" });
    expect(outside.json).toMatchObject({ by: "release-manager-1", decision: "approve", gatesOpen: false });
    // The admin gives a token the group; its approval counts.
    const qa = (await api(s, "POST", "/api/tokens", admin, { name: "qa-lead", role: "release-manager", groups: ["qa"] })).json as { token: string; groups: string[] };
    expect(qa.groups).toEqual(["qa"]);
    expect((await api(s, "POST", "/api/tokens", admin, { name: "bad", role: "viewer", groups: ["Not A Group"] })).json.details).toEqual([expect.objectContaining({ field: "body.groups.0" })]);
    const approved = await api(s, "POST", "/api/delivery/approvals", qa.token, { env: "prod", release: "svc#1", comment: "ship it" });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ env: "prod", release: "svc#1", by: "qa-lead", decision: "approve", gatesOpen: true });
    await until("svc#1 in prod", async () => ((await fetch(`http://127.0.0.1:${prodPort}/`).then((r) => r.text()).catch(() => "")) === "svc hello" ? true : undefined), 60_000);
    await until("prod in sync", async () => {
      const p = await statusOf("prod");
      return p?.stable === "svc#1" && p.sync === "Synced" && p.desired?.release === "svc#1" ? true : undefined;
    });

    const history = (await api(s, "GET", "/api/delivery/history?env=prod", developer)).json.entries as Array<Record<string, unknown>>;
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(history[0])).toContain("qa-lead");
    // A second promotion of what runs already commits nothing new.
    const again = await api(s, "POST", "/api/delivery/promotions", manager, { env: "prod", release: "svc#1" });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ promoted: "svc#1", created: false });

    const metrics = (await api(s, "GET", "/metrics", undefined)).text;
    expect(metrics).toContain('slipway_rollout{env="prod",service="svc",release="svc#1",phase="succeeded"} 1');
    expect(metrics).toContain('slipway_rollout_weight{env="dev",service="svc",release="svc#1"} 100');
    expect(metrics).toMatch(/^slipway_job_duration_seconds_count\{conclusion="success"\} 1$/m);
  });
});
