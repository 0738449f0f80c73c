// (i) `slipway migrations lint` vs squawk on the same migration files: 1,000 and 10,000 statements in
// files of 100 statements (a realistic mix: tables, columns, indexes, constraints, backfills, drops),
// each tool started as a process (start-up included), output in gcc format. Goal: ≤ 2× squawk's time.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, median, sideBySide, slipwayEntryPath, spread, timed } from "./lib.mjs";

export const id = "i";
export const title = "migrations lint vs squawk";

const SQUAWK = join(ROOT, "node_modules", ".bin", "squawk");

/** The n-th statement of the corpus (a mix of what real migrations hold, safe and unsafe). */
function statement(n) {
  const t = `table_${Math.floor(n / 10)}`;
  switch (n % 10) {
    case 0:
      return `CREATE TABLE IF NOT EXISTS ${t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
    case 1:
      return `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS email varchar(255)`;
    case 2:
      return `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${t}_email_idx ON ${t} (email)`;
    case 3:
      return `ALTER TABLE ${t} ADD CONSTRAINT ${t}_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) NOT VALID`;
    case 4:
      return `ALTER TABLE ${t} VALIDATE CONSTRAINT ${t}_owner_fk`;
    case 5:
      return `UPDATE ${t} SET name = lower(name) WHERE id BETWEEN ${n * 1000} AND ${n * 1000 + 999}`;
    case 6:
      return `ALTER TABLE ${t} ALTER COLUMN name SET NOT NULL`;
    case 7:
      return `CREATE INDEX ${t}_name_idx ON ${t} (name)`;
    case 8:
      return `ALTER TABLE ${t} RENAME COLUMN email TO email_address`;
    default:
      return `ALTER TABLE ${t} DROP COLUMN IF EXISTS legacy`;
  }
}

function writeCorpus(dir, statements) {
  mkdirSync(dir, { recursive: true });
  const perFile = 100;
  for (let f = 0; f * perFile < statements; f++) {
    const lines = ["SET lock_timeout = '2s';", "SET statement_timeout = '5s';"];
    for (let i = f * perFile; i < Math.min(statements, (f + 1) * perFile); i++) lines.push(`${statement(i)};`);
    writeFileSync(join(dir, `${String(f + 1).padStart(5, "0")}_migration.sql`), lines.join("\n") + "\n");
  }
  return readdirSync(dir)
    .sort()
    .map((f) => join(dir, f));
}

export async function run({ tmp, reps, log, sizes = [1000, 10_000] }) {
  const results = [];
  for (const size of sizes) {
    const dir = join(tmp, `i-migrations-${size}`);
    const files = writeCorpus(dir, size);
    // cpu: also the CPU time (user + sys) of the process and its children, steadier than wall time on a busy machine.
    const slipway = () => timed(process.execPath, [slipwayEntryPath(), "migrations", "lint", dir, "--format", "gcc"], { cwd: tmp, allowFailure: true, cpu: true });
    const squawk = () => timed(SQUAWK, ["--reporter", "gcc", ...files], { cwd: tmp, allowFailure: true, cpu: true });
    const cpu = { slipway: [], squawk: [] };
    // Once each first: both must find the unsafe statements (and slipway's compile cache is written).
    const [a, b] = [await slipway(), await squawk()];
    if (a.code !== 1 || b.code !== 1) throw new Error(`(i) expected both to report violations (exit 1): slipway ${a.code}, squawk ${b.code}\n${a.stderr}\n${b.stderr}`);
    const findings = { slipway: a.stdout.split("\n").filter(Boolean).length, squawk: b.stdout.split("\n").filter(Boolean).length };
    if (findings.slipway === 0 || findings.squawk === 0) throw new Error(`(i) expected both to print findings: slipway ${findings.slipway}, squawk ${findings.squawk}\n${a.stderr}\n${b.stderr}`);
    const result = await sideBySide(
      reps,
      async () => {
        const r = await slipway();
        cpu.slipway.push(r.cpuMs);
        return r.ms;
      },
      async () => {
        const r = await squawk();
        cpu.squawk.push(r.cpuMs);
        return r.ms;
      },
      (i, x, y) => log(`(i) ${size} statements ${i + 1}/${reps}: slipway ${x.toFixed(0)} ms, squawk ${y.toFixed(0)} ms`),
    );
    const ratio = median(result.a) / median(result.b);
    results.push({
      id: `i-${size}`,
      title,
      size: `${size.toLocaleString("en-US")} statements in ${files.length} files`,
      slipway: { label: `slipway migrations lint (${size.toLocaleString("en-US")} statements, start-up included)`, ...spread(result.a) },
      peer: { label: "squawk 2.61 on the same files", ...spread(result.b) },
      ratio,
      metric: { label: "time relative to squawk", value: ratio, unit: "×", goal: 2, goalText: "≤ 2× squawk", met: ratio <= 2 },
      breakdown: {
        "CPU time (user + sys), slipway": median(cpu.slipway),
        "CPU time (user + sys), squawk (its npm entry is a Node script that starts the native binary)": median(cpu.squawk),
        "CPU time ratio": `${(median(cpu.slipway) / median(cpu.squawk)).toFixed(2)}×`,
        "findings (gcc lines): slipway": String(findings.slipway),
        "findings (gcc lines): squawk": String(findings.squawk),
      },
    });
  }
  return results;
}
