// (mv) `slipway migrations verify` start-up on PGlite: the embedded database
// ready from the cached snapshot (data directory `migrations/pglite-<v>.tar.gz`)
// vs from nothing (initdb in WASM, which then writes the snapshot). The
// repository is the "must show" case: the previous release creates `users`
// and selects `email`, the new commit drops it (verify exits 1 each time).
// Measured: `startup.ms` of `--json` (from the call that opens the database
// to a ready database) and the wall time of the whole command.
//
//   node bench/migrations-verify.mjs [--repeat N]    (run `npm run build` first)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchEnv, fmtMs, makeRepo, median, slipwayEntryPath, spread, timed } from "./lib.mjs";

export const id = "mv";
export const title = "migrations verify start-up (PGlite)";

async function verify(repo, dataDir) {
  const r = await timed(process.execPath, [slipwayEntryPath(), "migrations", "verify", "--previous", "HEAD~1", "--dir", "db/migrations", "--data-dir", dataDir, "--json"], {
    cwd: repo,
    env: benchEnv(),
    allowFailure: true,
    cpu: true,
  });
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`(mv) verify printed no report (exit ${r.code}): ${r.stderr.slice(0, 1000)}`);
  }
  if (report.verdict !== "fail" || report.failures[0]?.error?.code !== "42703") throw new Error(`(mv) verify did not find the dropped column: ${r.stdout.slice(0, 500)}`);
  return { wall: r.ms, cpu: r.cpuMs, startup: report.startup.ms, fromSnapshot: report.startup.fromSnapshot };
}

export async function run({ tmp, reps, log }) {
  const repo = makeRepo(join(tmp, "mv-repo"), {
    "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n",
    "db/migrations/queries/users.sql": "SELECT id, email FROM users WHERE id = $1;\n",
  });
  const git = (...args) => timed("git", args, { cwd: repo, env: benchEnv({ HOME: repo }) });
  writeFileSync(join(repo, "db/migrations/002_drop_email.sql"), "ALTER TABLE users DROP COLUMN email;\n");
  await git("add", "-A");
  await git("commit", "-q", "-m", "drop email");

  const cold = [];
  const coldWall = [];
  const warm = [];
  const warmWall = [];
  const coldCpu = [];
  const warmCpu = [];
  for (let i = 0; i < reps; i++) {
    const dataDir = join(tmp, `mv-data-${i}`);
    const c = await verify(repo, dataDir);
    if (c.fromSnapshot) throw new Error("(mv) the first run of a fresh data directory used a snapshot");
    const w = await verify(repo, dataDir);
    if (!w.fromSnapshot) throw new Error("(mv) the second run did not use the snapshot");
    cold.push(c.startup);
    coldWall.push(c.wall);
    warm.push(w.startup);
    warmWall.push(w.wall);
    coldCpu.push(c.cpu);
    warmCpu.push(w.cpu);
    rmSync(dataDir, { recursive: true, force: true });
    log(`(mv) ${i + 1}/${reps}: from snapshot ${fmtMs(w.startup)} (command ${fmtMs(w.wall)}), from nothing ${fmtMs(c.startup)} (command ${fmtMs(c.wall)})`);
  }
  const value = median(warm);
  return {
    id,
    title,
    size: "2 migrations, 1 query",
    slipway: { label: "database ready from the cached snapshot", ...spread(warm) },
    peer: { label: "database ready from nothing (initdb, snapshot written)", ...spread(cold) },
    ratio: value / median(cold),
    metric: { label: "verify start-up from the cached snapshot", value, unit: "ms", goal: 1000, goalText: "≤ 1 s", met: value <= 1000 },
    breakdown: {
      "whole `slipway migrations verify`, from the snapshot": median(warmWall),
      "whole `slipway migrations verify`, from nothing": median(coldWall),
      "CPU time (user + sys) of the whole command, from the snapshot": median(warmCpu),
      "CPU time (user + sys) of the whole command, from nothing": median(coldCpu),
      "load average (1 min) at the end": loadavg()[0].toFixed(2),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--repeat");
  const reps = i > 0 ? Number(process.argv[i + 1]) : 3;
  const tmp = mkdtempSync(join(tmpdir(), "slipway-bench-mv-"));
  try {
    const r = await run({ tmp, reps, log: (s) => process.stderr.write(`${s}\n`) });
    process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
