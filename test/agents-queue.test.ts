// The job queue through real agents and a fake one speaking the agent API:
// runs-on label matching, cancellation reaching an agent mid-job, SIGTERM
// finishing the current job, log chunk dedupe, and expired leases retried
// and then failed as "agent lost". Leases are 2 s here, with 2 attempts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listCacheEntries } from "../src/actions/index.js";
import { FileBlobStore } from "../src/blobs/index.js";
import { api, startServer, until, type Started } from "./helpers/server.js";
import { agentToken, completedRuns, pushRepo, query, startAgent, stopAgent, stopServer, type AgentProcess } from "./helpers/agents.js";
import { describeResult, runCli } from "./helpers/cli.js";

const wf = (name: string, runsOn: string, steps: string) => `name: ${name}\non: push\njobs:\n  job:\n    runs-on: ${runsOn}\n    steps:\n${steps}`;

interface QueueRow {
  job_id: number;
  run_id: number;
  state: string;
  agent: string | null;
  attempt: number;
  result: string | null;
  reason: string | null;
}

describe("job queue and agents", () => {
  let s: Started;
  let dataDir: string;
  let token: string;
  const agents: AgentProcess[] = [];

  const queueOf = (repository: string) =>
    query<QueueRow>(dataDir, "SELECT q.* FROM job_queue q JOIN runs r ON r.id = q.run_id WHERE r.repository = ? ORDER BY q.job_id", repository);
  const jobLog = async (runId: number, jobId: number) => (await api(s, "GET", `/api/runs/${runId}/jobs/${jobId}/log`, s.admin)).text;
  const agent = (name: string, labels: string[]) => {
    const a = startAgent(s, token, name, labels);
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-agents-q-"));
    process.env.SLIPWAY_AGENT_LEASE_SECONDS = "2";
    process.env.SLIPWAY_JOB_ATTEMPTS = "2";
    process.env.SLIPWAY_JOB_QUEUE = "on";
    s = await startServer(dataDir);
    token = await agentToken(s);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a)));
    await stopServer(s);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses a token that is not an agent's, naming the fix, and a bad chunk, naming the field", async () => {
    const developer = (await api(s, "POST", "/api/tokens", s.admin, { name: "just-a-developer", role: "developer" })).json.token as string;
    const r = await api(s, "POST", "/api/agents/lease", developer, { name: "x", labels: [] });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatch(/--role developer --group agents/);
    const viewer = (await api(s, "POST", "/api/tokens", s.admin, { name: "just-a-viewer", role: "viewer", groups: ["agents"] })).json.token as string;
    expect((await api(s, "POST", "/api/agents/lease", viewer, { name: "x", labels: [] })).status).toBe(403);
    expect((await api(s, "POST", "/api/agents/lease", undefined, { name: "x", labels: [] })).status).toBe(401);
    const bad = await api(s, "POST", "/api/agents/jobs/1/logs", token, { name: "x", attempt: 1, events: [] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.details)).toContain("body.seq");
  });

  it("leaves a job whose labels no agent has queued, until an agent with them comes", async () => {
    agent("plain", ["pool"]);
    await pushRepo(s, "acme/labels", { ".github/workflows/gpu.yml": wf("GPU", "[self-hosted, gpu]", "      - run: echo on a gpu\n") });
    await until("the gpu job queued", async () => (queueOf("acme/labels")[0]?.state === "queued" ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(queueOf("acme/labels")[0]).toMatchObject({ state: "queued", agent: null, attempt: 0 });
    expect((await api(s, "GET", "/metrics", undefined)).text).toMatch(/^slipway_agent_jobs\{state="queued"\} 1$/m);
    agent("gpu-1", ["gpu"]);
    const [run] = await completedRuns(s, "acme/labels", 1, 40_000);
    expect(run?.conclusion).toBe("success");
    expect(queueOf("acme/labels")[0]).toMatchObject({ state: "finished", agent: "gpu-1", result: "success", attempt: 1 });
  });

  it("cancels a job mid-step on an agent when its run is cancelled; always() steps still run", async () => {
    await pushRepo(s, "acme/cancel", {
      ".github/workflows/c.yml": wf("Cancel", "[self-hosted, pool]", "      - run: |\n          echo started-long-step\n          sleep 60\n          echo never-printed\n      - if: always()\n        run: echo cleanup-ran\n"),
    });
    const q = await until("the job leased", async () => {
      const row = queueOf("acme/cancel")[0];
      return row?.state === "leased" ? row : undefined;
    }, 30_000);
    await until("the long step running", async () => ((await jobLog(q.run_id, q.job_id)).includes("started-long-step") ? true : undefined), 30_000);
    const t0 = Date.now();
    expect((await api(s, "POST", `/api/runs/${q.run_id}/cancel`, s.admin)).status).toBe(202);
    const [run] = await completedRuns(s, "acme/cancel", 1, 30_000);
    expect(run?.conclusion).toBe("cancelled");
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(queueOf("acme/cancel")[0]).toMatchObject({ state: "finished", result: "cancelled" });
    const log = await jobLog(q.run_id, q.job_id);
    expect(log).toContain("cleanup-ran");
    expect(log).not.toContain("never-printed");
    expect(agents.find((a) => a.name === q.agent)?.out()).toContain("job cancelled by the server");
  });

  it("sends a job's artifacts to the server's blob store, and refuses names and paths that leave their folder", async () => {
    const put = (path: string) =>
      fetch(`${s.url}${path}`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" }, body: "x" }).then(async (r) => ({ status: r.status, json: (await r.json()) as { error: string; details: Array<{ field: string }> } }));
    for (const name of ["a%2Fb", "a%5Cb", "a%00b"]) {
      const r = await put(`/api/agents/jobs/1/artifacts/${name}/files?name=fake&attempt=1&path=f.txt`);
      expect(r.status, name).toBe(400);
      expect(r.json.details[0]?.field).toBe("params.artifact");
      expect(r.json.error).toMatch(/use one without/);
    }
    for (const path of ["../x", "a/../../x", "/etc/passwd", "a\\b", "a%00b", "C:/x", "a//b"]) {
      const r = await put(`/api/agents/jobs/1/artifacts/ok/files?name=fake&attempt=1&path=${path.includes("%") ? path : encodeURIComponent(path)}`);
      expect(r.status, path).toBe(400);
      expect(r.json.details[0]?.field).toBe("query.path");
      expect(r.json.error).toMatch(/no '\.\.'/);
    }
    await pushRepo(s, "acme/artifacts", {
      ".github/workflows/a.yml": wf(
        "Artifacts",
        "[self-hosted, pool]",
        "      - run: |\n          mkdir -p out/sub\n          echo hello > out/a.txt\n          echo there > out/sub/b.txt\n      - uses: actions/upload-artifact@v4\n        with:\n          name: bundle\n          path: out\n",
      ),
    });
    const [run] = await completedRuns(s, "acme/artifacts", 1, 40_000);
    expect(run?.conclusion).toBe("success");
    const manifest = JSON.parse(readFileSync(join(dataDir, "artifacts", String(run?.id), "bundle.json"), "utf8")) as { files: Array<{ path: string; digest: string }> };
    expect(manifest.files.map((f) => f.path)).toEqual(["a.txt", "sub/b.txt"]);
    const blobs = new FileBlobStore(dataDir);
    expect(readFileSync(blobs.path(manifest.files[0]?.digest as `sha256:${string}`), "utf8")).toBe("hello\n");
    const q = queueOf("acme/artifacts")[0] as QueueRow;
    // The agent's own lines after the last step go to the job's log beside its steps'.
    expect(readFileSync(join(dataDir, "logs", String(q.run_id), String(q.job_id), "job.log"), "utf8")).toContain("Artifacts sent to the server: bundle");
  });

  it("deletes at start the work and step-file folders that killed agents and runs left behind", async () => {
    // A process id that existed and is gone now.
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    const left = [join(tmpdir(), `slipway-work-${gone}-agtest`), ...(existsSync("/dev/shm") ? [join("/dev/shm", `slipway-work-${gone}-agtest`)] : [])];
    for (const dir of left) {
      mkdirSync(join(dir, "1", "2"), { recursive: true });
      writeFileSync(join(dir, "1", "2", "script.sh"), "echo secret\n");
    }
    const a = agent("sweeper", ["sweep"]);
    await until("the folders deleted", async () => (left.every((d) => !existsSync(d)) ? true : undefined), 20_000);
    await until("the agent's log line", async () => (a.out().includes("deleted the work folders of agents and runs that are gone") ? true : undefined), 5_000);
  });

  it("finishes the current job on SIGTERM, reports it, and exits 0", async () => {
    const a = agent("draining", ["drain"]);
    await pushRepo(s, "acme/term", { ".github/workflows/t.yml": wf("Term", "[drain]", "      - run: |\n          echo begin\n          sleep 3\n          echo finished-after-sigterm\n") });
    const q = await until("the job leased by the draining agent", async () => {
      const row = queueOf("acme/term")[0];
      return row?.state === "leased" ? row : undefined;
    }, 30_000);
    await until("the step running", async () => ((await jobLog(q.run_id, q.job_id)).includes("begin") ? true : undefined), 30_000);
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const [run] = await completedRuns(s, "acme/term", 1, 20_000);
    expect(run?.conclusion).toBe("success");
    expect(await jobLog(q.run_id, q.job_id)).toContain("finished-after-sigterm");
    expect(a.out()).toMatch(/"msg":"agent stopped"/);
  });

  it("keeps one copy of a log chunk sent twice; retries an expired lease, then fails the job as agent lost", async () => {
    await pushRepo(s, "acme/fake", {
      ".github/workflows/d.yml": wf("Dedupe", "[fake-d]", "      - run: echo real agents never run this\n"),
      ".github/workflows/l.yml": wf("Lossy", "[fake-l]", "      - run: echo real agents never run this\n"),
    });
    const lease = async (label: string) => {
      const r = await api(s, "POST", "/api/agents/lease", token, { name: "fake", labels: [label], waitSeconds: 20 });
      expect(r.status).toBe(200);
      return r.json.job as { id: number; runId: number; attempt: number; payload: { jobKey: string } };
    };
    // Dedupe: the same chunk twice, then the result.
    const d = await lease("fake-d");
    expect(d.payload.jobKey).toBe("job");
    const chunk = { name: "fake", attempt: d.attempt, seq: 0, events: [{ type: "step-start", number: 1, name: "Say hello" }, { type: "line", step: 1, text: "hello exactly once" }, { type: "step-end", number: 1, outcome: "success", conclusion: "success" }] };
    expect((await api(s, "POST", `/api/agents/jobs/${d.id}/logs`, token, chunk)).json).toEqual({ duplicate: false });
    expect((await api(s, "POST", `/api/agents/jobs/${d.id}/logs`, token, chunk)).json).toEqual({ duplicate: true });
    expect((await api(s, "POST", `/api/agents/jobs/${d.id}/complete`, token, { name: "fake", attempt: d.attempt, result: "success" })).status).toBe(200);
    const log = await jobLog(d.runId, d.id);
    expect(log.split("hello exactly once")).toHaveLength(2);
    expect(log).toContain("##[step 1] Say hello: success");

    // Lease expiry: attempt 1 lost → queued again; attempt 2 lost → failed (2 attempts here).
    const l1 = await lease("fake-l");
    expect(l1.attempt).toBe(1);
    await until("the lease expired and the job queued again", async () => (queueOf("acme/fake").find((r) => r.job_id === l1.id)?.state === "queued" ? true : undefined), 10_000);
    const late = await api(s, "POST", `/api/agents/jobs/${l1.id}/heartbeat`, token, { name: "fake", attempt: 1 });
    expect(late.status).toBe(409);
    expect(late.json.error).toMatch(/stop the job/);
    const l2 = await lease("fake-l");
    expect(l2).toMatchObject({ id: l1.id, attempt: 2 });
    const runs = await completedRuns(s, "acme/fake", 2, 20_000);
    const row = queueOf("acme/fake").find((r) => r.job_id === l1.id);
    expect(row).toMatchObject({ state: "finished", result: "failure", attempt: 2 });
    expect(row?.reason).toMatch(/^agent lost: fake stopped renewing its lease on attempt 2 of 2/);
    const job = query<{ conclusion: string; reason: string }>(dataDir, "SELECT conclusion, reason FROM jobs WHERE id = ?", l1.id)[0];
    expect(job).toMatchObject({ conclusion: "failure" });
    expect(job?.reason).toMatch(/agent lost/);
    expect(runs.find((r) => r.workflow.endsWith("l.yml"))?.conclusion).toBe("failure");
    expect(runs.find((r) => r.workflow.endsWith("d.yml"))?.conclusion).toBe("success");
  });

  it("records which secrets a job an agent ran read, and only secrets the job was given", async () => {
    const set = await runCli(["secrets", "set", "DEPLOY_TOKEN", "--data-dir", dataDir], { cwd: dataDir, input: "agent-secret-value" });
    expect(set.code, describeResult(set)).toBe(0);
    agent("audit-1", ["audit"]);
    await pushRepo(s, "acme/audit", { ".github/workflows/a.yml": wf("Audit", "[self-hosted, audit]", '      - run: test "$T" = agent-secret-value\n        env: { T: "${{ secrets.DEPLOY_TOKEN }}" }\n') });
    const [run] = await completedRuns(s, "acme/audit", 1, 40_000);
    expect(run?.conclusion).toBe("success");
    const reads = query<{ name: string; run_id: number }>(dataDir, "SELECT name, run_id FROM secret_reads WHERE run_id = ?", run?.id);
    expect(reads).toEqual([{ name: "DEPLOY_TOKEN", run_id: run?.id }]);

    // A fake agent reporting a secret its job was not given: only the given one is recorded.
    const set2 = await runCli(["secrets", "set", "NOT_GIVEN", "--env", "elsewhere", "--data-dir", dataDir], { cwd: dataDir, input: "x" });
    expect(set2.code, describeResult(set2)).toBe(0);
    await pushRepo(s, "acme/audit-fake", { ".github/workflows/f.yml": wf("Fake", "[fake-audit]", "      - run: echo real agents never run this\n") });
    const leased = await api(s, "POST", "/api/agents/lease", token, { name: "fake-audit", labels: ["fake-audit"], waitSeconds: 20 });
    const job = leased.json.job as { id: number; attempt: number; secrets: Record<string, string> };
    expect(Object.keys(job.secrets)).toEqual(["DEPLOY_TOKEN"]);
    // A leased job gets only blobs that are files of its run's artifacts (this run has none).
    const blob = await api(s, "GET", `/api/agents/jobs/${job.id}/blobs/sha256:${"0".repeat(64)}?name=fake-audit&attempt=${job.attempt}`, token);
    expect(blob.status).toBe(404);
    expect(blob.json.error).toMatch(/no artifact of run \d+ has a file sha256:0+/);
    const done = await api(s, "POST", `/api/agents/jobs/${job.id}/complete`, token, { name: "fake-audit", attempt: job.attempt, result: "success", secretsRead: ["DEPLOY_TOKEN", "NOT_GIVEN"] });
    expect(done.status).toBe(200);
    expect(query<{ name: string }>(dataDir, "SELECT name FROM secret_reads WHERE job_id = ?", job.id)).toEqual([{ name: "DEPLOY_TOKEN" }]);
  });

  it("sends a job's summary, test reports and annotations to the server, where the run's API shows them", async () => {
    agent("reports-1", ["reports"]);
    const steps = [
      "      - run: |",
      "          echo '### Built on an agent' >> \"$GITHUB_STEP_SUMMARY\"",
      "          mkdir -p reports",
      "          printf '%s' '<testsuite name=\"unit\" tests=\"2\" failures=\"1\"><testcase classname=\"math\" name=\"adds\"/><testcase classname=\"math\" name=\"divides\"><failure message=\"expected 2\">at math.test.js:7:3</failure></testcase></testsuite>' > reports/unit.xml",
      '          echo "::error file=math.js,line=4,col=2,title=Division::by zero"',
      "      - uses: slipway/test-report@v1",
      "        with: { path: reports/*.xml }",
      "",
    ].join("\n");
    await pushRepo(s, "acme/reports", { ".github/workflows/r.yml": wf("Reports", "[self-hosted, reports]", steps) });
    const [run] = await completedRuns(s, "acme/reports", 1, 40_000);
    const detail = (await api(s, "GET", `/api/runs/${run?.id}`, s.admin)).json as {
      jobs: Array<{ id: number; summary: string | null }>;
      annotations: Array<Record<string, unknown>>;
      tests: { totals: { tests: number; failed: number }; jobs: Array<{ reports: Array<{ failures: Array<{ name: string; file: string; line: number }> }> }> } | null;
    };
    expect(detail.jobs[0]?.summary).toContain("### Built on an agent");
    // Its annotations too, with their place.
    expect(detail.annotations).toContainEqual({ job: detail.jobs[0]?.id, level: "error", title: "Division", message: "by zero", file: "math.js", line: 4, col: 2, step: expect.any(String) });
    expect(detail.tests?.totals).toMatchObject({ tests: 2, failed: 1 });
    expect(detail.tests?.jobs[0]?.reports[0]?.failures).toEqual([expect.objectContaining({ name: "divides", file: "math.test.js", line: 7 })]);
  });

  it("a job on another agent downloads an artifact an earlier job of the run uploaded, through the server", async () => {
    agent("maker-1", ["maker"]);
    agent("user-1", ["user"]);
    const workflow = [
      "name: Handover",
      "on: push",
      "jobs:",
      "  make:",
      "    runs-on: [self-hosted, maker]",
      "    steps:",
      "      - run: mkdir -p out/sub && echo built-by-maker > out/a.txt && echo nested > out/sub/b.txt",
      "      - uses: actions/upload-artifact@v4",
      "        with: { name: handover, path: out/ }",
      "  use:",
      "    needs: make",
      "    runs-on: [self-hosted, user]",
      "    steps:",
      "      - uses: actions/download-artifact@v4",
      "        with: { name: handover, path: got }",
      "      - run: test \"$(cat got/a.txt)\" = built-by-maker && test \"$(cat got/sub/b.txt)\" = nested",
      "",
    ].join("\n");
    await pushRepo(s, "acme/handover", { ".github/workflows/h.yml": workflow });
    const [run] = await completedRuns(s, "acme/handover", 1, 60_000);
    const rows = queueOf("acme/handover");
    expect(rows.map((r) => r.agent)).toEqual(["maker-1", "user-1"]);
    expect(run?.conclusion).toBe("success");
    // user-1's data folder never held the artifact: its step could only read it through the server.
    const detail = (await api(s, "GET", `/api/runs/${run?.id}`, s.admin)).json as { jobs: Array<{ id: number; key: string }> };
    const useLog = await jobLog(run?.id as number, detail.jobs.find((j) => j.key === "use")?.id as number);
    expect(useLog).toContain("Downloading artifact handover (2 files, 22 B)");
    // What the agent did outside the steps is in the job's log too.
    expect(useLog).toMatch(/##\[job\] outside the steps \(runner agent\)\n(.*\n)*Artifacts fetched from the server: handover\n/);
    // Once the job has finished, its lease is gone: nothing is served to it.
    const other = await api(s, "GET", `/api/agents/jobs/${rows[1]?.job_id}/blobs/sha256:${"0".repeat(64)}?name=user-1&attempt=1`, token);
    expect(other.status).toBe(409);
  });
  it("shares actions/cache through the server: a job on another agent restores what the first saved, under the run's repository", async () => {
    agent("cache-a", ["cache-a"]);
    agent("cache-b", ["cache-b"]);
    const workflow = [
      "name: Cache",
      "on: push",
      "jobs:",
      "  save:",
      "    runs-on: [self-hosted, cache-a]",
      "    steps:",
      "      - uses: actions/cache@v4",
      "        with: { path: deps, key: 'deps-${{ github.sha }}' }",
      "      - run: mkdir -p deps && echo made-on-a > deps/a.txt",
      "  restore:",
      "    needs: save",
      "    runs-on: [self-hosted, cache-b]",
      "    steps:",
      "      - id: cache",
      "        uses: actions/cache/restore@v4",
      "        with: { path: deps, key: 'deps-${{ github.sha }}', fail-on-cache-miss: true }",
      "      - run: test \"${{ steps.cache.outputs.cache-hit }}\" = true && test \"$(cat deps/a.txt)\" = made-on-a",
      "",
    ].join("\n");
    await pushRepo(s, "acme/cached", { ".github/workflows/c.yml": workflow });
    const [run] = await completedRuns(s, "acme/cached", 1, 60_000);
    expect(queueOf("acme/cached").map((r) => r.agent)).toEqual(["cache-a", "cache-b"]);
    const detail = (await api(s, "GET", `/api/runs/${run?.id}`, s.admin)).json as { jobs: Array<{ id: number; key: string }> };
    const logOf = (key: string) => jobLog(run?.id as number, detail.jobs.find((j) => j.key === key)?.id as number);
    expect(run?.conclusion, await logOf("restore")).toBe("success");
    expect(await logOf("save")).toContain("Cache shared with the server");
    expect(await logOf("restore")).toMatch(/Cache Size: .* \(from the server's cache\)/);
    // The server keeps it under the run's repository and ref.
    const entries = await listCacheEntries(dataDir);
    expect(entries).toEqual([expect.objectContaining({ repository: "acme/cached", scope: "refs/heads/main" })]);
  });
});

