// `slipway migrations verify` and `slipway migrations apply` as a user runs
// them: the built CLI in a real git repository, PGlite and real PostgreSQL
// (127.0.0.1:5432; scratch databases made and dropped here).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectPostgres, createScratchDatabase, type ScratchDatabase } from "../src/migrations/index.js";
import { describeResult, git, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const DATA = join(tmpdir(), "slipway-test-pglite-cache"); // PGlite's snapshot, shared with the unit tests
const cleanup: string[] = [];
const scratches: ScratchDatabase[] = [];
afterAll(async () => {
  cleanup.forEach(removeDir);
  for (const s of scratches) await s.drop();
});

const PREVIOUS = {
  "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n",
  "db/migrations/002_seed.sql": "INSERT INTO users VALUES (1, 'a@example.com', 'A');\n",
  "db/migrations/queries/users.sql": "-- the user page\nSELECT id, name FROM users WHERE id = $1;\nSELECT id, email FROM users WHERE id = $1;\n",
};
const DROP = "ALTER TABLE users ADD COLUMN nickname text;\nALTER TABLE users DROP COLUMN email;\n";

/** Two commits: the previous release, then one that drops users.email. Returns the repository and the previous commit. */
function repo(): { dir: string; previous: string } {
  const dir = makeRepo(PREVIOUS);
  cleanup.push(dir);
  const previous = git(dir, "rev-parse", "HEAD");
  writeFileSync(join(dir, "db/migrations/003_drop_email.sql"), DROP);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "drop email");
  return { dir, previous };
}

async function scratch(): Promise<ScratchDatabase> {
  const s = await createScratchDatabase(SERVER, "slipway_cli_test");
  scratches.push(s);
  return s;
}

async function tablesOf(url: string): Promise<string[]> {
  const db = await connectPostgres(url);
  try {
    return (await db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).map((r) => r.t);
  } finally {
    await db.close();
  }
}

