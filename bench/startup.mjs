// (d) Start-up to the first step: from spawning `slipway run` to the first
// step's process running. The first step is `echo $EPOCHREALTIME > file`
// (a bash builtin: no extra process), compared with the wall clock read just
// before spawn(). The peer is the same script spawned directly as
// `bash -e script`: the cost of starting any process here. Also reported:
// a bare `node -e` (Node's own start-up) and, from slipway.db, when the run
// row and the first step row were written.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeRepo, median, sideBySide, slipwayRun, spread, stepTimings, timed, yamlList } from "./lib.mjs";

export const id = "d";
export const title = "start-up to the first step";

export async function run({ tmp, reps, log }) {
  const mark = join(tmp, "d-first-step");
  const workflow = yamlList([
    "name: startup",
    "on: push",
    "jobs:",
    "  first:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    `      - run: echo "$EPOCHREALTIME" > ${JSON.stringify(mark)}`,
  ]);
  const repo = makeRepo(join(tmp, "d-repo"), { ".github/workflows/startup.yml": workflow, "README.md": "bench\n" });
  const dataDir = join(tmp, "d-data");
  const args = ["--data-dir", dataDir, "-W", ".github/workflows/startup.yml"];
  const script = join(tmp, "d-first-step.sh");
  writeFileSync(script, `echo "$EPOCHREALTIME" > ${JSON.stringify(mark)}\n`);
  const markMs = () => Number(readFileSync(mark, "utf8").trim().replace(",", ".")) * 1000;

  await slipwayRun(repo, args);

  const toRun = [];
  const toStepRow = [];
  const totals = [];
  const result = await sideBySide(
    reps,
    async () => {
      writeFileSync(mark, "");
      const r = await slipwayRun(repo, args);
      const t = stepTimings(dataDir);
      const first = t.steps[0];
      if (t.run.conclusion !== "success" || !first) throw new Error(`(d) run ended ${t.run.conclusion}`);
      toRun.push(t.run.created - r.startedWall);
      toStepRow.push(first.started - r.startedWall);
      totals.push(r.ms);
      return markMs() - r.startedWall;
    },
    async () => {
      writeFileSync(mark, "");
      const r = await timed("bash", ["-e", script]);
      return markMs() - r.startedWall;
    },
    (i, a, b) => log(`(d) ${i + 1}/${reps}: slipway ${a.toFixed(0)} ms, bash ${b.toFixed(0)} ms`),
  );
  const node = [];
  for (let i = 0; i < Math.min(reps, 5); i++) {
    const r = await timed(process.execPath, ["-e", `require("fs").writeFileSync(${JSON.stringify(mark)}, String(Date.now() / 1000))`]);
    node.push(markMs() - r.startedWall);
  }
  const slipway = median(result.a);
  return {
    id,
    title,
    size: "1 job, 1 step",
    slipway: { label: "slipway run → first step's process running", ...spread(result.a) },
    peer: { label: "bash -e script → running", ...spread(result.b) },
    ratio: slipway / median(result.b),
    metric: { label: "start-up to the first step", value: slipway, unit: "ms", goal: 300, goalText: "≤ 300 ms", met: slipway <= 300 },
    breakdown: {
      "bare `node -e` → running (Node's own start-up)": median(node),
      "spawn → run row written (slipway.db runs.created_at)": median(toRun),
      "spawn → first step row written (slipway.db steps.started_at)": median(toStepRow),
      "whole `slipway run` of this one-step workflow": median(totals),
    },
  };
}
