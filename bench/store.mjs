// (l) The store on PostgreSQL vs the embedded SQLite (issue 4): the same
// workload — `slipway run --parallel 2` of N trivial jobs, every job, step
// and result a row — with SLIPWAY_DATABASE_URL naming a scratch database on
// the local PostgreSQL (SLIPWAY_BENCH_PG, default
// postgres://postgres@127.0.0.1:5432/test) vs the data directory's SQLite
// file. The breakdown gives the time per job each adds.
import { createRequire } from "node:module";
import { join } from "node:path";
import { benchEnv, makeRepo, median, sideBySide, slipwayRun, spread, yamlList } from "./lib.mjs";

export const id = "l";
const require = createRequire(import.meta.url);
const SERVER = process.env.SLIPWAY_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/test";

async function admin(sql) {
  const { Client } = require("pg");
  const c = new Client({ connectionString: SERVER });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function run({ tmp, jobs, reps, log }) {
  const name = `slipway_bench_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS ${name}`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  try {
    const lines = ["name: jobs", "on: push", "jobs:"];
    for (let i = 0; i < jobs; i++) lines.push(`  j${i}:`, "    runs-on: ubuntu-latest", "    steps:", "      - run: true");
    const repo = makeRepo(join(tmp, "l-repo"), { ".github/workflows/jobs.yml": yamlList(lines), "README.md": "bench\n" });
    const args = (dataDir) => ["--data-dir", dataDir, "-W", ".github/workflows/jobs.yml", "--parallel", "2"];
    const onPostgres = () => slipwayRun(repo, args(join(tmp, "l-data-pg")), { env: benchEnv({ SLIPWAY_DATABASE_URL: url.toString() }) });
    const onSqlite = () => slipwayRun(repo, args(join(tmp, "l-data-sqlite")));
    // Warm both (schema made, caches filled).
    await onPostgres();
    await onSqlite();
    const result = await sideBySide(
      reps,
      async () => (await onPostgres()).ms,
      async () => (await onSqlite()).ms,
      (i, a, b) => log(`(l) ${i + 1}/${reps}: ${jobs} jobs, PostgreSQL ${a.toFixed(0)} ms, SQLite ${b.toFixed(0)} ms`),
    );
    const pg = median(result.a);
    const sqlite = median(result.b);
    const ratio = pg / sqlite;
    return {
      id: "l",
      title: "store: PostgreSQL vs SQLite",
      size: `${jobs} jobs`,
      slipway: { label: `slipway run --parallel 2, ${jobs} jobs, store on PostgreSQL (loopback)`, ...spread(result.a) },
      peer: { label: "the same, store on the embedded SQLite", ...spread(result.b) },
      ratio,
      metric: { label: "PostgreSQL / SQLite", value: ratio, unit: "×", goal: null, goalText: "(none set)", met: null },
      breakdown: { "added per job on PostgreSQL ((PostgreSQL − SQLite) / jobs)": (pg - sqlite) / jobs },
    };
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
