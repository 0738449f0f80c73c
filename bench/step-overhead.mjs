// (a) Overhead per step: one job of N `run: true` steps through `slipway run`
// vs one bash script running the same N `true` commands.
//
// Goal: (slipway − bash) / N ≤ 10 ms. Also reported, from the store's step
// timings (started_at/completed_at of each step in slipway.db): the time
// inside a step and the gap between steps, and, as the floor any runner that
// gives each step its own shell process pays, N sequential spawns of
// `bash -e <script>` from Node.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { interleaved, makeRepo, median, slipwayRun, spread, stepTimings, timed, yamlList } from "./lib.mjs";

export const id = "a";
export const title = "overhead per step";

export async function run({ tmp, steps, reps, log }) {
  const workflow = yamlList([
    "name: steps",
    "on: push",
    "jobs:",
    "  steps:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    ...Array.from({ length: steps }, () => "      - run: true"),
  ]);
  const repo = makeRepo(join(tmp, "a-repo"), { ".github/workflows/steps.yml": workflow, "README.md": "bench\n" });
  const dataDir = join(tmp, "a-data");
  const script = join(tmp, "a-steps.sh");
  writeFileSync(script, "#!/usr/bin/env bash\nset -e\n" + "true\n".repeat(steps));
  const args = ["--data-dir", dataDir, "-W", ".github/workflows/steps.yml"];

  // Warm-up: creates the data directory and the database, and fills the page cache.
  await slipwayRun(repo, args);
  await timed("bash", [script]);

  // The floor: the same number of `bash -e` processes spawned one after the
  // other by a Node process and nothing else, as an executor at its leanest would.
  const stepScript = join(tmp, "a-one-step.sh");
  writeFileSync(stepScript, "true\n");
  const floorScript = join(tmp, "a-floor.mjs");
  writeFileSync(floorScript, FLOOR_SCRIPT);

  const inStep = [];
  const between = [];
  const jobSpan = [];
  const floor = [];
  const cpu = { slipway: [], bash: [], floor: [] };
  const [slipwayMs, bashMs] = await interleaved(
    reps,
    [
      async () => {
        const r = await slipwayRun(repo, args, { cpu: true });
        cpu.slipway.push(r.cpuMs);
        const t = stepTimings(dataDir);
        if (t.run.conclusion !== "success" || t.steps.length !== steps) throw new Error(`(a) run ended ${t.run.conclusion} with ${t.steps.length} steps`);
        const s = t.steps;
        inStep.push(median(s.map((x) => x.completed - x.started)));
        between.push(median(s.slice(1).map((x, i) => x.started - (s[i]?.completed ?? x.started))));
        jobSpan.push((s.at(-1).completed - s[0].started) / steps);
        return r.ms;
      },
      async () => {
        const r = await timed("bash", [script], { cpu: true });
        cpu.bash.push(r.cpuMs);
        return r.ms;
      },
      async () => {
        const r = await timed(process.execPath, [floorScript, String(steps), stepScript], { cpu: true });
        cpu.floor.push(r.cpuMs);
        floor.push(Number(r.stdout.trim()));
        return r.ms;
      },
    ],
    (i, a, b, f) => log(`(a) ${i + 1}/${reps}: slipway ${a.toFixed(0)} ms, bash ${b.toFixed(0)} ms, floor ${f.toFixed(0)} ms`),
  );
  const result = { a: slipwayMs, b: bashMs };

  const slipway = median(result.a);
  const bash = median(result.b);
  const perStep = (slipway - bash) / steps;
  return {
    id,
    title,
    size: `${steps} steps`,
    slipway: { label: `slipway run: 1 job × ${steps} \`run: true\``, ...spread(result.a) },
    peer: { label: `bash script: ${steps} × true`, ...spread(result.b) },
    ratio: slipway / bash,
    metric: { label: "(slipway − bash) / steps", value: perStep, unit: "ms/step", goal: 10, goalText: "≤ 10 ms/step", met: perStep <= 10 },
    breakdown: {
      "job span per step (first step start → last step end, from slipway.db)": median(jobSpan),
      "inside a step (median, slipway.db started_at → completed_at)": median(inStep),
      "between steps (median gap, slipway.db)": median(between),
      "floor: one `bash -e script` spawned from Node, per step": median(floor) / steps,
      "start-up + teardown (slipway total − job span)": slipway - median(jobSpan) * steps,
      "CPU time (user + sys, with child processes), slipway": median(cpu.slipway),
      "CPU time (user + sys, with child processes), bash": median(cpu.bash),
      "CPU time (user + sys, with child processes), floor (Node start-up included)": median(cpu.floor),
    },
  };
}

/** `node a-floor.mjs N FILE`: N sequential `bash -e FILE` with piped output; prints the loop's wall time in ms. */
const FLOOR_SCRIPT = `import { spawn } from "node:child_process";
const [n, file] = [Number(process.argv[2]), process.argv[3]];
const started = performance.now();
for (let i = 0; i < n; i++) {
  await new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", file], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.resume();
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", resolve);
  });
}
process.stdout.write(String(performance.now() - started));
`;
