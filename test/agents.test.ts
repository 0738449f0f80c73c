// Issue 4's scale test: a server and 3 `slipway agent` processes on loopback
// run 300 jobs (two workflows of 150 matrix jobs each, pushed to a hosted
// repository); one agent is killed with SIGKILL while it holds a job. Every
// job ends in a definite state, no job runs twice at once (each step writes
// start and end lines with timestamps to a ledger outside the repository),
// and the logs of finished steps are complete.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, startServer, until, type Started } from "./helpers/server.js";
import { agentToken, completedRuns, pushRepo, query, startAgent, stopAgent, stopServer, type AgentProcess } from "./helpers/agents.js";

const LINES = 20;

function workflow(name: string, from: number, count: number): string {
  const list = Array.from({ length: count }, (_, i) => from + i).join(", ");
  return `name: ${name}
on: push
jobs:
  work:
    runs-on: [self-hosted, pool]
    strategy:
      fail-fast: false
      matrix:
        i: [${list}]
    steps:
      - run: |
          key="${name}-\${{ matrix.i }}"
          echo "start $key $(date +%s%N)" >> "$LEDGER"
          for n in $(seq 1 ${LINES}); do echo "line $n of $key"; done
          # Every 25th job is long: the agent is killed during one.
          if [ $(( \${{ matrix.i }} % 25 )) -eq 0 ]; then sleep 3; else sleep 0.05; fi
          echo "end $key $(date +%s%N)" >> "$LEDGER"
`;
}

