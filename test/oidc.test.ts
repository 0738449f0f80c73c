// OIDC end to end, as a job uses it on GitHub: a step trades
// ACTIONS_ID_TOKEN_REQUEST_TOKEN at ACTIONS_ID_TOKEN_REQUEST_URL for a JWT
// (curl), and the test verifies it with jose against the issuer's JWKS, found
// through its discovery document — in `slipway run` (loopback issuer) and in
// `slipway server` (the server's issuer at its public URL).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { OidcIssuer, oidcJobClaims, type OidcJob } from "../src/secrets/index.js";
import type { JobSpec, Workflow } from "../src/workflow/index.js";
import { describeResult, git, makeRepo, runCli, runsOf } from "./helpers/cli.js";
import { filesUnder } from "./helpers/files.js";
import { agentToken, query, startAgent, stopAgent, stopServer, type AgentProcess } from "./helpers/agents.js";
import { api, startServer, until, type RunJson, type Started } from "./helpers/server.js";

// `deploy` (environment prod, id-token: write at job level) requests a token
// for sts.example, then waits for `go`; `plain` (workflow-level
// contents: read) must see no variables; `after` (write-all) requests one
// with the default audience, then waits for `done`.
const workflow = (x: string) => `name: Deploy
on: push
permissions:
  contents: read
env:
  X: ${x}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: prod
    permissions:
      contents: read
      id-token: write
    steps:
      - run: |
          curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.example" > "$X/deploy.tmp"
          printf %s "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" > "$X/request-token"
          printf %s "$ACTIONS_ID_TOKEN_REQUEST_URL" > "$X/request-url"
          echo "request token: $ACTIONS_ID_TOKEN_REQUEST_TOKEN"
          mv "$X/deploy.tmp" "$X/deploy.json"
          for i in $(seq 900); do [ -f "$X/go" ] && break; sleep 0.1; done
  plain:
    runs-on: ubuntu-latest
    steps:
      - run: echo "url=\${ACTIONS_ID_TOKEN_REQUEST_URL:-none} token=\${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-none}" > "$X/plain.txt"
  after:
    needs: deploy
    runs-on: ubuntu-latest
    permissions: write-all
    steps:
      - run: |
          curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL" > "$X/after.tmp"
          mv "$X/after.tmp" "$X/after.json"
          for i in $(seq 900); do [ -f "$X/done" ] && break; sleep 0.1; done
`;

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(d);
  return d;
}

async function fileOf(path: string): Promise<string> {
  return until(path, async () => (existsSync(path) ? readFileSync(path, "utf8") : undefined), 60_000);
}

