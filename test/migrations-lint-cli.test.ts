// `slipway migrations lint` and `slipway migrations plan` as a user runs them: the built CLI through
// bin/slipway.js, exit codes (0 clean or warnings, 1 errors, 2 bad input), the output formats, slipway.yml's
// `lint.disable`, and the plan of a contract change.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = resolve(import.meta.dirname, "../bin/slipway.js");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "slipway-mig-"));
  dirs.push(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

function slipway(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "migrations", ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "", SLIPWAY_COMPILE_CACHE: join(cwd, ".cache") } });
  const out = `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(out).not.toMatch(/internal error|^\s+at .+:\d+:\d+\)?$/m);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out };
}

const SAFE = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);\n";

describe("slipway migrations lint", () => {
  it("bad SQL: a parse error with file:line:column and the fix, exit 2 (twice: with and without the compile cache)", () => {
    const dir = project({ "migrations/001_ok.sql": SAFE, "migrations/002_bad.sql": "-- ünïcode\nSELECT 1;\nALTER TABLE users ADD COLUMN x bigint;\n  ALTR TABLE users DROP COLUMN x;\n" });
    for (let i = 0; i < 2; i++) {
      const r = slipway(dir, "lint");
      expect(r.code, r.out).toBe(2);
      expect(r.stderr).toContain('migrations/002_bad.sql:4:3: syntax error at or near "ALTR" [parse-error] (fix: correct the SQL');
    }
  });

  it("a missing path is bad input with the fix; so is a repository without migrations/", () => {
    const dir = project({ "README.md": "x" });
    const missing = slipway(dir, "lint", "db/none.sql");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("db/none.sql: no such file or directory (fix:");
    const none = slipway(dir, "lint");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("migrations: no migrations directory (fix:");
  });

  it("exit 1 on errors, with rule, position, why and fix; gcc, github and JSON formats", () => {
    const dir = project({ "migrations/001.sql": SAFE, "migrations/002.sql": "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n\n  ALTER TABLE users DROP COLUMN IF EXISTS email;\n" });
    const text = slipway(dir, "lint");
    expect(text.code, text.out).toBe(1);
    expect(text.stdout).toContain("migrations/002.sql:4:3: error: drops column users.email [ban-drop-column]");
    expect(text.stdout).toMatch(/why: the running release still selects or writes this column/);
    expect(text.stdout).toMatch(/fix: deploy a release that no longer uses the column first/);
    expect(text.stdout).toContain("2 files, 6 statements: 1 error, 0 warnings");
    const gcc = slipway(dir, "lint", "--format", "gcc");
    expect(gcc.stdout.trim()).toBe("migrations/002.sql:4:3: error: drops column users.email [ban-drop-column]");
    const gh = slipway(dir, "lint", "--format", "github");
    expect(gh.stdout).toMatch(/^::error file=migrations\/002.sql,line=4,col=3,title=ban-drop-column::drops column users.email%0Awhy: /);
    const json = slipway(dir, "lint", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ ruleId: "ban-drop-column", severity: "error", file: "migrations/002.sql", line: 4, column: 3, message: "drops column users.email" }),
    ]);
  });

  it("exit 0 when clean or with warnings only; --pg-version and --assume-in-transaction change verdicts", () => {
    const dir = project({ "m/001.sql": SAFE + "ALTER TABLE users ADD COLUMN IF NOT EXISTS plan text DEFAULT 'free';\n" });
    expect(slipway(dir, "lint", "m").code).toBe(0);
    const old = slipway(dir, "lint", "m", "--pg-version", "10", "--format", "gcc");
    expect(old.code).toBe(1);
    expect(old.stdout).toContain("[adding-field-with-default]");
    const tx = slipway(dir, "lint", "m/001.sql", "--assume-in-transaction", "--format", "gcc");
    expect(tx.code).toBe(1);
    expect(tx.stdout).toContain("m/001.sql:3:1: error: CREATE INDEX CONCURRENTLY inside a transaction [ban-concurrent-index-creation-in-transaction]");
    const warn = project({ "migrations/1.sql": "CREATE TABLE IF NOT EXISTS t (id integer);\n" });
    const w = slipway(warn, "lint", "--format", "gcc");
    expect(w.code).toBe(0);
    expect(w.stdout).toContain("migrations/1.sql:1:1: warning: t.id is integer [prefer-bigint-over-int]");
    expect(slipway(dir, "lint", "--pg-version", "banana").code).toBe(2);
    expect(slipway(dir, "lint", "--format", "xml").code).toBe(2);
  });

  it("slipway.yml: the service's migrations dir is the default and its lint.disable turns rules off; unknown ids are bad input", () => {
    const yml = (disable: string) => `services:\n  api:\n    release: { file: api.tgz }\n    run: { command: node server.js }\n    migrations:\n      dir: db/migrations\n      database: env:DATABASE_URL\n      lint: { disable: [${disable}] }\n`;
    const files = { "api.tgz": "", "db/migrations/001.sql": SAFE + "ALTER TABLE users DROP COLUMN IF EXISTS email;\n" };
    const off = project({ ...files, "slipway.yml": yml("ban-drop-column") });
    const r = slipway(off, "lint", "--format", "gcc");
    expect(r.code, r.out).toBe(0);
    const on = project({ ...files, "slipway.yml": yml("prefer-jsonb") });
    expect(slipway(on, "lint", "--format", "gcc").stdout).toContain("db/migrations/001.sql:4:1: error: drops column users.email [ban-drop-column]");
    const bad = slipway(project({ ...files, "slipway.yml": yml("no-such-rule") }), "lint");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("services.api.migrations.lint.disable: unknown rule 'no-such-rule'");
  });
});

describe("slipway migrations plan", () => {
  it("prints each file's phase and, for a contract change, the expand/contract sequence", () => {
    const dir = project({
      "migrations/001_add.sql": "ALTER TABLE users ADD COLUMN IF NOT EXISTS full_name text;\n",
      "migrations/002_backfill.sql": "UPDATE users SET full_name = name WHERE id BETWEEN 1 AND 1000;\n",
      "migrations/003_rename.sql": "ALTER TABLE users RENAME COLUMN name TO display_name;\n",
    });
    const r = slipway(dir, "plan");
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain("migrations/001_add.sql  expand");
    expect(r.stdout).toContain("migrations/002_backfill.sql  data");
    expect(r.stdout).toContain("migrations/003_rename.sql  contract");
    expect(r.stdout).toMatch(/1:1 {2}contract {2}ALTER TABLE users RENAME COLUMN name TO display_name/);
    expect(r.stdout).toMatch(/1\. expand: ALTER TABLE users ADD COLUMN display_name <type>;\n\s+2\. expand: dual write/);
    expect(r.stdout).toContain("3 files: 1 expand, 1 data, 1 contract");
    const json = JSON.parse(slipway(dir, "plan", "--json").stdout) as { file: string; phase: string }[];
    expect(json.map((p) => [p.file, p.phase])).toEqual([
      ["migrations/001_add.sql", "expand"],
      ["migrations/002_backfill.sql", "data"],
      ["migrations/003_rename.sql", "contract"],
    ]);
    const bad = slipway(project({ "migrations/1.sql": "DROP TABLE" }), "plan");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("migrations/1.sql:1:11: syntax error at end of input");
  });
});
