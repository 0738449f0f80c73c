// `slipway server` as a user runs it: the built CLI in its own process, real
// HTTP, real `git push` and `git clone` through git http-backend, runs
// started by pushes and written to the server's store.
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { git, makeRepo, runCli } from "./helpers/cli.js";
import { api, startServer, until, type RunJson, type Started } from "./helpers/server.js";

const WORKFLOW = `name: CI
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      who: { type: string, default: nobody }
      wait: { type: string, default: "0" }
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "event=\${{ github.event_name }} before=\${{ github.event.before }} repo=\${{ github.repository }} who=\${{ inputs.who }}"
      - run: sleep \${{ inputs.wait || 0 }}
`;

describe("slipway server", () => {
  let s: Started;
  let dataDir: string;
  let developer: string;
  let viewer: string;
  let releaseManager: string;
  const cleanup: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-server-"));
    cleanup.push(dataDir);
    s = await startServer(dataDir);
    expect(s.admin).toMatch(/^slw_/);
    const mk = async (role: string) => {
      const r = await api(s, "POST", "/api/tokens", s.admin, { name: `${role}-token`, role });
      expect(r.status).toBe(201);
      return r.json.token as string;
    };
    developer = await mk("developer");
    viewer = await mk("viewer");
    releaseManager = await mk("release-manager");
  });

  afterAll(async () => {
    if (s?.child.exitCode === null) {
      const exited = new Promise((r) => s.child.once("exit", r));
      s.child.kill("SIGTERM");
      await exited;
    }
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it("answers health, readiness and metrics without a token, and shows the admin token only once", async () => {
    expect((await api(s, "GET", "/healthz", undefined)).json).toEqual({ status: "ok" });
    const ready = await api(s, "GET", "/readyz", undefined);
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toEqual({ store: "ok" });
    const metrics = await api(s, "GET", "/metrics", undefined);
    expect(metrics.text).toMatch(/^slipway_queue_depth \d+$/m);
    expect(metrics.text).toMatch(/slipway_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    // The JSON log never carries a token; the admin token was printed on standard error, once.
    expect(s.logs().split("slw_").length - 1).toBe(1);
  });

  it("refuses every mutating route without a token (401) and with too low a role (403), as the OpenAPI description declares", async () => {
    const spec = (await api(s, "GET", "/api/openapi.json", undefined)).json as { openapi: string; paths: Record<string, Record<string, { "x-slipway-role": string; responses: Record<string, unknown> }>> };
    expect(spec.openapi).toBe("3.1.0");
    const tokens: Record<string, string> = { viewer, developer, "release-manager": releaseManager, admin: s.admin };
    const below: Record<string, string[]> = { viewer: [], developer: ["viewer"], "release-manager": ["viewer", "developer"], admin: ["viewer", "developer", "release-manager"] };
    let mutating = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const role = op["x-slipway-role"];
        if (role === "public") continue;
        expect(op.responses["401"], `${method} ${path}`).toBeDefined();
        const concrete = path.replace(/\{\w+\}/g, "1");
        const bodiless = method === "get" || method === "head";
        const noToken = await api(s, method.toUpperCase(), concrete, undefined, bodiless ? undefined : {});
        expect(noToken.status, `${method} ${path} without a token`).toBe(401);
        const badToken = await api(s, method.toUpperCase(), concrete, "slw_not-a-token", bodiless ? undefined : {});
        expect(badToken.status, `${method} ${path} with an unknown token`).toBe(401);
        // turbo's batch query and its usage events are POSTs that change nothing: viewer may call them.
        if (bodiless || (method === "post" && (path === "/v8/artifacts" || path === "/v8/artifacts/events"))) continue;
        mutating++;
        expect(role, `${method} ${path} must need more than viewer`).not.toBe("viewer");
        for (const lower of below[role] ?? []) {
          const r = await api(s, method.toUpperCase(), concrete, tokens[lower], {});
          expect(r.status, `${method} ${path} as ${lower}`).toBe(403);
          // The remote cache answers in its protocols' shapes: Vercel's {"error": {"message"}} for turbo, text for Nx.
          const message = typeof r.json.error === "object" ? (r.json.error as { message: string }).message : (r.json.error ?? r.text);
          expect(message).toContain(`needs ${role}`);
        }
      }
    }
    expect(mutating).toBeGreaterThanOrEqual(5);
    // Turborepo's and Nx's remote cache are described too.
    expect(Object.keys(spec.paths["/v8/artifacts/{hash}"] ?? {}).sort()).toEqual(["get", "head", "put"]);
    expect(Object.keys(spec.paths["/v1/cache/{hash}"] ?? {}).sort()).toEqual(["get", "put"]);
  });

  it("creates a hosted repository, refuses bad names with the field, and a push by a viewer", async () => {
    const created = await api(s, "POST", "/api/repos", s.admin, { name: "acme/app" });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: "acme/app", defaultBranch: "main", cloneUrl: `${s.url}/git/acme/app.git` });
    expect((await api(s, "POST", "/api/repos", s.admin, { name: "acme/app" })).status).toBe(409);
    const bad = await api(s, "POST", "/api/repos", s.admin, { name: "no-owner" });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([expect.objectContaining({ field: "body.name" })]);
    const extra = await api(s, "POST", "/api/repos", s.admin, { name: "acme/x", colour: "red" });
    expect(extra.status).toBe(400);
    expect(String(extra.json.error)).toContain("body");

    const work = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "README.md": "app\n" });
    cleanup.push(work);
    const asViewer = `${s.url.replace("http://", `http://v:${viewer}@`)}/git/acme/app.git`;
    expect(() => git(work, "push", "-q", asViewer, "main")).toThrow(/403/);
    const anonymous = `${s.url}/git/acme/app.git`;
    expect(() => git(work, "-c", "credential.helper=", "-c", "core.askPass=/bin/false", "push", "-q", anonymous, "main")).toThrow();
    expect((await api(s, "GET", "/api/runs?repository=acme/app", viewer)).json.runs).toEqual([]);
  });

  it("runs the matching workflows of a push, with the pushed range, and serves the run, its jobs and logs", async () => {
    const work = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "README.md": "app\n" });
    cleanup.push(work);
    const remote = `${s.url.replace("http://", `http://d:${developer}@`)}/git/acme/app.git`;
    git(work, "push", "-q", remote, "main");
    const first = git(work, "rev-parse", "HEAD");
    const run1 = await until("the first push's run", async () => {
      const runs = (await api(s, "GET", `/api/runs?repository=acme/app&sha=${first}`, viewer)).json.runs as RunJson[];
      return runs.find((r) => r.status === "completed");
    });
    expect(run1).toMatchObject({ repository: "acme/app", event: "push", ref: "refs/heads/main", sha: first, conclusion: "success", name: "CI" });

    // Two commits in one push: `before` is what main pointed to before it.
    writeFileSync(join(work, "a.txt"), "a\n");
    git(work, "add", "a.txt");
    git(work, "commit", "-q", "-m", "a");
    writeFileSync(join(work, "b.txt"), "b\n");
    git(work, "add", "b.txt");
    git(work, "commit", "-q", "-m", "b");
    git(work, "push", "-q", remote, "main");
    const head = git(work, "rev-parse", "HEAD");
    const run2 = await until("the second push's run", async () => {
      const runs = (await api(s, "GET", `/api/runs?repository=acme/app&sha=${head}&status=completed`, viewer)).json.runs as RunJson[];
      return runs[0];
    });
    expect(run2.conclusion).toBe("success");
    const detail = (await api(s, "GET", `/api/runs/${run2.id}`, viewer)).json as { jobs: Array<{ id: number; key: string; conclusion: string; steps: Array<{ conclusion: string }> }> };
    expect(detail.jobs).toHaveLength(1);
    expect(detail.jobs[0]).toMatchObject({ key: "build", conclusion: "success" });
    const log = await api(s, "GET", `/api/runs/${run2.id}/jobs/${detail.jobs[0]?.id}/log`, viewer);
    expect(log.status).toBe(200);
    expect(log.text).toContain(`event=push before=${first} repo=acme/app`);

    // A branch the workflow does not match starts nothing; the clone URL serves reads.
    git(work, "push", "-q", remote, "main:feature");
    const clone = mkdtempSync(join(tmpdir(), "slipway-clone-"));
    cleanup.push(clone);
    git(clone, "clone", "-q", `${s.url.replace("http://", `http://v:${viewer}@`)}/git/acme/app.git`, "c");
    expect(git(join(clone, "c"), "rev-parse", "HEAD")).toBe(head);
    expect(((await api(s, "GET", "/api/runs?repository=acme/app", viewer)).json.runs as RunJson[]).filter((r) => r.ref === "refs/heads/feature")).toEqual([]);

    const metrics = await api(s, "GET", "/metrics", undefined);
    expect(metrics.text).toMatch(/slipway_event_launches_total\{result="started"\} 2/);
  });

  it("starts a workflow_dispatch run through the API, cancels it, and checks the request", async () => {
    const bad = await api(s, "POST", "/api/runs", developer, { repository: "acme/app", event: "deploy" });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([expect.objectContaining({ field: "body.event" })]);
    expect((await api(s, "POST", "/api/runs", developer, { repository: "acme/none" })).status).toBe(404);
    const unknownRef = await api(s, "POST", "/api/runs", developer, { repository: "acme/app", ref: "nope" });
    expect(unknownRef.status).toBe(422);
    expect((await api(s, "POST", "/api/runs", developer, { repository: "acme/app", event: "workflow_dispatch" })).status).toBe(400);
    const notJson = await fetch(`${s.url}/api/runs`, { method: "POST", headers: { authorization: `Bearer ${developer}`, "content-type": "application/json" }, body: "{" });
    expect(notJson.status).toBe(400);
    expect((await api(s, "GET", "/api/runs?colour=red", viewer)).status).toBe(400);
    expect((await api(s, "GET", "/api/runs?limit=0", viewer)).json.details).toEqual([expect.objectContaining({ field: "query.limit" })]);

    const started = await api(s, "POST", "/api/runs", developer, { repository: "acme/app", event: "workflow_dispatch", workflow: "ci.yml", inputs: { who: "ada", wait: "60" } });
    expect(started.status).toBe(202);
    const launch = started.json.launch as number;
    const runId = await until("the dispatched run to start", async () => {
      const l = (await api(s, "GET", `/api/launches/${launch}`, viewer)).json;
      const runs = (await api(s, "GET", "/api/runs?repository=acme/app&status=in_progress", viewer)).json.runs as RunJson[];
      return l.state !== "waiting" ? runs.find((r) => r.event === "workflow_dispatch")?.id : undefined;
    });
    // The sleep step is running once the echo step has finished.
    await until("the sleep step", async () => {
      const d = (await api(s, "GET", `/api/runs/${runId}`, viewer)).json as { jobs: Array<{ steps: Array<{ status: string }> }> };
      return d.jobs[0]?.steps[1]?.status === "in_progress" ? true : undefined;
    });
    expect((await api(s, "POST", `/api/runs/${runId}/cancel`, viewer)).status).toBe(403);
    const cancel = await api(s, "POST", `/api/runs/${runId}/cancel`, developer);
    expect(cancel.status).toBe(202);
    const done = await until("the cancelled run", async () => {
      const r = (await api(s, "GET", `/api/runs/${runId}`, viewer)).json as unknown as RunJson;
      return r.status === "completed" ? r : undefined;
    });
    expect(done.conclusion).toBe("cancelled");
    expect((await api(s, "POST", `/api/runs/${runId}/cancel`, developer)).status).toBe(409);
    const jobs = (await api(s, "GET", `/api/runs/${runId}`, viewer)).json.jobs as Array<{ id: number }>;
    expect((await api(s, "GET", `/api/runs/${runId}/jobs/${jobs[0]?.id}/log`, viewer)).text).toContain("event=workflow_dispatch before= repo=acme/app who=ada");
  });

  it("enforces protected branches on real git pushes: required checks passed for the commit, no force push, no deletion", async () => {
    expect((await api(s, "POST", "/api/repos", s.admin, { name: "acme/guarded" })).status).toBe(201);
    const work = makeRepo({ ".github/workflows/checks.yml": "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: test -f ok.txt\n", "ok.txt": "ok\n" });
    cleanup.push(work);
    const remote = `${s.url.replace("http://", `http://d:${developer}@`)}/git/acme/guarded.git`;
    git(work, "push", "-q", remote, "main");
    const passed = async (sha: string, conclusion: string) =>
      until(`a ${conclusion} run of ${sha}`, async () => {
        const runs = (await api(s, "GET", `/api/runs?repository=acme/guarded&sha=${sha}&status=completed`, viewer)).json.runs as RunJson[];
        return runs.find((r) => r.conclusion === conclusion);
      });
    await passed(git(work, "rev-parse", "HEAD"), "success");

    const put = await api(s, "PUT", "/api/repos/acme/guarded/protection/main", s.admin, { requiredChecks: ["build"] });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ branch: "main", requiredChecks: ["build"], allowForcePush: false, allowDeletion: false, requiredApprovals: 0, preventSelfApproval: true });
    expect((await api(s, "GET", "/api/repos/acme/guarded/protection", viewer)).json.branches).toEqual([put.json]);
    expect((await api(s, "PUT", "/api/repos/acme/nope/protection/main", s.admin, {})).status).toBe(404);

    // A commit whose checks have not run is refused; once they pass on another branch, it goes in.
    writeFileSync(join(work, "c1.txt"), "1\n");
    git(work, "add", "c1.txt");
    git(work, "commit", "-q", "-m", "c1");
    const c1 = git(work, "rev-parse", "HEAD");
    expect(() => git(work, "push", "-q", remote, "main")).toThrow(/required checks must pass for [0-9a-f]{12} first: 'build' has not run/);
    git(work, "push", "-q", remote, "HEAD:refs/heads/feature");
    await passed(c1, "success");
    git(work, "push", "-q", remote, "main");

    // A commit whose check failed is refused.
    git(work, "rm", "-q", "ok.txt");
    git(work, "commit", "-q", "-m", "break it");
    const broken = git(work, "rev-parse", "HEAD");
    git(work, "push", "-q", remote, "HEAD:refs/heads/broken");
    await passed(broken, "failure");
    expect(() => git(work, "push", "-q", remote, "main")).toThrow(/'build' failed \(run \d+/);

    // Rewriting history is refused even when the new commit's checks passed.
    git(work, "reset", "-q", "--hard", c1);
    git(work, "commit", "-q", "--amend", "-m", "c1 again");
    const amended = git(work, "rev-parse", "HEAD");
    git(work, "push", "-q", remote, "HEAD:refs/heads/amended");
    await passed(amended, "success");
    expect(() => git(work, "push", "-q", "--force", remote, "HEAD:main")).toThrow(/force pushes are refused/);
    expect(() => git(work, "push", "-q", remote, ":main")).toThrow(/cannot be deleted/);
    const clone = mkdtempSync(join(tmpdir(), "slipway-clone-"));
    cleanup.push(clone);
    git(clone, "clone", "-q", remote, "c");
    expect(git(join(clone, "c"), "rev-parse", "HEAD")).toBe(c1);

    // Unprotected, the branch takes a force push.
    expect((await api(s, "DELETE", "/api/repos/acme/guarded/protection/main", s.admin)).status).toBe(200);
    expect((await api(s, "DELETE", "/api/repos/acme/guarded/protection/main", s.admin)).status).toBe(404);
    git(work, "push", "-q", "--force", remote, "HEAD:main");
  });

  it("mirrors an external repository: signed push and pull request webhooks run it (a fork's without secrets), bad signatures are refused, polling finds pushes", async () => {
    const upstream = mkdtempSync(join(tmpdir(), "slipway-upstream-"));
    cleanup.push(upstream);
    git(upstream, "init", "-q", "--bare", "-b", "main");
    const workflow = "on: [push, pull_request]\njobs:\n  show:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"secret=${{ secrets.DEPLOY_KEY != '' }} event=${{ github.event_name }} title=${{ github.event.pull_request.title }}\"\n";
    const work = makeRepo({ ".github/workflows/show.yml": workflow });
    cleanup.push(work);
    git(work, "push", "-q", upstream, "main");
    expect((await runCli(["secrets", "set", "DEPLOY_KEY", "--data-dir", dataDir], { cwd: dataDir, input: "deploy-key-value" })).code).toBe(0);

    const secret = "a-webhook-secret-of-some-length";
    const made = await api(s, "POST", "/api/repos", s.admin, { name: "ext/app", remote: upstream, webhookSecret: secret });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ name: "ext/app", defaultBranch: "main", remote: upstream, webhookUrl: `${s.url}/api/webhooks/ext/app` });
    expect((await api(s, "POST", "/api/repos", s.admin, { name: "ext/broken", remote: join(upstream, "nope") })).status).toBe(422);
    expect((await api(s, "POST", "/api/repos", s.admin, { name: "ext/hosted", webhookSecret: secret })).status).toBe(400);
    // A mirror takes no pushes over HTTP.
    expect(() => git(work, "push", "-q", `${s.url.replace("http://", `http://d:${developer}@`)}/git/ext/app.git`, "main")).toThrow(/403/);

    const examples = createRequire(import.meta.url)("@octokit/webhooks-examples/api.github.com/index.json") as Array<{ name: string; examples: Array<Record<string, unknown>> }>;
    const example = (name: string, action?: string) => structuredClone(examples.find((e) => e.name === name)?.examples.find((p) => action === undefined || p.action === action) as Record<string, unknown>);
    const deliver = (event: string, payload: unknown, key = secret) => {
      const body = JSON.stringify(payload);
      return fetch(`${s.url}/api/webhooks/ext/app`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": event, "x-github-delivery": "1", "x-hub-signature-256": `sha256=${createHmac("sha256", key).update(body).digest("hex")}` },
        body,
      });
    };
    const runOf = (repository: string, sha: string, event: string) =>
      until(`a ${event} run of ${sha} in ${repository}`, async () => {
        const runs = (await api(s, "GET", `/api/runs?repository=${repository}&sha=${sha}&status=completed`, viewer)).json.runs as RunJson[];
        return runs.find((r) => r.event === event);
      });
    const logOf = async (run: RunJson) => {
      const jobs = (await api(s, "GET", `/api/runs/${run.id}`, viewer)).json.jobs as Array<{ id: number }>;
      return (await api(s, "GET", `/api/runs/${run.id}/jobs/${jobs[0]?.id}/log`, viewer)).text;
    };

    // A push upstream, then GitHub's push webhook (its real payload, our commits).
    writeFileSync(join(work, "x.txt"), "x\n");
    git(work, "add", "x.txt");
    git(work, "commit", "-q", "-m", "x");
    const before = git(work, "rev-parse", "HEAD~1");
    const after = git(work, "rev-parse", "HEAD");
    git(work, "push", "-q", upstream, "main");
    const push = example("push");
    Object.assign(push, { ref: "refs/heads/main", before, after });
    (push.repository as Record<string, unknown>).full_name = "ext/app";
    expect((await deliver("push", push, "not-the-secret")).status).toBe(401);
    const unsigned = await fetch(`${s.url}/api/webhooks/ext/app`, { method: "POST", headers: { "content-type": "application/json", "x-github-event": "push" }, body: JSON.stringify(push) });
    expect(unsigned.status).toBe(401);
    expect(((await api(s, "GET", "/api/runs?repository=ext/app", viewer)).json.runs as RunJson[]).length).toBe(0);
    const delivered = await deliver("push", push);
    expect(delivered.status).toBe(202);
    expect(await delivered.json()).toMatchObject({ provider: "github", event: "push", outcome: "started" });
    const pushRun = await runOf("ext/app", after, "push");
    expect(pushRun.conclusion).toBe("success");
    expect(await logOf(pushRun)).toContain("secret=true event=push title=");
    expect(await (await deliver("ping", example("ping"))).json()).toMatchObject({ outcome: "pong" });

    // A pull request from a fork: GitHub keeps its head at refs/pull/N/head.
    git(work, "checkout", "-q", "-b", "feature");
    writeFileSync(join(work, "f.txt"), "f\n");
    git(work, "add", "f.txt");
    git(work, "commit", "-q", "-m", "from a fork");
    const head = git(work, "rev-parse", "HEAD");
    git(work, "push", "-q", upstream, "HEAD:refs/pull/7/head");
    const opened = example("pull_request", "opened");
    const pr = opened.pull_request as { number: number; title: string; head: Record<string, unknown> & { repo: Record<string, unknown> }; base: Record<string, unknown> & { repo: Record<string, unknown> } };
    opened.number = 7;
    Object.assign(pr, { number: 7, title: "From a fork" });
    Object.assign(pr.head, { sha: head, ref: "feature" });
    Object.assign(pr.head.repo, { full_name: "someone/app", fork: true });
    Object.assign(pr.base, { ref: "main", sha: after });
    pr.base.repo.full_name = "ext/app";
    const prDelivered = await deliver("pull_request", opened);
    expect(prDelivered.status).toBe(202);
    expect(await prDelivered.json()).toMatchObject({ outcome: "started", detail: expect.stringContaining("no secrets") });
    const prRun = await runOf("ext/app", head, "pull_request");
    expect(prRun.conclusion).toBe("success");
    expect(await logOf(prRun)).toContain("secret=false event=pull_request title=From a fork");
    expect(await (await deliver("pull_request", example("pull_request", "closed"))).json()).toMatchObject({ outcome: "ignored" });

    // Polling: a second mirror of the same remote notices a push by itself.
    expect((await api(s, "POST", "/api/repos", s.admin, { name: "ext/polled", remote: upstream, pollSeconds: 1 })).json).toMatchObject({ pollSeconds: 1 });
    git(work, "checkout", "-q", "main");
    writeFileSync(join(work, "y.txt"), "y\n");
    git(work, "add", "y.txt");
    git(work, "commit", "-q", "-m", "y");
    git(work, "push", "-q", upstream, "main");
    const polled = await runOf("ext/polled", git(work, "rev-parse", "HEAD"), "push");
    expect(polled.conclusion).toBe("success");
    expect(await logOf(polled)).toContain("secret=true event=push");
  });

  it("merges a change request only with its required checks passed on the merge result and an approval from someone else", async () => {
    expect((await api(s, "POST", "/api/repos", s.admin, { name: "acme/flow" })).status).toBe(201);
    const workflow = "on: [push, pull_request]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: test -f ok.txt && echo \"event=${{ github.event_name }} number=${{ github.event.number }} head=${{ github.head_ref }}\"\n";
    const work = makeRepo({ ".github/workflows/checks.yml": workflow, "ok.txt": "ok\n" });
    cleanup.push(work);
    const remote = `${s.url.replace("http://", `http://d:${developer}@`)}/git/acme/flow.git`;
    git(work, "push", "-q", remote, "main");
    const protect = await api(s, "PUT", "/api/repos/acme/flow/protection/main", s.admin, { requiredChecks: ["build"], requiredApprovals: 1 });
    expect(protect.json).toMatchObject({ requiredApprovals: 1, preventSelfApproval: true });

    // Direct pushes to main are refused: changes go through change requests.
    git(work, "checkout", "-q", "-b", "feature");
    writeFileSync(join(work, "feature.txt"), "f\n");
    git(work, "add", "feature.txt");
    git(work, "commit", "-q", "-m", "feature");
    expect(() => git(work, "push", "-q", remote, "HEAD:main")).toThrow(/only through change requests/);
    git(work, "push", "-q", remote, "feature");

    const other = (await api(s, "POST", "/api/tokens", s.admin, { name: "reviewer", role: "developer" })).json.token as string;
    const cli = (args: string[], token = developer) => runCli(["change", ...args, "--server", s.url, "--token", token, "--repo", "acme/flow", "--json"], { cwd: work });
    const created = await cli(["create", "--title", "Add the feature"]);
    expect(created.code, created.stderr).toBe(0);
    const change = JSON.parse(created.stdout) as { number: number; source: string; target: string; author: string; mergeSha: string };
    expect(change).toMatchObject({ number: 1, source: "feature", target: "main", author: "developer-token" });
    expect(change.mergeSha).toMatch(/^[0-9a-f]{40}$/);
    expect((await api(s, "POST", "/api/repos/acme/flow/changes", developer, { source: "feature", target: "main", title: "again" })).status).toBe(409);
    expect((await api(s, "POST", "/api/repos/acme/flow/changes", developer, { source: "nope", target: "main", title: "x" })).status).toBe(422);

    // Its pull_request run on the merge result is its check.
    const prRun = await until("the change request's check", async () => {
      const runs = (await api(s, "GET", `/api/runs?repository=acme/flow&sha=${change.mergeSha}&status=completed`, viewer)).json.runs as RunJson[];
      return runs.find((r) => r.event === "pull_request");
    });
    expect(prRun.conclusion).toBe("success");
    const prJobs = (await api(s, "GET", `/api/runs/${prRun.id}`, viewer)).json.jobs as Array<{ id: number }>;
    expect((await api(s, "GET", `/api/runs/${prRun.id}/jobs/${prJobs[0]?.id}/log`, viewer)).text).toContain("event=pull_request number=1 head=feature");

    // Checks green but no approval; the author's own does not count.
    const early = await cli(["merge", "1"]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("0 of 1 required approval(s)");
    expect((await cli(["approve", "1"])).stderr).toContain("someone else must approve it");
    expect((await cli(["approve", "1"], other)).code).toBe(0);
    const shown = JSON.parse((await cli(["show", "1"])).stdout) as { mergeable: boolean; approvals: string[]; checks: Array<{ state: string }> };
    expect(shown).toMatchObject({ mergeable: true, approvals: ["reviewer"] });
    expect(shown.checks.map((c) => c.state)).toEqual(["success"]);
    const merged = await cli(["merge", "1"], other);
    expect(merged.code, merged.stderr).toBe(0);
    expect(JSON.parse(merged.stdout)).toMatchObject({ state: "merged", mergedBy: "reviewer" });
    git(work, "fetch", "-q", remote, "main");
    expect(git(work, "rev-parse", "FETCH_HEAD")).toBe(change.mergeSha);
    // The merge is a push of main: its push workflows run on the merge commit.
    const pushRun = await until("main's push run", async () => {
      const runs = (await api(s, "GET", `/api/runs?repository=acme/flow&sha=${change.mergeSha}&status=completed`, viewer)).json.runs as RunJson[];
      return runs.find((r) => r.event === "push");
    });
    expect(pushRun).toMatchObject({ ref: "refs/heads/main", conclusion: "success" });

    // A change whose check fails on the merge result cannot be merged, approved or not.
    git(work, "checkout", "-q", "-b", "breaks", change.mergeSha);
    git(work, "rm", "-q", "ok.txt");
    git(work, "commit", "-q", "-m", "break");
    git(work, "push", "-q", remote, "breaks");
    const broken = JSON.parse((await cli(["create", "--source", "breaks"])).stdout) as { number: number; mergeSha: string };
    expect(broken.number).toBe(2);
    await until("the failing check", async () => {
      const runs = (await api(s, "GET", `/api/runs?repository=acme/flow&sha=${broken.mergeSha}&status=completed`, viewer)).json.runs as RunJson[];
      return runs.find((r) => r.conclusion === "failure");
    });
    expect((await cli(["approve", "2"], other)).code).toBe(0);
    const refused = await cli(["merge", "2"], other);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/required check 'build' failed/);
    expect(JSON.parse((await cli(["close", "2"])).stdout)).toMatchObject({ state: "closed" });
    expect(JSON.parse((await cli(["list"])).stdout).changes.map((c: { number: number; state: string }) => `${c.number}:${c.state}`)).toEqual(["2:closed", "1:merged"]);
  });

  it("revokes tokens, through the API and the CLI", async () => {
    const made = await api(s, "POST", "/api/tokens", s.admin, { name: "temp", role: "viewer" });
    const id = made.json.id as number;
    const secret = made.json.token as string;
    expect((await api(s, "GET", "/api/whoami", secret)).json).toMatchObject({ name: "temp", role: "viewer" });
    const listed = (await api(s, "GET", "/api/tokens", s.admin)).json.tokens as Array<Record<string, unknown>>;
    expect(listed.find((t) => t.id === id)).toMatchObject({ name: "temp", role: "viewer", revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain("slw_");
    expect((await api(s, "DELETE", `/api/tokens/${id}`, s.admin)).status).toBe(200);
    expect((await api(s, "DELETE", `/api/tokens/${id}`, s.admin)).status).toBe(409);
    expect((await api(s, "GET", "/api/whoami", secret)).status).toBe(401);

    const cli = await runCli(["tokens", "create", "--role", "admin", "--name", "rescue", "--data-dir", dataDir, "--json"], { cwd: dataDir });
    expect(cli.code).toBe(0);
    const rescue = JSON.parse(cli.stdout) as { id: number; token: string };
    expect((await api(s, "GET", "/api/tokens", rescue.token)).status).toBe(200);
    expect((await runCli(["tokens", "revoke", String(rescue.id), "--data-dir", dataDir], { cwd: dataDir })).code).toBe(0);
    expect((await api(s, "GET", "/api/tokens", rescue.token)).status).toBe(401);
    const badRole = await runCli(["tokens", "create", "--role", "root", "--data-dir", dataDir], { cwd: dataDir });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain("--role must be one of viewer, developer, release-manager, admin");
  });

  it("stops on SIGTERM after the runs in progress", async () => {
    const exited = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
    s.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(s.logs()).toContain('"msg":"stopped"');
  });
});