/** The issuer found through its discovery document, and a verifier over its remote JWKS. */
async function discover(issuer: string): Promise<{ jwks: ReturnType<typeof createRemoteJWKSet>; discovery: Record<string, unknown> }> {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  expect(discovery).toMatchObject({
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks`,
    response_types_supported: ["id_token"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid"],
  });
  expect(discovery.claims_supported).toEqual(expect.arrayContaining(["sub", "repository", "job_workflow_ref", "environment", "run_id", "event_name"]));
  return { discovery, jwks: createRemoteJWKSet(new URL(discovery.jwks_uri as string)) };
}

interface Observed {
  issuer: string;
  deploy: JWTPayload;
  deployKid: string;
  after: JWTPayload;
  afterKid: string;
  rotatedKid?: string;
}

/**
 * While the run waits in `deploy` and then in `after`: verifies both tokens,
 * tries the refusals, and (rotate) rotates the keys between the two.
 */
async function exercise(x: string, dataDir: string, opts: { rotate?: () => Promise<string> } = {}): Promise<Observed> {
  const deployJwt = (JSON.parse(await fileOf(join(x, "deploy.json"))) as { value: string }).value;
  const requestUrl = readFileSync(join(x, "request-url"), "utf8");
  const requestToken = readFileSync(join(x, "request-token"), "utf8");
  expect(requestUrl).toMatch(/\/oidc\/token\?api-version=2\.0$/);
  const issuer = requestUrl.slice(0, requestUrl.indexOf("/oidc/token"));
  const { jwks } = await discover(issuer);
  const { payload: deploy, protectedHeader } = await jwtVerify(deployJwt, jwks, { issuer, audience: "sts.example", algorithms: ["RS256"] });
  expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "JWT" });
  expect(deploy.exp! - deploy.iat!).toBe(300);

  // A wrong audience is rejected.
  await expect(jwtVerify(deployJwt, jwks, { issuer, audience: "other.example" })).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" });
  // A token signed by this issuer's key ten minutes ago has expired: rejected.
  const past = new OidcIssuer({ dataDir, issuer, jobActive: () => true, now: () => Date.now() - 10 * 60_000 });
  const job: OidcJob = { workflow: { path: ".github/workflows/deploy.yml" } as Workflow, job: {} as JobSpec, jobId: 1, environment: null, github: { repository: "acme/app", ref: "refs/heads/main" } };
  const old = await past.mint(oidcJobClaims(job), "sts.example");
  await expect(jwtVerify(old, jwks, { issuer, audience: "sts.example" })).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });
  // Wrong and expired request tokens get 401.
  const ask = (token: string) => fetch(`${requestUrl}&audience=sts.example`, { headers: { authorization: `bearer ${token}` } });
  expect((await ask("not-a-token")).status).toBe(401);
  expect((await fetch(requestUrl)).status).toBe(401);
  const longAgo = new OidcIssuer({ dataDir, issuer, jobActive: () => true, now: () => Date.now() - 7 * 60 * 60_000 });
  const stale = await ask(longAgo.credentials(job).token);
  expect(stale.status).toBe(401);
  expect(((await stale.json()) as { error: string }).error).toMatch(/expired/);

  const rotatedKid = opts.rotate ? await opts.rotate() : undefined;
  writeFileSync(join(x, "go"), "");
  const afterJwt = (JSON.parse(await fileOf(join(x, "after.json"))) as { value: string }).value;
  const fresh = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks`));
  const { payload: after } = await jwtVerify(afterJwt, fresh, { issuer });
  // Signed before a rotation, still good within its lifetime.
  await jwtVerify(deployJwt, fresh, { issuer, audience: "sts.example" });
  // `deploy` has finished: its request token no longer works.
  const finished = await ask(requestToken);
  expect(finished.status).toBe(401);
  expect(((await finished.json()) as { error: string }).error).toMatch(/not running/);
  writeFileSync(join(x, "done"), "");
  return {
    issuer,
    deploy,
    deployKid: protectedHeader.kid as string,
    after,
    afterKid: decodeProtectedHeader(afterJwt).kid as string,
    ...(rotatedKid ? { rotatedKid } : {}),
  };
}

function expectClaims(o: Observed, expected: { repository: string; sha: string; runId: number }): void {
  const { repository, sha, runId } = expected;
  const owner = repository.split("/")[0];
  expect(o.deploy).toMatchObject({
    iss: o.issuer,
    aud: "sts.example",
    sub: `repo:${repository}:environment:prod`,
    repository,
    repository_owner: owner,
    ref: "refs/heads/main",
    ref_type: "branch",
    sha,
    workflow: "Deploy",
    workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
    environment: "prod",
    run_id: String(runId),
    run_number: "1",
    run_attempt: "1",
    event_name: "push",
  });
  expect(typeof o.deploy.actor).toBe("string");
  expect(typeof o.deploy.jti).toBe("string");
  expect(o.deploy.nbf).toBe(o.deploy.iat);
  // No environment: the ref subject; no audience asked: the owner's URL under the issuer.
  expect(o.after).toMatchObject({ sub: `repo:${repository}:ref:refs/heads/main`, aud: `${o.issuer}/${owner}`, run_id: String(runId) });
  expect(o.after).not.toHaveProperty("environment");
}

