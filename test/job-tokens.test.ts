// Job tokens end to end: a job `slipway server` runs calls the server's API
// and Git with `github.token`, as a GitHub job calls GitHub's with its
// GITHUB_TOKEN. What its `permissions:` grant on its own repository works;
// anything beyond them, another repository, or a route jobs may not call is
// refused with 403; once the job has finished its token is refused with 401.
// Run by the server itself and by a runner agent.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeResult, git, makeRepo, runCli } from "./helpers/cli.js";
import { agentToken, completedRuns, pushRepo, startAgent, stopAgent, stopServer, type AgentProcess } from "./helpers/agents.js";
import { api, startServer, type Started } from "./helpers/server.js";

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(d);
  return d;
}

// Each job runs probe.mjs: the requests of its plan, with its token (env
// TOKEN), each answered status written to $X/<job>.json; the token itself to
// $X/<job>.token for the test to use after the job.
const PROBE = `import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const { SLIPWAY_URL: url, TOKEN: token, GITHUB_JOB: job, GITHUB_RUN_ID: run, GITHUB_REPOSITORY: repo, X: x } = process.env;
const plans = {
  reader: [
    ["GET", "/api/whoami"],
    ["GET", "/api/runs?repository=" + repo],
    ["GET", "/api/runs/" + run],
    ["GET", "/api/runs?repository=acme/other"],
    ["GET", "/api/runs"],
    ["POST", "/api/runs/" + run + "/cancel"],
    ["GET", "/api/tokens"],
    ["POST", "/api/repos", { name: "acme/evil" }],
    ["GET", "/api/repos/" + repo + "/changes"],
    ["GIT", "ls-remote"],
    ["GIT", "push"],
  ],
  writer: [
    ["GET", "/api/whoami"],
    ["GET", "/api/runs?repository=" + repo],
    ["POST", "/api/runs", { repository: repo, event: "push" }],
    ["GIT", "push"],
  ],
  plain: [["GET", "/api/whoami"]],
};
const results = {};
for (const [method, path, body] of plans[job]) {
  const key = method + " " + path.replace(run, "RUN").replace(repo, "REPO");
  if (method === "GIT") {
    const remote = url + "/git/" + repo + ".git";
    const auth = ["-c", "http.extraHeader=Authorization: Bearer " + token];
    try {
      if (path === "ls-remote") execFileSync("git", [...auth, "ls-remote", remote], { stdio: "pipe" });
      else {
        const d = mkdtempSync(join(tmpdir(), "probe-"));
        const g = (...a) => execFileSync("git", ["-C", d, ...a], { stdio: "pipe" });
        g("init", "-q", "-b", "from-" + job);
        g("-c", "user.name=job", "-c", "user.email=job@example.com", "commit", "-q", "--allow-empty", "-m", "pushed by " + job);
        execFileSync("git", ["-C", d, ...auth, "push", "-q", remote, "HEAD:refs/heads/from-" + job], { stdio: "pipe" });
      }
      results[key] = { status: 0 };
    } catch (err) {
      results[key] = { status: err.status ?? -1, error: String(err.stderr ?? err.message) };
    }
    continue;
  }
  const res = await fetch(url + path, {
    method,
    headers: { authorization: "Bearer " + token, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  results[key] = { status: res.status, body: await res.json().catch(() => null) };
}
writeFileSync(join(x, job + ".json"), JSON.stringify(results, null, 2));
writeFileSync(join(x, job + ".token"), token);
`;

const workflow = (x: string) => `name: Probe
on: push
jobs:
  reader:
    runs-on: ubuntu-latest
    permissions: { contents: read, actions: read }
    steps:
      - uses: actions/checkout@v4
      - run: node probe.mjs
        env: { TOKEN: "\${{ github.token }}", X: "${x}" }
      - run: echo "secret token ${"$"}{{ secrets.GITHUB_TOKEN }}"
  writer:
    runs-on: ubuntu-latest
    permissions: { contents: write }
    steps:
      - uses: actions/checkout@v4
      - run: node probe.mjs
        env: { TOKEN: "\${{ github.token }}", X: "${x}" }
  plain:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: node probe.mjs
        env: { TOKEN: "\${{ secrets.GITHUB_TOKEN }}", X: "${x}" }
`;

type Results = Record<string, { status: number; body?: Record<string, unknown> | null; error?: string }>;
const read = (x: string, job: string): Results => JSON.parse(readFileSync(join(x, `${job}.json`), "utf8")) as Results;