describe("slipway server killed with SIGKILL", () => {
  it("loses nothing: the run in progress finishes in its own process, the push waiting for a slot runs after the restart, logs are complete", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-server-kill-"));
    const work = makeRepo({ ".github/workflows/ci.yml": WORKFLOW });
    let s = await startServer(dataDir, ["--parallel-events", "1"]);
    const admin = s.admin;
    try {
      expect((await api(s, "POST", "/api/repos", admin, { name: "acme/app" })).status).toBe(201);
      git(work, "push", "-q", `${s.url.replace("http://", `http://a:${admin}@`)}/git/acme/app.git`, "main:refs/heads/other");
      const slow = await api(s, "POST", "/api/runs", admin, { repository: "acme/app", ref: "other", event: "workflow_dispatch", workflow: "ci.yml", inputs: { who: "slow", wait: "3" } });
      const queued = await api(s, "POST", "/api/runs", admin, { repository: "acme/app", ref: "other", event: "workflow_dispatch", workflow: "ci.yml", inputs: { who: "queued" } });
      expect([slow.status, queued.status]).toEqual([202, 202]);
      expect((await api(s, "GET", `/api/launches/${queued.json.launch as number}`, admin)).json.state).toBe("waiting");
      const slowRun = await until("the slow run's sleep step", async () => {
        const runs = (await api(s, "GET", "/api/runs?status=in_progress", admin)).json.runs as RunJson[];
        const run = runs[0];
        if (!run) return undefined;
        const d = (await api(s, "GET", `/api/runs/${run.id}`, admin)).json as { jobs: Array<{ steps: Array<{ status: string }> }> };
        return d.jobs[0]?.steps[1]?.status === "in_progress" ? run : undefined;
      });
      const killed = new Promise((r) => s.child.once("exit", r));
      s.child.kill("SIGKILL");
      await killed;

      s = await startServer(dataDir, ["--parallel-events", "1"]);
      expect(s.admin).toBe(""); // tokens exist: no new admin token is printed
      const done = async (launch: number) =>
        until(`launch ${launch} done`, async () => {
          const l = (await api(s, "GET", `/api/launches/${launch}`, admin)).json as { state: string; runs: number[] };
          return l.state === "done" ? l : undefined;
        });
      const first = await done(slow.json.launch as number);
      expect(first.runs).toEqual([slowRun.id]);
      const second = await done(queued.json.launch as number);
      expect(second.runs).toHaveLength(1);
      for (const [id, who] of [
        [slowRun.id, "slow"],
        [second.runs[0], "queued"],
      ] as const) {
        const run = (await api(s, "GET", `/api/runs/${id}`, admin)).json as unknown as RunJson & { jobs: Array<{ id: number; steps: Array<{ conclusion: string }> }> };
        expect(run.conclusion).toBe("success");
        expect(run.jobs[0]?.steps.map((st) => st.conclusion)).toEqual(["success", "success"]);
        expect((await api(s, "GET", `/api/runs/${id}/jobs/${run.jobs[0]?.id}/log`, admin)).text).toContain(`who=${who}`);
      }
    } finally {
      s.child.kill("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
