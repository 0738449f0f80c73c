// `slipway server --database postgres://…`: the store on a real PostgreSQL
// (127.0.0.1:5432, a scratch database made and dropped here). A push runs its
// workflow (the run the server starts, and Git's receive hook, open the same
// database through the data directory's database-url), its jobs go through
// the job queue to a runner agent, and nothing is written to an SQLite file.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectPostgres, createScratchDatabase, type ScratchDatabase } from "../src/migrations/index.js";
import { agentToken, completedRuns, pushRepo, startAgent, stopAgent, stopServer, type AgentProcess } from "./helpers/agents.js";
import { describeResult, runCli } from "./helpers/cli.js";
import { api, startServer, type Started } from "./helpers/server.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

describe("slipway server on PostgreSQL", () => {
  let scratch: ScratchDatabase | undefined;
  let s: Started | undefined;
  let agent: AgentProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "slipway-server-pg-"));
  const dirs = [dataDir];
  const tempDir = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await stopServer(s);
    await scratch?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("runs a pushed workflow's jobs on an agent with its store in PostgreSQL", async () => {
    scratch = await createScratchDatabase(SERVER, "slipway_server_test");
    process.env.SLIPWAY_JOB_QUEUE = "on";
    try {
      s = await startServer(dataDir, ["--database", scratch.url]);
    } finally {
      delete process.env.SLIPWAY_JOB_QUEUE;
    }
    expect(statSync(join(dataDir, "database-url")).mode & 0o777).toBe(0o600);
    agent = startAgent(s, await agentToken(s), "pg-agent", ["ubuntu-latest"]);
    await pushRepo(s, "acme/pg", {
      ".github/workflows/ci.yml": "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo built on postgres\n  test:\n    needs: build\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo tested\n",
    });
    const [run] = await completedRuns(s, "acme/pg", 1, 60_000);
    expect(run?.conclusion, s.logs().slice(-2000)).toBe("success");
    const detail = (await api(s, "GET", `/api/runs/${run?.id}`, s.admin)).json as { jobs: Array<{ id: number; key: string; conclusion: string }> };
    expect(detail.jobs.map((j) => [j.key, j.conclusion])).toEqual([["build", "success"], ["test", "success"]]);
    const log = await api(s, "GET", `/api/runs/${run?.id}/jobs/${detail.jobs[0]?.id}/log`, s.admin);
    expect(log.text).toContain("built on postgres");

    // It is all in PostgreSQL: the runs, the queue the agent leased from, the tokens.
    const db = await connectPostgres(scratch.url);
    try {
      const count = async (table: string) => Number((await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.n);
      expect(await count("runs")).toBe(1);
      expect(await count("job_queue")).toBe(2);
      expect(await count("api_tokens")).toBeGreaterThanOrEqual(2);
      expect((await db.query<{ agent: string }>("SELECT DISTINCT agent FROM job_queue")).map((r) => r.agent)).toEqual(["pg-agent"]);
    } finally {
      await db.close();
    }
    expect(existsSync(join(dataDir, "slipway.db"))).toBe(false);

    // Other commands on the data directory use the same database.
    const tokens = await runCli(["tokens", "list", "--data-dir", dataDir, "--json"], { cwd: dataDir });
    expect(tokens.code, describeResult(tokens)).toBe(0);
    expect(tokens.stdout).toContain('"agents"');
  });

  it("two server replicas on one PostgreSQL (and one data directory) share the queue: their agents run every job once", async () => {
    const db = await createScratchDatabase(SERVER, "slipway_replicas_test");
    const shared = tempDir("slipway-replicas-");
    const replicas: Started[] = [];
    const agents: AgentProcess[] = [];
    try {
      process.env.SLIPWAY_JOB_QUEUE = "on";
      try {
        replicas.push(await startServer(shared, ["--database", db.url]));
        replicas.push(await startServer(shared, ["--database", db.url]));
      } finally {
        delete process.env.SLIPWAY_JOB_QUEUE;
      }
      const [a, b] = replicas as [Started, Started];
      // The admin token was made by the first replica; the second finds it in the shared database.
      expect((await api(b, "GET", "/api/whoami", a.admin)).status).toBe(200);
      const token = await agentToken(a);
      for (const [i, server] of [a, a, b, b].entries()) agents.push(startAgent(server, token, `replica-agent-${i}`, ["ubuntu-latest"]));
      const ledger = join(tempDir("slipway-replicas-ledger-"), "ledger");
      const jobs = Array.from({ length: 16 }, (_, i) => `  j${i}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "j${i} $RUNNER_NAME" >> ${ledger} && sleep 0.3\n`).join("");
      await pushRepo(a, "acme/replicas", { ".github/workflows/ci.yml": `on: push\njobs:\n${jobs}` });
      // Asked of the other replica (with the first one's admin token: the second made none).
      const [run] = await completedRuns({ ...b, admin: a.admin }, "acme/replicas", 1, 90_000);
      expect(run?.conclusion).toBe("success");
      const lines = readFileSync(ledger, "utf8").trim().split("\n");
      expect(lines.map((l) => l.split(" ")[0]).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `j${i}`).sort());
      const pg = await connectPostgres(db.url);
      try {
        const rows = await pg.query<{ agent: string; attempt: string }>("SELECT agent, attempt FROM job_queue");
        expect(rows).toHaveLength(16);
        expect(rows.every((r) => Number(r.attempt) === 1)).toBe(true);
        // Agents of both replicas leased jobs.
        const byAgent = new Set(rows.map((r) => r.agent));
        expect([...byAgent].some((n) => n === "replica-agent-0" || n === "replica-agent-1")).toBe(true);
        expect([...byAgent].some((n) => n === "replica-agent-2" || n === "replica-agent-3")).toBe(true);
      } finally {
        await pg.close();
      }
    } finally {
      await Promise.all(agents.map((x) => stopAgent(x)));
      for (const r of replicas) await stopServer(r);
      await db.drop();
    }
  });

  it("refuses a --database that is not a postgres:// URL, or that it cannot reach, with the fix", async () => {
    const bad = await runCli(["server", "--port", "0", "--data-dir", tempDir("slipway-pg-bad-"), "--database", "mysql://x/y"], { cwd: dataDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--database expects a postgres:// URL");
    const awayDir = tempDir("slipway-pg-away-");
    const away = await runCli(["server", "--port", "0", "--data-dir", awayDir, "--database", "postgres://postgres:pw@127.0.0.1:5432/slipway_no_such_db"], { cwd: dataDir });
    expect(away.code).toBe(2);
    expect(away.stderr).toMatch(/cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/slipway_no_such_db: .*does not exist/);
    expect(away.stderr).not.toContain(":pw@");
    // Nothing remembered: the data directory still opens its SQLite store.
    expect(existsSync(join(awayDir, "database-url"))).toBe(false);
  });
});
