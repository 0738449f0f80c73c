// (h) Critical-path scheduling vs first-come order: a workflow whose YAML
// lists six short jobs before a chain of two long ones, at --parallel 2. The
// first run of a fresh data directory has no earlier durations, so it starts
// jobs in the order they are declared (first-come); a run with history starts
// the chain first. Wall time of `slipway run`, side by side.
import { join } from "node:path";
import { makeRepo, median, sideBySide, slipwayRun, spread, yamlList } from "./lib.mjs";

export const id = "h";
export const title = "critical path vs first-come";

/** (h) Critical-path order vs first-come order, wall time of the whole run. */
export async function run({ tmp, reps, log }) {
  const short = 0.5;
  const long = 2;
  const lines = ["name: uneven", "on: push", "jobs:"];
  for (let i = 1; i <= 6; i++) lines.push(`  short${i}:`, "    runs-on: ubuntu-latest", "    steps:", `      - run: sleep ${short}`);
  lines.push("  long1:", "    runs-on: ubuntu-latest", "    steps:", `      - run: sleep ${long}`);
  lines.push("  long2:", "    needs: long1", "    runs-on: ubuntu-latest", "    steps:", `      - run: sleep ${long}`);
  const repo = makeRepo(join(tmp, "h-repo"), { ".github/workflows/uneven.yml": yamlList(lines), "README.md": "bench\n" });
  const history = join(tmp, "h-history");
  const args = (dataDir) => ["--data-dir", dataDir, "--parallel", "2", "-W", ".github/workflows/uneven.yml"];
  await slipwayRun(repo, args(history));
  let fresh = 0;
  const result = await sideBySide(
    reps,
    async () => (await slipwayRun(repo, args(history))).ms,
    async () => (await slipwayRun(repo, args(join(tmp, `h-fresh-${fresh++}`)))).ms,
    (i, a, b) => log(`(h) ${i + 1}/${reps}: critical path ${a.toFixed(0)} ms, first-come ${b.toFixed(0)} ms`),
  );
  const ratio = median(result.a) / median(result.b);
  return {
    id,
    title,
    size: `6 × ${short} s then ${long} s → ${long} s, --parallel 2`,
    slipway: { label: "slipway run with earlier durations (critical path first)", ...spread(result.a) },
    peer: { label: "slipway run on a fresh data directory (declaration order)", ...spread(result.b) },
    ratio,
    metric: { label: "wall-time ratio", value: ratio, unit: "×", goal: 1, goalText: "< 1× (shorter)", met: ratio < 1 },
    breakdown: { "ideal: the chain alone": (2 * long) * 1000, "first-come in theory: shorts, then the chain": (3 * short + 2 * long) * 1000 },
  };
}
