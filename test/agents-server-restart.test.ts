// Issue 4: the server killed with SIGKILL and restarted (same data directory
// and port) while a runner agent streams a job's log. The agent retries its
// log chunks and heartbeats until the server is back; the run (its `slipway
// run --queue` outlives the server) finishes; no log line the agent sent is
// lost or doubled.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentToken, completedRuns, pushRepo, query, startAgent, stopAgent, stopServer, type AgentProcess } from "./helpers/agents.js";
import { freePort } from "./helpers/net.js";
import { api, startServer, until, type Started } from "./helpers/server.js";

const LINES = 60;
const RETRYING = /retry|unreachable|ECONNREFUSED|fetch failed/i;

describe("server SIGKILL and restart with an agent mid-job", () => {
  const dirs: string[] = [];
  let agent: AgentProcess | undefined;
  let s: Started | undefined;
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await stopServer(s);
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it("the run finishes and the job's log has every line once", { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-restart-"));
    const marks = mkdtempSync(join(tmpdir(), "slipway-restart-marks-"));
    dirs.push(dataDir, marks);
    const port = await freePort();
    const env = { SLIPWAY_JOB_QUEUE: "on", SLIPWAY_AGENT_LEASE_SECONDS: "15" };
    Object.assign(process.env, env);
    let first: Started;
    try {
      first = await startServer(dataDir, ["--port", String(port)]);
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
    s = first;
    agent = startAgent(first, await agentToken(first), "steady", ["restart"]);
    const workflow = `name: Long
on: push
jobs:
  long:
    runs-on: [self-hosted, restart]
    steps:
      - run: |
          for n in $(seq 1 ${LINES}); do
            echo "line $n of ${LINES}"
            [ "$n" = 15 ] && touch "${marks}/halfway"
            sleep 0.1
          done
`;
    await pushRepo(first, "acme/long", { ".github/workflows/long.yml": workflow });
    await until("the job halfway", async () => (existsSync(join(marks, "halfway")) ? true : undefined), 60_000);

    const exited = new Promise((r) => first.child.once("exit", r));
    first.child.kill("SIGKILL");
    await exited;
    // The server stays down until the agent has met its absence: a restart
    // faster than the agent's next request (200 ms between log chunks) would
    // test nothing.
    await until("the agent finding the server gone", async () => (RETRYING.test(agent!.out()) ? true : undefined), 30_000);
    Object.assign(process.env, env);
    try {
      // The admin token is in the store (hashed): the restarted server prints none.
      s = { ...(await startServer(dataDir, ["--port", String(port)])), admin: first.admin };
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
    const second = s;
    expect(second.url).toBe(first.url);

    const [run] = await completedRuns(second, "acme/long", 1, 90_000);
    expect(run?.conclusion).toBe("success");
    const rows = query<{ job_id: number; state: string; result: string; attempt: number; agent: string }>(dataDir, "SELECT job_id, state, result, attempt, agent FROM job_queue WHERE run_id = ?", run?.id);
    expect(rows).toEqual([expect.objectContaining({ state: "finished", result: "success", attempt: 1, agent: "steady" })]);
    const log = (await api(second, "GET", `/api/runs/${run?.id}/jobs/${rows[0]?.job_id}/log`, second.admin)).text;
    for (let n = 1; n <= LINES; n++) expect(log.split(`line ${n} of ${LINES}\n`), `line ${n}`).toHaveLength(2);
  });
});
