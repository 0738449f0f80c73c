// (k) Runner agents (issue 4): a `slipway server` on loopback with 1 and with
// 3 `slipway agent` processes.
//
// (k-dispatch) 60 one-step jobs (`echo`) pushed to a hosted repository: the
//   wall time from the push to the last job's completion, 3 agents vs 1
//   (each repetition on a fresh server); the breakdown gives the push to the
//   first step and the jobs per second.
// (k-logs) One job printing 50,000 lines, run by one agent (its log streamed
//   to the server in numbered chunks) vs run by `slipway run` on the same host
//   (written straight to the data directory): the job's time from its start
//   to its end in the store; the breakdown gives lines per second.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { benchEnv, makeRepo, median, sideBySide, slipwayEntryPath, slipwayRun, spread, timed } from "./lib.mjs";

export const id = "k";
const require = createRequire(import.meta.url);
const JOBS = 60;
const LOG_LINES = 50_000;

/** Starts `slipway server` with the job queue on; resolves with its URL, admin token and a stop function. */
function startServer(dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [slipwayEntryPath(), "server", "--port", "0", "--data-dir", dataDir], {
      env: benchEnv({ SLIPWAY_JOB_QUEUE: "on" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${out} ${err}`)), 30_000);
    const check = () => {
      const line = out.split("\n").find((l) => l.includes('"msg":"listening"'));
      const admin = /(slw_[A-Za-z0-9_-]+)/.exec(err)?.[1];
      if (!line || !admin) return;
      clearTimeout(timer);
      const stop = () => new Promise((r) => (child.exitCode !== null ? r() : (child.once("exit", r), child.kill("SIGTERM"))));
      resolve({ url: JSON.parse(line).url, admin, stop });
    };
    child.stdout.on("data", (c) => ((out += c), check()));
    child.stderr.on("data", (c) => ((err += c), check()));
    child.once("exit", (code) => reject(new Error(`the server exited (${code}): ${err}`)));
  });
}

async function api(server, method, path, body) {
  const res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${server.admin}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return res.json();
}

function startAgents(server, token, n, workRoot) {
  return Array.from({ length: n }, (_, i) => {
    const work = join(workRoot, `agent-${i}`);
    mkdirSync(work, { recursive: true });
    const child = spawn(process.execPath, [slipwayEntryPath(), "agent", "--server", server.url, "--token", token, "--labels", "bench", "--name", `bench-${i}`, "--work-dir", work], { env: benchEnv(), stdio: "ignore" });
    return { stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once("exit", r), child.kill("SIGTERM")))) };
  });
}

/** The jobs of the newest run of a data directory, with start and end times in ms, once all are completed. */
async function completedJobs(dataDir, count, timeoutMs) {
  const Database = require("better-sqlite3");
  const until = Date.now() + timeoutMs;
  for (;;) {
    const db = new Database(join(dataDir, "slipway.db"), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT started_at, completed_at, conclusion FROM jobs WHERE run_id = (SELECT max(id) FROM runs)").all();
      if (rows.length >= count && rows.every((r) => r.completed_at)) {
        const failed = rows.filter((r) => r.conclusion !== "success");
        if (failed.length > 0) throw new Error(`${failed.length} job(s) did not succeed`);
        return rows.map((r) => ({ started: Date.parse(r.started_at), completed: Date.parse(r.completed_at) }));
      }
    } catch (err) {
      if (!/no such table|unable to open|SQLITE_BUSY/.test(String(err))) throw err;
    } finally {
      db.close();
    }
    if (Date.now() > until) throw new Error(`the run did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pushes `workflow` to a fresh server with `agents` agents; the jobs' times and the push time. */
async function serverRun(tmp, tag, agents, workflow, jobs) {
  const dataDir = join(tmp, `k-${tag}-data`);
  const server = await startServer(dataDir);
  const token = (await api(server, "POST", "/api/tokens", { name: "agents", role: "developer", groups: ["agents"] })).token;
  const running = startAgents(server, token, agents, join(tmp, `k-${tag}-agents`));
  try {
    await api(server, "POST", "/api/repos", { name: "bench/agents" });
    const repo = makeRepo(join(tmp, `k-${tag}-repo`), { ".github/workflows/w.yml": workflow });
    // Let the agents register and start polling: the push then meets a waiting agent, as in steady operation.
    await new Promise((r) => setTimeout(r, 1500));
    const url = new URL(`${server.url}/git/bench/agents.git`);
    url.username = "bench";
    url.password = server.admin;
    const pushed = Date.now();
    await timed("git", ["push", "-q", url.toString(), "main"], { cwd: repo, env: benchEnv({ HOME: repo }) });
    return { pushed, jobs: await completedJobs(dataDir, jobs, 300_000) };
  } finally {
    await Promise.all(running.map((a) => a.stop()));
    await server.stop();
  }
}

const matrixWorkflow = () => `name: many
on: push
jobs:
  echo:
    runs-on: [self-hosted, bench]
    strategy:
      matrix:
        i: [${Array.from({ length: JOBS }, (_, i) => i).join(", ")}]
    steps:
      - run: echo job \${{ matrix.i }}
`;

const logWorkflow = (runsOn) => `name: logs
on: push
jobs:
  print:
    runs-on: ${runsOn}
    steps:
      - run: seq 1 ${LOG_LINES} | sed 's/^/log line /'
`;

export async function run({ tmp, reps, log }) {
  let n = 0;
  const latency = { 1: [], 3: [] };
  const dispatch = await sideBySide(
    reps,
    async () => {
      const r = await serverRun(tmp, `d3-${n++}`, 3, matrixWorkflow(), JOBS);
      latency[3].push(Math.min(...r.jobs.map((j) => j.started)) - r.pushed);
      return Math.max(...r.jobs.map((j) => j.completed)) - r.pushed;
    },
    async () => {
      const r = await serverRun(tmp, `d1-${n++}`, 1, matrixWorkflow(), JOBS);
      latency[1].push(Math.min(...r.jobs.map((j) => j.started)) - r.pushed);
      return Math.max(...r.jobs.map((j) => j.completed)) - r.pushed;
    },
    (i, a, b) => log(`(k) ${i + 1}/${reps}: ${JOBS} jobs, 3 agents ${a.toFixed(0)} ms, 1 agent ${b.toFixed(0)} ms`),
  );
  const dispatchRatio = median(dispatch.a) / median(dispatch.b);

  const localRepo = makeRepo(join(tmp, "k-local-repo"), { ".github/workflows/w.yml": logWorkflow("ubuntu-latest") });
  let m = 0;
  const logs = await sideBySide(
    reps,
    async () => {
      const r = await serverRun(tmp, `l-${m++}`, 1, logWorkflow("[self-hosted, bench]"), 1);
      return r.jobs[0].completed - r.jobs[0].started;
    },
    async () => {
      const dataDir = join(tmp, `k-local-data-${m++}`);
      await slipwayRun(localRepo, ["--data-dir", dataDir]);
      const [job] = await completedJobs(dataDir, 1, 60_000);
      return job.completed - job.started;
    },
    (i, a, b) => log(`(k) ${i + 1}/${reps}: ${LOG_LINES} lines, through an agent ${a.toFixed(0)} ms, slipway run ${b.toFixed(0)} ms`),
  );
  const logRatio = median(logs.a) / median(logs.b);
  return [
    {
      id: "k-dispatch",
      title: "agents: dispatch, 3 agents vs 1",
      size: `${JOBS} one-step jobs, push to last job done`,
      slipway: { label: `slipway server + 3 agents, push to the last of ${JOBS} jobs done`, ...spread(dispatch.a) },
      peer: { label: "the same with 1 agent", ...spread(dispatch.b) },
      ratio: dispatchRatio,
      metric: { label: "wall-time ratio", value: dispatchRatio, unit: "×", goal: null, goalText: "(none set)", met: null },
      breakdown: {
        "push to first step, 3 agents (median)": median(latency[3]),
        "push to first step, 1 agent (median)": median(latency[1]),
        "jobs per second, 3 agents": `${((JOBS / median(dispatch.a)) * 1000).toFixed(1)} jobs/s`,
        "jobs per second, 1 agent": `${((JOBS / median(dispatch.b)) * 1000).toFixed(1)} jobs/s`,
      },
    },
    {
      id: "k-logs",
      title: "agents: log streaming vs slipway run",
      size: `1 job printing ${LOG_LINES.toLocaleString("en")} lines`,
      slipway: { label: "the job on an agent, its log streamed to the server", ...spread(logs.a) },
      peer: { label: "the same job under slipway run (log written locally)", ...spread(logs.b) },
      ratio: logRatio,
      metric: { label: "job-time ratio", value: logRatio, unit: "×", goal: null, goalText: "(none set)", met: null },
      breakdown: {
        "lines per second through an agent": `${Math.round((LOG_LINES / median(logs.a)) * 1000).toLocaleString("en")} lines/s`,
        "lines per second under slipway run": `${Math.round((LOG_LINES / median(logs.b)) * 1000).toLocaleString("en")} lines/s`,
      },
    },
  ];
}
