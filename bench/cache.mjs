// (c) Cache save and restore of a folder of F files and B bytes through the
// built-in actions/cache, vs `tar -cf - data | zstd -T0 -3 > f` and
// `zstd -d -c f | tar -xf -` of the same folder (level 3 with -T0 is what
// src/actions/builtin/cache.ts archives with; restore is plain `zstd -d`).
//
// One repetition, with a fresh data directory:
//   run 1 (miss): actions/cache misses, a step copies the folder into the
//     workspace (then `sync`, so the save reads clean pages as tar does), and
//     the post step saves it;
//   run 2 (hit): actions/cache restores it (cache-hit true), a step counts
//     the files (and, the first time, checks every file's name, size and
//     bytes against the source).
// Durations are the store's: the steps table's started_at → completed_at of
// "Post restore" (save) and "restore" (restore) in <data-dir>/slipway.db, so
// they hold everything the step does (lookup, globbing, tar, zstd, hashing
// into the blob store, the index entry) and nothing else. The page cache is
// flushed with `sync` between measurements, on both sides.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { generateDataset } from "./dataset.mjs";
import { cleanDir, makeRepo, median, sideBySide, slipwayRun, spread, stepTimings, timed, yamlList } from "./lib.mjs";

export const id = "c";
export const title = "Cache save and restore";

const DIGEST = `(find data -type f -printf '%P %s\\n' | LC_ALL=C sort; find data -type f -print0 | LC_ALL=C sort -z | xargs -0 cat) | sha256sum`;