describe("OIDC tokens for jobs", () => {
  it("slipway run: a loopback issuer; the token verifies with jose and its claims match the job", async () => {
    const x = tempDir("slipway-oidc-x-");
    const repo = makeRepo({ ".github/workflows/deploy.yml": workflow(x) });
    cleanup.push(repo);
    const dataDir = tempDir("slipway-oidc-data-");
    const running = runCli(["run", "--data-dir", dataDir, "--json"], { cwd: repo, timeoutMs: 120_000 });
    const observed = await exercise(x, dataDir);
    const res = await running;
    expect(res.code, describeResult(res)).toBe(0);
    const run = runsOf(res.stdout)[0];
    expect(observed.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expectClaims(observed, { repository: run.repository, sha: git(repo, "rev-parse", "HEAD"), runId: run.id });
    expect(readFileSync(join(x, "plain.txt"), "utf8").trim()).toBe("url=none token=none");
    // The request token is masked in the log.
    const requestToken = readFileSync(join(x, "request-token"), "utf8");
    const stored = runCliLogText(dataDir, run.id);
    expect(stored).toContain("request token: ***");
    expect(stored).not.toContain(requestToken);
    // The issuer is gone with the run.
    await expect(fetch(`${observed.issuer}/.well-known/jwks`)).rejects.toThrow();
  });

  it("slipway run: read-all gives no variables; with --no-secrets (a fork's pull request) not even id-token: write does", async () => {
    const x = tempDir("slipway-oidc-none-");
    const repo = makeRepo({
      ".github/workflows/ci.yml": `on: push\npermissions: read-all\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "\${ACTIONS_ID_TOKEN_REQUEST_URL:-none}" > ${x}/a.txt\n  b:\n    runs-on: ubuntu-latest\n    permissions: { id-token: write }\n    steps:\n      - run: echo "\${ACTIONS_ID_TOKEN_REQUEST_URL:-none}" > ${x}/b.txt\n`,
    });
    cleanup.push(repo);
    const dataDir = tempDir("slipway-oidc-data-");
    const res = await runCli(["run", "--data-dir", dataDir, "--no-secrets"], { cwd: repo });
    expect(res.code, describeResult(res)).toBe(0);
    expect(readFileSync(join(x, "a.txt"), "utf8").trim()).toBe("none");
    expect(readFileSync(join(x, "b.txt"), "utf8").trim()).toBe("none");
    const again = await runCli(["run", "--data-dir", dataDir], { cwd: repo });
    expect(again.code, describeResult(again)).toBe(0);
    expect(readFileSync(join(x, "a.txt"), "utf8").trim()).toBe("none");
    expect(readFileSync(join(x, "b.txt"), "utf8").trim()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oidc\/token\?api-version=2\.0$/);
  });

  describe("slipway server", () => {
    let s: Started;
    let dataDir: string;
    afterAll(async () => {
      if (s?.child.exitCode === null) {
        const exited = new Promise((r) => s.child.once("exit", r));
        s.child.kill("SIGTERM");
        await exited;
      }
    });

    it("serves the issuer at its public URL; a pushed job's token verifies; rotation keeps earlier tokens valid", async () => {
      dataDir = tempDir("slipway-oidc-server-");
      s = await startServer(dataDir);
      expect((await api(s, "POST", "/api/repos", s.admin, { name: "acme/app" })).status).toBe(201);
      const x = tempDir("slipway-oidc-x-");
      const work = makeRepo({ ".github/workflows/deploy.yml": workflow(x) });
      cleanup.push(work);
      git(work, "push", "-q", `${s.url.replace("http://", `http://a:${s.admin}@`)}/git/acme/app.git`, "main");
      const sha = git(work, "rev-parse", "HEAD");
      const observed = await exercise(x, dataDir, {
        rotate: async () => {
          const r = await runCli(["oidc", "rotate", "--data-dir", dataDir, "--json"], { cwd: work });
          expect(r.code, describeResult(r)).toBe(0);
          const rotation = JSON.parse(r.stdout) as { kid: string; retained: Array<{ kid: string }> };
          const keys = ((await api(s, "GET", "/.well-known/jwks", undefined)).json.keys as Array<{ kid: string }>).map((k) => k.kid);
          expect(keys).toEqual([...rotation.retained.map((k) => k.kid), rotation.kid]);
          return rotation.kid;
        },
      });
      expect(observed.issuer).toBe(s.url);
      expect(observed.afterKid).toBe(observed.rotatedKid);
      expect(observed.deployKid).not.toBe(observed.rotatedKid);
      const run = await until("the run", async () => {
        const runs = (await api(s, "GET", `/api/runs?repository=acme/app&sha=${sha}&status=completed`, s.admin)).json.runs as RunJson[];
        return runs[0];
      });
      expect(run.conclusion).toBe("success");
      expectClaims(observed, { repository: "acme/app", sha, runId: run.id });
      expect(readFileSync(join(x, "plain.txt"), "utf8").trim()).toBe("url=none token=none");
      const detail = (await api(s, "GET", `/api/runs/${run.id}`, s.admin)).json as { jobs: Array<{ id: number; key: string }> };
      const deployJob = detail.jobs.find((j) => j.key === "deploy");
      const log = await api(s, "GET", `/api/runs/${run.id}/jobs/${deployJob?.id}/log`, s.admin);
      expect(log.text).toContain("request token: ***");
      expect(log.text).not.toContain(readFileSync(join(x, "request-token"), "utf8"));
    });
  });

  describe("slipway server with a runner agent", () => {
    let s: Started | undefined;
    let agent: AgentProcess | undefined;
    afterAll(async () => {
      if (agent) await stopAgent(agent);
      await stopServer(s);
    });

    it("a job an agent runs gets request credentials for the server's issuer: its token verifies, its claims match the job", async () => {
      const dataDir = tempDir("slipway-oidc-agent-");
      process.env.SLIPWAY_JOB_QUEUE = "on";
      try {
        s = await startServer(dataDir);
      } finally {
        delete process.env.SLIPWAY_JOB_QUEUE;
      }
      agent = startAgent(s, await agentToken(s), "oidc-agent", ["ubuntu-latest"]);
      expect((await api(s, "POST", "/api/repos", s.admin, { name: "acme/agented" })).status).toBe(201);
      const x = tempDir("slipway-oidc-agent-x-");
      const work = makeRepo({ ".github/workflows/deploy.yml": workflow(x) });
      cleanup.push(work);
      git(work, "push", "-q", `${s.url.replace("http://", `http://a:${s.admin}@`)}/git/acme/agented.git`, "main");
      const sha = git(work, "rev-parse", "HEAD");
      const observed = await exercise(x, dataDir);
      expect(observed.issuer).toBe(s.url);
      const started = s;
      const run = await until("the run", async () => {
        const runs = (await api(started, "GET", `/api/runs?repository=acme/agented&sha=${sha}&status=completed`, started.admin)).json.runs as RunJson[];
        return runs[0];
      });
      expect(run.conclusion).toBe("success");
      expectClaims(observed, { repository: "acme/agented", sha, runId: run.id });
      expect(readFileSync(join(x, "plain.txt"), "utf8").trim()).toBe("url=none token=none");
      // Every job ran on the agent, and the request token is masked in the log it streamed.
      const jobs = query<{ agent: string }>(dataDir, "SELECT q.agent FROM job_queue q WHERE q.run_id = ?", run.id);
      expect(jobs.map((j) => j.agent)).toEqual(["oidc-agent", "oidc-agent", "oidc-agent"]);
      const detail = (await api(s, "GET", `/api/runs/${run.id}`, s.admin)).json as { jobs: Array<{ id: number; key: string }> };
      const log = await api(s, "GET", `/api/runs/${run.id}/jobs/${detail.jobs.find((j) => j.key === "deploy")?.id}/log`, s.admin);
      expect(log.text).toContain("request token: ***");
      expect(log.text).not.toContain(readFileSync(join(x, "request-token"), "utf8"));
    });
  });
});

/** Every stored log line of a run (logs/<run>/…). */
function runCliLogText(dataDir: string, runId: number): string {
  return filesUnder(join(dataDir, "logs", String(runId)))
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
}