/** Pushes the probe, waits for its run, and checks what each job saw; returns the reader's (now finished) token. */
async function probe(s: Started, repository: string): Promise<{ x: string; runId: number }> {
  const x = tempDir("slipway-job-token-x-");
  await pushRepo(s, repository, { "probe.mjs": PROBE, ".github/workflows/probe.yml": workflow(x) });
  const [run] = await completedRuns(s, repository, 1, 120_000);
  expect(run?.conclusion, s.logs().slice(-3000)).toBe("success");
  for (const job of ["reader", "writer", "plain"]) expect(existsSync(join(x, `${job}.json`)), job).toBe(true);

  const reader = read(x, "reader");
  const whoami = reader["GET /api/whoami"]?.body as { name: string; job: { repository: string; run: number; permissions: Record<string, string> } };
  expect(reader["GET /api/whoami"]?.status).toBe(200);
  expect(whoami.job.repository).toBe(repository);
  expect(whoami.job.run).toBe(run?.id);
  expect(whoami.job.permissions).toEqual({ contents: "read", actions: "read" });
  // Within its permissions, on its repository.
  expect(reader["GET /api/runs?repository=REPO"]?.status).toBe(200);
  expect(reader["GET /api/runs/RUN"]?.status).toBe(200);
  expect(reader["GIT ls-remote"]?.status).toBe(0);
  // Another repository, or none named.
  expect(reader["GET /api/runs?repository=acme/other"]).toMatchObject({ status: 403, body: { error: expect.stringContaining(`reaches only its own repository, ${repository}`) } });
  expect(reader["GET /api/runs"]).toMatchObject({ status: 403, body: { error: expect.stringContaining(`?repository=${repository}`) } });
  // Beyond its permissions: the message names the permission to grant.
  expect(reader["POST /api/runs/RUN/cancel"]).toMatchObject({ status: 403, body: { error: expect.stringContaining("needs `actions: write`") } });
  expect(reader["GET /api/repos/REPO/changes"]).toMatchObject({ status: 403, body: { error: expect.stringContaining("needs `pull-requests: read`") } });
  expect(reader["GIT push"]?.status).not.toBe(0);
  expect(reader["GIT push"]?.error).toMatch(/403|contents: write/);
  // Routes no job token may call.
  expect(reader["GET /api/tokens"]).toMatchObject({ status: 403, body: { error: expect.stringContaining("cannot call GET /api/tokens") } });
  expect(reader["POST /api/repos"]?.status).toBe(403);

  const writer = read(x, "writer");
  expect((writer["GET /api/whoami"]?.body as { job: { permissions: unknown } }).job.permissions).toEqual({ contents: "write" });
  expect(writer["GET /api/runs?repository=REPO"]?.status).toBe(403);
  expect(writer["POST /api/runs"]?.status).toBe(403);
  expect(writer["GIT push"]).toEqual({ status: 0 });
  // Without permissions anywhere: the restricted default.
  expect((read(x, "plain")["GET /api/whoami"]?.body as { job: { permissions: unknown } }).job.permissions).toEqual({ contents: "read", packages: "read" });
  return { x, runId: run?.id ?? 0 };
}

async function expectAfterTheRun(s: Started, repository: string, x: string, runId: number): Promise<void> {
  // The writer's push is in the repository, and started no run (as on GitHub).
  const admin = new URL(`${s.url}/git/${repository}.git`);
  admin.username = "me";
  admin.password = s.admin;
  expect(git(tempDir("slipway-ls-"), "ls-remote", admin.toString(), "refs/heads/from-writer")).toMatch(/refs\/heads\/from-writer/);
  expect(s.logs()).toContain("pushed by a job token: no runs started");
  const runs = (await api(s, "GET", `/api/runs?repository=${repository}&ref=refs/heads/from-writer`, s.admin)).json.runs as unknown[];
  expect(runs).toEqual([]);
  // The job has finished: its token is refused, with why.
  const token = readFileSync(join(x, "reader.token"), "utf8");
  expect(token).toMatch(/^slwj_/);
  const after = await api(s, "GET", `/api/runs/${runId}`, token);
  expect(after.status).toBe(401);
  expect(after.json.error).toMatch(/no longer running/);
  // Altered: refused.
  const altered = token.slice(0, -4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA");
  expect((await api(s, "GET", "/api/whoami", altered)).status).toBe(401);
  // Masked in the logs, as a secret.
  const detail = (await api(s, "GET", `/api/runs/${runId}`, s.admin)).json as { jobs: Array<{ id: number; key: string }> };
  const readerJob = detail.jobs.find((j) => j.key === "reader");
  const log = await api(s, "GET", `/api/runs/${runId}/jobs/${readerJob?.id}/log`, s.admin);
  expect(log.text).toContain("secret token ***");
  expect(log.text).not.toContain(token);
}

describe("job tokens", () => {
  it("slipway run has no server: github.token is empty, or the GITHUB_TOKEN given with -s (as act does)", async () => {
    const repo = makeRepo({
      ".github/workflows/ci.yml": `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: test -z "\${{ github.token }}" && test -z "\${SLIPWAY_URL:-}" && echo "no token"
`,
    });
    cleanup.push(repo);
    const bare = await runCli(["run"], { cwd: repo });
    expect(bare.code, describeResult(bare)).toBe(0);
    const given = makeRepo({
      ".github/workflows/ci.yml": `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: test "\${{ github.token }}" = "\${{ secrets.GITHUB_TOKEN }}" && test "\${{ github.token }}" = ghp_given && echo "token \${{ github.token }}"
`,
    });
    cleanup.push(given);
    const res = await runCli(["run", "-s", "GITHUB_TOKEN=ghp_given"], { cwd: given });
    expect(res.code, describeResult(res)).toBe(0);
    expect(res.stdout).toContain("token ***");
  });

  let s: Started | undefined;
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await stopServer(s);
  });

  it("a job the server runs reaches its own repository's API and Git within its permissions, and nothing else", async () => {
    s = await startServer(tempDir("slipway-job-token-"));
    const { x, runId } = await probe(s, "acme/app");
    await expectAfterTheRun(s, "acme/app", x, runId);
    await stopServer(s);
  });

  it("a job a runner agent runs gets its token too, for the server as the agent reaches it", async () => {
    process.env.SLIPWAY_JOB_QUEUE = "on";
    try {
      s = await startServer(tempDir("slipway-job-token-agent-"));
    } finally {
      delete process.env.SLIPWAY_JOB_QUEUE;
    }
    agent = startAgent(s, await agentToken(s), "token-agent", ["ubuntu-latest"]);
    const { x, runId } = await probe(s, "acme/agented");
    await expectAfterTheRun(s, "acme/agented", x, runId);
  });
});