describe("slipway migrations verify", () => {
  it("on PGlite: blocks (exit 1) naming the query, the 42703 error and the migration that dropped the column", async () => {
    const { dir, previous } = repo();
    const res = await runCli(["migrations", "verify", "--previous", previous, "--dir", "db/migrations", "--data-dir", DATA], { cwd: dir });
    expect(res.code, describeResult(res)).toBe(1);
    expect(res.stdout).toContain("✗ query db/migrations/queries/users.sql:3:1  SELECT id, email FROM users WHERE id = $1");
    expect(res.stdout).toContain('42703 column "email" does not exist (at db/migrations/queries/users.sql:3:12)');
    expect(res.stdout).toContain("caused by db/migrations/003_drop_email.sql:2:1 (contract)  ALTER TABLE users DROP COLUMN email");
    expect(res.stdout).toMatch(/lock check: skipped: PGlite allows one connection/);
    // The snapshot is shared with the unit tests, which run in parallel: whichever comes first makes it.
    expect(res.stdout).toMatch(/PGlite \((from the cached snapshot|initdb, snapshot saved), [0-9.]+ s\)/);
    if (res.stdout.includes("snapshot saved")) {
      const again = await runCli(["migrations", "verify", "--previous", previous, "--dir", "db/migrations", "--data-dir", DATA], { cwd: dir });
      expect(again.code, describeResult(again)).toBe(1);
      expect(again.stdout).toMatch(/PGlite \(from the cached snapshot, [0-9.]+ s\)/);
    }
  });

  it("on real PostgreSQL: the same failure and the lock waits, with the lock mode and the blocking statement", async () => {
    const { dir, previous } = repo();
    const res = await runCli(["migrations", "verify", "--previous", previous, "--dir", "db/migrations", "--database", SERVER], { cwd: dir });
    expect(res.code, describeResult(res)).toBe(1);
    expect(res.stdout).toContain('42703 column "email" does not exist');
    expect(res.stdout).toContain("caused by db/migrations/003_drop_email.sql:2:1");
    expect(res.stdout).toContain("lock check: 2 statement(s) would wait for the running release");
    expect(res.stdout).toContain("! db/migrations/003_drop_email.sql:2:1  ALTER TABLE users DROP COLUMN email");
    expect(res.stdout).toMatch(/needs AccessExclusiveLock \(relation on users\); blocked by pid \d+ \(idle in transaction\): SELECT 1 FROM "users" LIMIT 1 FOR UPDATE/);
    const json = await runCli(["migrations", "verify", "--previous", previous, "--dir", "db/migrations", "--database", SERVER, "--json"], { cwd: dir });
    expect(json.code, describeResult(json)).toBe(1);
    const report = JSON.parse(json.stdout) as { verdict: string; failures: { error: { code: string }; cause: { file: string } }[]; lockCheck: { waits: { lockMode: string }[] } };
    expect(report.verdict).toBe("fail");
    expect(report.failures.map((f) => [f.error.code, f.cause.file])).toEqual([["42703", "db/migrations/003_drop_email.sql"]]);
    expect(report.lockCheck.waits.map((w) => w.lockMode)).toEqual(["AccessExclusiveLock", "AccessExclusiveLock"]);
  });

  it("bad SQL in a new migration: parse error with line and column, exit 2, nothing applied", async () => {
    const { dir, previous } = repo();
    writeFileSync(join(dir, "db/migrations/004_bad.sql"), "ALTER TABLE users\n  ADD COLUM x int;\n");
    const res = await runCli(["migrations", "verify", "--previous", previous, "--dir", "db/migrations", "--data-dir", DATA], { cwd: dir });
    expect(res.code, describeResult(res)).toBe(2);
    expect(res.stderr).toContain('db/migrations/004_bad.sql:2:15: syntax error at or near "int"');
    expect(res.stderr).toContain("nothing was applied");
  });

  it("an unknown --previous is bad input (exit 2) with the fix", async () => {
    const { dir } = repo();
    const res = await runCli(["migrations", "verify", "--previous", "v9.9.9", "--dir", "db/migrations", "--data-dir", DATA], { cwd: dir });
    expect(res.code, describeResult(res)).toBe(2);
    expect(res.stderr).toMatch(/--previous v9\.9\.9: no such commit in this repository; give the previous release's commit, tag or branch/);
  });
});

describe("slipway migrations apply", () => {
  it("applies by phase, refuses an edited applied migration (exit 1), and applies nothing on bad SQL (exit 2)", async () => {
    const { dir } = repo();
    const db = await scratch();
    const expand = await runCli(["migrations", "apply", "--database", db.url, "--dir", "db/migrations", "--phase", "expand"], { cwd: dir });
    expect(expand.code, describeResult(expand)).toBe(0);
    expect(expand.stdout).toContain("applied db/migrations/001_users.sql (expand");
    expect(expand.stdout).toContain("pending db/migrations/003_drop_email.sql (contract: not in --phase expand)");
    const all = await runCli(["migrations", "apply", "--database", db.url, "--dir", "db/migrations", "--json"], { cwd: dir });
    expect(all.code, describeResult(all)).toBe(0);
    expect((JSON.parse(all.stdout) as { applied: { version: string }[] }).applied.map((a) => a.version)).toEqual(["002_seed.sql", "003_drop_email.sql"]);

    writeFileSync(join(dir, "db/migrations/001_users.sql"), "CREATE TABLE users (id bigint PRIMARY KEY);\n");
    const edited = await runCli(["migrations", "apply", "--database", db.url, "--dir", "db/migrations"], { cwd: dir });
    expect(edited.code, describeResult(edited)).toBe(1);
    expect(edited.stderr).toMatch(/db\/migrations\/001_users\.sql: this migration was applied on .* with checksum sha256:[0-9a-f]{64}, but the file's checksum is now sha256:[0-9a-f]{64}/);
    git(dir, "checkout", "--", "db/migrations/001_users.sql");

    const before = await tablesOf(db.url);
    writeFileSync(join(dir, "db/migrations/004_ok.sql"), "CREATE TABLE fine (id int);\n");
    writeFileSync(join(dir, "db/migrations/005_bad.sql"), "CREATE TABLE also (id int);\nSELEC 1;\n");
    const bad = await runCli(["migrations", "apply", "--database", db.url, "--dir", "db/migrations"], { cwd: dir });
    expect(bad.code, describeResult(bad)).toBe(2);
    expect(bad.stderr).toContain('db/migrations/005_bad.sql:2:1: syntax error at or near "SELEC"');
    expect(await tablesOf(db.url)).toEqual(before);
    const c = await connectPostgres(db.url);
    try {
      expect((await c.query<{ version: string }>("SELECT version FROM slipway_migrations ORDER BY 1")).map((r) => r.version)).toEqual(["001_users.sql", "002_seed.sql", "003_drop_email.sql"]);
    } finally {
      await c.close();
    }
  });

  it("without a database: usage error naming --database and DATABASE_URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-apply-"));
    cleanup.push(dir);
    const res = await runCli(["migrations", "apply"], { cwd: dir, env: { DATABASE_URL: "" } });
    expect(res.code, describeResult(res)).toBe(2);
    expect(res.stderr).toContain("no database: give --database postgres://user@host/db or set DATABASE_URL");
  });
});