export async function run({ tmp, cacheFiles, cacheBytes, reps, log }) {
  const src = join(tmp, "c-src");
  const t0 = Date.now();
  const dataset = generateDataset(src, { files: cacheFiles, bytes: cacheBytes });
  log(`(c) generated ${cacheFiles} files, ${(cacheBytes / 1e6).toFixed(0)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const digest = (await timed("bash", ["-c", DIGEST], { cwd: src })).stdout.trim();
  await sync();

  const workflow = yamlList([
    "name: cache",
    "on: push",
    "jobs:",
    "  cache:",
    "    runs-on: ubuntu-latest",
    "    env:",
    `      BENCH_SRC: ${JSON.stringify(src)}`,
    `      BENCH_DIGEST: ${JSON.stringify(digest)}`,
    "    steps:",
    "      - name: restore",
    "        id: cache",
    "        uses: actions/cache@v4",
    "        with:",
    "          path: data",
    "          key: bench-data-v1",
    "      - name: fill",
    "        if: steps.cache.outputs.cache-hit != 'true'",
    '        run: cp -a "$BENCH_SRC/data" data && sync',
    "      - name: count",
    "        if: steps.cache.outputs.cache-hit == 'true'",
    `        run: test "$(find data -type f | wc -l)" = ${cacheFiles}`,
    "      - name: verify",
    "        if: steps.cache.outputs.cache-hit == 'true' && vars.BENCH_VERIFY == '1'",
    "        run: |",
    `          test "$(${DIGEST})" = "$BENCH_DIGEST"`,
    "          echo restored and verified",
  ]);
  const repo = makeRepo(join(tmp, "c-repo"), { ".github/workflows/cache.yml": workflow, "README.md": "bench\n" });
  const dataDir = join(tmp, "c-data");
  const args = ["--data-dir", dataDir, "-W", ".github/workflows/cache.yml"];
  const archive = join(tmp, "c-archive.tar.zst");
  const out = join(tmp, "c-out");

  // The first repetition checks every restored byte; the others count the files.
  const slipway = async (rep) => {
    cleanDir(dataDir);
    const missRun = await slipwayRun(repo, args);
    const miss = stepTimings(dataDir);
    const save = miss.steps.find((s) => s.name === "Post restore");
    if (miss.run.conclusion !== "success" || !save || save.conclusion !== "success") throw new Error(`(c) miss run: ${JSON.stringify(miss)}`);
    await sync();
    const hitRun = await slipwayRun(repo, [...args, ...(rep === 0 ? ["--var", "BENCH_VERIFY=1"] : [])]);
    const hit = stepTimings(dataDir);
    const restore = hit.steps.find((s) => s.name === "restore");
    // count and verify run only when cache-hit is 'true'.
    const check = hit.steps.find((s) => s.name === (rep === 0 ? "verify" : "count"));
    if (hit.run.conclusion !== "success" || !restore || check?.conclusion !== "success") throw new Error(`(c) hit run: ${JSON.stringify(hit)}`);
    await sync();
    const lastEnd = (t) => Math.max(...t.steps.map((x) => x.completed));
    return {
      save: save.completed - save.started,
      restore: restore.completed - restore.started,
      size: cacheEntrySize(dataDir),
      missRun: missRun.ms,
      hitRun: hitRun.ms,
      missTeardown: miss.steps[0].jobCompleted - lastEnd(miss),
      hitTeardown: hit.steps[0].jobCompleted - lastEnd(hit),
    };
  };
  const baseline = async () => {
    cleanDir(archive);
    cleanDir(out);
    const save = await timed("bash", ["-c", `set -o pipefail; tar -cf - data | zstd -q -T0 -3 > ${JSON.stringify(archive)}`], { cwd: src });
    await sync();
    await timed("mkdir", ["-p", out]);
    const restore = await timed("bash", ["-c", `set -o pipefail; zstd -q -d -c ${JSON.stringify(archive)} | tar -xf -`], { cwd: out });
    await sync();
    cleanDir(out);
    await sync();
    return { save: save.ms, restore: restore.ms, size: statSync(archive).size };
  };

  await timed("zstd", ["--version"]);
  const result = await sideBySide(reps, slipway, baseline, (i, a, b) =>
    log(`(c) ${i + 1}/${reps}: save ${a.save.toFixed(0)} vs ${b.save.toFixed(0)} ms, restore ${a.restore.toFixed(0)} vs ${b.restore.toFixed(0)} ms`),
  );
  cleanDir(dataDir);
  cleanDir(archive);

  const size = `${cacheFiles.toLocaleString("en-US")} files, ${(cacheBytes / 1e6).toFixed(0)} MB`;
  const make = (what, peerLabel) => {
    const s = result.a.map((r) => r[what]);
    const p = result.b.map((r) => r[what]);
    const ratio = median(s) / median(p);
    return {
      id: `${id}-${what}`,
      title: `cache ${what}`,
      size,
      slipway: { label: `actions/cache ${what === "save" ? "post step (save)" : "step (restore, cache-hit)"}`, ...spread(s) },
      peer: { label: peerLabel, ...spread(p) },
      ratio,
      metric: { label: `slipway / ${what === "save" ? "tar | zstd" : "zstd -d | tar"}`, value: ratio, unit: "×", goal: 1.3, goalText: "≤ 1.3×", met: ratio <= 1.3 },
    };
  };
  const save = make("save", "tar -cf - data | zstd -T0 -3 > f");
  const restore = make("restore", "zstd -d -c f | tar -xf -");
  const med = (k) => median(result.a.map((r) => r[k]));
  save.breakdown = {
    "dataset: random (incompressible) bytes": { bytes: dataset.binaryBytes },
    "archive size, slipway": { bytes: med("size") },
    "archive size, tar | zstd": { bytes: median(result.b.map((r) => r.size)) },
    "whole miss run: copy the folder in, save, remove the workspace": med("missRun"),
    "miss run: last step end → job completed (workspace removal)": med("missTeardown"),
  };
  restore.breakdown = {
    "whole hit run: restore, count the files, remove the workspace": med("hitRun"),
    "hit run: last step end → job completed (workspace removal)": med("hitTeardown"),
  };
  return [save, restore];
}

function sync() {
  return timed("sync", []);
}

/** Size of the one cache entry in the index (<dataDir>/cache/<scope>/<version>/<key>.json). */
function cacheEntrySize(dataDir) {
  const root = join(dataDir, "cache");
  for (const scope of readdirSync(root)) {
    for (const version of readdirSync(join(root, scope))) {
      for (const name of readdirSync(join(root, scope, version))) {
        if (name.endsWith(".json")) return JSON.parse(readFileSync(join(root, scope, version, name), "utf8")).size;
      }
    }
  }
  return NaN;
}
