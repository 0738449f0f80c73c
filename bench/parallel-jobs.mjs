// (b) N independent trivial jobs (`run: true`) at `--parallel 2` vs
// `xargs -P2` running the same N commands, each through `bash -c true`.
//
// Goal: slipway / xargs ≤ 1.5×. Also reported, from slipway.db: the median
// job duration (started_at → completed_at) and the span from the first job's
// start to the last job's end.
import { join } from "node:path";
import { interleaved, makeRepo, median, slipwayRun, spread, stepTimings, timed, yamlList } from "./lib.mjs";

export const id = "b";
export const title = "jobs at --parallel 2";

export async function run({ tmp, jobs, reps, log }) {
  const lines = ["name: jobs", "on: push", "jobs:"];
  for (let i = 0; i < jobs; i++) lines.push(`  j${i}:`, "    runs-on: ubuntu-latest", "    steps:", "      - run: true");
  const repo = makeRepo(join(tmp, "b-repo"), { ".github/workflows/jobs.yml": yamlList(lines), "README.md": "bench\n" });
  const dataDir = join(tmp, "b-data");
  const args = ["--data-dir", dataDir, "-W", ".github/workflows/jobs.yml", "--parallel", "2"];
  const xargs = () => timed("xargs", ["-P2", "-I{}", "bash", "-c", "{}"], { cwd: tmp, input: "true\n".repeat(jobs), cpu: true });

  await slipwayRun(repo, args);
  await xargs();

  const jobMedian = [];
  const jobSpan = [];
  const cpu = { slipway: [], xargs: [] };
  const nodeStart = () => timed(process.execPath, ["-e", "0"], { cwd: tmp }).then((r) => r.ms);
  const [a, b, nodeMs] = await interleaved(
    reps,
    [
      async () => {
        const r = await slipwayRun(repo, args, { cpu: true });
        cpu.slipway.push(r.cpuMs);
        const t = stepTimings(dataDir);
        const byJob = new Map(t.steps.map((s) => [s.jobId, s]));
        if (t.run.conclusion !== "success" || byJob.size !== jobs) throw new Error(`(b) run ended ${t.run.conclusion} with ${byJob.size} jobs`);
        const js = [...byJob.values()];
        jobMedian.push(median(js.map((j) => j.jobCompleted - j.jobStarted)));
        jobSpan.push(Math.max(...js.map((j) => j.jobCompleted)) - Math.min(...js.map((j) => j.jobStarted)));
        return r.ms;
      },
      async () => {
        const r = await xargs();
        cpu.xargs.push(r.cpuMs);
        return r.ms;
      },
      nodeStart,
    ],
    (i, a, b, n) => log(`(b) ${i + 1}/${reps}: slipway ${a.toFixed(0)} ms, xargs ${b.toFixed(0)} ms, node -e 0 ${n.toFixed(0)} ms`),
  );
  const result = { a, b };
  const slipway = median(result.a);
  const peer = median(result.b);
  const ratio = slipway / peer;
  return {
    id,
    title,
    size: `${jobs} jobs`,
    slipway: { label: `slipway run --parallel 2: ${jobs} jobs × \`run: true\``, ...spread(result.a) },
    peer: { label: `xargs -P2: ${jobs} × bash -c true`, ...spread(result.b) },
    ratio,
    metric: { label: "slipway / xargs", value: ratio, unit: "×", goal: 1.5, goalText: "≤ 1.5×", met: ratio <= 1.5 },
    breakdown: {
      "one job, started_at → completed_at (median, slipway.db)": median(jobMedian),
      "first job start → last job end (slipway.db)": median(jobSpan),
      "xargs, per command per slot (xargs total × 2 / jobs)": (peer * 2) / jobs,
      "slipway, per job per slot (job span × 2 / jobs)": (median(jobSpan) * 2) / jobs,
      "start-up + teardown (slipway total − job span)": slipway - median(jobSpan),
      "the goal's budget (1.5 × xargs)": 1.5 * peer,
      "floor: Node.js starting and exiting (node -e 0) + xargs": median(nodeMs) + peer,
      "CPU time (user + sys, with child processes), slipway": median(cpu.slipway),
      "CPU time (user + sys, with child processes), xargs": median(cpu.xargs),
    },
  };
}