describe("server + 3 agents, 300 jobs, one agent killed", () => {
  let s: Started;
  let dataDir: string;
  let ledgerDir: string;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-agents-"));
    ledgerDir = mkdtempSync(join(tmpdir(), "slipway-ledger-"));
    // Long enough that heartbeats on a loaded machine keep their leases; the killed agent's job waits for it.
    process.env.SLIPWAY_AGENT_LEASE_SECONDS = "5";
    process.env.SLIPWAY_JOB_QUEUE = "on";
    s = await startServer(dataDir);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a)));
    await stopServer(s);
    if (process.env.KEEP_AGENT_TEST_DATA) console.log(`kept ${dataDir} ${ledgerDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
    if (!process.env.KEEP_AGENT_TEST_DATA) rmSync(ledgerDir, { recursive: true, force: true });
  });

  it("runs every job to a definite state, none twice at once, with complete logs", { timeout: 170_000 }, async () => {
    const started = Date.now();
    const ledger = join(ledgerDir, "ledger.txt");
    writeFileSync(ledger, "");
    const token = await agentToken(s);
    for (const n of [1, 2, 3]) agents.push(startAgent(s, token, `agent-${n}`, ["pool"], { LEDGER: ledger }));
    await pushRepo(s, "acme/many", { ".github/workflows/a.yml": workflow("A", 1, 150), ".github/workflows/b.yml": workflow("B", 151, 150) });

    // Kill an agent during the step of a long job, once the work is well under way.
    await until("60 jobs started", async () => (readFileSync(ledger, "utf8").split("\n").filter((l) => l.startsWith("start")).length >= 60 ? true : undefined), 90_000);
    const victim = await until(
      "an agent in the middle of a long job",
      async () => {
        const text = readFileSync(ledger, "utf8");
        const r = await api(s, "GET", "/api/agents", s.admin);
        for (const a of r.json.agents as Array<{ name: string; jobs: Array<{ id: number }> }>) {
          for (const j of a.jobs) {
            const row = query<{ matrix: string; workflow_name: string }>(dataDir, "SELECT j.matrix, r.workflow_name FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = ?", j.id)[0];
            const i = row ? (JSON.parse(row.matrix) as { i: number }).i : 0;
            const key = `${row?.workflow_name ?? ""}-${i}`;
            if (i % 25 === 0 && text.includes(`start ${key} `) && !text.includes(`end ${key} `)) return agents.find((x) => x.name === a.name);
          }
        }
        return undefined;
      },
      60_000,
    );
    victim.child.kill("SIGKILL");
    await victim.exited;

    const runs = await completedRuns(s, "acme/many", 2, 150_000);
    const elapsed = Date.now() - started;

    // Every job ends in a definite state: success, or failed as "agent lost".
    const jobs = query<{ id: number; status: string; conclusion: string; reason: string | null; attempt: number; agent: string; state: string }>(
      dataDir,
      "SELECT j.id, j.status, j.conclusion, j.reason, q.attempt, q.agent, q.state FROM jobs j JOIN job_queue q ON q.job_id = j.id",
    );
    expect(jobs).toHaveLength(300);
    const failed = jobs.filter((j) => j.conclusion !== "success");
    if (failed.length > 0) console.log("jobs not successful:", JSON.stringify(failed), query(dataDir, "SELECT job_id, attempt, agent, state, result, reason, cancel_reason FROM job_queue WHERE result <> 'success'"));
    for (const j of jobs) {
      expect(j.status).toBe("completed");
      expect(j.state).toBe("finished");
      if (j.conclusion !== "success") expect(j.reason ?? "").toMatch(/agent lost/);
    }
    // The victim's job was taken again by another agent.
    const retried = jobs.filter((j) => j.attempt > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    for (const j of retried) expect(j.agent).not.toBe(victim.name);
    expect(runs.map((r) => r.conclusion)).toEqual(["success", "success"]);

    // No job ran twice at once: per job, each start comes after the previous end.
    const spans = new Map<string, Array<{ start: bigint; end?: bigint }>>();
    for (const line of readFileSync(ledger, "utf8").split("\n")) {
      const [kind, key, at] = line.split(" ");
      if (!key || !at) continue;
      const list = spans.get(key) ?? [];
      if (kind === "start") list.push({ start: BigInt(at) });
      else {
        const open = list.at(-1);
        expect(open && open.end === undefined, `end of ${key} without its start`).toBe(true);
        if (open) open.end = BigInt(at);
      }
      spans.set(key, list);
    }
    expect(spans.size).toBe(300);
    for (const [key, list] of spans) {
      expect(list.some((x) => x.end !== undefined), `${key} finished once`).toBe(true);
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as { start: bigint; end?: bigint };
        // A start without an end was the killed agent's: its step died with it, before the lease expired.
        expect((list[i] as { start: bigint }).start > (prev.end ?? prev.start), `${key} overlaps`).toBe(true);
      }
    }

    // The logs of finished steps are complete.
    const steps = query<{ job_id: number; conclusion: string; log_path: string; matrix: string; workflow_name: string }>(
      dataDir,
      "SELECT s.job_id, s.conclusion, s.log_path, j.matrix, r.workflow_name FROM steps s JOIN jobs j ON j.id = s.job_id JOIN runs r ON r.id = j.run_id WHERE s.status = 'completed'",
    );
    const finished = steps.filter((x) => x.conclusion === "success");
    expect(finished.length).toBeGreaterThanOrEqual(300);
    for (const step of finished) {
      const key = `${step.workflow_name}-${(JSON.parse(step.matrix) as { i: number }).i}`;
      const log = readFileSync(step.log_path, "utf8");
      for (let n = 1; n <= LINES; n++) expect(log).toContain(`line ${n} of ${key}\n`);
      expect(log.split(`line 1 of ${key}\n`)).toHaveLength(2);
    }
    // Through the API as well, for one job.
    const one = jobs[0] as { id: number };
    const run = query<{ run_id: number }>(dataDir, "SELECT run_id FROM jobs WHERE id = ?", one.id)[0] as { run_id: number };
    const text = (await api(s, "GET", `/api/runs/${run.run_id}/jobs/${one.id}/log`, s.admin)).text;
    expect(text).toMatch(/line 20 of [AB]-\d+/);
    console.log(`300 jobs on 3 agents (one killed): ${elapsed} ms; retried: ${retried.map((j) => `${j.id}×${j.attempt}`).join(", ")}`);
  });
});
