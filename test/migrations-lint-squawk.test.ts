// Runs squawk (npm squawk-cli, offline) over the rules' corpus and reports how often it agrees with
// `slipway migrations lint` on the rules both have. Disagreements are explained in docs/migrations.md.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PG_VERSION, lintMigrations, RULE_LIST } from "../src/migrations/index.js";
import { CASES } from "../src/migrations/rules.cases.js";

const SQUAWK = resolve(import.meta.dirname, "../node_modules/.bin/squawk");
/** Measured when the comparison was written (see docs/migrations.md); the test fails if agreement drops. */
const MEASURED = 0.772;
const MARGIN = 0.03;

interface SquawkViolation {
  file: string;
  rule_name: string;
}

function runSquawk(files: string[], args: string[]): SquawkViolation[] {
  let out: string;
  try {
    out = execFileSync(SQUAWK, ["--reporter", "json", ...args, ...files], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch (e) {
    // Exit 1: violations found; the JSON is on stdout all the same.
    out = String((e as { stdout?: string }).stdout ?? "");
  }
  return JSON.parse(out || "[]") as SquawkViolation[];
}

describe("agreement with squawk on the shared rules", () => {
  const dir = mkdtempSync(join(tmpdir(), "slipway-squawk-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports the agreement rate per rule and overall", async () => {
    const shared = new Set(RULE_LIST.filter((r) => r.squawk).map((r) => r.id));
    // Cases with the same options run in one squawk process.
    const groups = new Map<string, { args: string[]; files: string[] }>();
    const ours = new Map<string, Set<string>>();
    for (const [i, k] of CASES.entries()) {
      const pg = k.options?.pgVersion ?? DEFAULT_PG_VERSION;
      const args = [`--pg-version=${pg}.0`, ...(k.options?.assumeInTransaction ? ["--assume-in-transaction"] : []), ...(k.options?.disable?.length ? [`--exclude=${k.options.disable.join(",")}`] : [])];
      const key = args.join(" ");
      if (!groups.has(key)) groups.set(key, { args, files: [] });
      const group = groups.get(key)!;
      const groupDir = join(dir, key.replace(/[^a-z0-9]+/gi, "_"));
      mkdirSync(groupDir, { recursive: true });
      const file = join(groupDir, `case${String(i).padStart(3, "0")}.sql`);
      writeFileSync(file, k.sql);
      group.files.push(file);
      const files = [...(k.before !== undefined ? [{ file: "before.sql", sql: k.before }] : []), { file, sql: k.sql }];
      const r = await lintMigrations(files, k.options);
      ours.set(file, new Set(r.findings.filter((f) => f.file === file && shared.has(f.ruleId)).map((f) => f.ruleId)));
    }
    const theirs = new Map<string, Set<string>>();
    for (const g of groups.values()) {
      for (const v of runSquawk(g.files, g.args)) {
        if (!shared.has(v.rule_name)) continue;
        const set = theirs.get(v.file) ?? new Set<string>();
        set.add(v.rule_name);
        theirs.set(v.file, set);
      }
    }
    // Per rule: cases both flag, only slipway flags, only squawk flags.
    const rows = new Map<string, { both: number; ours: number; theirs: number; cases: string[] }>();
    for (const id of shared) rows.set(id, { both: 0, ours: 0, theirs: 0, cases: [] });
    for (const [file, mine] of ours) {
      const other = theirs.get(file) ?? new Set<string>();
      for (const id of new Set([...mine, ...other])) {
        const row = rows.get(id)!;
        if (mine.has(id) && other.has(id)) row.both++;
        else {
          if (mine.has(id)) row.ours++;
          else row.theirs++;
          row.cases.push(`${file.split("/").pop()}${mine.has(id) ? "+" : "-"}`);
        }
      }
    }
    let both = 0;
    let total = 0;
    const lines = ["rule                                          both  slipway-only  squawk-only  agreement"];
    for (const [id, r] of [...rows].sort()) {
      const n = r.both + r.ours + r.theirs;
      both += r.both;
      total += n;
      lines.push(`${id.padEnd(46)}${String(r.both).padStart(4)}  ${String(r.ours).padStart(12)}  ${String(r.theirs).padStart(11)}  ${n ? ((100 * r.both) / n).toFixed(0).padStart(8) + "%" : "       -"}${r.cases.length ? "  " + r.cases.slice(0, 8).join(" ") : ""}`);
    }
    const rate = total ? both / total : 1;
    lines.push(`overall: ${both}/${total} = ${(100 * rate).toFixed(1)}% (a case and rule count when either tool flags it)`);
    console.log(lines.join("\n"));
    expect(total).toBeGreaterThan(100);
    expect(rate).toBeGreaterThanOrEqual(MEASURED - MARGIN);
  });
});
