// `slipway migrations capture`: a release's "tests" (a node script using
// node-postgres, as an application would) run through the capture proxy
// against the real PostgreSQL (127.0.0.1:5432, a scratch database); the
// reads and writes they sent are kept, their setup (DDL, transactions) is
// not, and `slipway migrations verify` then finds that the next release's
// migration breaks one of them.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../src/migrations/index.js";
import { describeResult, git, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const PG = createRequire(import.meta.url).resolve("pg");

// The application's tests: schema setup, then what the application does.
const TESTS = `
const { Client } = require(${JSON.stringify(PG)});
(async () => {
  const c = new Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  await c.query("CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, email text, name text)");
  await c.query("BEGIN");
  await c.query("INSERT INTO users (id, email, name) VALUES ($1, $2, $3)", [1, "a@example.com", "A"]);
  await c.query("COMMIT");
  for (let i = 0; i < 3; i++) await c.query("SELECT id, email FROM users WHERE id = $1", [1]);
  await c.query("SELECT   name\\n  FROM users   WHERE id = $1", [1]);
  await c.query("UPDATE users SET name = 'B' WHERE id = 1; SELECT count(*) FROM users");
  await c.end();
  console.log("tests passed");
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe("slipway migrations capture", () => {
  let scratch: ScratchDatabase | undefined;
  const cleanup: string[] = [];
  afterAll(async () => {
    cleanup.forEach(removeDir);
    await scratch?.drop();
  });

  it("keeps the queries the tests sent (not their setup), and verify checks them against the next release", async () => {
    scratch = await createScratchDatabase(SERVER, "slipway_capture_test");
    const dir = makeRepo({
      "test.cjs": TESTS,
      "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n",
    });
    cleanup.push(dir);
    const res = await runCli(["migrations", "capture", "--dir", "db/migrations", "--database", scratch.url, "--", process.execPath, "test.cjs"], { cwd: dir });
    expect(res.code, describeResult(res)).toBe(0);
    expect(res.stdout).toContain("tests passed");
    // Nine texts sent (the SELECT three times): each counted, each distinct one parsed once.
    expect(res.stderr).toMatch(/captured 5 distinct queries \(9 statements sent\) → db\/migrations\/queries\/captured\.sql/);
    const captured = readFileSync(join(dir, "db/migrations/queries/captured.sql"), "utf8");
    const statements = captured.split("\n").filter((l) => l !== "" && !l.startsWith("--"));
    expect(statements).toEqual([
      "INSERT INTO users (id, email, name) VALUES ($1, $2, $3);",
      "SELECT count(*) FROM users;",
      "SELECT id, email FROM users WHERE id = $1;",
      "SELECT name FROM users WHERE id = $1;",
      "UPDATE users SET name = 'B' WHERE id = 1;",
    ]);
    expect(captured).not.toMatch(/CREATE TABLE|BEGIN|COMMIT/);

    // The captured queries are the previous release's; the next one drops users.email.
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "captured queries");
    const previous = git(dir, "rev-parse", "HEAD");
    writeFileSync(join(dir, "db/migrations/002_drop_email.sql"), "ALTER TABLE users DROP COLUMN email;\n");
    const verify = await runCli(["migrations", "verify", "--previous", previous, "--dir", "db/migrations", "--database", SERVER], { cwd: dir });
    expect(verify.code, describeResult(verify)).toBe(1);
    expect(verify.stdout).toMatch(/✗ query db\/migrations\/queries\/captured\.sql:\d+:1 {2}SELECT id, email FROM users WHERE id = \$1/);
    expect(verify.stdout).toContain("caused by db/migrations/002_drop_email.sql:1:1");
  });

  it("passes on the command's failure as its exit code, and refuses a missing command or database", async () => {
    const dir = makeRepo({ "README.md": "x\n" });
    cleanup.push(dir);
    const failing = await runCli(["migrations", "capture", "--database", SERVER, "--", process.execPath, "-e", "process.exit(3)"], { cwd: dir });
    expect(failing.code).toBe(3);
    const none = await runCli(["migrations", "capture", "--database", SERVER, "--", "/no/such/program"], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("cannot run /no/such/program");
    const noDb = await runCli(["migrations", "capture", "--", "true"], { cwd: dir, env: { DATABASE_URL: "" } });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain("--database postgres://… or DATABASE_URL");
  });
});
